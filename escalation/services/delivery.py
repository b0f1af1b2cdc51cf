"""Deliver one outbox row, exactly once: the row is locked while it is sent and marked sent in the same
transaction, so a task delivered twice (or re-queued by the sweep) finds it sent and does nothing."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import ssl
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.utils import timezone

from incidents.output_safety import header_line

from ..choices import Channel, DeliveryStatus, Template
from ..models import Notification, Webhook
from .webhook_urls import Destination, webhook_destination

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
        # Rows queued before subjects were made safe may still hold a CR/LF from a title.
        message = EmailMultiAlternatives(
            header_line(notification.subject),
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.recipient],
        )
        if notification.html_body:
            message.attach_alternative(notification.html_body, "text/html")
        message.send(fail_silently=False)
        return
    hook = notification.webhook
    body = json.dumps(webhook_payload(notification)).encode()
    # Checked again now, not only when the hook was saved: the name may resolve elsewhere by now.
    destination = webhook_destination(hook.url)
    connection = _connection(destination, timeout=hook.timeout_seconds)
    try:
        connection.request(
            "POST",
            destination.target,
            body=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret, body)},
        )
        response = connection.getresponse()
        status, location = response.status, response.getheader("Location", "")
    finally:
        connection.close()
    if 300 <= status < 400:
        # Following it would send the body to a place nobody checked (a redirect to 169.254.169.254).
        raise RuntimeError(f"HTTP {status} redirect to {location or '(no Location)'} not followed")
    if status >= 300:
        raise RuntimeError(f"HTTP {status}")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the destination's checked addresses, not to whatever the name resolves to now."""

    def __init__(self, destination: Destination, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout)
        self.destination = destination

    def connect(self):
        self.sock = self.destination.connect(self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS, the certificate checked against the URL's host name."""

    def __init__(self, destination: Destination, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout)
        self.destination = destination
        self.tls = ssl.create_default_context()

    def connect(self):
        self.sock = self.tls.wrap_socket(
            self.destination.connect(self.timeout), server_hostname=self.destination.host
        )


def _connection(destination: Destination, *, timeout: float) -> http.client.HTTPConnection:
    if destination.scheme == "https":
        return _PinnedHTTPSConnection(destination, timeout)
    return _PinnedHTTPConnection(destination, timeout)


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
    except (OSError, http.client.HTTPException, RuntimeError, ValueError) as exc:
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
