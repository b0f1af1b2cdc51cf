"""The SLA clocks (seed 3.1): which clock runs, when it is due, how much time is left, whether it was breached.

The one home of these rules; the model's properties, its queryset, the admin's badges, the escalation engine
and the reports ask here. Each rule has its Python form (on one incident) and its database form (a `Q` or an
expression over many) side by side, and `tests/incidents/test_clocks.py` checks that they agree.

- Both clocks start at logging and run from then: logging gives every incident a provisional severity and
  its targets (`incidents.services.incident_create`), classification replaces them, and the due times are
  always counted from logging (`due_times`, which `Incident.set_sla_clocks` applies). Once closed or
  cancelled no clock runs. (A record imported without due times, or of a severity without an SLA
  policy, has no clock.)
- The **response** clock runs until the first response (a person's first move into investigating; what a
  system account does never counts, `permissions.is_system_account`).
- The **resolution** clock runs until resolution. It stands still on hold: resuming moves its due time
  later by the time spent on hold, so on hold the time left is what was left when the hold began.
- The clock that matters now is the response clock until the first response, then the resolution clock.
- A clock is breached when its event came after its due time, or is still missing past it while the clock
  runs (or, on hold, when the hold began after the due time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from .choices import OPEN_STATES, Clock, State

# States in which each clock runs (given its due time is set and its event has not happened). A logged
# incident runs on the targets of its provisional severity until classification sets the real ones.
RESPONSE_RUNNING = (State.LOGGED, State.CLASSIFIED)
RESOLUTION_RUNNING = (State.LOGGED, State.CLASSIFIED, State.INVESTIGATING)
PAUSED = (State.ON_HOLD,)
FINISHED = (State.RESOLVED, State.CLOSED)

# A running clock turns amber once less than this share of its target is left.
AMBER_SHARE = 0.25


# --- which clock runs ------------------------------------------------------------------------------------


def response_running(incident) -> bool:
    return (
        incident.response_due_at is not None
        and incident.first_response_at is None
        and incident.state in RESPONSE_RUNNING
    )


def response_running_q(prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}response_due_at__isnull": False,
            f"{prefix}first_response_at__isnull": True,
            f"{prefix}state__in": RESPONSE_RUNNING,
        }
    )


def resolution_running(incident) -> bool:
    return (
        incident.resolution_due_at is not None
        and incident.resolved_at is None
        and incident.state in RESOLUTION_RUNNING
    )


def resolution_running_q(prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}resolution_due_at__isnull": False,
            f"{prefix}resolved_at__isnull": True,
            f"{prefix}state__in": RESOLUTION_RUNNING,
        }
    )


def running_clock(incident) -> Clock | None:
    """The clock that matters now: response until the first response, then resolution; None on hold (the
    resolution clock is paused), without due times and once resolved, closed or cancelled."""
    if response_running(incident):
        return Clock.RESPONSE
    if resolution_running(incident):
        return Clock.RESOLUTION
    return None


def running_due_at(incident) -> datetime | None:
    """When the clock that matters now runs out (None when none runs)."""
    clock = running_clock(incident)
    if clock is None:
        return None
    return incident.response_due_at if clock == Clock.RESPONSE else incident.resolution_due_at


def running_due_at_expression() -> Case:
    """`running_due_at` in the database (for annotating, ordering or filtering lists): NULL when no clock
    runs, so `F(...).asc(nulls_last=True)` puts paused and finished incidents at the end."""
    return Case(
        When(response_running_q(), then=F("response_due_at")),
        When(resolution_running_q(), then=F("resolution_due_at")),
        default=None,
        output_field=models.DateTimeField(),
    )


# The work list's order: a running clock first, then open incidents without one (imported without due
# times), then those on hold (paused), then resolved, closed and cancelled ones.
RANK_RUNNING, RANK_NO_CLOCK, RANK_ON_HOLD, RANK_DONE = 0, 1, 2, 3


def deadline_rank_expression() -> Case:
    """`RANK_*` of each incident, in SQL."""
    return Case(
        When(response_running_q() | resolution_running_q(), then=Value(RANK_RUNNING)),
        When(state__in=PAUSED, then=Value(RANK_ON_HOLD)),
        When(state__in=OPEN_STATES, then=Value(RANK_NO_CLOCK)),
        default=Value(RANK_DONE),
        output_field=models.IntegerField(),
    )


def work_order_expressions() -> tuple:
    """The work list's sort keys, in order: the rank, when the running clock runs out, then the oldest
    first. The model's index `incident_work_order` is built from these very expressions, so PostgreSQL
    reads a page of the list from the index instead of sorting every incident; an index made from
    different expressions would be silently ignored."""
    return (deadline_rank_expression(), running_due_at_expression(), F("created_at"), F("id"))


def running_due_before_q(moment: datetime) -> Q:
    """The clock that matters now runs out before `moment` (or already did): `running_due_at < moment`."""
    return (response_running_q() & Q(response_due_at__lt=moment)) | (
        ~response_running_q() & resolution_running_q() & Q(resolution_due_at__lt=moment)
    )


# --- due times and time left ----------------------------------------------------------------------------


def due_times(
    *, logged_at: datetime, response_target: timedelta, resolution_target: timedelta, on_hold_seconds: int = 0
) -> tuple[datetime, datetime]:
    """(response due, resolution due) of targets counted from logging, whenever they are set (at logging
    from the provisional severity, at each classification, on resuming); the resolution's also carries the
    time spent on hold."""
    return logged_at + response_target, logged_at + resolution_target + timedelta(seconds=on_hold_seconds)


def elapsed_at(incident, clock: Clock, elapsed: timedelta) -> datetime:
    """When `clock` of the incident will have run for `elapsed` (escalation steps at an offset or a share
    of the target): counted from logging; the resolution clock's time on hold so far does not count."""
    paused = timedelta(seconds=incident.on_hold_seconds) if clock == Clock.RESOLUTION else timedelta()
    return incident.created_at + elapsed + paused


def clock_target(incident, clock: Clock) -> timedelta | None:
    """The target `clock` was set from (None before it has one)."""
    return response_target(incident) if clock == Clock.RESPONSE else resolution_target(incident)


def response_target(incident) -> timedelta | None:
    """The response target the due time was set from."""
    if incident.response_due_at is None:
        return None
    return incident.response_due_at - incident.created_at


def resolution_target(incident) -> timedelta | None:
    """The resolution target the due time was set from (the due time also carries the time on hold)."""
    if incident.resolution_due_at is None:
        return None
    return incident.resolution_due_at - incident.created_at - timedelta(seconds=incident.on_hold_seconds)


def response_time_left(incident, now: datetime | None = None) -> timedelta | None:
    """Until the response clock runs out (negative when late); None when it does not run."""
    if not response_running(incident):
        return None
    return incident.response_due_at - (now or timezone.now())


def resolution_time_left(incident, now: datetime | None = None) -> timedelta | None:
    """Until the resolution clock runs out (negative when breached); on hold, what was left when the hold
    began; None when it neither runs nor is paused."""
    if incident.resolution_due_at is None or incident.state not in (*RESOLUTION_RUNNING, *PAUSED):
        return None
    if incident.state in PAUSED:
        return incident.resolution_due_at - (incident.on_hold_since or now or timezone.now())
    return incident.resolution_due_at - (now or timezone.now())


def warn_at(due_at: datetime, target: timedelta) -> datetime:
    """When a clock of `target` due at `due_at` turns amber."""
    return due_at - target * AMBER_SHARE


# --- breaches --------------------------------------------------------------------------------------------


def response_breached(incident, now: datetime | None = None) -> bool:
    """First response after its due time, or still missing past it while the incident awaits one."""
    if incident.response_due_at is None:
        return False
    if incident.first_response_at is not None:
        return incident.first_response_at > incident.response_due_at
    return incident.state in RESPONSE_RUNNING and (now or timezone.now()) > incident.response_due_at


def response_breached_q(now: datetime) -> Q:
    """`response_breached` in the database."""
    late = Q(first_response_at__gt=F("response_due_at"))
    missing = Q(first_response_at__isnull=True, response_due_at__lt=now, state__in=RESPONSE_RUNNING)
    return Q(response_due_at__isnull=False) & (late | missing)


def resolution_breached(incident, now: datetime | None = None) -> bool:
    """Resolved after its due time, or unresolved past it while the clock runs; on hold, breached when the
    hold began after the due time (the clock stands still)."""
    if incident.resolution_due_at is None:
        return False
    if incident.resolved_at is not None:
        return incident.resolved_at > incident.resolution_due_at
    if incident.state in PAUSED:
        return bool(incident.on_hold_since and incident.on_hold_since > incident.resolution_due_at)
    return incident.state in RESOLUTION_RUNNING and (now or timezone.now()) > incident.resolution_due_at


def resolution_breached_q(now: datetime) -> Q:
    """`resolution_breached` in the database."""
    late = Q(resolved_at__gt=F("resolution_due_at"))
    running = Q(resolved_at__isnull=True, resolution_due_at__lt=now, state__in=RESOLUTION_RUNNING)
    paused = Q(state__in=PAUSED, on_hold_since__gt=F("resolution_due_at"))
    return Q(resolution_due_at__isnull=False) & (late | running | paused)


# --- the reading a badge shows ---------------------------------------------------------------------------


class Phase:
    """What a clock reading says (`ClockReading.phase`)."""

    NONE = "none"  # no due times (an imported record without them)
    CANCELLED = "cancelled"
    RUNNING = "running"  # in time, more than AMBER_SHARE of the target left
    DUE_SOON = "due_soon"  # in time, less left
    LATE = "late"  # past its due time
    PAUSED = "paused"  # on hold (`left` < 0 when the hold began after the due time)
    MET = "met"  # resolved or closed, both targets met
    BREACHED = "breached"  # resolved or closed, a target missed


@dataclass(frozen=True)
class ClockReading:
    """The incident's SLA now: the clock that matters (None when none runs), its due time, the time left
    (negative when late; on hold, what is left once resumed), when it turns amber, and the phase."""

    phase: str
    clock: Clock | None = None
    due_at: datetime | None = None
    left: timedelta | None = None
    warn_at: datetime | None = None
    response_breached: bool = False
    resolution_breached: bool = False

    @property
    def breached(self) -> bool:
        return self.response_breached or self.resolution_breached


def reading(incident, now: datetime | None = None) -> ClockReading:
    """The clock that matters now and where it stands (the header badge and the list's SLA column)."""
    now = now or timezone.now()
    breaches = {
        "response_breached": response_breached(incident, now),
        "resolution_breached": resolution_breached(incident, now),
    }
    if incident.state == State.CANCELLED:
        return ClockReading(Phase.CANCELLED)
    if incident.resolution_due_at is None:
        return ClockReading(Phase.NONE)
    if incident.state in FINISHED:
        return ClockReading(Phase.BREACHED if any(breaches.values()) else Phase.MET, **breaches)
    if incident.state in PAUSED:
        left = resolution_time_left(incident, now)  # negative: the hold began after the due time
        return ClockReading(Phase.PAUSED, Clock.RESOLUTION, incident.resolution_due_at, left, **breaches)
    clock = running_clock(incident)
    if clock is None:  # an open state without a running clock: none of the process's states
        return ClockReading(Phase.NONE, **breaches)
    if clock == Clock.RESPONSE:
        due, target = incident.response_due_at, response_target(incident)
    else:
        due, target = incident.resolution_due_at, resolution_target(incident)
    amber = warn_at(due, target)
    if now > due:
        phase = Phase.LATE
    elif now >= amber:
        phase = Phase.DUE_SOON
    else:
        phase = Phase.RUNNING
    return ClockReading(phase, clock, due, due - now, amber, **breaches)
