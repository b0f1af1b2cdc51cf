"""The lifecycle transitions (seed 2.1): classify, investigate, hold, resume, resolve, close, reopen,
cancel. Each locks the row, checks permission and state, transitions, saves and records (`base._transition`)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import limits
from .. import permissions as perms
from ..choices import (
    OTHER_TYPES,
    Category,
    ClosedBy,
    EventKind,
    HoldReason,
    IncidentType,
    Level,
    ResolutionCode,
    Severity,
)
from ..exceptions import PermissionDenied, RequiredStepsOpen
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
    _check_type_in_category,
    _event,
    _raise_if,
    _require,
    _sla_targets,
    _transition,
    tier_following,
)

# Severities that resolve only with a diagnosis and a root cause on record.
INVESTIGATION_REQUIRED_FOR = (Severity.S1, Severity.S2)

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
    may override it with a reason. Sets both SLA clocks from the severity's policy, counted from logging, and
    replaces the provisional severity logging gave (the timeline says so); on the first
    classification, copies the incident type's response plan onto the incident as a checklist. A new
    service must have been in operation when the incident was detected.

    Seed 2.2: the type (given, else the one logged) belongs to the category chosen, or the input is refused
    (400 on `incident_type`); a blank type, or the "other" of another category, becomes the chosen
    category's "other"."""
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
    data = {"category": category, "urgency": urgency, "impact": impact}

    def validate(locked):
        if service is not None and service != locked.service:
            _check_in_service(errors, locked.detected_at, service, field="service")
        chosen_type = _type_for(category, given=incident_type, logged=locked.incident_type)
        _check_type_in_category(errors, chosen_type, category)
        _raise_if(errors)
        if chosen_type != locked.incident_type:
            data["incident_type"] = chosen_type
        matrix = severity_for(urgency=urgency, impact=impact)
        chosen = severity or matrix
        if chosen != matrix:
            if not perms.can_override_severity(user):
                raise PermissionDenied("Only an Incident Manager may override the severity matrix.")
            _require(errors, severity_reason=severity_reason)
            _raise_if(errors)
        outcome.update(
            matrix=matrix, chosen=chosen, old=locked.severity, provisional=locked.severity_provisional
        )
        return {
            "severity": chosen,
            "now": timezone.now(),
            "incident_type": chosen_type,
            **_sla_targets(chosen),
        }

    with transaction.atomic():
        incident = _transition(
            incident,
            user=user,
            name="classify",
            note=note,
            data=data,
            validate=validate,
            category=category,
            urgency=urgency,
            impact=impact,
            service=service,
        )
        old, chosen, matrix = outcome["old"], outcome["chosen"], outcome["matrix"]
        provisional = outcome["provisional"]
        if chosen != old or provisional:
            overridden = chosen != matrix
            replacing = f", replacing the provisional {old}" if provisional else ""
            if overridden:
                note = f"Severity {chosen} overrides the matrix ({matrix}){replacing}: {severity_reason}"
            elif provisional:
                note = f"Severity {old} (provisional) → {chosen}; due times counted from logging"
            else:
                note = f"Severity {old or 'unset'} → {chosen}"
            _event(
                incident,
                kind=EventKind.SEVERITY,
                user=user,
                note=note,
                data={
                    "from": old,
                    "to": chosen,
                    "matrix": matrix,
                    "override": overridden,
                    "provisional": provisional,
                },
            )
        _copy_response_plan(incident)
    return incident


def _type_for(category: str, *, given: str | None, logged: str) -> str:
    """The type a classification into `category` records: the one given, else the one logged; blank, or
    the "other" of another category (a placeholder, not a finding), becomes this category's "other"."""
    chosen = given or logged
    placeholder = not chosen or (chosen in OTHER_TYPES.values() and not given)
    return OTHER_TYPES.get(category, chosen) if placeholder else chosen


def _copy_response_plan(incident: Incident) -> None:
    """Copy the runbook of the incident's type onto it as a checklist, with which steps are required.
    Reclassifying to another type adds that type's steps after the ones already there (ticked steps stay as
    they are)."""
    plan = ResponsePlan.objects.filter(incident_type=incident.incident_type).prefetch_related("steps").first()
    if plan is None:
        return
    existing = list(incident.checklist.values_list("text", "order"))
    have = {text for text, _ in existing}
    offset = max((order for _, order in existing), default=0)
    ChecklistItem.objects.bulk_create(
        ChecklistItem(incident=incident, order=offset + step.order, text=step.text, required=step.required)
        for step in plan.steps.all()
        if step.text not in have
    )


def incident_investigate(*, incident: Incident, user, assignee=None, note: str = "") -> Incident:
    """Seed 2.1 "Investigation". A person's first move into investigating is the first response; a system
    account's (monitoring resolving on recovery, `perms.is_system_account`) is on the record but answers
    nobody, so the first response waits for a person."""
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
            by_person=not perms.is_system_account(user),
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


def incident_resolve(
    *,
    incident: Incident,
    user,
    code: str,
    notes: str,
    diagnosis: str = "",
    root_cause: str = "",
    workaround: str = "",
) -> Incident:
    """Seed 2.1 "Resolution": a fix or a workaround, with notes for the record.

    The investigation goes on record with it (seed 2.1 "Investigation: diagnosis and root cause
    analysis"): a diagnosis, root cause or workaround given here replaces the one on the incident, one left
    blank keeps it. A person resolves an S1 or S2 incident only with a diagnosis and a root cause (400
    naming the missing ones); monitoring resolving on recovery (a system account) has none to give, and the
    incident counts as self-healed. Required runbook steps must be done or skipped with a reason first, by
    everyone (409 naming them)."""
    errors: dict = {}
    _require(errors, resolution_code=code, resolution_notes=notes)
    _check_choice(errors, "resolution_code", code, ResolutionCode)
    limits.check_text(errors, resolution_notes=notes)
    given = {"diagnosis": diagnosis, "root_cause": root_cause, "workaround": workaround}
    limits.check_text(errors, **given)
    given = {field: value.strip() for field, value in given.items() if value and value.strip()}

    def validate(locked):
        if locked.severity in INVESTIGATION_REQUIRED_FOR and not perms.is_system_account(user):
            for field, what in (
                ("diagnosis", "what the investigation found"),
                ("root_cause", "why it happened"),
            ):
                if not (given.get(field) or getattr(locked, field).strip()):
                    errors.setdefault(field, []).append(
                        f"Required to resolve an {locked.severity} incident: {what}."
                    )
        _raise_if(errors)
        open_steps = list(
            locked.checklist.filter(required=True, done_at__isnull=True, skipped_at__isnull=True).order_by(
                "order", "pk"
            )
        )
        if open_steps:
            raise RequiredStepsOpen(open_steps)
        return {"now": timezone.now(), "investigation": given}

    return _transition(
        incident,
        user=user,
        name="resolve",
        note=notes,
        validate=validate,
        code=code,
        notes=notes,
        by_person=not perms.is_system_account(user),
        data={"resolution_code": code, "investigation": sorted(given)},
    )


def incident_close(*, incident: Incident, user, closure_notes: str = "", note: str = "") -> Incident:
    """Seed 2.1 "Closure: verification and documentation finalization". Staff (`close_incident`: the
    Incident Managers) close with closure notes, the final documentation (closed by staff); the caller or
    the reporter closing their own incident confirms the fix (closed by the caller) and needs none. The
    caller's signed link and the auto-close close through `incidents.services.closure`."""
    staff = perms.is_staff_closer(user)
    errors: dict = {}
    if staff:
        _require(errors, closure_notes=closure_notes)
    limits.check_text(errors, closure_notes=closure_notes, note=note)
    closed_by = ClosedBy.STAFF if staff else ClosedBy.CALLER

    def validate(locked):
        _raise_if(errors)
        return {"now": timezone.now()}

    return _transition(
        incident,
        user=user,
        name="close",
        note=(note or "").strip(),
        validate=validate,
        closed_by=closed_by,
        closure_notes=(closure_notes or "").strip(),
        data={"closed_by": closed_by},
    )


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
