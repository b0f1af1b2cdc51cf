"""Bounds on what people and integrations may write (issue #8, "Hostile input at every edge").

One home for these rules: the services apply them, so the admin, the API, the CSV import and the commands
refuse the same input with the same message. They protect the storage (PostgreSQL refuses NUL characters
in text), the outputs (a title is an e-mail subject: a line break in it makes every e-mail of the incident
fail) and the reports (a detection time years before logging turns a service's month into an outage).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

NUL_MESSAGE = "Null characters are not allowed."  # Django's and DRF's own wording for the same refusal
ONE_LINE_MESSAGE = "The title must be one line."
# Every character `str.splitlines()` breaks on: a mail client or a spreadsheet may break there too.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


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
    future). The bound is relative to the logging time, so importing old incidents stays possible."""
    if detected_at > logged_at:
        return ["Detection cannot be later than logging."]
    if detected_at < earliest_detection(logged_at):
        return [f"Detection can be at most {_duration(detected_at_max_age())} before logging."]
    return []


def _duration(delta: timedelta) -> str:
    if delta % timedelta(days=1) == timedelta(0):
        days = delta.days
        return f"{days} day{'s' if days != 1 else ''}"
    return str(delta)
