"""Thin, idempotent Celery tasks: they take ids, call one service, and may safely run twice."""

import logging

from celery import shared_task
from django.conf import settings

from . import services
from .choices import Job

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, max_retries=None)
def fire_escalation(incident_id: int, token: str):
    """Scheduled with eta = the step's due time (at most the queue horizon ahead). Does nothing unless
    `token` is still current."""
    return len(services.fire_due(incident_id=incident_id, token=token))


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=8)
def deliver_notification(self, notification_id: int):
    """Send one outbox row. A back-off within the queue horizon is a retry; a longer one leaves the row
    pending with its next attempt time, and the minute sweep queues it then (`requeue_pending`). A webhook
    delivery waiting behind an earlier one of its incident is queued again when that one is sent; one to a
    paused endpoint when the endpoint is resumed."""
    status, retry_in = services.deliver(notification_id=notification_id)
    if retry_in is not None and retry_in <= settings.ESCALATION_QUEUE_HORIZON:
        raise self.retry(countdown=retry_in.total_seconds())
    return status


@shared_task(acks_late=True)
def sweep():
    """Every minute (celery beat): fire overdue escalations, queue those falling due within the horizon,
    re-queue pending notifications, and record the success, so /healthz and the admin notice when it
    stops (the worker or beat is down). Safe to overlap with another sweep."""
    fired = services.sweep()
    queued = services.queue_upcoming()
    requeued = services.requeue_pending()
    services.heartbeat_record(name=Job.ESCALATION_SWEEP)
    return {"fired": fired, "queued": queued, "requeued": requeued}


@shared_task(acks_late=True)
def major_incident_reminders():
    """Every minute: status-update reminders whose interval ran out (the name predates per-severity rules)."""
    return services.send_status_update_reminders()


@shared_task(acks_late=True)
def incident_digest():
    """Every hour: the Incident Notifications collected for the digest, one message per recipient."""
    return services.send_incident_digests()


@shared_task(acks_late=True)
def watchdog():
    """Every 10 minutes: the system audits its own escalations."""
    return services.watchdog()
