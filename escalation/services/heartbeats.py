"""Heartbeats: a periodic job records when it last succeeded, so that its silence can be noticed from
outside the worker that runs it (the watchdog cannot: it runs in that same worker)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ..choices import Job
from ..models import Heartbeat


def heartbeat_record(*, name: Job, at: datetime | None = None) -> None:
    """Record that the job `name` has just succeeded: one row per job, written in one statement (an
    insert-or-update), so two workers finishing at once cannot collide."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name, last_success_at=at or timezone.now())],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["last_success_at"],
    )
