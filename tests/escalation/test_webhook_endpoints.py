"""What Incident Managers do to webhook endpoints: see a secret once (at creation, at rotation), rotate it
without breaking the receiver, resume a paused endpoint, and redeliver any delivery with its webhook-id."""

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from escalation import services
from escalation.choices import Template
from escalation.models import Notification, Webhook
from escalation.services.webhook_endpoints import PREVIOUS_SECRET_GRACE
from incidents.choices import Role
from incidents.exceptions import Conflict, PermissionDenied
from tests.factories import incident_in, make_user

pytestmark = pytest.mark.django_db


def status_update_to(hook, manager):
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    rows = services.notify(incident=incident, template=Template.STATUS_UPDATE, extra={"message": "m"})
    [row] = [r for r in rows if r.webhook_id == hook.pk]
    return row


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- secrets ---------------------------------------------------------------------------------------------


def test_the_secret_is_shown_once_when_the_webhook_is_created(client, manager):
    client.force_login(manager)
    form = client.get(reverse("admin:escalation_webhook_add"))
    assert form.status_code == 200 and 'name="secret"' not in form.content.decode()
    response = client.post(
        reverse("admin:escalation_webhook_add"),
        {
            "name": "automation",
            "url": "https://hooks.lab.example/itsm",
            "timeout_seconds": "5",
            "is_active": "on",
            "events": ["incident.created"],
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    hook = Webhook.objects.get(name="automation")
    assert response.status_code == 200 and hook.secret.startswith("whsec_")
    page = response.content.decode()
    assert hook.secret in page and "it is not shown again" in page
    assert "no-store" in response["Cache-Control"]
    for url in (
        reverse("admin:escalation_webhook_change", args=[hook.pk]),
        reverse("admin:escalation_webhook_changelist"),
        reverse("admin:escalation_webhook_history", args=[hook.pk]),
    ):
        later = client.get(url)
        assert later.status_code == 200 and hook.secret not in later.content.decode()
    assert (
        f"{hook.secret[:10]}…" in client.get(reverse("admin:escalation_webhook_changelist")).content.decode()
    )


def test_rotating_shows_the_new_secret_once_and_both_sign_for_a_day(client, manager, signed_receiver):
    hook = Webhook.objects.create(name="automation", url=signed_receiver.url)
    old = hook.secret
    client.force_login(manager)
    response = client.post(
        reverse("admin:escalation_webhook_changelist"),
        {"action": "rotate_secret", "_selected_action": [hook.pk]},
    )
    hook.refresh_from_db()
    assert response.status_code == 200 and hook.secret != old and hook.secret.startswith("whsec_")
    assert hook.secret in response.content.decode() and old not in response.content.decode()
    assert (
        hook.secret
        not in client.get(reverse("admin:escalation_webhook_change", args=[hook.pk])).content.decode()
    )

    for secret in (old, hook.secret):  # a receiver not yet switched, and one switched
        signed_receiver.secret = secret
        assert services.deliver(notification_id=status_update_to(hook, manager).pk)[0] == "sent"
    assert signed_receiver.refused == [] and len(signed_receiver.accepted) == 2

    with time_machine.travel(timezone.now() + PREVIOUS_SECRET_GRACE + timedelta(seconds=1), tick=False):
        signed_receiver.secret = old
        row = status_update_to(hook, manager)
        services.deliver(notification_id=row.pk)
        assert signed_receiver.refused == [(row.message_id, "No matching signature found")]
        signed_receiver.secret = hook.secret
        services.deliver(notification_id=row.pk)  # retried; now checked with the new secret
    row.refresh_from_db()
    assert row.status == "sent"


def test_a_secret_from_before_signs_with_its_characters(manager, receiver):
    """Hooks created before Standard Webhooks keep their secret until rotated; receivers check it as bytes."""
    hook = Webhook.objects.create(name="legacy", url=receiver["url"], secret="k3y-from-2025")
    services.deliver(notification_id=status_update_to(hook, manager).pk)
    [(headers, body)] = receiver["received"]
    StandardWebhook(b"k3y-from-2025").verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(Webhook().secret).verify(body, headers)


def test_only_incident_managers_rotate_resume_and_redeliver(manager, service_desk, receiver):
    hook = Webhook.objects.create(name="automation", url=receiver["url"], paused_at=timezone.now())
    row = status_update_to(hook, manager)
    for call in (
        lambda: services.webhook_rotate_secret(webhook=hook, user=service_desk),
        lambda: services.webhook_resume(webhook=hook, user=service_desk),
        lambda: services.webhook_redeliver(notification=row, user=service_desk),
    ):
        with pytest.raises(PermissionDenied):
            call()
    secret = hook.secret
    hook.refresh_from_db()
    assert hook.secret == secret and hook.paused_at is not None


# --- pause and resume ------------------------------------------------------------------------------------


def test_a_paused_endpoint_is_sent_nothing_until_resumed_from_the_admin(
    client, manager, receiver, django_capture_on_commit_callbacks
):
    hook = Webhook.objects.create(name="automation", url=receiver["url"], paused_at=timezone.now())
    row = status_update_to(hook, manager)
    assert services.deliver(notification_id=row.pk) == ("paused", None)
    assert receiver["received"] == []
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:escalation_webhook_changelist"),
            {"action": "resume_deliveries", "_selected_action": [hook.pk]},
            follow=True,
        )
    assert messages_of(response) == ["Webhook 'automation' resumed: 1 waiting deliveries go out in order."]
    hook.refresh_from_db()
    assert hook.paused_at is None
    assert services.deliver(notification_id=row.pk)[0] == "sent"
    with pytest.raises(Conflict, match="not paused"):
        services.webhook_resume(webhook=hook, user=manager)


# --- redeliver -------------------------------------------------------------------------------------------


def test_redeliver_sends_a_delivery_again_with_the_same_webhook_id(
    client, manager, receiver, django_capture_on_commit_callbacks
):
    hook = Webhook.objects.create(name="automation", url=receiver["url"])
    sent = status_update_to(hook, manager)
    services.deliver(notification_id=sent.pk)
    receiver["state"]["status"] = 500
    failed = status_update_to(hook, manager)
    services.deliver(notification_id=failed.pk)
    Notification.objects.filter(pk=failed.pk).update(status="failed")
    receiver["state"]["status"] = 200
    email = Notification.objects.create(
        channel="email", recipient="x@lab.example", template="page", subject="s", body="b", status="sent"
    )

    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:escalation_notification_changelist"),
            {"action": "redeliver", "_selected_action": [sent.pk, failed.pk, email.pk]},
            follow=True,
        )
    assert messages_of(response) == [
        "2 delivery(ies) queued again.",
        f"Notification {email.pk} is an e-mail; only webhook deliveries are redelivered.",
    ]
    for row in (sent, failed):
        assert services.deliver(notification_id=row.pk)[0] == "sent"
        assert row.incident.timeline.filter(note__startswith="Redelivering").exists()
    ids = [headers["webhook-id"] for headers, _ in receiver["received"]]
    assert ids == [sent.message_id, failed.message_id, sent.message_id, failed.message_id]
    hook_page = client.get(reverse("admin:escalation_webhook_change", args=[hook.pk])).content.decode()
    assert f"?webhook__id__exact={hook.pk}" in hook_page
    listed = client.get(reverse("admin:escalation_notification_changelist"), {"webhook__id__exact": hook.pk})
    assert listed.context["cl"].result_count == 2
    page = client.get(reverse("admin:escalation_notification_change", args=[sent.pk])).content.decode()
    assert sent.message_id in page
    found = client.get(reverse("admin:escalation_notification_changelist"), {"q": sent.message_id})
    assert found.context["cl"].result_count == 1


def test_redeliver_refuses_a_hook_switched_off(manager, receiver):
    hook = Webhook.objects.create(name="automation", url=receiver["url"])
    row = status_update_to(hook, manager)
    Webhook.objects.filter(pk=hook.pk).update(is_active=False)
    with pytest.raises(Conflict, match="switched off"):
        services.webhook_redeliver(notification=row, user=manager)


def test_a_delivery_waits_for_the_earlier_one_of_its_incident_only(manager, receiver):
    hook = Webhook.objects.create(name="automation", url=receiver["url"])
    receiver["state"]["status"] = 500
    first = status_update_to(hook, manager)
    services.deliver(notification_id=first.pk)
    receiver["state"]["status"] = 200
    later = services.notify(incident=first.incident, template=Template.STATUS_UPDATE, extra={"message": "2"})
    [second] = [r for r in later if r.webhook_id == hook.pk]
    other = status_update_to(hook, make_user(Role.INCIDENT_MANAGERS, username="im2"))

    assert services.deliver(notification_id=second.pk) == ("waiting", None)
    assert services.deliver(notification_id=other.pk)[0] == "sent", "another incident is not held"
    assert services.deliver(notification_id=first.pk)[0] == "sent"
    second.refresh_from_db()
    assert second.status == "pending" and second.next_attempt_at <= timezone.now()
    assert services.deliver(notification_id=second.pk)[0] == "sent"
    ids = [headers["webhook-id"] for headers, _ in receiver["received"]]
    assert ids == [first.message_id, other.message_id, first.message_id, second.message_id]


# --- the README's receiver -------------------------------------------------------------------------------


def readme_receiver_code() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("A receiver checks a delivery") :]
    start = section.index("```python") + len("```python")
    return textwrap.dedent(section[start : section.index("```", start)])


def test_the_readme_receiver_accepts_a_delivery_once_and_refuses_a_forged_one(manager, receiver):
    hook = Webhook.objects.create(name="automation", url=receiver["url"])
    services.deliver(notification_id=status_update_to(hook, manager).pk)
    [(headers, body)] = receiver["received"]

    seen, handled = set(), []
    namespace = {"already_seen": lambda i: i in seen or seen.add(i), "handle": handled.append}
    exec(readme_receiver_code().replace("whsec_...", hook.secret), namespace)  # the README's own code
    receive = namespace["receive"]
    assert receive(body, headers) == 200
    assert receive(body, headers) == 200, "a retry is acknowledged"
    assert len(handled) == 1 and handled[0]["event"] == "status_update"
    assert receive(body.replace(b"status_update", b"status_updat3"), headers) == 400


def test_a_delivery_from_before_webhook_ids_gets_one_when_redelivered(manager, receiver):
    """Rows older than webhook-ids have none: sending one gives it an id, kept for every later attempt."""
    hook = Webhook.objects.create(name="automation", url=receiver["url"])
    old = status_update_to(hook, manager)
    Notification.objects.filter(pk=old.pk).update(message_id=None, status="failed")
    services.webhook_redeliver(notification=Notification.objects.get(pk=old.pk), user=manager)
    assert services.deliver(notification_id=old.pk)[0] == "sent"
    stored = Notification.objects.get(pk=old.pk).message_id
    assert stored and stored.startswith("msg_")
    assert [headers["webhook-id"] for headers, _ in receiver["received"]] == [stored]
