"""The lifecycle transitions (seed 2.1): classify, investigate, hold, resume, resolve, close, reopen,
cancel. Each locks the row, checks permission and state, transitions, saves and records (`base._transition`)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import limits
from .. import permissions as perms
from ..choices import (
    Category,
    EventKind,
    HoldReason,
    IncidentType,
    Level,
    ResolutionCode,
    Severity,
)
from ..exceptions import PermissionDenied
from ..models import (
    ChecklistItem,
    Incident,
    ResponsePlan,
    Service,
)
from ..rules import severity_for
from .base import (
    _assignment_event,
    _check_choice,
    _check_in_service,
    _event,
    _raise_if,
    _require,
    _sla_targets,
    _transition,
    tier_following,
)

# --- transitions -----------------------------------------------------------------------------------------


def incident_classify(
    *,
    incident: Incident,
    user,
    category: str,
    urgency: str,
    impact: str,
    service: Service | None = None,
    incident_type: str | None = None,
    severity: str | None = None,
    severity_reason: str = "",
    note: str = "",
) -> Incident:
    """Seed 2.1 "Classification": severity from the urgency x impact matrix (seed 3.2); an Incident Manager
    may override it with a reason. Sets both SLA clocks from the severity's policy and, on the first
    classification, copies the incident type's response plan onto the incident as a checklist. A new
    service must have been in operation when the incident was detected."""
    errors: dict = {}
    _require(errors, category=category, urgency=urgency, impact=impact)
    _check_choice(errors, "category", category, Category)
    _check_choice(errors, "urgency", urgency, Level)
    _check_choice(errors, "impact", impact, Level)
    _check_choice(errors, "incident_type", incident_type, IncidentType)
    _check_choice(errors, "severity", severity, Severity)
    limits.check_text(errors, severity_reason=severity_reason, note=note)
    if service is not None and not service.is_active:
        errors.setdefault("service", []).append(f"Service '{service.slug}' is retired.")

    outcome: dict = {}

    def validate(locked):
        if service is not None and service != locked.service:
            _check_in_service(errors, locked.detected_at, service, field="service")
        _raise_if(errors)
        matrix = severity_for(urgency=urgency, impact=impact)
        chosen = severity or matrix
        if chosen != matrix:
            if not perms.can_override_severity(user):
                raise PermissionDenied("Only an Incident Manager may override the severity matrix.")
            _require(errors, severity_reason=severity_reason)
            _raise_if(errors)
        outcome.update(matrix=matrix, chosen=chosen, old=locked.severity)
        return {"severity": chosen, "now": timezone.now(), **_sla_targets(chosen)}

    with transaction.atomic():
        incident = _transition(
            incident,
            user=user,
            name="classify",
            note=note,
            data={"category": category, "urgency": urgency, "impact": impact},
            validate=validate,
            category=category,
            urgency=urgency,
            impact=impact,
            service=service,
            incident_type=incident_type,
        )
        old, chosen, matrix = outcome["old"], outcome["chosen"], outcome["matrix"]
        if chosen != old:
            overridden = chosen != matrix
            _event(
                incident,
                kind=EventKind.SEVERITY,
                user=user,
                note=(
                    f"Severity {chosen} overrides the matrix ({matrix}): {severity_reason}"
                    if overridden
                    else f"Severity {old or 'unset'} → {chosen}"
                ),
                data={"from": old, "to": chosen, "matrix": matrix, "override": overridden},
            )
        _copy_response_plan(incident)
    return incident


def _copy_response_plan(incident: Incident) -> None:
    """Copy the runbook of the incident's type onto it as a checklist. Reclassifying to another type adds
    that type's steps after the ones already there (ticked steps stay as they are)."""
    plan = ResponsePlan.objects.filter(incident_type=incident.incident_type).prefetch_related("steps").first()
    if plan is None:
        return
    existing = list(incident.checklist.values_list("text", "order"))
    have = {text for text, _ in existing}
    offset = max((order for _, order in existing), default=0)
    ChecklistItem.objects.bulk_create(
        ChecklistItem(incident=incident, order=offset + step.order, text=step.text)
        for step in plan.steps.all()
        if step.text not in have
    )


def incident_investigate(*, incident: Incident, user, assignee=None, note: str = "") -> Incident:
    """Seed 2.1 "Investigation". The first move into investigating is the first response."""
    assignee = assignee or user
    errors: dict = {}
    if not assignee.is_active:
        errors["assignee"] = ["The assignee's account is inactive."]
    elif not perms.can_investigate(incident, assignee):
        errors["assignee"] = [f"{assignee.get_username()} is not in a support tier and cannot investigate."]
    limits.check_text(errors, note=note)

    previous: dict = {}

    def validate(locked):
        _raise_if(errors)
        previous["assignee"], previous["tier"] = locked.assignee, locked.tier
        return {"now": timezone.now(), "tier": tier_following(locked.tier, assignee)}

    with transaction.atomic():
        result = _transition(
            incident,
            user=user,
            name="investigate",
            note=note,
            validate=validate,
            assignee=assignee,
            data={"assignee": assignee.get_username()},
        )
        if previous["assignee"] != assignee:
            _assignment_event(
                result,
                user=user,
                old=previous["assignee"],
                new=assignee,
                tier_changed=previous["tier"] != result.tier,
            )
    return result


def incident_hold(*, incident: Incident, user, reason: str, note: str) -> Incident:
    """Pause work (and the resolution clock) while waiting on someone else."""
    errors: dict = {}
    _require(errors, reason=reason, note=note)
    _check_choice(errors, "reason", reason, HoldReason)
    limits.check_text(errors, note=note)

    def validate(locked):
        _raise_if(errors)
        return {"now": timezone.now()}

    return _transition(
        incident, user=user, name="hold", note=note, validate=validate, reason=reason, data={"reason": reason}
    )


def incident_resume(*, incident: Incident, user, note: str) -> Incident:
    """Back to work; the time spent on hold moves the resolution due time later."""
    errors: dict = {}
    _require(errors, note=note)
    limits.check_text(errors, note=note)

    def validate(locked):
        _raise_if(errors)
        return {"now": timezone.now(), **_sla_targets(locked.severity)}

    return _transition(incident, user=user, name="resume", note=note, validate=validate)


def incident_resolve(*, incident: Incident, user, code: str, notes: str) -> Incident:
    """Seed 2.1 "Resolution": a fix or a workaround, with notes for the record."""
    errors: dict = {}
    _require(errors, resolution_code=code, resolution_notes=notes)
    _check_choice(errors, "resolution_code", code, ResolutionCode)
    limits.check_text(errors, resolution_notes=notes)

    def validate(locked):
        _raise_if(errors)
        return {"now": timezone.now()}

    return _transition(
        incident,
        user=user,
        name="resolve",
        note=notes,
        validate=validate,
        code=code,
        notes=notes,
        data={"resolution_code": code},
    )


def incident_close(*, incident: Incident, user, note: str = "") -> Incident:
    """Seed 2.1 "Closure": an Incident Manager, or the reporter confirming the fix."""
    errors: dict = {}
    limits.check_text(errors, note=note)

    def validate(locked):
        _raise_if(errors)
        return {"now": timezone.now()}

    return _transition(incident, user=user, name="close", note=note, validate=validate)


def incident_reopen(*, incident: Incident, user, reason: str) -> Incident:
    """The fix did not hold: back to investigating, counted for the reopen-rate KPI."""
    errors: dict = {}
    _require(errors, reason=reason)
    limits.check_text(errors, reason=reason)
    return _transition(
        incident, user=user, name="reopen", note=reason, validate=lambda locked: _raise_if(errors)
    )


def incident_cancel(*, incident: Incident, user, reason: str) -> Incident:
    """Withdraw an incident logged in error (duplicate, false alarm) before work starts."""
    errors: dict = {}
    _require(errors, reason=reason)
    limits.check_text(errors, reason=reason)
    return _transition(
        incident,
        user=user,
        name="cancel",
        note=reason,
        validate=lambda locked: _raise_if(errors),
        reason=reason,
    )


TRANSITION_SERVICES = {
    "classify": incident_classify,
    "investigate": incident_investigate,
    "hold": incident_hold,
    "resume": incident_resume,
    "resolve": incident_resolve,
    "close": incident_close,
    "reopen": incident_reopen,
    "cancel": incident_cancel,
}
