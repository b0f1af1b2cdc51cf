"""Reads for escalation: who is on call, what an incident's escalation looks like."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from .choices import DeliveryStatus, EventKind, Job
from .models import (
    CalendarFeed,
    EscalationEvent,
    EscalationPolicy,
    EscalationStep,
    Heartbeat,
    Notification,
    Rotation,
    RotationOverride,
)

User = get_user_model()


@dataclass(frozen=True)
class OnCall:
    rotation: Rotation
    user: User | None
    starts_at: datetime | None
    ends_at: datetime | None
    is_override: bool = False


def _first_handoff(rotation: Rotation) -> datetime:
    """The moment the first shift begins: `handoff_time` on `start_date`, in the rotation's time zone."""
    tz = ZoneInfo(rotation.time_zone)
    return datetime.combine(rotation.start_date, rotation.handoff_time).replace(tzinfo=tz)


def _shift(rotation: Rotation, members: list, at: datetime) -> OnCall:
    """The regular shift covering `at`: members take turns of `shift_length`, handing off at
    `handoff_time` in the rotation's own time zone (so a 09:00 handoff stays 09:00 across DST)."""
    tz = ZoneInfo(rotation.time_zone)
    anchor = datetime.combine(rotation.start_date, rotation.handoff_time)  # local wall-clock time
    local = at.astimezone(tz).replace(tzinfo=None)
    if not members or local < anchor or rotation.shift_length <= timedelta():
        return OnCall(rotation, None, None, None)
    index = (local - anchor) // rotation.shift_length
    start = anchor + index * rotation.shift_length
    end = start + rotation.shift_length
    return OnCall(
        rotation,
        members[index % len(members)],
        start.replace(tzinfo=tz).astimezone(ZoneInfo("UTC")),
        end.replace(tzinfo=tz).astimezone(ZoneInfo("UTC")),
    )


def _members(rotation: Rotation) -> list:
    return [
        m.user for m in rotation.members.select_related("user").order_by("order", "pk") if m.user.is_active
    ]


def _overrides(rotation: Rotation) -> QuerySet[RotationOverride]:
    """The overrides that count: a deactivated account covers nobody."""
    return RotationOverride.objects.filter(rotation=rotation, user__is_active=True).select_related("user")


def on_call(*, kind: str, at: datetime | None = None) -> OnCall | None:
    """Who is on call for a tier (or the Incident Managers) at `at`: an override covering that moment wins,
    otherwise the regular shift. None when there is no such rotation."""
    at = at or timezone.now()
    rotation = Rotation.objects.filter(kind=kind).first()
    if rotation is None:
        return None
    return _on_call_for(rotation, at)


def _on_call_for(rotation: Rotation, at: datetime) -> OnCall:
    override = (
        _overrides(rotation).filter(starts_at__lte=at, ends_at__gt=at).order_by("-starts_at", "-pk").first()
    )
    if override:
        return OnCall(rotation, override.user, override.starts_at, override.ends_at, is_override=True)
    return _shift(rotation, _members(rotation), at)


def on_call_now(*, at: datetime | None = None) -> list[OnCall]:
    """Every rotation's current person."""
    at = at or timezone.now()
    return [_on_call_for(rotation, at) for rotation in Rotation.objects.order_by("kind")]


def on_call_user_ids(*, at: datetime | None = None) -> set[int]:
    """Ids of the people on call at `at` (default now) in any rotation."""
    return {current.user.pk for current in on_call_now(at=at) if current.user is not None}


# Handoffs one schedule walks through at most: 90 days of hourly shifts. A rotation with shorter shifts
# shows its last person until the window's end rather than costing a request minutes.
MAX_HANDOFFS = 24 * 90


def on_call_segments(*, rotation: Rotation, begin: datetime, end: datetime) -> list[OnCall]:
    """Who is on call in `[begin, end)`, as consecutive segments: the regular shifts with the overrides laid
    over them by the same rule as `on_call` (the latest-starting override covering a moment wins), and
    segments with nobody where there is no one (before the first handoff, no active member). Adjacent
    segments of the same person and kind are merged."""
    members = _members(rotation)
    overrides = list(_overrides(rotation).filter(starts_at__lt=end, ends_at__gt=begin))
    # Segment boundaries: every shift handoff and every override edge inside the window.
    points = {begin, end}
    cursor = begin
    first_handoff = _first_handoff(rotation)
    for _ in range(MAX_HANDOFFS):
        if cursor >= end:
            break
        shift = _shift(rotation, members, cursor)
        if shift.ends_at is not None:
            points.add(shift.ends_at)
            cursor = shift.ends_at
        elif members and cursor < first_handoff and rotation.shift_length > timedelta():
            points.add(first_handoff)  # the rotation starts inside the window: nobody until then
            cursor = first_handoff
        else:
            break
    for o in overrides:
        points.update(p for p in (o.starts_at, o.ends_at) if begin < p < end)
    ordered = sorted(p for p in points if begin <= p <= end)
    segments: list[OnCall] = []
    for seg_start, seg_end in itertools.pairwise(ordered):
        covering = [o for o in overrides if o.starts_at <= seg_start < o.ends_at]
        if covering:
            o = max(covering, key=lambda o: (o.starts_at, o.pk))
            current = OnCall(rotation, o.user, seg_start, seg_end, is_override=True)
        else:
            current = OnCall(rotation, _shift(rotation, members, seg_start).user, seg_start, seg_end)
        if segments and segments[-1].user == current.user and segments[-1].is_override == current.is_override:
            current = OnCall(rotation, current.user, segments[-1].starts_at, seg_end, current.is_override)
            segments[-1] = current
        else:
            segments.append(current)
    return segments


def on_call_schedule(*, rotation: Rotation, start: date | None = None, days: int = 14) -> list[OnCall]:
    """The shifts (and overrides) of the next `days` days from midnight of `start` (default today) in the
    rotation's time zone, as consecutive segments, for the admin page."""
    tz = ZoneInfo(rotation.time_zone)
    begin = datetime.combine(start or timezone.localdate(), datetime.min.time()).replace(tzinfo=tz)
    return on_call_segments(rotation=rotation, begin=begin, end=begin + timedelta(days=days))


def on_call_gaps(*, rotation: Rotation, now: datetime | None = None, days: int = 14) -> list[OnCall]:
    """The stretches of the next `days` days (from now) when nobody is on call for the rotation: then the
    whole group is notified instead of one person. The rotation admin warns about them."""
    now = now or timezone.now()
    segments = on_call_segments(rotation=rotation, begin=now, end=now + timedelta(days=days))
    return [segment for segment in segments if segment.user is None]


# What a calendar feed holds: the last week (what just happened stays visible) and the next eight weeks.
FEED_DAYS_BEFORE = 7
FEED_DAYS_AHEAD = 56


def calendar_feed_by_token(*, token: str) -> CalendarFeed | None:
    """The feed an address names, None for an unknown token or a deactivated account's feed."""
    feed = CalendarFeed.objects.select_related("user", "rotation").filter(token=token).first()
    if feed is None or (feed.user is not None and not feed.user.is_active):
        return None
    return feed


def feed_window(*, now: datetime | None = None) -> tuple[datetime, datetime]:
    """`[begin, end)` of every feed: from midnight `FEED_DAYS_BEFORE` days ago (in `TIME_ZONE`), so that the
    events of one day are the same on every refresh, to `FEED_DAYS_AHEAD` days after today."""
    site_zone = timezone.get_default_timezone()  # not the viewer's: a feed reads the same for everyone
    today = timezone.localdate(now or timezone.now(), site_zone)
    begin = datetime.combine(today - timedelta(days=FEED_DAYS_BEFORE), datetime.min.time()).replace(
        tzinfo=site_zone
    )
    return begin, begin + timedelta(days=FEED_DAYS_BEFORE + FEED_DAYS_AHEAD)


def rotation_shifts(*, rotation: Rotation, now: datetime | None = None) -> list[OnCall]:
    """A rotation's feed: everyone's shifts and overrides in the feed window, the stretches with nobody
    included (the whole group is notified then)."""
    begin, end = feed_window(now=now)
    return on_call_segments(rotation=rotation, begin=begin, end=end)


def user_shifts(*, user: User, now: datetime | None = None) -> list[OnCall]:
    """A person's feed: their shifts and overrides in every rotation over the feed window, by the same rule
    that pages them (`on_call_segments`), in time order."""
    begin, end = feed_window(now=now)
    rotations = Rotation.objects.filter(
        Q(members__user=user)
        | Q(overrides__user=user, overrides__starts_at__lt=end, overrides__ends_at__gt=begin)
    ).distinct()
    shifts = [
        segment
        for rotation in rotations.order_by("kind")
        for segment in on_call_segments(rotation=rotation, begin=begin, end=end)
        if segment.user is not None and segment.user.pk == user.pk
    ]
    return sorted(shifts, key=lambda shift: (shift.starts_at, shift.rotation.kind))


def emergency_paging(*, incident) -> EscalationEvent | None:
    """The latest emergency escalation of the incident: the page that went out when it became major."""
    return (
        EscalationEvent.objects.filter(incident=incident, kind=EventKind.EMERGENCY)
        .order_by("-fired_at", "-pk")
        .first()
    )


def escalation_events(*, incident) -> list[EscalationEvent]:
    return list(EscalationEvent.objects.filter(incident=incident).select_related("step", "actor"))


def incident_escalations(*, incident, user) -> list[EscalationEvent]:
    """The incident's escalations in time order. Their reasons and actors are internal: support roles,
    Incident Managers and Management (`escalation.view_escalationevent`) only, not reporters."""
    if not user.has_perm("escalation.view_escalationevent"):
        raise PermissionDenied("Only support roles and management may read an incident's escalations.")
    return escalation_events(incident=incident)


def escalation_policies() -> QuerySet[EscalationPolicy]:
    """Every severity's policy with its ordered steps (and their groups) in two more queries."""
    steps = EscalationStep.objects.select_related("notify_group").order_by("order", "pk")
    return EscalationPolicy.objects.prefetch_related(Prefetch("steps", queryset=steps)).order_by("severity")


@dataclass(frozen=True)
class JobHealth:
    ok: bool
    last_success_at: datetime | None  # None: it never succeeded
    age: timedelta | None


def sweep_health(*, now: datetime | None = None) -> JobHealth:
    """Is the escalation sweep running? Celery beat queues it every minute and it records each success;
    a last success older than `SWEEP_STALE_AFTER` seconds (default 300), or none at all, means the worker
    or beat is down, and with it every scheduled escalation and notification."""
    now = now or timezone.now()
    last = (
        Heartbeat.objects.filter(name=Job.ESCALATION_SWEEP).values_list("last_success_at", flat=True).first()
    )
    if last is None:
        return JobHealth(ok=False, last_success_at=None, age=None)
    age = now - last
    return JobHealth(ok=age <= timedelta(seconds=settings.SWEEP_STALE_AFTER), last_success_at=last, age=age)


@dataclass(frozen=True)
class OutboxBacklog:
    status: str
    channel: str
    count: int
    oldest_created_at: datetime


def outbox_backlog() -> list[OutboxBacklog]:
    """Notifications not delivered, by status and channel: pending (waiting for a worker, or for a retry
    after a failed attempt) and failed (given up after the last retry), each with its oldest's creation
    time. One grouped query through the outbox's status."""
    rows = (
        Notification.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED])
        .order_by()
        .values("status", "channel")
        .annotate(count=Count("pk"), oldest_created_at=Min("created_at"))
        .order_by("status", "channel")
    )
    return [OutboxBacklog(**row) for row in rows]


@dataclass(frozen=True)
class EscalationLateness:
    count: int
    total_seconds: float
    max_seconds: float | None  # None when nothing fired
    at_most: dict[float, int]  # bound in seconds -> escalations at most that late (cumulative)


def escalation_lateness(*, since: datetime, bounds: Sequence[float]) -> EscalationLateness:
    """How late the escalations fired since `since` came (`fired_at - due_at`), counted at most `bound`
    seconds late for each bound. Only time-threshold steps have a due time; functional and emergency
    escalations happen when someone acts and have none. One aggregate query."""
    lateness = ExpressionWrapper(F("fired_at") - F("due_at"), output_field=DurationField())
    result = (
        EscalationEvent.objects.filter(fired_at__gte=since, due_at__isnull=False)
        .order_by()
        .aggregate(
            count=Count("pk"),
            total=Sum(lateness),
            longest=Max(lateness),
            **{
                f"at_most_{index}": Count(
                    "pk", filter=Q(fired_at__lte=F("due_at") + timedelta(seconds=bound))
                )
                for index, bound in enumerate(bounds)
            },
        )
    )
    return EscalationLateness(
        count=result["count"],
        total_seconds=result["total"].total_seconds() if result["total"] is not None else 0.0,
        max_seconds=result["longest"].total_seconds() if result["longest"] is not None else None,
        at_most={bound: result[f"at_most_{index}"] for index, bound in enumerate(bounds)},
    )
