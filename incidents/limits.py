"""Bounds on what people and integrations may write (issue #8, "Hostile input at every edge").

One home for these rules: the services apply them, so the admin, the API, the CSV import and the commands
refuse the same input with the same message. They protect the storage (PostgreSQL refuses NUL characters
in text), the outputs (a title is an e-mail subject: a line break in it makes every e-mail of the incident
fail) and the reports (a detection time years before logging turns a service's month into an outage).
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone

from .formatting import exact_duration

NUL_MESSAGE = "Null characters are not allowed."  # Django's and DRF's own wording for the same refusal
ONE_LINE_MESSAGE = "The title must be one line."
# Every character `str.splitlines()` breaks on: a mail client or a spreadsheet may break there too.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Far beyond any target the seed gives (72 h at most); due times computed from it stay within the calendar.
MAX_SLA_TARGET = timedelta(days=365)
# Far below any target the seed gives (15 min at least): a shorter one breaches every incident at logging.
MIN_SLA_TARGET = timedelta(minutes=1)
# Alert intake (issue 13, "Storms"): Alertmanager posts a whole group in one notification and gives up on a
# 4xx, so a large group must fit. 5,000 alerts of ~2 KB each make 10 MiB; Alertmanager's `max_alerts` and
# the README's group_by keep a group below both.
MAX_ALERT_BODY_BYTES = 10 * 1024 * 1024
MAX_ALERTS_PER_DELIVERY = 5000
# How far another system's clock may run ahead of ours: a moment that little ahead is not "in the future".
CLOCK_SKEW = timedelta(minutes=5)


def max_text_length() -> int:
    """Longest free text (descriptions, notes, reasons, comments) in characters: `settings.MAX_TEXT_LENGTH`.
    A list page of 50 incidents stays a few megabytes at most."""
    return settings.MAX_TEXT_LENGTH


def detected_at_max_age() -> timedelta:
    """How long before its logging an incident may have been detected: `settings.DETECTED_AT_MAX_AGE`."""
    return settings.DETECTED_AT_MAX_AGE


def title_errors(title: str, *, max_length: int) -> list[str]:
    """A title is one line of at most `max_length` characters, without NUL characters."""
    errors = []
    if "\x00" in title:
        errors.append(NUL_MESSAGE)
    if not LINE_BREAKS.isdisjoint(title):
        errors.append(ONE_LINE_MESSAGE)
    if len(title) > max_length:
        errors.append(f"At most {max_length} characters (this one has {len(title)}).")
    return errors


def text_errors(text: str) -> list[str]:
    """Free text has at most `max_text_length()` characters and no NUL characters."""
    errors = []
    if "\x00" in text:
        errors.append(NUL_MESSAGE)
    limit = max_text_length()
    if len(text) > limit:
        errors.append(f"At most {limit} characters (this one has {len(text)}).")
    return errors


def check_text(errors: dict, **values: str | None) -> None:
    """Add `text_errors` of each named value to `errors` (field → messages); None and "" pass."""
    for field, value in values.items():
        if isinstance(value, str) and value:
            for message in text_errors(value):
                errors.setdefault(field, []).append(message)


def clip_text(text: str) -> str:
    """`text` cut to `max_text_length()`, for what monitoring sends: an alert is never refused for being
    verbose."""
    limit = max_text_length()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def earliest_detection(logged_at: datetime) -> datetime:
    return logged_at - detected_at_max_age()


def detected_at_errors(detected_at: datetime, *, logged_at: datetime) -> list[str]:
    """Detection lies between `DETECTED_AT_MAX_AGE` before logging and the logging itself (so never in the
    future), and not before `EARLIEST_INCIDENT_DATE`. The bound is relative to the logging time, so
    importing old incidents stays possible."""
    if detected_at > logged_at:
        return ["Detection cannot be later than logging."]
    # The difference of two moments never leaves the calendar; `logged_at - max age` does in year 1.
    if logged_at - detected_at > detected_at_max_age():
        return [f"Detection can be at most {exact_duration(detected_at_max_age())} before logging."]
    if detected_at < earliest_moment():
        return [f"Detection cannot be before {earliest_incident_date()}, the earliest incident date."]
    return []


def in_service_errors(detected_at: datetime, *, service) -> list[str]:
    """An incident of a service is not detected before the service went into operation: the first moment of
    its `in_service_since` day in `settings.TIME_ZONE`. No service, no bound."""
    if service is not None and detected_at < day_start(service.in_service_since):
        return [
            "Detection cannot be before the service went into operation "
            f"({service.in_service_since.isoformat()})."
        ]
    return []


# --- moments an incident records (the CSV import takes them all as given) -------------------------------


def earliest_incident_date() -> date:
    """Nothing an incident records lies before this day (`settings.EARLIEST_INCIDENT_DATE`): a logging time
    in year 1 turns every report that divides by time into nonsense."""
    return settings.EARLIEST_INCIDENT_DATE


def day_start(day: date) -> datetime:
    """The first moment of `day` in `settings.TIME_ZONE`."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def earliest_moment() -> datetime:
    return day_start(earliest_incident_date())


def storable(moment: datetime) -> bool:
    """Whether the moment exists in UTC, where the database keeps it and every conversion passes: year 1 at
    +01:00 is year 0 there, 9999-12-31T23:00-05:00 is year 10000, and either raises OverflowError."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


def in_future(moment: datetime, *, now: datetime) -> bool:
    """Later than now by more than `CLOCK_SKEW`."""
    return moment > now + CLOCK_SKEW


def logged_at_errors(logged_at: datetime, *, now: datetime) -> list[str]:
    """Logging lies between the start of `EARLIEST_INCIDENT_DATE` and now (give or take `CLOCK_SKEW`)."""
    if logged_at < earliest_moment():
        return [f"Cannot be before {earliest_incident_date()}, the earliest incident date."]
    if in_future(logged_at, now=now):
        return ["Cannot be in the future."]
    return []


def due_at_errors(due_at: datetime, *, logged_at: datetime, on_hold: timedelta | None = None) -> list[str]:
    """A due time lies at most `MAX_SLA_TARGET` after logging (`Incident.set_sla_clocks`: logging plus the
    severity's target); the resolution due time also moves later by the time spent on hold (`on_hold`).
    `logged_at` must be within `logged_at_errors`' bounds, so the sum stays within the calendar."""
    if due_at <= logged_at + MAX_SLA_TARGET + (on_hold or timedelta(0)):
        return []
    longest = f"Cannot be more than {exact_duration(MAX_SLA_TARGET)} after logging (the longest SLA target)"
    return [longest + (" plus the time on hold." if on_hold is not None else ".")]


@functools.cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zones this machine knows (Europe/Madrid, UTC, ...)."""
    return frozenset(zoneinfo.available_timezones())


def time_zone_errors(name: str) -> list[str]:
    """A user's time zone is an IANA name ("Europe/Madrid", "UTC"), empty for the site's (`TIME_ZONE`)."""
    if name and name not in time_zone_names():
        return [f"'{name[:64]}' is not an IANA time zone (for example Europe/Madrid or UTC)."]
    return []


def validate_time_zone(name: str) -> None:
    """`time_zone_errors` as a model field validator."""
    errors = time_zone_errors(name)
    if errors:
        raise DjangoValidationError(errors, code="invalid")
