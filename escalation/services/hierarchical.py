"""Hierarchical escalation (seed 4.1: "time threshold exceeded → management notification").

An incident's next step and its due time are stored on `IncidentEscalation` with a fresh token, and one
Celery task is scheduled for that moment, but never more than `ESCALATION_QUEUE_HORIZON` ahead: Redis hands
a task held longer than its visibility timeout to a worker again, so a step due later waits in the database
and the minute sweep queues it once it comes within the horizon (`queued_token` says it has been). The task
fires only if it still carries the current token; each step fires at most once per incident (unique
`EscalationEvent`); the sweep fires whatever a lost task left behind. So no escalation is lost and none is
sent twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from incidents import clocks
from incidents import services as incident_services
from incidents.choices import TIER_GROUPS, EventKind, Role
from incidents.formatting import exact_duration
from incidents.models import Incident

from ..choices import Clock, OnCallTarget, RotationKind, WebhookEvent
from ..choices import EventKind as EscalationKind
from ..choices import Template as T
from ..models import EscalationEvent, EscalationPolicy, EscalationStep, IncidentEscalation
from ..selectors import on_call
from .notifications import notify, users_of
from .publishing import publish
from .webhooks import emit

logger = logging.getLogger(__name__)


def step_key(step: EscalationStep) -> str:
    return f"step-{step.pk}"


def clock_running(step: EscalationStep, incident: Incident) -> bool:
    """Whether the step's clock runs now (`incidents.clocks`: paused on hold, stopped at its event)."""
    if step.clock == Clock.RESPONSE:
        return clocks.response_running(incident)
    return clocks.resolution_running(incident)


def pending_steps(incident: Incident) -> list[tuple[datetime, EscalationStep]]:
    """The steps of the incident's policy that have not fired and whose clock is running, with their due
    times, earliest first (ties by the policy's order). Two queries, however many steps there are."""
    if not incident.severity:
        return []
    policy = EscalationPolicy.objects.filter(severity=incident.severity).first()
    if policy is None:
        return []
    fired = set(EscalationEvent.objects.filter(incident=incident).values_list("key", flat=True))
    candidates = []
    for step in policy.steps.select_related("notify_group").order_by("order", "pk"):
        if step_key(step) in fired or not clock_running(step, incident):
            continue
        due = step.due_at(incident)
        if due is not None:
            candidates.append((due, step.order, step.pk, step))
    return [(due, step) for due, _, _, step in sorted(candidates, key=lambda c: c[:3])]


def next_step(incident: Incident) -> tuple[EscalationStep | None, datetime | None]:
    """The earliest step of the incident's policy that has not fired and whose clock is running."""
    pending = pending_steps(incident)
    if not pending:
        return None, None
    due, step = pending[0]
    return step, due


def reschedule(*, incident: Incident) -> IncidentEscalation:
    """Store the incident's next step with a new token and, when it falls due within the queue horizon,
    schedule the task for it (on commit); a later step is left to the sweep (`queue_upcoming`).
    Call it inside the transaction that changed the incident; it takes the escalation row's lock."""
    with transaction.atomic():
        IncidentEscalation.objects.get_or_create(incident=incident)
        record = IncidentEscalation.objects.select_for_update().get(incident=incident)
        step, due = next_step(incident)
        record.next_step, record.next_escalation_at = step, due
        record.active_escalation_id = uuid.uuid4()
        record.save(update_fields=["next_step", "next_escalation_at", "active_escalation_id"])
        if due is not None:
            token = record.active_escalation_id
            transaction.on_commit(lambda: _schedule(incident.pk, token, due), robust=True)
    return record


def _schedule(incident_id: int, token: uuid.UUID, due: datetime) -> None:
    """Queue the step's task if it falls due within the horizon and nothing else has queued this token
    (a later change in the same transaction replaced it, or a sweep got there first)."""
    if due > timezone.now() + settings.ESCALATION_QUEUE_HORIZON:
        return  # the sweep queues it when it comes within reach
    if _claim(IncidentEscalation.objects.filter(incident_id=incident_id, active_escalation_id=token)):
        _publish([(incident_id, token, due)])


def _claim(records) -> int:
    """Mark the records' current tokens as queued, unless they already are; returns how many it marked.
    One UPDATE, so of two sweepers (or a sweeper and `_schedule`) only one queues each token."""
    not_queued = Q(queued_token__isnull=True) | ~Q(queued_token=F("active_escalation_id"))
    return records.filter(not_queued).update(queued_token=F("active_escalation_id"))


def _publish(schedule: list[tuple[int, uuid.UUID, datetime]]) -> int:
    """Send a task per (incident, token, due time); returns how many went. With the broker down the rest
    are marked unqueued again: the sweep queues them when it is back, or fires them once they are due."""
    from ..tasks import fire_escalation

    for sent, (incident_id, token, due) in enumerate(schedule):
        if not publish(
            partial(fire_escalation.apply_async, args=[incident_id, str(token)], eta=due),
            what=f"escalation of incident {incident_id}",
        ):
            unsent = Q()
            for unsent_id, unsent_token, _ in schedule[sent:]:
                unsent |= Q(incident_id=unsent_id, queued_token=unsent_token)
            IncidentEscalation.objects.filter(unsent).update(queued_token=None)
            return sent
    return len(schedule)


def fire_due(
    *, incident_id: int, token: str | None = None, now: datetime | None = None, wait: bool = True
) -> list[EscalationEvent]:
    """Fire every step of the incident that is due by now, each once, then schedule the next one.

    With a `token` (a scheduled task) nothing happens unless it is still the current schedule; the sweep
    passes none, and `wait=False`: an incident another process has locked (a task firing it, a sweeper, a
    transition that reschedules it) is skipped, not waited for. Safe to run any number of times,
    concurrently or not."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update(skip_locked=not wait).filter(pk=incident_id).first()
        record = IncidentEscalation.objects.select_for_update().filter(incident_id=incident_id).first()
        if incident is None or record is None:
            return []
        if token is not None and str(record.active_escalation_id) != token:
            return []  # stale: the incident was rescheduled since this task was queued
        now = now or timezone.now()
        fired = []
        # The steps due are read once: firing one changes neither the incident nor the other steps' due
        # times. (Looking the next one up again after each step read the whole policy per step fired:
        # quadratic, and a policy of thousands of steps made every sweep time out.)
        for due, step in pending_steps(incident):
            if due > now:
                break
            event = _fire_step(incident, step, due, now)
            if event is None:
                break
            fired.append(event)
        reschedule(incident=incident)
        return fired


def _fire_step(
    incident: Incident, step: EscalationStep, due: datetime, now: datetime
) -> EscalationEvent | None:
    try:
        with transaction.atomic():  # savepoint: a duplicate key leaves the outer transaction usable
            event = EscalationEvent.objects.create(
                incident=incident,
                kind=EscalationKind.HIERARCHICAL,
                key=step_key(step),
                step=step,
                level=step.level,
                due_at=due,
                fired_at=now,
            )
    except IntegrityError:
        return None
    recipients, missing = step_recipients(step, incident, now)
    when = (
        f"{step.percent}% of the {step.clock} target"
        if step.percent is not None
        else f"{exact_duration(step.offset)} after logging"
    )
    note = f"Level {step.level} escalation: {step.get_clock_display().lower()} at {when}."
    if missing:
        note += " " + missing
    incident_services.timeline_record(
        incident=incident,
        kind=EventKind.ESCALATION,
        note=note,
        data={"level": step.level, "step_id": step.pk, "clock": step.clock, "due_at": due.isoformat()},
    )
    notify(
        incident=incident, template=T.ESCALATION, users=recipients, extra={"level": step.level, "step": step}
    )
    emit(
        incident=incident,
        event=WebhookEvent.ESCALATED,
        extra={"escalation": {"kind": "hierarchical", "level": step.level}},
    )
    return event


def step_recipients(step: EscalationStep, incident: Incident, at: datetime) -> tuple[list, str]:
    """Whom a step notifies; when nobody is on call, the whole group instead (and a note saying so)."""
    users, missing = [], ""
    if step.notify_group_id:
        users += users_of([step.notify_group.name])
    tier_group = TIER_GROUPS.get(incident.tier)
    if step.notify_tier_group and tier_group:
        users += users_of([tier_group])
    if step.notify_oncall:
        kind = incident.tier if step.notify_oncall == OnCallTarget.TIER else RotationKind.INCIDENT_MANAGER
        group = tier_group if step.notify_oncall == OnCallTarget.TIER else Role.INCIDENT_MANAGERS
        current = on_call(kind=kind, at=at)
        if current and current.user:
            users.append(current.user)
        else:
            users += users_of([group])
            missing = f"Nobody is on call for {RotationKind(kind).label}: notified the whole {group} group."
    return list(dict.fromkeys(users)), missing


def sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Fire every escalation whose time has passed (tasks lost to a dead worker or a broker restart).
    Reads only the due rows through the `next_escalation_at` index. Sweeps may overlap (two beats, a
    slow one): an incident being fired elsewhere is skipped, and each step fires once whoever fires it."""
    now = now or timezone.now()
    due_ids = list(
        IncidentEscalation.objects.filter(next_escalation_at__lte=now)
        .order_by("next_escalation_at")
        .values_list("incident_id", flat=True)[:limit]
    )
    fired = 0
    for incident_id in due_ids:
        fired += len(fire_due(incident_id=incident_id, now=now, wait=False))
    return fired


def queue_upcoming(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue the task of every escalation falling due within the horizon whose current token has not been
    queued yet (it was beyond the horizon when scheduled, or the broker was down); returns how many.

    Run by the minute sweep, so a step is queued between one horizon and one horizon minus a minute ahead
    of its time. Reads through the `next_escalation_at` index, at most `limit` rows a run; rows another
    sweeper has locked are skipped, and the claim is one UPDATE, so overlapping sweeps queue each once."""
    now = now or timezone.now()
    with transaction.atomic():
        upcoming = list(
            IncidentEscalation.objects.filter(
                next_escalation_at__gt=now, next_escalation_at__lte=now + settings.ESCALATION_QUEUE_HORIZON
            )
            .filter(Q(queued_token__isnull=True) | ~Q(queued_token=F("active_escalation_id")))
            .order_by("next_escalation_at")
            .select_for_update(skip_locked=True)
            .values_list("incident_id", "active_escalation_id", "next_escalation_at")[:limit]
        )
        _claim(IncidentEscalation.objects.filter(incident_id__in=[row[0] for row in upcoming]))
    return _publish(upcoming)


def overdue(*, now: datetime | None = None, grace: timedelta = timedelta(minutes=5)):
    """Escalations more than `grace` late: the sweep should have fired them."""
    now = now or timezone.now()
    return IncidentEscalation.objects.filter(next_escalation_at__lt=now - grace).select_related("incident")


def missed_breaches(*, now: datetime | None = None, grace: timedelta = timedelta(minutes=5)):
    """Open incidents past a due time (response or resolution) whose policy has a 100% step for that
    clock which has not fired: the breach is real, but escalation did not tell anyone."""
    now = now or timezone.now()
    late = now - grace

    def unnoticed(clock: str):
        final_steps = EscalationStep.objects.filter(
            policy__severity=OuterRef("severity"), clock=clock, percent__gte=100
        )
        fired = EscalationEvent.objects.filter(
            incident=OuterRef("pk"), step__clock=clock, step__percent__gte=100
        )
        return Exists(final_steps) & ~Exists(fired)

    response = clocks.response_running_q() & Q(response_due_at__lt=late)
    resolution = clocks.resolution_running_q() & Q(resolution_due_at__lt=late)
    return Incident.objects.filter(
        (response & unnoticed(Clock.RESPONSE)) | (resolution & unnoticed(Clock.RESOLUTION))
    )
