"""What people do to webhook endpoints: rotate a secret, resume a paused endpoint, redeliver a delivery.
Incident Managers only; the admin's actions call these."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from incidents import permissions as incident_perms
from incidents import services as incident_services
from incidents.choices import EventKind
from incidents.exceptions import Conflict, PermissionDenied

from ..choices import Channel, DeliveryStatus
from ..models import Notification, Webhook, new_webhook_secret
from .notifications import queue_delivery

# After a rotation deliveries carry a second signature made with the previous secret for this long, so
# receivers can switch to the new secret without refusing anything meanwhile.
PREVIOUS_SECRET_GRACE = timedelta(hours=24)


def _require_manager(user, what: str) -> None:
    if not incident_perms.is_incident_manager(user):
        raise PermissionDenied(f"Only Incident Managers may {what}.")


def webhook_rotate_secret(*, webhook: Webhook, user) -> str:
    """Give the hook a new secret and return it: the one time it is shown. The previous secret keeps
    signing too (a second `v1,` signature) for PREVIOUS_SECRET_GRACE."""
    _require_manager(user, "rotate webhook secrets")
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = timezone.now() + PREVIOUS_SECRET_GRACE
        locked.secret = new_webhook_secret()
        locked._change_reason = "secret rotated"
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return locked.secret


def webhook_resume(*, webhook: Webhook, user) -> int:
    """Switch a paused endpoint back on: what was kept for it goes out now, each incident's events in
    order (`delivery.deliver` holds a delivery while an earlier one of its incident is pending), each with
    a fresh retry period. Returns how many deliveries were waiting."""
    _require_manager(user, "resume webhooks")
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
        if locked.paused_at is None:
            raise Conflict(f"Webhook '{locked.name}' is not paused.")
        locked.paused_at, locked.paused_reason = None, ""
        locked.failing_since, locked.consecutive_failures = None, 0
        locked._change_reason = "resumed"
        locked.save(update_fields=["paused_at", "paused_reason", "failing_since", "consecutive_failures"])
        kept = Notification.objects.filter(webhook=locked, status=DeliveryStatus.PENDING)
        kept.update(next_attempt_at=timezone.now(), retry_until=None, attempts=0)
        ids = list(kept.order_by("pk").values_list("pk", flat=True))
        transaction.on_commit(lambda: queue_delivery(ids), robust=True)  # the sweep re-queues the rest
    return len(ids)


def webhook_redeliver(*, notification: Notification, user) -> Notification:
    """Send a webhook delivery again, whatever its status, with the same `webhook-id` (a receiver that
    already has it drops the copy) and a fresh retry period. It waits behind an earlier pending delivery
    of its incident like any other; to a paused endpoint it goes when the endpoint is resumed."""
    _require_manager(user, "redeliver webhooks")
    with transaction.atomic():
        locked = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("webhook")
            .get(pk=notification.pk)
        )
        if locked.channel != Channel.WEBHOOK:
            raise Conflict(f"Notification {locked.pk} is an e-mail; only webhook deliveries are redelivered.")
        if locked.webhook is None or not locked.webhook.is_active:
            raise Conflict(f"Notification {locked.pk}: its webhook is removed or switched off.")
        previous = locked.get_status_display().lower()
        locked.status, locked.attempts, locked.retry_until = DeliveryStatus.PENDING, 0, None
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "attempts", "retry_until", "next_attempt_at"])
        if locked.incident_id:
            incident_services.timeline_record(
                incident=locked.incident,
                kind=EventKind.NOTIFICATION,
                user=user,
                note=f"Redelivering {locked.subject} to webhook {locked.recipient} (was {previous}).",
                data={"notification": locked.pk, "redeliver": True},
            )
        transaction.on_commit(lambda: queue_delivery([locked.pk]), robust=True)
    return locked
