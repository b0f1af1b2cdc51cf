"""Outbound webhook subscriptions: incident events, signed, filtered, logged, and switched off after
repeated failures (with a notice to the Incident Managers)."""

import hashlib
import hmac
import json

import pytest
from django.core import mail

from escalation import services
from escalation.models import Notification, Webhook
from incidents import services as incident_services
from incidents.choices import Role
from tests.factories import INVESTIGATION, ServiceFactory, make_user

pytestmark = pytest.mark.django_db
ALL_EVENTS = [
    "incident.created",
    "incident.classified",
    "incident.state_changed",
    "incident.escalated",
    "incident.major_declared",
    "incident.resolved",
    "incident.closed",
]


def deliver_pending():
    for pk in (
        Notification.objects.filter(status="pending", channel="webhook")
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        services.deliver(notification_id=pk)


def lifecycle(manager, service, urgency="low", impact="low"):
    incident = incident_services.incident_create(user=manager, title="Feed LNA current high", service=service)
    incident = incident_services.incident_classify(
        incident=incident, user=manager, category="observatory", urgency=urgency, impact=impact
    )
    incident = incident_services.incident_investigate(incident=incident, user=manager)
    services.escalate_tier(incident=incident, user=manager, reason="RF expertise")
    incident = incident_services.incident_resolve(
        incident=incident, user=manager, code="fixed", notes="LNA swapped", **INVESTIGATION
    )
    return incident_services.incident_close(incident=incident, user=manager, closure_notes="LNA verified")


def test_subscribed_events_arrive_signed_with_the_incident(manager, receiver):
    Webhook.objects.create(name="automation", url=receiver["url"], secret="k3y", events=ALL_EVENTS)
    incident = lifecycle(manager, ServiceFactory(slug="antenna-feed"))
    deliver_pending()

    bodies = []
    for headers, body in receiver["received"]:
        expected = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Itsm-Signature"], expected)
        bodies.append(json.loads(body))
    events = [b["event"] for b in bodies]
    assert events == [
        "incident.created",
        "incident.state_changed",
        "incident.classified",
        "incident.state_changed",
        "incident.escalated",
        "incident.state_changed",
        "incident.resolved",
        "incident.state_changed",
        "incident.closed",
    ]
    assert {b["incident"]["number"] for b in bodies} == {incident.number}
    assert bodies[0]["incident"]["state"] == "logged" and bodies[-1]["incident"]["state"] == "closed"
    assert bodies[4]["escalation"] == {"kind": "functional", "from_tier": "tier1", "to_tier": "tier2"}
    assert {"severity", "resolution_due_at", "response_breached"} <= set(bodies[-1]["incident"])
    assert all("text" in b for b in bodies), "chat tools can show every event"
    log = Notification.objects.filter(webhook__name="automation")
    assert log.count() == 9 and set(log.values_list("status", flat=True)) == {"sent"}


def test_filters_by_event_service_and_severity(manager, receiver):
    ceph, feed = ServiceFactory(slug="ceph"), ServiceFactory(slug="feed")
    hook = Webhook.objects.create(
        name="ceph-major",
        url=receiver["url"],
        events=["incident.major_declared", "incident.closed"],
        severities=["S1"],
    )
    hook.services.add(ceph)
    lifecycle(manager, feed, "high", "high")  # other service
    lifecycle(manager, ceph, "low", "low")  # other severity
    lifecycle(manager, ceph, "high", "high")
    deliver_pending()
    assert [json.loads(body)["event"] for _, body in receiver["received"]] == [
        "incident.major_declared",
        "incident.closed",
    ]


def test_chat_hooks_get_notifications_not_raw_events(manager, receiver):
    Webhook.objects.create(name="mattermost", url=receiver["url"])  # default: notifications
    lifecycle(manager, ServiceFactory(stakeholder_emails="ops@lab.example"))
    deliver_pending()
    bodies = [json.loads(body) for _, body in receiver["received"]]
    assert bodies and all(b["event"] != "event" and "text" in b for b in bodies)
    assert {b["event"] for b in bodies} >= {"escalation", "resolution_notice"}


def test_a_failing_hook_is_switched_off_and_the_managers_are_told(manager, receiver):
    make_user(Role.INCIDENT_MANAGERS, username="im2", email="im2@lab.example")
    receiver["state"]["status"] = 503
    hook = Webhook.objects.create(name="flaky", url=receiver["url"], events=ALL_EVENTS)
    service = ServiceFactory()
    for _ in range(2):
        lifecycle(manager, service)  # 18 events
    for _ in range(3):
        deliver_pending()
    hook.refresh_from_db()
    assert not hook.is_active and hook.disabled_at is not None and "503" in hook.disabled_reason
    assert len(receiver["received"]) == 10, "no attempt after the hook was switched off"
    notices = Notification.objects.filter(channel="email", subject__contains="webhook 'flaky' disabled")
    assert set(notices.values_list("recipient", flat=True)) == {"manager@lab.example", "im2@lab.example"}
    for notice in notices:
        services.deliver(notification_id=notice.pk)
    assert {m.to[0] for m in mail.outbox if "disabled" in m.subject} == {
        "manager@lab.example",
        "im2@lab.example",
    }
    assert not Notification.objects.filter(webhook=hook, status="pending").exists()

    receiver["state"]["status"] = 200
    Webhook.objects.filter(pk=hook.pk).update(is_active=True, consecutive_failures=0)
    lifecycle(manager, service)
    deliver_pending()
    hook.refresh_from_db()
    assert hook.is_active and hook.consecutive_failures == 0


def test_webhook_admin_shows_subscriptions_and_the_delivery_log(client, receiver):
    admin_user = make_user(username="root", is_superuser=True)
    client.force_login(admin_user)
    hook = Webhook.objects.create(name="automation", url=receiver["url"], events=ALL_EVENTS)
    response = client.post(
        f"/admin/escalation/webhook/{hook.pk}/change/",
        {
            "name": "automation",
            "url": receiver["url"],
            "secret": "new-secret",
            "timeout_seconds": 5,
            "is_active": "on",
            "events": ["incident.created", "incident.closed"],
            "severities": ["S1", "S2"],
            "deliveries-TOTAL_FORMS": 0,
            "deliveries-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    hook.refresh_from_db()
    assert hook.events == ["incident.created", "incident.closed"] and hook.severities == ["S1", "S2"]
    page = client.get(f"/admin/escalation/webhook/{hook.pk}/change/")
    assert page.status_code == 200 and b"Deliveries (latest first)" in page.content
