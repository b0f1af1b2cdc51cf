"""What every incident service shares: input checks, saving with the history user and reason, timeline
entries, and the locked, checked transition the lifecycle services run through."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django_fsm import ConcurrentTransition

from .. import limits
from ..choices import (
    TIER_GROUPS,
    Category,
    EventKind,
    IncidentType,
    Source,
    Tier,
    Visibility,
    category_of,
    types_of,
)
from ..exceptions import PermissionDenied, TransitionNotAllowed, ValidationError
from ..models import (
    AlertSource,
    Incident,
    NumberSequence,
    Service,
    SlaPolicy,
    TimelineEvent,
)
from ..signals import incident_transitioned

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
    "caller",
    "caller_name",
    "caller_email",
    "diagnosis",
    "root_cause",
    "workaround",
)
# The investigation on record (seed 2.1 "Investigation: diagnosis and root cause analysis"): edited while the
# incident is open, and given at resolve; S1 and S2 incidents resolve only with the first two.
INVESTIGATION_FIELDS = ("diagnosis", "root_cause", "workaround")


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


def _check_type_in_category(errors: dict, incident_type: str, category: str) -> None:
    """Seed 2.2: each type belongs to one category (`choices.TYPE_CATEGORY`). A classified incident has a
    type of its own category; before classification any type, or none, will do. Values that are no type at
    all are `_check_choice`'s to report."""
    if not category or category not in Category.values:
        return
    if incident_type and incident_type not in IncidentType.values:
        return
    if category_of(incident_type) == category:
        return
    label = Category(category).label
    allowed = ", ".join(str(t.label) for t in types_of(category))
    if incident_type:
        owner = Category(category_of(incident_type)).label
        message = (
            f"{IncidentType(incident_type).label} belongs to the {owner} category, not to {label}; "
            f"use one of: {allowed}."
        )
    else:
        message = f"An incident of the {label} category has one of these types: {allowed}."
    errors.setdefault("incident_type", []).append(message)


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


def _check_state(incident: Incident, user, name: str) -> None:
    """TransitionNotAllowed (409) unless transition `name` starts from the incident's state."""
    if getattr(incident, name)._django_fsm.get_transition(incident.state) is None:
        allowed = allowed_transitions(incident, user) if user is not None else []
        raise TransitionNotAllowed(transition=name, state=incident.state, allowed=allowed)


def _transition(
    incident: Incident,
    *,
    user,
    name: str,
    note: str = "",
    data: dict | None = None,
    history_reason: str = "",
    validate=None,
    authorised: bool = False,
    **kwargs,
) -> Incident:
    """Lock, check, transition, save, record; `validate(locked)` may raise ValidationError or add kwargs.
    `authorised`: the caller's signed link or the process itself (auto-close) stands in for the user's
    permission, which is then not asked; the state still is."""
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if authorised:
            _check_state(locked, user, name)
        else:
            check_transition(locked, user, name)
        if validate:
            kwargs.update(validate(locked) or {})
        from_state = locked.state
        getattr(locked, name)(**kwargs)
        _save(locked, user=user, reason=history_reason or f"{name}: {note}".strip(": "), action=name)
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
