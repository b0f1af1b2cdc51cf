"""Deliver one outbox row, exactly once: the row is claimed while it is sent and marked sent afterwards, so
a task delivered twice (or re-queued by the sweep) finds it claimed or sent and does nothing.

Webhooks (Standard Webhooks headers, `webhook_signing`) keep each incident's events in order per endpoint:
a delivery waits while an earlier one of the same incident to the same endpoint is pending. A failed
delivery is retried with exponential back-off for `WEBHOOK_RETRY_PERIOD`; an endpoint failing without a
success for `WEBHOOK_PAUSE_AFTER` is paused, and its deliveries are kept until it is resumed
(`webhook_endpoints.webhook_resume`)."""

from __future__ import annotations

import http.client
import json
import ssl
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.output_safety import header_line

from ..choices import Channel, DeliveryStatus, Template
from ..models import Notification, Webhook, new_message_id
from .webhook_signing import signed_headers
from .webhook_urls import Destination, webhook_destination

MAX_ATTEMPTS = 8  # e-mail; webhooks are retried for WEBHOOK_RETRY_PERIOD instead
CLAIM_LEASE = timedelta(minutes=2)  # longer than any send may take (webhook timeouts are seconds)
# An endpoint answering again after failing at least this long gets its backed-off deliveries at once (up
# to QUEUE_AFTER_RECOVERY of them). Shorter failures wait for their own retry: with traffic flowing, one
# delivery the receiver always refuses must not be retried after every success of the others.
RECOVERY_AFTER = timedelta(minutes=2)
QUEUE_AFTER_RECOVERY = 500


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


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


def _message_id(notification: Notification) -> str:
    """The delivery's `webhook-id`, given now to a row that has none (an e-mail's row never needs one; a
    webhook row from before ids existed may), and kept for every later attempt."""
    if not notification.message_id:
        candidate = new_message_id()
        Notification.objects.filter(pk=notification.pk, message_id__isnull=True).update(message_id=candidate)
        notification.message_id = Notification.objects.values_list("message_id", flat=True).get(
            pk=notification.pk
        )
    return notification.message_id


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
    headers = signed_headers(hook, message_id=_message_id(notification), body=body, now=timezone.now())
    connection = _connection(destination, timeout=hook.timeout_seconds)
    try:
        connection.request("POST", destination.target, body=body, headers=headers)
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
    """Send one notification. Returns its status ("waiting" and "paused" for a webhook delivery held back)
    and, after a failure worth retrying, the delay.

    The row is claimed with a lease before sending and no transaction is held while the mail server or
    webhook answers (on SQLite that would block every other writer). A second task for the same row finds
    it claimed or sent and does nothing; a worker that dies mid-send leaves the lease to expire, and the
    sweep then sends it again."""
    now = timezone.now()
    claimed = (
        Notification.objects.filter(pk=notification_id, status=DeliveryStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_LEASE)
    )
    notification = (
        Notification.objects.select_related("webhook", "incident__service").filter(pk=notification_id).first()
    )
    if notification is None:
        return "missing", None
    if not claimed:
        return notification.status, None
    hook = notification.webhook
    if notification.channel == Channel.WEBHOOK:
        if hook is None or not hook.is_active:
            _finish(notification, status=DeliveryStatus.FAILED, last_error="webhook removed or switched off")
            return DeliveryStatus.FAILED, None
        if hook.paused_at is not None:
            _finish(notification)  # kept for when the endpoint is resumed
            return "paused", None
        earlier = _earlier_pending(notification)
        if earlier is not None:
            # Not before it: it is queued again when the earlier one is sent (`_after_webhook_success`).
            _finish(notification, next_attempt_at=max(earlier.next_attempt_at, now))
            if _earlier_pending(notification) is None:
                # Sent meanwhile, its hand-over finding this row claimed: queue it again ourselves.
                from .notifications import queue_delivery

                Notification.objects.filter(pk=notification.pk).update(next_attempt_at=now)
                queue_delivery([notification.pk])
            return "waiting", None
    Notification.objects.filter(pk=notification.pk).update(attempts=F("attempts") + 1)
    notification.attempts += 1
    try:
        _send(notification)
    except (OSError, http.client.HTTPException, RuntimeError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if notification.channel == Channel.WEBHOOK:
            return _after_webhook_failure(notification, hook, error=error, now=now)
        retry_in = backoff(notification.attempts) if notification.attempts < MAX_ATTEMPTS else None
        status = DeliveryStatus.PENDING if retry_in else DeliveryStatus.FAILED
        _finish(
            notification, status=status, last_error=error, next_attempt_at=now + (retry_in or timedelta())
        )
        return status, retry_in
    _finish(notification, status=DeliveryStatus.SENT, last_error="", sent_at=timezone.now())
    if notification.channel == Channel.WEBHOOK:
        _after_webhook_success(notification, hook)
    return DeliveryStatus.SENT, None


def _finish(notification: Notification, **fields) -> None:
    Notification.objects.filter(pk=notification.pk).update(claimed_until=None, **fields)


def _earlier_pending(notification: Notification) -> Notification | None:
    """The latest delivery of the same incident to the same endpoint that is still pending before this
    one. Failed ones (given up, or the hook switched off) do not hold the queue; *Redeliver* sends them."""
    if notification.incident_id is None:
        return None
    return (
        Notification.objects.filter(
            webhook_id=notification.webhook_id,
            incident_id=notification.incident_id,
            status=DeliveryStatus.PENDING,
            pk__lt=notification.pk,
        )
        .only("pk", "next_attempt_at")
        .order_by("-pk")
        .first()
    )


def _after_webhook_failure(
    notification: Notification, hook: Webhook, *, error: str, now
) -> tuple[str, timedelta | None]:
    """Retry with back-off until `retry_until` (the first failure + WEBHOOK_RETRY_PERIOD), the last try at
    that moment. If the endpoint is paused by this failure (or was meanwhile), the delivery is kept for it."""
    if _count_failure(hook, error, now=now):
        _finish(notification, last_error=error, next_attempt_at=now, retry_until=None)
        return DeliveryStatus.PENDING, None
    retry_until = notification.retry_until or now + settings.WEBHOOK_RETRY_PERIOD
    if now >= retry_until:
        _finish(notification, status=DeliveryStatus.FAILED, last_error=error)
        return DeliveryStatus.FAILED, None
    next_attempt_at = min(now + backoff(notification.attempts), retry_until)
    _finish(notification, last_error=error, next_attempt_at=next_attempt_at, retry_until=retry_until)
    return DeliveryStatus.PENDING, next_attempt_at - now


def _after_webhook_success(notification: Notification, hook: Webhook) -> None:
    """The next delivery of the incident goes now. An endpoint answering again after an outage (failing
    for RECOVERY_AFTER or longer) gets its backed-off deliveries now rather than at their retry times."""
    from .notifications import queue_delivery

    now = timezone.now()
    recovered = Webhook.objects.filter(pk=hook.pk, failing_since__lte=now - RECOVERY_AFTER).update(
        consecutive_failures=0, failing_since=None
    )
    Webhook.objects.filter(pk=hook.pk).filter(
        Q(consecutive_failures__gt=0) | Q(failing_since__isnull=False)
    ).update(consecutive_failures=0, failing_since=None)
    pending = Notification.objects.filter(webhook_id=hook.pk, status=DeliveryStatus.PENDING)
    if recovered:
        pending.filter(next_attempt_at__gt=now).update(next_attempt_at=now)
        ids = list(pending.order_by("pk").values_list("pk", flat=True)[:QUEUE_AFTER_RECOVERY])
    elif notification.incident_id is not None:
        ids = list(
            pending.filter(incident_id=notification.incident_id, pk__gt=notification.pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:1]
        )
        pending.filter(pk__in=ids).update(next_attempt_at=now)
    else:
        ids = []
    if ids:
        queue_delivery(ids)


def _count_failure(hook: Webhook, error: str, *, now) -> bool:
    """Count a failed attempt; pause the endpoint once it has failed without a success for
    WEBHOOK_PAUSE_AFTER, and tell the Incident Managers. True when the endpoint is paused."""
    Webhook.objects.filter(pk=hook.pk).update(
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce(F("failing_since"), Value(now, output_field=DateTimeField())),
    )
    paused_now = Webhook.objects.filter(
        pk=hook.pk, paused_at__isnull=True, failing_since__lte=now - settings.WEBHOOK_PAUSE_AFTER
    ).update(paused_at=now, paused_reason=error[:255])
    if paused_now:
        _tell_managers_paused(hook, error)
        return True
    return Webhook.objects.filter(pk=hook.pk, paused_at__isnull=False).exists()


def _tell_managers_paused(hook: Webhook, error: str) -> None:
    from incidents.choices import Role
    from incidents.formatting import exact_duration

    from .notifications import notify, users_of

    notify(
        incident=None,
        template=Template.ESCALATION,
        users=users_of([Role.INCIDENT_MANAGERS]),
        webhooks=False,
        extra={
            "subject": f"itsm: webhook '{hook.name}' paused after failing for "
            f"{exact_duration(settings.WEBHOOK_PAUSE_AFTER)}",
            "body": f"Deliveries to {hook.url} kept failing (last error: {error}).\n"
            "Its events are kept. Fix the receiver, then choose 'Resume deliveries' for the webhook in admin: "
            "what waited goes out in order.",
        },
    )
