"""How report numbers read to people: durations as "4h 12m", shares as "97.5%", nothing as "—". Shared by
the Markdown/CSV renderers and the templates (`{% load report_format %}`)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

NOTHING = "—"


def duration(seconds) -> str:
    """3d 4h, 5h 12m, 12m 5s, 40s."""
    if seconds is None:
        return NOTHING
    seconds = round(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h" if hours else f"{sign}{days}d"
    if hours:
        return f"{sign}{hours}h {minutes}m" if minutes else f"{sign}{hours}h"
    if minutes:
        return f"{sign}{minutes}m {secs}s" if secs else f"{sign}{minutes}m"
    return f"{sign}{secs}s"


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
    """An ISO timestamp (as the report data holds it) in local time, to the minute."""
    if not value:
        return NOTHING
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def met(flag) -> str:
    if flag is None:
        return "no data"
    return "met" if flag else "missed"


def dash(value) -> str:
    return NOTHING if value in (None, "") else str(value)
