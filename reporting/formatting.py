"""How report numbers read to people: durations as "4 h 12 min", shares as "97.5%", nothing as "—". Shared by
the Markdown/CSV renderers and the templates (`{% load report_format %}`)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from incidents.formatting import NOTHING, human_duration


def duration(seconds) -> str:
    """3 days 4 h, 5 h 12 min, 12 min 5 s, 40 s (`incidents.formatting.human_duration`, to the second)."""
    return human_duration(None if seconds is None else round(seconds), smallest="s")


def percent(share, digits: int = 1) -> str:
    if share is None:
        return NOTHING
    return f"{share * 100:.{digits}f}%"


def availability(share) -> str:
    return percent(share, 3)


def minutes(value) -> str:
    if value is None:
        return NOTHING
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def when(value) -> str:
    """An ISO timestamp (as the report data holds it) in `TIME_ZONE` (a report reads the same for everyone,
    whatever the reader's own zone), to the minute."""
    if not value:
        return NOTHING
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return timezone.localtime(moment, timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M")


def met(flag) -> str:
    if flag is None:
        return "no data"
    return "met" if flag else "missed"


def dash(value) -> str:
    return NOTHING if value in (None, "") else str(value)
