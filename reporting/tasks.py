"""Scheduled reports (celery beat entries created by migration, editable in admin). Each task calls one
service and is safe to run twice: the (kind, period) delivery row is locked and checked before sending."""

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings

from . import services
from .periods import parse_month, parse_week

# Back-off from 1 min, never a countdown beyond the queue horizon (Redis would hand a task held longer than
# its visibility timeout out again): with the 10-minute default, retries for up to about an hour.
RETRY = {
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": 60,
    "retry_backoff_max": min(3600, int(settings.ESCALATION_QUEUE_HORIZON.total_seconds())),
    "max_retries": 9,
}


def _outcome(delivery) -> dict:
    return {
        "period": delivery.period,
        "sent_at": delivery.sent_at.isoformat() if delivery.sent_at else None,
        "recipients": len(delivery.recipients.split()),
    }


@shared_task(acks_late=True, **RETRY)
def send_weekly_summary(week: str | None = None):
    """Monday 08:00: last ISO week's summary to the Operations Team, the Incident Managers in copy (or
    `week`, e.g. "2026-W47")."""
    delivery = services.deliver_weekly_summary(week=parse_week(week) if week else None)
    return _outcome(delivery)


@shared_task(acks_late=True, **RETRY)
def send_service_impact_report(month: str | None = None):
    """The 1st at 08:00: the previous month's service-impact report to Management (or `month`, "2026-10")."""
    delivery = services.deliver_service_impact(month=parse_month(month) if month else None)
    return _outcome(delivery)
