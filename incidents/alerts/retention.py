"""Raw payloads are kept 30 days for debugging, then purged."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from ..models import AlertPayload

PAYLOAD_RETENTION = timedelta(days=30)  # the issue: raw payloads "stored ... for 30 days for debugging"


def alert_payloads_purge(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete raw payloads received more than 30 days ago, in batches (a storm leaves many). Returns how
    many were deleted. Run daily by celery beat (`incidents.tasks.purge_alert_payloads`)."""
    cutoff = (now or timezone.now()) - PAYLOAD_RETENTION
    deleted = 0
    while True:
        ids = list(
            AlertPayload.objects.filter(received_at__lt=cutoff).values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        AlertPayload.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
