"""Delivering the outbox: e-mail through Django's backend, webhooks to a real local HTTP receiver with a
verifiable signature, retries with backoff, and exactly-once under repeated delivery."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from escalation import services
from escalation.choices import Template
from escalation.models import Notification, Webhook
from tests.factories import ServiceFactory, incident_in

pytestmark = pytest.mark.django_db


def test_email_is_sent_once_with_text_and_html(manager):
    incident = incident_in(
        "investigating",
        manager=manager,
        urgency="low",
        impact="low",
        service=ServiceFactory(stakeholder_emails="ops@lab.example"),
    )
    [note] = services.notify(
        incident=incident,
        template=Template.STATUS_UPDATE,
        emails=["ops@lab.example"],
        extra={"message": "Disk replaced, rebalancing"},
    )
    assert services.deliver(notification_id=note.pk) == ("sent", None)
    assert services.deliver(notification_id=note.pk) == ("sent", None)  # a duplicate task does nothing
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@lab.example"] and incident.number in message.subject
    assert "Disk replaced, rebalancing" in message.body
    assert message.alternatives and "Disk replaced" in message.alternatives[0][0]


def test_webhook_delivery_is_signed(manager, receiver):
    hook = Webhook.objects.create(name="mattermost", url=receiver["url"], secret="s3cret")
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    rows = services.notify(incident=incident, template=Template.STATUS_UPDATE, extra={"message": "hello"})
    [row] = [r for r in rows if r.webhook_id == hook.pk]
    assert services.deliver(notification_id=row.pk)[0] == "sent"
    [(headers, body)] = receiver["received"]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Itsm-Signature"], expected)
    payload = json.loads(body)
    assert payload["incident"]["number"] == incident.number
    assert "hello" in payload["text"] and payload["event"] == "status_update"


def test_failed_webhook_is_retried_with_backoff_for_a_day_then_given_up(manager, receiver, settings):
    """A delivery the receiver keeps refusing while its endpoint is not failing as a whole (here the pause
    comes later than the retries end) gives up after WEBHOOK_RETRY_PERIOD, its last try at that moment."""
    settings.WEBHOOK_PAUSE_AFTER = timedelta(hours=48)
    hook = Webhook.objects.create(name="flaky", url=receiver["url"])
    receiver["state"]["status"] = 500
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    [row] = services.notify(incident=incident, template=Template.STATUS_UPDATE, extra={"message": "m"})
    start = timezone.now()
    delays = []
    with time_machine.travel(start, tick=False) as clock:
        while True:
            status, retry_in = services.deliver(notification_id=row.pk)
            if retry_in is None:
                break
            delays.append(retry_in.total_seconds())
            clock.shift(retry_in)
    assert status == "failed"
    assert delays[:4] == [30, 60, 120, 240] and max(delays) == 3600
    row.refresh_from_db()
    assert row.retry_until == start + timedelta(hours=24) and row.attempts == len(delays) + 1
    assert "500" in row.last_error
    ids = {headers["webhook-id"] for headers, _ in receiver["received"]}
    assert ids == {row.message_id}, "every attempt carries the same webhook-id"
    assert len({headers["webhook-timestamp"] for headers, _ in receiver["received"]}) == row.attempts
    hook.refresh_from_db()
    assert hook.paused_at is None and hook.failing_since == start

    receiver["state"]["status"] = 200
    [again] = services.notify(incident=incident, template=Template.STATUS_UPDATE, extra={"message": "m2"})
    assert services.deliver(notification_id=again.pk)[0] == "sent", (
        "a failed delivery does not hold the queue"
    )
    hook.refresh_from_db()
    assert hook.failing_since is None and hook.consecutive_failures == 0


def test_unreachable_webhook_records_the_error(manager, loopback_webhooks):
    Webhook.objects.create(name="gone", url="http://127.0.0.1:9/hook", secret="x", timeout_seconds=2)
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    [row] = services.notify(incident=incident, template=Template.STATUS_UPDATE, extra={"message": "m"})
    assert services.deliver(notification_id=row.pk)[0] == "pending"
    row.refresh_from_db()
    assert row.last_error


def test_sweep_requeues_only_due_pending_rows(manager):
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    [row] = services.notify(
        incident=incident, template=Template.STATUS_UPDATE, emails=["a@lab.example"], extra={"message": "m"}
    )
    assert services.requeue_pending() == 0, "a fresh row still has its own task in flight"
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        assert services.requeue_pending() == 1
        Notification.objects.filter(pk=row.pk).update(status="sent")
        assert services.requeue_pending() == 0


def test_a_row_being_sent_elsewhere_is_left_alone_until_its_lease_expires(manager):
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    [row] = services.notify(
        incident=incident, template=Template.STATUS_UPDATE, emails=["a@lab.example"], extra={"message": "m"}
    )
    Notification.objects.filter(pk=row.pk).update(claimed_until=timezone.now() + timedelta(minutes=2))
    assert services.deliver(notification_id=row.pk) == ("pending", None)
    assert mail.outbox == []
    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=False):  # that worker died
        assert services.deliver(notification_id=row.pk) == ("sent", None)
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.claimed_until is None and row.attempts == 1
