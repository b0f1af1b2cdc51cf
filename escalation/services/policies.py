"""Editing escalation policies. A policy's steps are replaced as a whole (API PUT, admin form), then every
open incident of that severity is rescheduled so the new thresholds apply at once.

Replacing takes its locks in the order the sweep and the transitions take theirs (incident rows, then
their escalation records, then steps), so it waits for a sweep in progress instead of deadlocking with it:
a sweep holds an incident and references steps as it fires them, while the replacement deletes steps and
clears the records pointing at them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q

from incidents.choices import OPEN_STATES
from incidents.exceptions import PermissionDenied, ValidationError
from incidents.formatting import exact_duration
from incidents.models import Incident

from ..choices import Clock, Level, OnCallTarget
from ..models import EscalationPolicy, EscalationStep, IncidentEscalation
from .hierarchical import reschedule

STEP_FIELDS = (
    "order",
    "clock",
    "percent",
    "offset",
    "level",
    "notify_group",
    "notify_tier_group",
    "notify_oncall",
)

# An escalation a year after logging is no escalation; beyond, its due time could leave the calendar.
MAX_OFFSET = timedelta(days=365)
# The default policy has 4 steps; 20 is room for any real one. Every step of every open incident of the
# severity is looked at on each reschedule and sweep: thousands starved the worker.
MAX_STEPS = 20


def steps_count_errors(count: int) -> list[str]:
    """A policy has at least one step and at most `MAX_STEPS`."""
    if count < 1:
        return ["A policy needs at least one step."]
    if count > MAX_STEPS:
        return [f"A policy has at most {MAX_STEPS} steps."]
    return []


def step_errors(spec: Mapping) -> list[str]:
    """What is wrong with one step: it fires at a percentage of its clock's target *or* at a fixed offset
    (never both), at level 1 (team lead), 2 (incident manager on duty) or 3 (management), and notifies at
    least one target (a group, the tier's team leads, or an on-call person)."""
    errors = []
    if spec.get("clock") not in Clock.values:
        errors.append(f"clock must be one of: {', '.join(Clock.values)}.")
    percent, offset = spec.get("percent"), spec.get("offset")
    if (percent is None) == (offset is None):
        errors.append("Give either a percentage of the clock's target or a fixed offset, not both.")
    elif percent is not None and not 1 <= percent <= 1000:
        errors.append("percent must be between 1 and 1000.")
    elif offset is not None and not timedelta(0) < offset <= MAX_OFFSET:
        errors.append(f"offset must be a positive duration of at most {MAX_OFFSET.days} days.")
    if spec.get("level") not in Level.values:
        errors.append("level must be 1 (team lead), 2 (incident manager on duty) or 3 (management).")
    if (spec.get("notify_oncall") or "") not in OnCallTarget.values:
        errors.append(
            f"notify_oncall must be one of: {', '.join(v for v in OnCallTarget.values if v)} or empty."
        )
    group = spec.get("notify_group")
    if group is not None and not isinstance(group, Group):
        errors.append("notify_group must be an existing group.")
    if group is None and not spec.get("notify_tier_group") and not spec.get("notify_oncall"):
        errors.append("Notify at least one target: a group, the tier's group or an on-call person.")
    return errors


@transaction.atomic
def policy_replace_steps(*, policy: EscalationPolicy, user, steps: Sequence[Mapping]) -> EscalationPolicy:
    """Replace the policy's steps with `steps` (dicts of `STEP_FIELDS`; `order` defaults to the position).
    Incident Managers only (`escalation.change_escalationpolicy`); 1 to `MAX_STEPS` steps.

    A step keeps its identity, and so its "already fired" record on every incident, as long as its
    threshold (clock, percent, offset) is unchanged: re-sending the same policy, or changing only whom a
    step notifies, never fires a step twice. A new threshold is a new step, and fires on open incidents
    already past it at the next sweep (late, but not lost)."""
    if not user.has_perm("escalation.change_escalationpolicy"):
        raise PermissionDenied("Only Incident Managers may change escalation policies.")
    messages = steps_count_errors(len(steps))
    if messages:  # before looking at each step: a list of thousands is refused at once
        raise ValidationError({"steps": messages})
    for position, spec in enumerate(steps, start=1):
        messages += [f"Step {position}: {error}" for error in step_errors(spec)]
    if messages:
        raise ValidationError({"steps": messages})

    locked = EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
    incidents = _lock_affected_incidents(locked)
    reason = "Steps replaced"
    existing = list(locked.steps.order_by("order", "pk"))
    by_threshold = defaultdict(list)  # one pass, however many steps the policy had
    for step in existing:
        by_threshold[_threshold(step)].append(step)
    kept = []
    for position, spec in enumerate(steps, start=1):
        values = {field: spec.get(field) for field in STEP_FIELDS}
        values["order"] = spec.get("order") or position
        values["notify_oncall"] = values["notify_oncall"] or ""
        values["notify_tier_group"] = bool(values["notify_tier_group"])
        matches = by_threshold[_threshold_of(values)]
        if not matches:
            step = EscalationStep(policy=locked)
        else:
            step = matches.pop(0)
            if all(getattr(step, field) == values[field] for field in STEP_FIELDS):
                kept.append(step)
                continue
        for field, value in values.items():
            setattr(step, field, value)
        step._history_user, step._change_reason = user, reason
        step.save()
        kept.append(step)
    for step in (step for matches in by_threshold.values() for step in matches):  # thresholds dropped
        step._history_user, step._change_reason = user, reason
        step.delete()

    locked._history_user = user
    # simple_history's reason column holds 100 characters (a DataError on PostgreSQL beyond that).
    locked._change_reason = (f"{reason}: " + ", ".join(_describe(step) for step in kept))[:100]
    locked.save()

    for incident in incidents:
        if incident.severity == locked.severity and incident.state in OPEN_STATES:
            reschedule(incident=incident)
    return locked


def _lock_affected_incidents(policy: EscalationPolicy) -> list[Incident]:
    """Lock, in the sweep's order, what a sweep or a transition could hold while this policy's steps
    change: the rows of this severity's open incidents and of any incident whose schedule points at one of
    the policy's steps, then their escalation records, each in primary-key order. (An incident has one
    escalation record, so the join repeats no incident.)"""
    affected = Q(severity=policy.severity, state__in=OPEN_STATES) | Q(escalation__next_step__policy=policy)
    incidents = list(Incident.objects.select_for_update(of=("self",)).filter(affected).order_by("pk"))
    list(
        IncidentEscalation.objects.select_for_update()
        .filter(incident__in=[incident.pk for incident in incidents])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return incidents


def _threshold(step: EscalationStep) -> tuple:
    return step.clock, step.percent, step.offset


def _threshold_of(values: Mapping) -> tuple:
    return values["clock"], values["percent"], values["offset"]


def _describe(step: EscalationStep) -> str:
    when = f"{step.percent}%" if step.percent is not None else f"+{exact_duration(step.offset)}"
    return f"{step.clock} {when} L{step.level}"
