"""Webhook URLs cannot turn the server into a proxy into the lab's network: only http and https, and no
loopback, private, link-local (cloud metadata at 169.254.169.254), shared, multicast or reserved address,
written or resolved, unless settings allow it. Refused when the hook is saved and again at delivery, which
connects only to the addresses it checked and never follows a redirect.

No test here may reach any address but 127.0.0.1: `_loopback_only` fails a test that opens any other
connection, so a refusal must come before connecting."""

import ipaddress
import socket

import pytest
import time_machine
from django.utils import timezone

from escalation import services
from escalation.models import Notification, Webhook
from escalation.services import webhook_urls
from incidents.choices import Role
from incidents.exceptions import ValidationError
from tests.factories import incident_in, make_user

pytestmark = pytest.mark.django_db

REFUSED = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://127.0.0.1:8080/hook",  # loopback, not on the allow-list
    "http://10.0.0.1/hook",  # private
    "http://192.168.1.20/hook",
    "http://[::1]/hook",  # IPv6 loopback
    "http://localhost:8080/hook",  # a name that resolves to loopback
    "http://0.0.0.0/hook",  # unspecified
    "http://100.64.0.1/hook",  # shared (carrier-grade NAT)
    "http://224.0.0.1/hook",  # multicast
    "http://[fe80::1]/hook",  # IPv6 link-local
    "http://[fd00::1]/hook",  # IPv6 unique local
    "http://[::ffff:169.254.169.254]/hook",  # IPv4-mapped
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "http://2130706433/hook",  # 127.0.0.1 as one number
    "ftp://ftp.lab.example/hook",  # not http(s)
    "https://user:pw@hooks.lab.example/x",  # credentials in the URL
]


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    real = socket.create_connection

    def create_connection(address, *args, **kwargs):
        try:
            loopback = ipaddress.ip_address(address[0]).is_loopback
        except ValueError:  # a host name: whatever it resolves to was not checked
            loopback = False
        if not loopback:
            pytest.fail(f"a test tried to connect to {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)


@pytest.fixture
def superuser(db):
    return make_user(username="root", is_superuser=True)


def hook_form(url: str) -> dict:
    return {
        "name": "automation",
        "url": url,
        "secret": "s3cret",
        "timeout_seconds": "5",
        "is_active": "on",
        "events": ["notification"],
        "deliveries-TOTAL_FORMS": "0",
        "deliveries-INITIAL_FORMS": "0",
    }


def deliver_to(url: str, manager) -> Notification:
    """A hook stored with `url` as an old row would be (never validated), one notification delivered."""
    hook = Webhook.objects.create(name="legacy", url=url, secret="x", timeout_seconds=2)
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    rows = services.notify(incident=incident, template="status_update", extra={"message": "m"})
    [row] = [r for r in rows if r.webhook_id == hook.pk]
    services.deliver(notification_id=row.pk)
    row.refresh_from_db()
    return row


@pytest.mark.parametrize("url", REFUSED)
def test_the_service_check_refuses(url):
    with pytest.raises(ValidationError):
        services.check_webhook_url(url)


@pytest.mark.parametrize("url", REFUSED)
def test_the_admin_refuses_to_save(client, superuser, url):
    client.force_login(superuser)
    response = client.post("/admin/escalation/webhook/add/", hook_form(url))
    assert response.status_code == 200  # the form again, with the error
    assert response.context["adminform"].form.errors["url"]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.lab.invalid/services/T000",  # a name that does not resolve yet: delivery checks it
        "https://93.184.215.14/hook",  # a public address
    ],
)
def test_public_destinations_are_accepted(url):
    services.check_webhook_url(url)


@pytest.mark.parametrize("url", [u for u in REFUSED if not u.startswith(("ftp:", "https://user"))])
def test_delivery_refuses_a_stored_hook_without_connecting(manager, url):
    row = deliver_to(url, manager)
    assert row.status == "pending" and row.sent_at is None  # a failed attempt, retried later
    assert "WEBHOOK_ALLOWED_NETWORKS" in row.last_error


def test_loopback_is_refused_even_with_a_receiver_listening(manager, receiver, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    row = deliver_to(receiver["url"], manager)
    assert "WEBHOOK_ALLOWED_NETWORKS" in row.last_error
    assert receiver["requests"] == []


def test_the_allow_list_lets_a_named_network_or_host_through(manager, receiver, settings):
    assert deliver_to(receiver["url"], manager).status == "sent"  # 127.0.0.1/32 allowed by the fixture

    settings.WEBHOOK_ALLOWED_NETWORKS = []
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    row = deliver_to(f"http://localhost:{receiver['port']}/hook", manager)
    assert row.status == "sent"
    assert receiver["received"][-1][0]["Host"] == f"localhost:{receiver['port']}"


def test_redirects_are_not_followed(manager, receiver):
    receiver["state"]["status"] = 302
    receiver["state"]["headers"] = {"Location": f"http://127.0.0.1:{receiver['port']}/elsewhere"}
    row = deliver_to(receiver["url"], manager)
    assert row.status == "pending" and row.sent_at is None
    assert "302" in row.last_error and "not followed" in row.last_error
    assert receiver["requests"] == [("POST", "/hook")]
    assert Webhook.objects.get(name="legacy").consecutive_failures == 1


def test_a_name_that_resolves_elsewhere_by_delivery_is_refused(manager, receiver, settings, monkeypatch):
    """DNS rebinding: public when the hook is saved, loopback when it is sent."""
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    answers = {"hooks.rebind.test": "93.184.215.14"}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(webhook_urls.socket, "getaddrinfo", getaddrinfo)
    url = f"http://hooks.rebind.test:{receiver['port']}/hook"
    services.check_webhook_url(url)  # accepted: a public address

    answers["hooks.rebind.test"] = "127.0.0.1"
    row = deliver_to(url, manager)
    assert "resolves to 127.0.0.1" in row.last_error
    assert receiver["requests"] == []


def test_a_refused_hook_is_paused_after_failing_for_a_day(manager, settings):
    """The managers hear about it like any hook that keeps failing."""
    make_user(Role.INCIDENT_MANAGERS, username="im")
    hook = Webhook.objects.create(name="metadata", url="http://169.254.169.254/latest/", secret="x")
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(10):
            services.notify(incident=incident, template="status_update", extra={"message": "m"})
            for row in Notification.objects.filter(webhook=hook, status="pending").order_by("pk"):
                services.deliver(notification_id=row.pk)  # the first retried, the others behind it
            clock.shift(settings.WEBHOOK_PAUSE_AFTER / 9)
    hook.refresh_from_db()
    assert hook.paused_at is not None and "169.254.169.254" in hook.paused_reason
