"""Hand work on the notification outbox: an Incident Manager sends a failed notification again."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from incidents import permissions as incident_perms
from incidents import services as incident_services
from incidents.choices import EventKind
from incidents.exceptions import Conflict, PermissionDenied

from ..choices import DeliveryStatus
from ..models import Notification
from .notifications import queue_delivery


def notification_retry(*, notification: Notification, user) -> Notification:
    """Put a notification that gave up (status failed, after `delivery.MAX_ATTEMPTS`) back in the outbox
    with a fresh set of attempts, note it on the incident's timeline, and queue its delivery on commit.
    Incident Managers only; a pending or sent notification is left alone (it is not lost, or was sent)."""
    if not incident_perms.is_incident_manager(user):
        raise PermissionDenied("Only Incident Managers may retry deliveries.")
    with transaction.atomic():
        locked = Notification.objects.select_for_update().get(pk=notification.pk)
        if locked.status != DeliveryStatus.FAILED:
            raise Conflict(
                f"Notification {locked.pk} to {locked.recipient} is {locked.get_status_display().lower()}; "
                "only failed deliveries are retried."
            )
        locked.status, locked.attempts, locked.next_attempt_at = DeliveryStatus.PENDING, 0, timezone.now()
        locked.save(update_fields=["status", "attempts", "next_attempt_at"])
        if locked.incident_id:
            incident_services.timeline_record(
                incident=locked.incident,
                kind=EventKind.NOTIFICATION,
                user=user,
                note=f"Retrying delivery of the {locked.get_template_display()} to {locked.recipient} "
                f"(failed: {locked.last_error or 'unknown error'}).",
                data={"notification": locked.pk, "retry": True},
            )
        transaction.on_commit(lambda: queue_delivery([locked.pk]), robust=True)  # as in notify()
    return locked
