"""On-call shifts as iCalendar (RFC 5545), for the calendar feeds (`escalation.views.oncall_calendar`).

The selectors decide who is on call when (`selectors.rotation_shifts`, `selectors.user_shifts`); this module
only writes that down. Times are in UTC, which every calendar application shows in its user's own zone.
Each event's UID is made of the rotation, the person, the kind of shift and its start, so a refreshed feed
updates the events a calendar already holds rather than adding copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event
from icalendar.prop import vDuration

from .selectors import OnCall

PRODUCT_ID = "-//itsm//On-call shifts//EN"
# How often calendar applications should fetch the feed again (Apple's and Outlook's names for it).
REFRESH_INTERVAL = timedelta(hours=1)
NOBODY = "Nobody on call"


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def _uid(shift: OnCall) -> str:
    who = shift.user.pk if shift.user is not None else "nobody"
    kind = "override" if shift.is_override else "shift"
    return f"oncall-{shift.rotation.pk}-{who}-{kind}-{shift.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}@itsm"


def _calendar(name: str, description: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-caldesc", description)
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))  # an X- property: typed by hand
    return calendar


def _event(shift: OnCall, *, summary: str, description: str, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", _uid(shift))
    event.add("dtstamp", stamp)
    event.add("dtstart", shift.starts_at.astimezone(UTC))
    event.add("dtend", shift.ends_at.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", description)
    event.add("categories", ["On call"])
    event.add("transp", "TRANSPARENT")  # on call is not busy: the calendar still offers the time
    return event


def _shift_note(shift: OnCall) -> str:
    rotation = shift.rotation
    kind = "An override of the regular shift" if shift.is_override else "A regular shift"
    return f"{kind} of the rotation {rotation.name} ({rotation.get_kind_display()})."


def rotation_calendar(*, rotation, shifts: Iterable[OnCall], now: datetime) -> bytes:
    """Everyone's shifts in one rotation, overrides included, and the stretches when nobody is on call."""
    calendar = _calendar(
        f"On call: {rotation.name}", f"Who is on call for {rotation.get_kind_display()}, overrides included."
    )
    for shift in shifts:
        if shift.user is None:
            summary = f"{NOBODY}: {rotation.name}"
            description = "Nobody is on call: the whole group is notified instead."
        else:
            summary = f"{_person(shift.user)} on call: {rotation.name}" + (
                " (override)" if shift.is_override else ""
            )
            description = _shift_note(shift)
        calendar.add_component(_event(shift, summary=summary, description=description, stamp=now))
    return calendar.to_ical()


def user_calendar(*, user, shifts: Iterable[OnCall], now: datetime) -> bytes:
    """One person's shifts in every rotation they take part in."""
    calendar = _calendar(f"On call: {_person(user)}", f"The on-call shifts of {_person(user)}.")
    for shift in shifts:
        summary = f"On call: {shift.rotation.name}" + (" (override)" if shift.is_override else "")
        calendar.add_component(_event(shift, summary=summary, description=_shift_note(shift), stamp=now))
    return calendar.to_ical()
