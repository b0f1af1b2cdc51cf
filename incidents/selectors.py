"""Reads of incidents: who may see what, lists with their filters, the timeline and the audit history.

Writes live in `incidents.services`; the API, the admin and reports read through these functions so a
visibility rule (for example a later confidentiality rule for security incidents) is added in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import reference_data
from .choices import Category, IncidentType, Tier, Visibility
from .models import (
    ChecklistItem,
    Incident,
    Problem,
    Service,
    TimelineEvent,
    resolution_breached_q,
    response_breached_q,
)

# Everything an incident's representation names besides its own columns; joined so a list page costs a
# constant number of queries whatever its length.
INCIDENT_RELATED = ("service", "assignee", "reporter", "problem", "parent", "alert__source")

# Who sees what (issue "Trust first"); the permissions are granted to the role groups by migration
# (`incidents.reference_data.ROLE_PERMISSIONS`):
# - `view_all_incidents`: the incidents of every tier (Service Desk, System Administrators, Subject Matter
#   Experts, Security Team, Incident Managers, Management). External Support lacks it and sees only the
#   incidents that reached the external tier or are assigned to them.
# - `view_security_incident`: security incidents (Security Team, Incident Managers). Anyone else sees a
#   security incident only as its reporter or its assignee.
# - `view_timelineevent`: internal work notes and the audit trail (support roles but External Support,
#   Incident Managers, Management).
# Everyone signed in sees the incidents they reported. Anything else is "not found", never "forbidden",
# so nobody learns that an incident they may not see exists.
VIEW_ALL_PERMISSION = reference_data.VIEW_ALL_INCIDENTS
VIEW_SECURITY_PERMISSION = reference_data.VIEW_SECURITY_INCIDENTS
VIEW_INTERNAL_PERMISSION = "incidents.view_timelineevent"
VIEW_TIER_PERMISSION = "incidents.view_incident"


def security_incident_q(prefix: str = "") -> Q:
    """A security incident: classified as security, or logged as a security breach before classification."""
    return Q(**{f"{prefix}category": Category.SECURITY}) | Q(
        **{f"{prefix}incident_type": IncidentType.SECURITY_BREACH}
    )


def is_security_incident(incident: Incident) -> bool:
    """`security_incident_q` for an incident in hand."""
    return incident.category == Category.SECURITY or incident.incident_type == IncidentType.SECURITY_BREACH


@dataclass(frozen=True)
class _Reach:
    """How far a user sees. Everyone sees what they reported; a support role also what it is assigned,
    plus every tier's incidents or the external tier's alone, and security incidents or none."""

    anything: bool = False  # signed in and active
    everything: bool = False  # superusers
    role: bool = False  # holds a role that sees incidents beyond its own
    every_tier: bool = False
    security: bool = False


def _reach(user) -> _Reach:
    if user is None or not user.is_authenticated or not user.is_active:
        return _Reach()
    if user.is_superuser:
        return _Reach(anything=True, everything=True)
    if not user.has_perm(VIEW_TIER_PERMISSION):
        return _Reach(anything=True)
    return _Reach(
        anything=True,
        role=True,
        every_tier=user.has_perm(VIEW_ALL_PERMISSION),
        security=user.has_perm(VIEW_SECURITY_PERMISSION),
    )


def visibility_q(user, prefix: str = "") -> Q | None:
    """The rule as a query: the condition an incident (reached through `prefix`, e.g. "incident__") meets
    when `user` may see it; None when the user sees every incident. `may_see` is the same rule in Python."""
    reach = _reach(user)
    if reach.everything:
        return None
    if not reach.anything:
        return Q(**{f"{prefix}pk__in": []})
    if not reach.role:
        return Q(**{f"{prefix}reporter": user.pk})
    own = Q(**{f"{prefix}reporter": user.pk}) | Q(**{f"{prefix}assignee": user.pk})
    scope = None if reach.every_tier else Q(**{f"{prefix}tier": Tier.EXTERNAL}) | own
    if not reach.security:
        confidential = security_incident_q(prefix) & ~own
        scope = ~confidential if scope is None else scope & ~confidential
    return scope


def may_see(user, incident: Incident) -> bool:
    """`visibility_q` for an incident already in hand, without a query beyond the user's permissions: for
    rendering related incidents and choosing who a message about an incident may reach."""
    reach = _reach(user)
    if reach.everything or not reach.anything:
        return reach.everything
    if incident.reporter_id == user.pk:
        return True
    if not reach.role:
        return False
    if incident.assignee_id == user.pk:
        return True
    in_scope = reach.every_tier or incident.tier == Tier.EXTERNAL
    return in_scope and (reach.security or not is_security_incident(incident))


def visible_incidents(user) -> QuerySet[Incident]:
    """The incidents `user` may see (the rule above): the one place admin, API, reports, exports, webhooks
    and search ask."""
    condition = visibility_q(user)
    incidents = Incident.objects.all()
    return incidents if condition is None else incidents.filter(condition)


def incident_list(*, user, filters: Mapping[str, Any] | None = None) -> QuerySet[Incident]:
    """The incidents `user` may see, narrowed by `filters` (see `filter_incidents`), with the rows the
    representation names joined in."""
    return filter_incidents(visible_incidents(user).select_related(*INCIDENT_RELATED), filters or {})


def filter_incidents(incidents: QuerySet[Incident], filters: Mapping[str, Any]) -> QuerySet[Incident]:
    """Narrow a queryset of incidents. Keys (empty values are ignored):

    - `state`, `severity`: a value or a list of values;
    - `category`, `tier`, `is_major`: exact values;
    - `service`: a service slug; `assignee`: a username;
    - `breached`: True for incidents past their response or resolution due time (the SLA rules of
      `response_breached_q` / `resolution_breached_q`), False for the others;
    - `search`: every word must occur in the number or the title.
    """
    for field in ("state", "severity"):
        values = filters.get(field)
        if isinstance(values, str):
            values = [values]
        if values:
            incidents = incidents.filter(**{f"{field}__in": list(values)})
    for field in ("category", "tier"):
        if filters.get(field):
            incidents = incidents.filter(**{field: filters[field]})
    if filters.get("is_major") is not None:
        incidents = incidents.filter(is_major=filters["is_major"])
    if filters.get("service"):
        incidents = incidents.filter(service__slug=filters["service"])
    if filters.get("assignee"):
        incidents = incidents.filter(assignee__username=filters["assignee"])
    if filters.get("breached") is not None:
        now = timezone.now()
        breached = response_breached_q(now) | resolution_breached_q(now)
        incidents = incidents.filter(breached) if filters["breached"] else incidents.exclude(breached)
    for word in (filters.get("search") or "").split():
        incidents = incidents.filter(Q(number__icontains=word) | Q(title__icontains=word))
    return incidents


def can_see_internal(user) -> bool:
    """Internal work notes and the audit trail are for support roles and management, not for reporters."""
    return bool(user and user.is_active and user.has_perm(VIEW_INTERNAL_PERMISSION))


def readable_events_q(user) -> Q | None:
    """The timeline entries `user` may read: every one for roles that read internal work notes (None);
    otherwise (reporters, External Support) the public entries and what they wrote themselves."""
    if can_see_internal(user):
        return None
    return Q(visibility=Visibility.PUBLIC) | Q(actor__isnull=False, actor=getattr(user, "pk", None))


def incident_timeline(*, incident: Incident, user) -> QuerySet[TimelineEvent]:
    """The incident's timeline in time order, as far as `user` may read it (`readable_events_q`)."""
    events = incident.timeline.select_related("actor").order_by("created_at", "pk")
    condition = readable_events_q(user)
    return events if condition is None else events.filter(condition)


def incident_checklist(*, incident: Incident) -> QuerySet[ChecklistItem]:
    """The runbook steps copied onto the incident at classification, in runbook order."""
    return incident.checklist.select_related("done_by").order_by("order", "pk")


def incident_transition_options(*, incident: Incident, user) -> list[dict]:
    """The transitions `user` may take now (the same django-fsm permission callables the services check),
    each with its label and the state it leads to (a reclassification keeps the current state)."""
    return [
        {
            "name": t.name,
            "label": t.custom.get("label", t.name.title()),
            "target": t.target or incident.state,
        }
        for t in incident.get_available_user_state_transitions(user)
    ]


_HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


def incident_history(*, incident: Incident, user) -> list[dict]:
    """The audit trail of the incident, newest first: who changed what, when and why, each change as
    field/old/new against the previous record. Change reasons carry work notes, so reporters without a
    support role may not read it."""
    if not can_see_internal(user):
        raise PermissionDenied("Only support roles and management may read an incident's audit history.")
    records = list(incident.history.select_related("history_user").order_by("history_date", "history_id"))
    rows, previous = [], None
    for record in records:
        changes = []
        if previous is not None:
            delta = record.diff_against(previous)
            changes = [{"field": c.field, "old": c.old, "new": c.new} for c in delta.changes]
        rows.append(
            {
                "history_id": record.history_id,
                "history_date": record.history_date,
                "type": _HISTORY_TYPES.get(record.history_type, record.history_type),
                "user": record.history_user.get_username() if record.history_user else None,
                "change_reason": record.history_change_reason or "",
                "changes": changes,
            }
        )
        previous = record
    _name_related_objects(rows, user=user)
    rows.reverse()
    return rows


# How the API names related rows: a service by slug, a user by username, incidents and problems by number.
_RELATED_NAMES = {
    "service": (Service, "slug"),
    "assignee": (get_user_model(), get_user_model().USERNAME_FIELD),
    "reporter": (get_user_model(), get_user_model().USERNAME_FIELD),
    "problem": (Problem, "number"),
    "parent": (Incident, "number"),
}


def _name_related_objects(rows: list[dict], *, user) -> None:
    """History stores foreign keys as ids; show them by their API names (one query per related model). A
    related incident the user may not see is named "(restricted)"."""
    ids: dict[str, set] = {}
    for row in rows:
        for change in row["changes"]:
            if change["field"] in _RELATED_NAMES:
                ids.setdefault(change["field"], set()).update(
                    v for v in (change["old"], change["new"]) if v is not None
                )
    names = {}
    for field, pks in ids.items():
        model, attribute = _RELATED_NAMES[field]
        rows_of = visible_incidents(user) if model is Incident else model.objects.all()
        names[field] = dict(rows_of.filter(pk__in=pks).values_list("pk", attribute))
        if model is Incident:
            names[field].update({pk: "(restricted)" for pk in set(pks) - set(names[field])})
    for row in rows:
        for change in row["changes"]:
            if change["field"] in names:
                lookup = names[change["field"]]
                for side in ("old", "new"):
                    if change[side] is not None:
                        change[side] = lookup.get(change[side], f"(deleted #{change[side]})")
