"""Reporting periods: calendar months, ISO weeks and day ranges, as half-open [start, end) intervals.

Boundaries are midnights in `settings.TIME_ZONE` (UTC unless configured): "October" is local October, so a
report agrees with the dates people see. Whatever time zone a user's request runs in (their preference),
periods are `TIME_ZONE`'s: a report reads the same for everyone. Parsers raise `ValueError` with a message fit to show a user
(commands turn it into `CommandError`, the API into a 400).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    label: str  # "2026-10", "2026-W47" or "2026-10-01..2026-11-01"
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def first_day(self) -> date:
        return timezone.localtime(self.start, timezone.get_default_timezone()).date()

    @property
    def last_day(self) -> date:
        return timezone.localtime(self.end, timezone.get_default_timezone()).date() - timedelta(days=1)


def midnight(day: date) -> datetime:
    """Local midnight starting `day`, in settings.TIME_ZONE."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def month(year: int, month_number: int) -> Period:
    first = date(year, month_number, 1)
    following = date(year + month_number // 12, month_number % 12 + 1, 1)
    return Period(f"{year:04d}-{month_number:02d}", midnight(first), midnight(following))


def parse_month(text: str) -> Period:
    match = _MONTH.match((text or "").strip())
    if not match:
        raise ValueError(f"Invalid month {text!r}: use YYYY-MM, for example 2026-10.")
    year, number = int(match[1]), int(match[2])
    if not 1 <= number <= 12 or year < 1900:
        raise ValueError(f"Invalid month {text!r}: the month must be 01 to 12 (YYYY-MM).")
    return month(year, number)


def months_back(period: Period, count: int) -> list[Period]:
    """`count` consecutive months ending with `period`'s month, oldest first."""
    first = period.first_day
    index = first.year * 12 + first.month - 1
    return [month(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


def iso_week(year: int, week: int) -> Period:
    monday = date.fromisocalendar(year, week, 1)
    return Period(f"{year:04d}-W{week:02d}", midnight(monday), midnight(monday + timedelta(days=7)))


def parse_week(text: str) -> Period:
    match = _WEEK.match((text or "").strip())
    if not match:
        raise ValueError(f"Invalid ISO week {text!r}: use YYYY-Www, for example 2026-W47.")
    year, week = int(match[1]), int(match[2])
    try:
        return iso_week(year, week)
    except ValueError:
        weeks = date(year, 12, 28).isocalendar().week  # 28 December is always in the last ISO week
        raise ValueError(f"Invalid ISO week {text!r}: {year} has weeks 01 to {weeks}.") from None


def parse_day(text: str, *, name: str = "date") -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValueError(f"Invalid {name} {text!r}: use YYYY-MM-DD.") from None


def day_range(start: date, end: date) -> Period:
    """[start, end): `end` is exclusive, so 2026-10-01..2026-11-01 is October."""
    if end <= start:
        raise ValueError(f"The end ({end}) must be after the start ({start}); the end is exclusive.")
    return Period(f"{start}..{end}", midnight(start), midnight(end))


def previous_month(now: datetime | None = None) -> Period:
    today = timezone.localdate(now or timezone.now(), timezone.get_default_timezone())
    last = today.replace(day=1) - timedelta(days=1)
    return month(last.year, last.month)


def previous_week(now: datetime | None = None) -> Period:
    """The last full ISO week before `now` (on Monday morning: the week that just ended)."""
    today = timezone.localdate(now or timezone.now(), timezone.get_default_timezone())
    year, week, _ = (today - timedelta(days=7)).isocalendar()
    return iso_week(year, week)
