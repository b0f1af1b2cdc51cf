"""Editing escalation policies. A policy's steps are replaced as a whole (API PUT, admin form), then every
open incident of that severity is rescheduled so the new thresholds apply at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import transaction

from incidents.choices import OPEN_STATES
from incidents.exceptions import PermissionDenied, ValidationError
from incidents.models import Incident

from ..choices import Clock, Level, OnCallTarget
from ..models import EscalationPolicy, EscalationStep
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
    Incident Managers only (`escalation.change_escalationpolicy`).

    A step keeps its identity, and so its "already fired" record on every incident, as long as its
    threshold (clock, percent, offset) is unchanged: re-sending the same policy, or changing only whom a
    step notifies, never fires a step twice. A new threshold is a new step, and fires on open incidents
    already past it at the next sweep (late, but not lost)."""
    if not user.has_perm("escalation.change_escalationpolicy"):
        raise PermissionDenied("Only Incident Managers may change escalation policies.")
    messages = []
    if not steps:
        messages.append("A policy needs at least one step.")
    for position, spec in enumerate(steps, start=1):
        messages += [f"Step {position}: {error}" for error in step_errors(spec)]
    if messages:
        raise ValidationError({"steps": messages})

    locked = EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
    reason = "Steps replaced"
    existing = list(locked.steps.order_by("order", "pk"))
    kept = []
    for position, spec in enumerate(steps, start=1):
        values = {field: spec.get(field) for field in STEP_FIELDS}
        values["order"] = spec.get("order") or position
        values["notify_oncall"] = values["notify_oncall"] or ""
        values["notify_tier_group"] = bool(values["notify_tier_group"])
        step = next((s for s in existing if _threshold(s) == _threshold_of(values)), None)
        if step is None:
            step = EscalationStep(policy=locked)
        else:
            existing.remove(step)
            if all(getattr(step, field) == values[field] for field in STEP_FIELDS):
                kept.append(step)
                continue
        for field, value in values.items():
            setattr(step, field, value)
        step._history_user, step._change_reason = user, reason
        step.save()
        kept.append(step)
    for step in existing:  # thresholds no longer in the policy
        step._history_user, step._change_reason = user, reason
        step.delete()

    locked._history_user = user
    # simple_history's reason column holds 100 characters (a DataError on PostgreSQL beyond that).
    locked._change_reason = (f"{reason}: " + ", ".join(_describe(step) for step in kept))[:100]
    locked.save()

    # Bounded: only this severity's open incidents can have a step of this policy scheduled.
    for incident in Incident.objects.filter(severity=locked.severity, state__in=OPEN_STATES).order_by("pk"):
        reschedule(incident=incident)
    return locked


def _threshold(step: EscalationStep) -> tuple:
    return step.clock, step.percent, step.offset


def _threshold_of(values: Mapping) -> tuple:
    return values["clock"], values["percent"], values["offset"]


def _describe(step: EscalationStep) -> str:
    when = f"{step.percent}%" if step.percent is not None else f"+{step.offset}"
    return f"{step.clock} {when} L{step.level}"
