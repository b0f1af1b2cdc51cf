"""Every write to incidents goes through these functions: the admin, the API, management commands and
Celery tasks call them, so each rule lives in one place.

Each transition service locks the incident row, checks the user's permission and the current state, calls
the django-fsm transition, saves with the history user and reason, records the timeline event and sends
`incident_transitioned` once the transaction has committed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import ConcurrentTransition

from . import limits
from . import permissions as perms
from .choices import (
    OPEN_STATES,
    TIER_GROUPS,
    Category,
    EventKind,
    HoldReason,
    IncidentType,
    Level,
    ResolutionCode,
    Severity,
    Source,
    State,
    Tier,
    Visibility,
)
from .exceptions import Conflict, PermissionDenied, TransitionNotAllowed, ValidationError
from .formatting import exact_duration
from .models import (
    AlertSource,
    ChecklistItem,
    Incident,
    IncidentAlert,
    NumberSequence,
    Problem,
    ResponsePlan,
    Service,
    SlaPolicy,
    TimelineEvent,
    UserPreference,
)
from .rules import severity_for
from .signals import incident_created, incident_transitioned, incident_updated

User = get_user_model()

TRANSITIONS = ("classify", "investigate", "hold", "resume", "resolve", "close", "reopen", "cancel")
# Milestones the reporter sees on their incident's timeline; classification and hold notes stay internal.
PUBLIC_TRANSITIONS = {"investigate", "resolve", "close", "reopen", "cancel"}

# Fields a user may edit directly; everything else changes through transitions.
EDITABLE_FIELDS = (
    "title",
    "description",
    "service",
    "incident_type",
    "source",
    "detected_at",
    "assignee",
    "problem",
    "change_ref",
    "parent",
)


# --- helpers ---------------------------------------------------------------------------------------------


def next_number(name: str, prefix: str) -> str:
    """Take the next value of a named counter; the UPDATE's row lock serialises concurrent callers."""
    NumberSequence.objects.get_or_create(name=name)
    NumberSequence.objects.filter(name=name).update(last_value=F("last_value") + 1)
    value = NumberSequence.objects.get(name=name).last_value
    return f"{prefix}-{value:06d}"


def _require(errors: dict, **values) -> None:
    for field, value in values.items():
        if value in (None, "") or (isinstance(value, str) and not value.strip()):
            errors.setdefault(field, []).append("This field is required.")


def _check_choice(errors: dict, field: str, value, choices) -> None:
    if value not in (None, "") and value not in choices.values:
        errors.setdefault(field, []).append(
            f"'{value}' is not a valid choice; use one of: {', '.join(choices.values)}."
        )


def _check_title(errors: dict, title, *, model=Incident) -> None:
    if isinstance(title, str):
        max_length = model._meta.get_field("title").max_length
        for message in limits.title_errors(title, max_length=max_length):
            errors.setdefault("title", []).append(message)


def _check_source(errors: dict, source, user) -> None:
    """`monitoring` marks what an alert source raised (seed 2.1 "Detection: via monitoring"): reports count
    it as detected by monitoring, so only a source's own account (`incidents.alerts`) may set it."""
    if source == Source.MONITORING and not AlertSource.objects.filter(account_id=user.pk).exists():
        errors.setdefault("source", []).append("Only alert sources may log monitoring incidents.")


def _raise_if(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _save(incident: Incident, *, user, reason: str, action: str = "change") -> None:
    incident._history_user = user
    # The history's reason column holds 100 characters; the full note is on the timeline.
    incident._change_reason = reason if len(reason) <= 100 else reason[:99] + "…"
    try:
        incident.save()
    except ConcurrentTransition as exc:
        # Second line of defence behind the row lock: another writer moved the state since we read it.
        current = Incident.objects.only("state").get(pk=incident.pk)
        raise TransitionNotAllowed(
            transition=action, state=current.state, allowed=allowed_transitions(current, user)
        ) from exc


def _event(incident: Incident, *, kind: str, user, note: str = "", **fields) -> TimelineEvent:
    return TimelineEvent.objects.create(
        incident=incident,
        kind=kind,
        actor=user if user and user.is_authenticated else None,
        note=note,
        **fields,
    )


def _sla_targets(severity: str) -> dict:
    try:
        policy = SlaPolicy.objects.get(severity=severity)
    except SlaPolicy.DoesNotExist as exc:
        raise ValidationError({"severity": [f"No SLA policy is defined for {severity}."]}) from exc
    return {"response_target": policy.response_target, "resolution_target": policy.resolution_target}


def allowed_transitions(incident: Incident, user) -> list[str]:
    """Names of the transitions this user may take from the incident's current state."""
    return [t.name for t in incident.get_available_user_state_transitions(user)]


def check_transition(incident: Incident, user, name: str) -> None:
    """Raise PermissionDenied (403) or TransitionNotAllowed (409) before any input is looked at."""
    if name not in TRANSITIONS:
        raise ValidationError({"transition": [f"Unknown transition '{name}'."]})
    method = getattr(incident, name)
    transitions = list(method._django_fsm.transitions.values())
    if not any(t.has_perm(incident, user) for t in transitions):
        raise PermissionDenied(f"You may not {name} this incident.")
    if method._django_fsm.get_transition(incident.state) is None:
        raise TransitionNotAllowed(
            transition=name, state=incident.state, allowed=allowed_transitions(incident, user)
        )


def _transition(
    incident: Incident,
    *,
    user,
    name: str,
    note: str = "",
    data: dict | None = None,
    history_reason: str = "",
    validate=None,
    **kwargs,
) -> Incident:
    """Lock, check, transition, save, record; `validate(locked)` may raise ValidationError or add kwargs."""
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        check_transition(locked, user, name)
        if validate:
            kwargs.update(validate(locked) or {})
        from_state = locked.state
        getattr(locked, name)(**kwargs)
        _save(locked, user=user, reason=history_reason or f"{name}: {note}".strip(": "), action=name)
        if locked.is_open != (from_state in OPEN_STATES):
            _alert_follows_incident(locked)
        _event(
            locked,
            kind=EventKind.TRANSITION,
            user=user,
            note=note,
            transition=name,
            from_state=from_state,
            to_state=locked.state,
            visibility=Visibility.PUBLIC if name in PUBLIC_TRANSITIONS else Visibility.INTERNAL,
            data=data or {},
        )
        # Receivers run inside this transaction, so what they write (escalation schedule, outbox rows)
        # commits or rolls back with the transition; they queue broker work with on_commit.
        incident_transitioned.send(
            sender=Incident, incident=locked, transition=name, from_state=from_state, user=user
        )
        locked.refresh_from_db()  # receivers may have changed it (e.g. declared it major)
    return locked


def _alert_follows_incident(incident: Incident) -> None:
    """An incident raised by monitoring leaves alert deduplication when it resolves or is cancelled (the
    alert's next firing raises a new incident) and rejoins it when reopened, unless its alert has raised a
    newer open incident meanwhile: the unique index on open alerts decides, and the newer one keeps it."""
    alert = IncidentAlert.objects.filter(incident=incident).exclude(is_open=incident.is_open)
    if not incident.is_open:
        alert.update(is_open=False)
        return
    try:
        with transaction.atomic():
            alert.update(is_open=True)
    except IntegrityError:
        pass


# --- creation and edits ----------------------------------------------------------------------------------


@transaction.atomic
def incident_create(
    *,
    user,
    title: str,
    description: str = "",
    service: Service | None = None,
    incident_type: str = IncidentType.OTHER,
    source: str = "user",
    detected_at: datetime | None = None,
    reporter=None,
) -> Incident:
    """Log an incident (seed 2.1 "Logging"). The SLA clocks start at logging but get their targets at
    classification. `detected_at` defaults to now and may be earlier (by `DETECTED_AT_MAX_AGE` at most),
    never later, and never before the service went into operation. Text is bounded (`incidents.limits`);
    `source=monitoring` is for alert sources only."""
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
    _check_source(errors, source, user)
    if detected_at and detected_at > now:
        errors.setdefault("detected_at", []).append("Detection cannot be in the future.")
    elif detected_at:
        errors.update(_detected_at_errors(detected_at, logged_at=now))
    if service is not None and not service.is_active:
        errors.setdefault("service", []).append(f"Service '{service.slug}' is retired.")
    _check_in_service(errors, detected_at or now, service, field="detected_at" if detected_at else "service")
    _raise_if(errors)

    incident = Incident(
        number=next_number("incident", "INC"),
        title=title.strip(),
        description=description,
        service=service,
        incident_type=incident_type or IncidentType.OTHER,
        source=source,
        created_at=now,
        detected_at=detected_at or now,
        reporter=reporter or (user if user.is_authenticated else None),
    )
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


CLASSIFICATION_FIELDS = ("category", "urgency", "impact")


@transaction.atomic
def incident_log(
    *,
    user,
    title: str,
    description: str = "",
    service: Service | None = None,
    incident_type: str = IncidentType.OTHER,
    source: str = "user",
    detected_at: datetime | None = None,
    reporter=None,
    classification: dict[str, str] | None = None,
) -> Incident:
    """Log an incident and, when `classification` ({category, urgency, impact}) is given, classify it in
    the same transaction: `incident_create` then `incident_classify`, with their rules and permissions
    (classifying is for the Service Desk and Incident Managers). Either both happen or neither. A partial
    classification is refused: classify now with all three, or later with none."""
    if classification is not None:
        errors: dict = {}
        _require(errors, **{f: classification.get(f) for f in CLASSIFICATION_FIELDS})
        for field in errors:
            errors[field] = ["Needed to classify now (or leave category, urgency and impact empty)."]
        unknown = set(classification) - set(CLASSIFICATION_FIELDS)
        for field in sorted(unknown):
            errors[field] = ["Not part of a classification."]
        _raise_if(errors)
    incident = incident_create(
        user=user,
        title=title,
        description=description,
        service=service,
        incident_type=incident_type,
        source=source,
        detected_at=detected_at,
        reporter=reporter,
    )
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
    limits.check_text(errors, description=data.get("description"))
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


def _detected_at_errors(detected_at: datetime, *, logged_at: datetime) -> dict:
    messages = limits.detected_at_errors(detected_at, logged_at=logged_at)
    return {"detected_at": messages} if messages else {}


def _check_in_service(errors: dict, detected_at: datetime, service: Service | None, *, field: str) -> None:
    """Add `limits.in_service_errors` under `field`, unless the detection is already refused: a detection
    outside its other bounds may lie outside the calendar too, and needs no second message."""
    if "detected_at" not in errors:
        for message in limits.in_service_errors(detected_at, service=service):
            errors.setdefault(field, []).append(message)


def tier_following(current: str, assignee) -> str:
    """The tier an incident sits with once `assignee` works on it: the assignee's highest support tier
    when that is above the current one. Handing work to a colleague never moves an incident down."""
    order = list(Tier.values)
    groups = set(assignee.groups.values_list("name", flat=True)) if assignee else set()
    tiers = [tier for tier, group in TIER_GROUPS.items() if group in groups]
    highest = max(tiers, key=order.index, default=current)
    return highest if order.index(highest) > order.index(current) else current


def _assignment_event(incident, *, user, old, new, tier_changed: bool = False) -> None:
    note = f"Assigned to {new.get_username()}" if new else "Unassigned"
    if tier_changed:
        note += f"; now with {incident.get_tier_display()}"
    _event(
        incident,
        kind=EventKind.ASSIGNMENT,
        user=user,
        note=note,
        data={"from": old.get_username() if old else None, "to": new.get_username() if new else None},
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


# --- work on an incident ---------------------------------------------------------------------------------


@transaction.atomic
def comment_add(
    *, incident: Incident, user, body: str, visibility: str = Visibility.INTERNAL
) -> TimelineEvent:
    """Internal work notes are for support staff; public updates are what the reporter sees."""
    errors: dict = {}
    _require(errors, body=body)
    limits.check_text(errors, body=body)
    _check_choice(errors, "visibility", visibility, Visibility)
    _raise_if(errors)
    is_staff_role = user.has_perm("incidents.add_comment")
    if not is_staff_role and not (incident.reporter_id == user.pk and visibility == Visibility.PUBLIC):
        raise PermissionDenied("You may not comment on this incident.")
    return _event(incident, kind=EventKind.COMMENT, user=user, note=body.strip(), visibility=visibility)


@transaction.atomic
def checklist_item_done(*, item: ChecklistItem, user) -> ChecklistItem:
    """Tick a runbook step, recording who and when. Ticking a done step again changes nothing."""
    if not user.has_perm("incidents.change_checklistitem"):
        raise PermissionDenied("You may not tick checklist steps.")
    locked = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    if locked.done_at:
        return locked
    if not locked.incident.is_open:
        raise TransitionNotAllowed(
            transition="tick a checklist step of", state=locked.incident.state, allowed=[]
        )
    locked.done_at, locked.done_by = timezone.now(), user
    locked.save(update_fields=["done_at", "done_by"])
    _event(
        locked.incident, kind=EventKind.CHECKLIST, user=user, note=locked.text, data={"step_id": locked.pk}
    )
    return locked


@transaction.atomic
def problem_create(*, user, title: str, description: str = "", workaround: str = "") -> Problem:
    if not user.has_perm("incidents.add_problem"):
        raise PermissionDenied("You may not create problem records.")
    errors: dict = {}
    _require(errors, title=title)
    _check_title(errors, title, model=Problem)
    limits.check_text(errors, description=description, workaround=workaround)
    _raise_if(errors)
    problem = Problem(
        number=next_number("problem", "PRB"),
        title=title,
        description=description,
        workaround=workaround,
        is_known_error=bool(workaround),
    )
    problem._history_user = user
    problem.save()
    return problem


# Fields of a problem record people edit; the number is given at creation.
PROBLEM_EDITABLE_FIELDS = ("title", "description", "status", "root_cause", "is_known_error", "workaround")


@transaction.atomic
def problem_update(*, problem: Problem, user, data: dict) -> Problem:
    """Edit a problem record (`incidents.change_problem`) within the limits `problem_create` applies: a
    one-line title, bounded free text. Only the fields in `data` change; the history names the user and
    the fields changed."""
    if not user.has_perm("incidents.change_problem"):
        raise PermissionDenied("You may not edit problem records.")
    unknown = set(data) - set(PROBLEM_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {f: ["Read-only: not an editable field of a problem record."] for f in sorted(unknown)}
        )
    errors: dict = {}
    if "title" in data:
        _require(errors, title=data["title"])
        _check_title(errors, data["title"], model=Problem)
    if "status" in data:
        _require(errors, status=data["status"])
        _check_choice(errors, "status", data["status"], Problem.Status)
    limits.check_text(
        errors, **{f: data[f] for f in ("description", "root_cause", "workaround") if f in data}
    )
    _raise_if(errors)
    locked = Problem.objects.select_for_update().get(pk=problem.pk)
    changed = [field for field, value in data.items() if getattr(locked, field) != value]
    if not changed:
        return locked
    for field in changed:
        setattr(locked, field, data[field])
    locked._history_user = user
    locked._change_reason = "edited: " + ", ".join(changed)
    locked.save()
    return locked


# --- reference data --------------------------------------------------------------------------------------


@transaction.atomic
def sla_policy_update(
    *, policy: SlaPolicy, user, response_target: timedelta, resolution_target: timedelta
) -> SlaPolicy:
    """Change one severity's targets (seed 3.1 defaults: S1 15 min / 4 h, S2 30 min / 8 h, S3 4 h / 24 h,
    S4 24 h / 72 h). Incident Managers only (`incidents.change_slapolicy`); both targets at least
    `limits.MIN_SLA_TARGET` and at most `limits.MAX_SLA_TARGET`, and the resolution target no shorter than
    the response target. Incidents already classified keep their due times until their severity changes or
    they leave hold."""
    if not user.has_perm("incidents.change_slapolicy"):
        raise PermissionDenied("Only Incident Managers may change SLA policies.")
    errors: dict = {}
    for field, value in (("response_target", response_target), ("resolution_target", resolution_target)):
        if value is None or value < limits.MIN_SLA_TARGET:
            errors.setdefault(field, []).append("At least 1 minute.")
        elif value > limits.MAX_SLA_TARGET:
            errors.setdefault(field, []).append(f"At most {limits.MAX_SLA_TARGET.days} days.")
    if not errors and resolution_target < response_target:
        errors["resolution_target"] = ["Cannot be shorter than the response target."]
    _raise_if(errors)
    locked = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
    locked.response_target, locked.resolution_target = response_target, resolution_target
    locked._history_user = user
    locked._change_reason = (
        f"SLA targets: respond in {exact_duration(response_target)}, "
        f"resolve in {exact_duration(resolution_target)}"
    )
    locked.save()
    return locked


# --- writes made on behalf of other apps (escalation) ----------------------------------------------------


def timeline_record(
    *,
    incident: Incident,
    kind: str,
    user=None,
    note: str = "",
    data: dict | None = None,
    visibility: str = Visibility.INTERNAL,
) -> TimelineEvent:
    """Add an entry to an incident's timeline (escalations, notifications) from another app."""
    return _event(incident, kind=kind, user=user, note=note, data=data or {}, visibility=visibility)


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


# --- the user's own settings -----------------------------------------------------------------------------


@transaction.atomic
def user_preference_set(*, user, time_zone: str) -> UserPreference:
    """Set the time zone `user` sees times in (an IANA name; empty for the site's `TIME_ZONE`). Anyone
    signed in, for themselves only: the admin's *Preferences* page passes `request.user`."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("Sign in to set your preferences.")
    time_zone = (time_zone or "").strip()
    errors = limits.time_zone_errors(time_zone)
    if errors:
        raise ValidationError({"time_zone": errors})
    preference, _ = UserPreference.objects.select_for_update().get_or_create(user=user)
    if preference.time_zone != time_zone:
        preference.time_zone = time_zone
        preference.save(update_fields=["time_zone"])
    return preference
