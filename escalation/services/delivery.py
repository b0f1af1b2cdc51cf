"""Deliver one outbox row, exactly once: the row is locked while it is sent and marked sent in the same
transaction, so a task delivered twice (or re-queued by the sweep) finds it sent and does nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.utils import timezone

from ..choices import Channel, DeliveryStatus, Template
from ..models import Notification, Webhook

MAX_ATTEMPTS = 8
CLAIM_LEASE = timedelta(minutes=2)  # longer than any send may take (webhook timeouts are seconds)
DISABLE_AFTER = 10  # consecutive failed attempts before a webhook is switched off
SIGNATURE_HEADER = "X-Itsm-Signature"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_payload(notification: Notification) -> dict:
    """An event's frozen payload, or a chat message (Slack/Mattermost read `text`) for a notification."""
    if notification.payload is not None:
        return notification.payload
    incident = notification.incident
    return {
        "text": f"*{notification.subject}*\n{notification.body}",
        "event": notification.template,
        "incident": None
        if incident is None
        else {
            "number": incident.number,
            "title": incident.title,
            "severity": incident.severity,
            "state": incident.state,
            "tier": incident.tier,
            "is_major": incident.is_major,
            "service": incident.service.slug if incident.service else None,
        },
    }


def _send(notification: Notification) -> None:
    if notification.channel == Channel.EMAIL:
        message = EmailMultiAlternatives(
            notification.subject, notification.body, settings.DEFAULT_FROM_EMAIL, [notification.recipient]
        )
        if notification.html_body:
            message.attach_alternative(notification.html_body, "text/html")
        message.send(fail_silently=False)
        return
    hook = notification.webhook
    body = json.dumps(webhook_payload(notification)).encode()
    request = urllib.request.Request(
        hook.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret, body)},
    )
    with urllib.request.urlopen(request, timeout=hook.timeout_seconds) as response:
        if response.status >= 300:
            raise RuntimeError(f"HTTP {response.status}")


def deliver(*, notification_id: int) -> tuple[str, timedelta | None]:
    """Send one notification. Returns its status and, after a failure worth retrying, the delay.

    The row is claimed with a lease before sending and no transaction is held while the mail server or
    webhook answers (on SQLite that would block every other writer). A second task for the same row finds
    it claimed or sent and does nothing; a worker that dies mid-send leaves the lease to expire, and the
    sweep then sends it again."""
    now = timezone.now()
    claimed = (
        Notification.objects.filter(pk=notification_id, status=DeliveryStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_LEASE, attempts=F("attempts") + 1)
    )
    notification = (
        Notification.objects.select_related("webhook", "incident__service").filter(pk=notification_id).first()
    )
    if notification is None:
        return "missing", None
    if not claimed:
        return notification.status, None
    hook = notification.webhook
    if notification.channel == Channel.WEBHOOK and (hook is None or not hook.is_active):
        _finish(notification, status=DeliveryStatus.FAILED, last_error="webhook removed or disabled")
        return DeliveryStatus.FAILED, None
    try:
        _send(notification)
    except (OSError, urllib.error.URLError, RuntimeError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        retry_in = backoff(notification.attempts) if notification.attempts < MAX_ATTEMPTS else None
        status = DeliveryStatus.PENDING if retry_in else DeliveryStatus.FAILED
        _finish(
            notification, status=status, last_error=error, next_attempt_at=now + (retry_in or timedelta())
        )
        if hook is not None:
            _count_failure(hook, error)
        return status, retry_in
    _finish(notification, status=DeliveryStatus.SENT, last_error="", sent_at=timezone.now())
    if hook is not None and hook.consecutive_failures:
        Webhook.objects.filter(pk=hook.pk).update(consecutive_failures=0)
    return DeliveryStatus.SENT, None


def _finish(notification: Notification, **fields) -> None:
    Notification.objects.filter(pk=notification.pk).update(claimed_until=None, **fields)


def _count_failure(hook: Webhook, error: str) -> None:
    """After DISABLE_AFTER failed attempts in a row a hook is switched off, and the Incident Managers told."""
    Webhook.objects.filter(pk=hook.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    switched_off = Webhook.objects.filter(
        pk=hook.pk, is_active=True, consecutive_failures__gte=DISABLE_AFTER
    ).update(is_active=False, disabled_at=timezone.now(), disabled_reason=error[:255])
    if switched_off:
        from incidents.choices import Role

        from .notifications import notify, users_of

        notify(
            incident=None,
            template=Template.ESCALATION,
            users=users_of([Role.INCIDENT_MANAGERS]),
            webhooks=False,
            extra={
                "subject": f"itsm: webhook '{hook.name}' disabled after {DISABLE_AFTER} failed deliveries",
                "body": f"Deliveries to {hook.url} kept failing (last error: {error}).\n"
                "Fix the receiver, then tick 'active' on the webhook in admin to switch it back on.",
            },
        )
