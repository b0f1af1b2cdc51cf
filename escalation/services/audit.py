"""The system audits itself: re-queue stuck notifications, and report escalations that are late."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from incidents.cache_errors import CACHE_ERRORS
from incidents.choices import Role

from ..choices import DeliveryStatus
from ..choices import Template as T
from ..models import Notification
from .hierarchical import missed_breaches, overdue
from .notifications import notify, queue_delivery, users_of

logger = logging.getLogger(__name__)
REPORT_AGAIN_AFTER = 24 * 3600  # seconds


def requeue_pending(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue again every pending notification whose next attempt is due (lost task, broker outage), except
    those of a paused webhook endpoint."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now - timedelta(seconds=30)
        )
        .exclude(webhook__paused_at__isnull=False)  # kept until the endpoint is resumed
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        queue_delivery(ids)
    return len(ids)


def watchdog(*, now: datetime | None = None) -> dict:
    """Report to the Incident Managers (and the error log) escalations more than 5 minutes late and
    breached incidents whose final escalation never fired. Each incident is reported once a day at most,
    so a lasting problem does not mail the managers every 10 minutes; the error log says it every time."""
    now = now or timezone.now()
    late = list(overdue(now=now).values_list("incident__number", flat=True)[:100])
    missed = list(missed_breaches(now=now).values_list("number", flat=True)[:100])
    if not (late or missed):
        return {"late": late, "missed_breaches": missed, "reported": []}
    logger.error("Escalation watchdog: late %s; breached without final escalation %s", late, missed)
    fresh = [n for n in dict.fromkeys(late + missed) if _first_report_today(n)]
    if fresh:
        lines = []
        if late_fresh := [n for n in late if n in fresh]:
            lines.append(f"Escalations more than 5 minutes late: {', '.join(late_fresh)}.")
        if missed_fresh := [n for n in missed if n in fresh]:
            lines.append(f"Breached incidents with no final escalation: {', '.join(missed_fresh)}.")
        body = "\n".join(lines) + "\nCheck that the Celery worker and beat are running."
        with transaction.atomic():
            notify(
                incident=None,
                template=T.ESCALATION,
                users=users_of([Role.INCIDENT_MANAGERS]),
                extra={"subject": "itsm watchdog: escalations need attention", "body": body},
            )
    return {"late": late, "missed_breaches": missed, "reported": fresh}


def _first_report_today(number: str) -> bool:
    """Remembered in the cache; with the cache down the incident counts as not yet reported: a lasting
    problem may then mail the managers more than once a day, but is never kept from them."""
    try:
        return cache.add(f"watchdog:{number}", True, REPORT_AGAIN_AFTER)
    except CACHE_ERRORS:
        logger.warning("Cache unavailable: the watchdog reports %s without checking it did today", number)
        return True
