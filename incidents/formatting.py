"""Durations as people write them: "4 h", "15 min", "1 day", "3 days 2 h". One helper for the admin, the
e-mails and the reports (`reporting.formatting.duration` is this one with seconds), and its reverse for the
forms that take a duration as text. And times as the admin shows them: in the user's zone, with its name.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.utils import dateformat, timezone
from django.utils.dateparse import parse_duration

NOTHING = "—"

# (singular, plural, seconds), largest first.
UNITS = (
    ("day", "days", 86400),
    ("h", "h", 3600),
    ("min", "min", 60),
    ("s", "s", 1),
)
_UNIT_SECONDS = {name: seconds for name, _, seconds in UNITS}


def human_duration(value: timedelta | float | None, *, parts: int = 2, smallest: str = "min") -> str:
    """`value` (a timedelta or seconds) in at most `parts` units, counted from its largest one and rounded
    down to `smallest` ("day", "h", "min" or "s"); units that are zero are left out. 4 h, 3 h 59 min, 1 day,
    3 days 2 h, 10 min 5 s (smallest="s"), "< 1 min" for less than the smallest unit, "0 min" for nothing,
    a leading "-" for a negative duration, "—" for None.

    Precise enough for an SLA clock at `parts=2`; `parts=4` with `smallest="s"` is exact (targets)."""
    if value is None:
        return NOTHING
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    sign = "-" if seconds < 0 else ""
    seconds = int(abs(seconds))
    floor = _UNIT_SECONDS[smallest]
    if seconds < floor:
        return f"{sign}< 1 {smallest}" if seconds else f"0 {smallest}"
    words: list[str] = []
    counted = 0
    for singular, plural, size in UNITS:
        if size < floor or counted == parts:
            break
        amount, seconds = divmod(seconds, size)
        if amount or words:
            counted += 1
        if amount:
            words.append(f"{amount} {singular if amount == 1 else plural}")
    return sign + " ".join(words)


def exact_duration(value: timedelta | float | None) -> str:
    """Every unit down to the second: how targets and offsets read ("15 min", "1 day 30 min")."""
    return human_duration(value, parts=len(UNITS), smallest="s")


_PART = re.compile(
    r"(\d+)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b", flags=re.IGNORECASE
)
_PART_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_human_duration(text: str) -> timedelta | None:
    """The reverse of `human_duration`: "4 h", "15 min", "1 day", "3 days 2 h", "1d 4h 30m"; also Django's
    own notations ("04:00:00", "1 04:00:00", ISO 8601 "PT4H"). None when the text is none of these."""
    text = (text or "").strip()
    if not text:
        return None
    rest = _PART.sub("", text)
    if not rest.strip() and _PART.search(text):
        total = 0
        for amount, unit in _PART.findall(text):
            unit = unit.lower()
            key = "m" if unit.startswith("min") or unit == "m" else unit[0]
            total += int(amount) * _PART_SECONDS[key]
        try:
            return timedelta(seconds=total)
        except OverflowError:  # beyond timedelta's range: not a duration anyone means
            return None
    return parse_duration(text)


def zoned_time(moment: datetime, *, now: datetime | None = None, full: bool = False) -> str:
    """`moment` in the current time zone (the user's, `incidents.middleware`) with the zone's abbreviation,
    as short as the distance from `now` allows: "23:15 CET" today, "Tue 03:00 CET" within the next six days,
    "3 Mar 03:00 CET" this year, "3 Mar 2027 03:00 CET" otherwise; `full`: "2026-03-02 23:15 CET"."""
    local = timezone.localtime(moment)
    if full:
        return dateformat.format(local, "Y-m-d H:i T")
    today = timezone.localtime(now or timezone.now()).date()
    day = local.date()
    if day == today:
        pattern = "H:i T"
    elif today < day <= today + timedelta(days=6):
        pattern = "D H:i T"
    elif day.year == today.year:
        pattern = "j M H:i T"
    else:
        pattern = "j M Y H:i T"
    return dateformat.format(local, pattern)
