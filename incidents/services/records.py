"""Logging incidents and editing their records: open incidents directly, finished ones only by an Incident
Manager's audited correction; the tier and major status other apps set."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import limits
from .. import permissions as perms
from ..choices import (
    Category,
    EventKind,
    IncidentType,
    Level,
    Source,
    State,
    Visibility,
)
from ..exceptions import Conflict, PermissionDenied, ValidationError
from ..models import (
    Incident,
    ProcessSettings,
    Service,
    SlaPolicy,
)
from ..rules import severity_for
from ..signals import incident_created, incident_updated
from .base import (
    EDITABLE_FIELDS,
    INVESTIGATION_FIELDS,
    _assignment_event,
    _check_choice,
    _check_in_service,
    _check_source,
    _check_title,
    _check_type_in_category,
    _detected_at_errors,
    _event,
    _raise_if,
    _require,
    _save,
    next_number,
    tier_following,
)
from .caller import CALLER_FIELDS, check_caller_allowed, clean_caller, default_caller
from .lifecycle import incident_classify

# --- creation and edits ----------------------------------------------------------------------------------


@transaction.atomic
def incident_create(
    *,
    user,
    title: str,
    description: str = "",
    service: Service | None = None,
    incident_type: str = "",
    source: str = "user",
    detected_at: datetime | None = None,
    reporter=None,
    caller=None,
    caller_name: str = "",
    caller_email: str = "",
    urgency: str = "",
    impact: str = "",
    category: str = "",
) -> Incident:
    """Log an incident (seed 2.1 "Logging"). It gets a provisional severity at once (`provisional_severity`:
    from `urgency` and `impact` when both are given, else the default an Incident Manager sets), and
    that severity's SLA targets start both clocks at logging, so the response clock runs, escalation and
    the watchdog cover the incident and the first line is told (`incident_created`) before anyone
    classifies it. Classification replaces the severity and recomputes the due times from logging.
    `category` is for a classification that follows in the same transaction (`incident_log`, alert
    intake): what logging announces then already knows a security incident. `detected_at` defaults to now
    and may be earlier (by `DETECTED_AT_MAX_AGE` at most), never later, and never before the service went
    into operation. Text is bounded (`incidents.limits`); `source=monitoring` is for alert sources only.
    The type may stay blank until it is known: classification gives a blank type the "other" of the
    category chosen. The caller, the person affected, is an account (`caller`) or a contact
    (`caller_name`, `caller_email`; `caller.clean_caller`); naming nobody, a lab user logging their own
    incident is its caller (`caller.default_caller`)."""
    if not user.is_authenticated:  # anyone signed in may report; roles act on it
        raise PermissionDenied("Sign in to log an incident.")
    if not perms.can_log_incident(user):
        raise PermissionDenied("Your role reads incidents; it does not log them.")
    now = timezone.now()
    errors: dict = {}
    _require(errors, title=title)
    _check_title(errors, title.strip() if isinstance(title, str) else title)
    limits.check_text(errors, description=description)
    _check_choice(errors, "incident_type", incident_type, IncidentType)
    _check_choice(errors, "source", source, Source)
    _check_choice(errors, "category", category, Category)
    _check_levels(errors, urgency=urgency, impact=impact)
    _check_source(errors, source, user)
    if detected_at and detected_at > now:
        errors.setdefault("detected_at", []).append("Detection cannot be in the future.")
    elif detected_at:
        errors.update(_detected_at_errors(detected_at, logged_at=now))
    if service is not None and not service.is_active:
        errors.setdefault("service", []).append(f"Service '{service.slug}' is retired.")
    _check_in_service(errors, detected_at or now, service, field="detected_at" if detected_at else "service")
    # The caller: whoever is named (`clean_caller`), else the reporter when logging their own incident.
    reporter = reporter or user
    callers = clean_caller(errors, caller=caller, caller_name=caller_name, caller_email=caller_email)
    check_caller_allowed(errors, user=user, callers=callers)
    if caller is None and not (caller_name or caller_email):
        callers["caller"] = default_caller(reporter)
    _raise_if(errors)

    incident = Incident(
        number=next_number("incident", "INC"),
        title=title.strip(),
        description=description,
        service=service,
        incident_type=incident_type or "",
        source=source,
        created_at=now,
        detected_at=detected_at or now,
        reporter=reporter,
        **callers,
        category=category or "",
        urgency=urgency or "",
        impact=impact or "",
    )
    _start_clocks(incident)
    incident._history_user = user
    incident._change_reason = "logged"
    incident.save()
    _event(
        incident,
        kind=EventKind.CREATED,
        user=user,
        to_state=State.LOGGED,
        note=f"Logged: {incident.title}",
        visibility=Visibility.PUBLIC,
    )
    incident_created.send(sender=Incident, incident=incident, user=user)
    return incident


def provisional_severity(*, urgency: str = "", impact: str = "") -> str:
    """The severity an incident gets at logging, until classification sets the real one: seed 3.2's
    urgency x impact matrix when both were given at logging, else the default of `ProcessSettings` (S3 unless
    an Incident Manager changed it in the admin)."""
    if urgency and impact:
        return severity_for(urgency=urgency, impact=impact)
    return ProcessSettings.current().provisional_severity


def _check_levels(errors: dict, *, urgency: str, impact: str) -> None:
    _check_choice(errors, "urgency", urgency, Level)
    _check_choice(errors, "impact", impact, Level)
    if bool(urgency) != bool(impact):
        missing = "impact" if urgency else "urgency"
        errors.setdefault(missing, []).append("Give urgency and impact together, or neither.")


def _start_clocks(incident: Incident) -> None:
    """A new incident's provisional severity and the due times of its SLA policy, counted from logging
    (none when the severity has no policy: logging never fails for want of one)."""
    incident.severity = provisional_severity(urgency=incident.urgency, impact=incident.impact)
    incident.severity_provisional = True
    policy = SlaPolicy.objects.filter(severity=incident.severity).first()
    if policy is not None:
        incident.set_sla_clocks(
            response_target=policy.response_target, resolution_target=policy.resolution_target
        )


CLASSIFICATION_FIELDS = ("category", "urgency", "impact")


@transaction.atomic
def incident_log(*, user, classification: dict[str, str] | None = None, **fields) -> Incident:
    """Log an incident (`fields`: those of `incident_create`) and, when `classification` ({category,
    urgency, impact}) is given, classify it in the same transaction: `incident_create` then
    `incident_classify`, with their rules and permissions (classifying is for the Service Desk and Incident
    Managers). Either both happen or neither. A partial classification is refused: classify now with all
    three, or later with none. Without one, `urgency` and `impact` (both or neither) give the provisional
    severity (`incident_create`); with one, its urgency and impact do, and its category is known from
    logging."""
    if classification is not None:
        errors: dict = {}
        _require(errors, **{f: classification.get(f) for f in CLASSIFICATION_FIELDS})
        for field in errors:
            errors[field] = ["Needed to classify now (or leave category, urgency and impact empty)."]
        unknown = set(classification) - set(CLASSIFICATION_FIELDS)
        for field in sorted(unknown):
            errors[field] = ["Not part of a classification."]
        _raise_if(errors)
    incident = incident_create(user=user, **{**fields, **(classification or {})})
    if classification is None:
        return incident
    return incident_classify(incident=incident, user=user, **classification)


def is_editable(incident: Incident) -> bool:
    """An incident's record can be edited while it is open. Resolved, closed and cancelled incidents are
    read-only except for comments: their times feed past reports (a moved detection changes outage
    minutes). An Incident Manager corrects such a record with `incident_correct`, giving a reason."""
    return incident.is_open


@transaction.atomic
def incident_update(*, incident: Incident, user, data: dict) -> Incident:
    """Edit descriptive fields of an open incident (`is_editable`). State, severity and clocks are not
    editable: they change by transition. The detection stays within `limits.detected_at_errors` and after
    the service went into operation."""
    if not user.has_perm("incidents.change_incident"):
        raise PermissionDenied("You may not edit incidents.")
    _check_editable_fields(data)
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if not is_editable(locked):
        raise Conflict(
            f"{locked.number} is {locked.get_state_display().lower()}: its record is read-only (comments "
            "are still possible). An Incident Manager may correct it with a reason (Correct record)."
        )
    changed = _apply_edits(locked, user=user, data=data, reason="edited")
    if not changed:
        return locked
    others = [f for f in changed if f not in ("assignee", "tier")]
    if others:
        _event(
            locked,
            kind=EventKind.UPDATE,
            user=user,
            note="Edited " + ", ".join(others),
            data={"fields": others},
        )
    incident_updated.send(sender=Incident, incident=locked, user=user, changed=changed)
    return locked


@transaction.atomic
def incident_correct(*, incident: Incident, user, data: dict, reason: str) -> Incident:
    """Correct the record of a resolved, closed or cancelled incident: the fields and limits of
    `incident_update`, for Incident Managers only (`incidents.manage_incident`) and with a reason, which
    the history and an internal timeline entry keep beside the fields corrected. Open incidents are
    edited directly."""
    if not perms.is_incident_manager(user):
        raise PermissionDenied("Only Incident Managers may correct a closed record.")
    errors: dict = {}
    _require(errors, reason=reason)
    limits.check_text(errors, reason=reason)
    _raise_if(errors)
    _check_editable_fields(data)
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if is_editable(locked):
        raise Conflict(f"{locked.number} is open: edit it on its page, no correction is needed.")
    reason = reason.strip()
    changed = _apply_edits(locked, user=user, data=data, reason="corrected", because=reason)
    if not changed:
        raise ValidationError({"reason": ["Nothing to correct: no field was changed."]})
    fields = [f for f in changed if f != "tier"]
    _event(
        locked,
        kind=EventKind.UPDATE,
        user=user,
        note=f"Record corrected ({', '.join(fields)}): {reason}",
        data={"fields": fields, "correction": True, "reason": reason},
    )
    incident_updated.send(sender=Incident, incident=locked, user=user, changed=changed)
    return locked


def _check_editable_fields(data: dict) -> None:
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {
                f: ["Read-only: this field changes only through the incident's transitions."]
                for f in sorted(unknown)
            }
        )


def _apply_edits(locked: Incident, *, user, data: dict, reason: str, because: str = "") -> list[str]:
    """Check `data` against the rules every edit keeps, apply it, save with the history reason
    "<reason>: <fields> (<because>)" and record a change of assignee. Returns the fields changed (the tier
    follows a new assignee)."""
    errors: dict = {}
    if "title" in data:
        _require(errors, title=data["title"])
        _check_title(errors, data["title"])
    limits.check_text(errors, **{f: data.get(f) for f in ("description", *INVESTIGATION_FIELDS)})
    if "incident_type" in data and data["incident_type"] != locked.incident_type:
        _check_type_in_category(errors, data["incident_type"], locked.category)
    if "source" in data and data["source"] != locked.source:
        _check_source(errors, data["source"], user)
    if data.get("detected_at"):
        errors.update(_detected_at_errors(data["detected_at"], logged_at=locked.created_at))
    if data.get("parent") is not None and data["parent"].pk == locked.pk:
        errors.setdefault("parent", []).append("An incident cannot be its own parent.")
    assignee = data.get("assignee")
    if assignee is not None and assignee != locked.assignee:
        if not assignee.is_active:
            errors.setdefault("assignee", []).append("The assignee's account is inactive.")
        elif not perms.can_investigate(locked, assignee):
            errors.setdefault("assignee", []).append(f"{assignee.get_username()} is not in a support tier.")
    service = data.get("service")
    if service is not None and service != locked.service and not service.is_active:
        errors.setdefault("service", []).append(f"Service '{service.slug}' is retired.")
    if data.get("detected_at"):
        _check_in_service(
            errors, data["detected_at"], data.get("service", locked.service), field="detected_at"
        )
    elif service is not None and service != locked.service:
        _check_in_service(errors, locked.detected_at, service, field="service")
    if not set(CALLER_FIELDS).isdisjoint(data):
        callers = clean_caller(errors, **_caller_after_edit(locked, data))
        if callers["caller"] != locked.caller or callers["caller_email"] != locked.caller_email:
            check_caller_allowed(errors, user=user, callers=callers)
        data = {**data, **callers}
    _raise_if(errors)

    old_assignee = locked.assignee
    if "assignee" in data and data["assignee"] is not None:
        data = {**data, "tier": tier_following(locked.tier, data["assignee"])}
    changed = []
    for field, value in data.items():
        if getattr(locked, field) != value:
            setattr(locked, field, value)
            changed.append(field)
    if not changed:
        return changed
    _save(locked, user=user, reason=f"{reason}: {', '.join(changed)}" + (f" ({because})" if because else ""))
    if "assignee" in changed:
        _assignment_event(
            locked, user=user, old=old_assignee, new=locked.assignee, tier_changed="tier" in changed
        )
    return changed


def _caller_after_edit(locked: Incident, data: dict) -> dict:
    """The caller an edit leaves: naming an account replaces a contact and naming a contact replaces an
    account; fields the edit does not name keep their values otherwise."""
    if data.get("caller") is not None:
        kept = {"caller": None, "caller_name": "", "caller_email": ""}
    elif data.get("caller_name") or data.get("caller_email"):
        kept = {"caller": None, "caller_name": locked.caller_name, "caller_email": locked.caller_email}
    else:
        kept = {field: getattr(locked, field) for field in CALLER_FIELDS}
    return {**kept, **{field: data[field] for field in CALLER_FIELDS if field in data}}


@transaction.atomic
def incident_set_tier(*, incident: Incident, user, tier: str, assignee, reason: str) -> Incident:
    """Hand the incident to another support tier (functional escalation decides which and why)."""
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    old_assignee = locked.assignee
    locked.tier, locked.assignee = tier, assignee
    _save(locked, user=user, reason=f"tier → {tier}: {reason}")
    if old_assignee != assignee:
        _assignment_event(locked, user=user, old=old_assignee, new=assignee)
    return locked


@transaction.atomic
def incident_set_major(*, incident: Incident, user, is_major: bool, reason: str) -> Incident:
    """Declare or clear major-incident status (emergency escalation decides when)."""
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if locked.is_major != is_major:
        locked.is_major = is_major
        _save(
            locked,
            user=user,
            reason=("major incident declared: " if is_major else "major status cleared: ") + reason,
        )
    return locked
