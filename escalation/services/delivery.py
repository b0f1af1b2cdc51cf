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
from django.db import transaction
from django.utils import timezone

from ..choices import Channel, DeliveryStatus
from ..models import Notification

MAX_ATTEMPTS = 8
SIGNATURE_HEADER = "X-Itsm-Signature"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_payload(notification: Notification) -> dict:
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
    if hook is None or not hook.is_active:
        raise RuntimeError("webhook removed or disabled")
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
    """Send one notification. Returns its status and, after a failure worth retrying, the delay."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("webhook", "incident__service")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.status != DeliveryStatus.PENDING:
            return (notification.status if notification else "missing"), None
        notification.attempts += 1
        try:
            _send(notification)
        except (OSError, urllib.error.URLError, RuntimeError, ValueError) as exc:
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if notification.attempts >= MAX_ATTEMPTS:
                notification.status = DeliveryStatus.FAILED
                retry_in = None
            else:
                retry_in = backoff(notification.attempts)
                notification.next_attempt_at = timezone.now() + retry_in
            notification.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return notification.status, retry_in
        notification.status, notification.sent_at, notification.last_error = (
            DeliveryStatus.SENT,
            timezone.now(),
            "",
        )
        notification.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return notification.status, None
