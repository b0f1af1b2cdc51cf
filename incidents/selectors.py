"""Reads of incidents: who may see what, lists with their filters, the timeline and the audit history.

Writes live in `incidents.services`; the API, the admin and reports read through these functions so a
visibility rule (for example a later confidentiality rule for security incidents) is added in one place.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import BooleanField, Case, CharField, Count, F, Func, Q, QuerySet, Value, When
from django.db.models.expressions import OrderBy
from django.utils import timezone

from . import clocks, limits, reference_data, rules
from . import permissions as perms
from .alert_formats import web_link
from .choices import OPEN_STATES, TIER_GROUPS, Category, Role, State, Tier, Visibility, types_of
from .models import (
    Alert,
    Attachment,
    ChecklistItem,
    Incident,
    IncidentAlert,
    Problem,
    Service,
    SlaPolicy,
    TimelineEvent,
    UserPreference,
    resolution_breached_q,
    response_breached_q,
)

# Everything an incident's representation names besides its own columns, fetched so a list page costs a
# constant number of queries whatever its length. The rows nearly every incident names are joined; the rare
# ones (problem, parent, the alert behind it and its source) are prefetched, one query each when the page
# names any: joining all seven made PostgreSQL spend ~19 ms planning every list page and detail (0.6 ms to
# run it), four joins plan in ~1 ms.
INCIDENT_RELATED = ("service", "assignee", "reporter", "caller")
INCIDENT_PREFETCHED = ("problem", "parent", "alert__source", "alert__recurrence_of")

# Who sees what (issue "Trust first"); the permissions are granted to the role groups by migration
# (`incidents.reference_data.ROLE_PERMISSIONS`):
# - `view_all_incidents`: the incidents of every tier (Service Desk, System Administrators, Subject Matter
#   Experts, Security Team, Incident Managers, Management). External Support lacks it and sees only the
#   incidents that reached the external tier or are assigned to them.
# - `view_security_incident`: security incidents (Security Team, Incident Managers). Anyone else sees a
#   security incident only as its reporter, its caller or its assignee.
# - `view_timelineevent`: internal work notes and the audit trail (support roles but External Support,
#   Incident Managers, Management).
# Everyone signed in sees the incidents they reported and those they are the caller of (the person affected,
# named when someone logged it on their behalf). Anything else is "not found", never "forbidden",
# so nobody learns that an incident they may not see exists.
VIEW_ALL_PERMISSION = reference_data.VIEW_ALL_INCIDENTS
VIEW_SECURITY_PERMISSION = reference_data.VIEW_SECURITY_INCIDENTS
VIEW_INTERNAL_PERMISSION = "incidents.view_timelineevent"
VIEW_TIER_PERMISSION = "incidents.view_incident"


SECURITY_TYPES = [str(t) for t in types_of(Category.SECURITY)]


def security_incident_q(prefix: str = "") -> Q:
    """A security incident: classified as security, or logged with a type of the security category
    (unauthorized access, malware, other security incident) before classification."""
    return Q(**{f"{prefix}category": Category.SECURITY}) | Q(**{f"{prefix}incident_type__in": SECURITY_TYPES})


def is_security_incident(incident: Incident) -> bool:
    """`security_incident_q` for an incident in hand."""
    return incident.category == Category.SECURITY or incident.incident_type in SECURITY_TYPES


@dataclass(frozen=True)
class _Reach:
    """How far a user sees. Everyone sees what they reported or are the caller of; a support role also what
    it is assigned, plus every tier's incidents or the external tier's alone, and security incidents or
    none."""

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
    concerned = Q(**{f"{prefix}reporter": user.pk}) | Q(**{f"{prefix}caller": user.pk})
    if not reach.role:
        return concerned
    own = concerned | Q(**{f"{prefix}assignee": user.pk})
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
    if user.pk in (incident.reporter_id, incident.caller_id):
        return True
    if not reach.role:
        return False
    if incident.assignee_id == user.pk:
        return True
    in_scope = reach.every_tier or incident.tier == Tier.EXTERNAL
    return in_scope and (reach.security or not is_security_incident(incident))


@dataclass(frozen=True)
class CallerContact:
    """Who to tell about an incident's fix and ask to confirm it: the caller's account (`user`), or a
    contact without a login (`user` None)."""

    user: Any
    name: str
    email: str


def incident_caller(incident: Incident) -> CallerContact | None:
    """The incident's caller as someone to write to (`Incident.caller`, else `caller_name`/`caller_email`);
    None when nobody is named or the account is inactive. The reporter is not the caller unless logging
    made them one."""
    if incident.caller_id:
        user = incident.caller
        if not user.is_active:
            return None
        return CallerContact(user=user, name=user.get_full_name() or user.get_username(), email=user.email)
    if incident.caller_email:
        return CallerContact(user=None, name=incident.caller_name, email=incident.caller_email)
    return None


def visible_incidents(user) -> QuerySet[Incident]:
    """The incidents `user` may see (the rule above): the one place admin, API, reports, exports, webhooks
    and search ask."""
    condition = visibility_q(user)
    incidents = Incident.objects.all()
    return incidents if condition is None else incidents.filter(condition)


def with_related(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """`incidents` with the rows their representation names (`INCIDENT_RELATED`, `INCIDENT_PREFETCHED`)."""
    return incidents.select_related(*INCIDENT_RELATED).prefetch_related(*INCIDENT_PREFETCHED)


def incident_list(*, user, filters: Mapping[str, Any] | None = None) -> QuerySet[Incident]:
    """The incidents `user` may see, narrowed by `filters` (see `filter_incidents`), with the rows the
    representation names (`with_related`)."""
    return filter_incidents(with_related(visible_incidents(user)), filters or {})


def filter_incidents(incidents: QuerySet[Incident], filters: Mapping[str, Any]) -> QuerySet[Incident]:
    """Narrow a queryset of incidents. Keys (empty values are ignored):

    - `state`, `severity`: a value or a list of values;
    - `category`, `tier`, `source`, `is_major`: exact values;
    - `created_after` / `created_before`, `resolved_after` / `resolved_before`: times, the first inclusive;
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
    for field in ("category", "tier", "source"):
        if filters.get(field):
            incidents = incidents.filter(**{field: filters[field]})
    for field, time_field in (("created", "created_at"), ("resolved", "resolved_at")):
        if filters.get(f"{field}_after") is not None:
            incidents = incidents.filter(**{f"{time_field}__gte": filters[f"{field}_after"]})
        if filters.get(f"{field}_before") is not None:
            incidents = incidents.filter(**{f"{time_field}__lt": filters[f"{field}_before"]})
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


# --- the work list and the home page's queues ------------------------------------------------------------
# Which clock runs when is `incidents.clocks`'s rule; these put it to work for lists and counts.

BREACH_WARNING = timedelta(minutes=30)

# The home page's queues, in the order they are shown (`work_queues`).
QUEUE_MINE = "mine"
QUEUE_MY_TIER_UNASSIGNED = "my_tier_unassigned"
QUEUE_BREACHING = "breaching"
QUEUE_MAJOR = "major"
QUEUE_AWAITING_CLOSURE = "awaiting_closure"
QUEUES = (QUEUE_MINE, QUEUE_MY_TIER_UNASSIGNED, QUEUE_BREACHING, QUEUE_MAJOR, QUEUE_AWAITING_CLOSURE)

ASSIGNEE_ROLES = (*Role.SUPPORT_TIERS, Role.SECURITY_TEAM, Role.INCIDENT_MANAGERS)


def breaching_q(now: datetime, within: timedelta = BREACH_WARNING) -> Q:
    """*Breaching within 30 min or breached*: the clock that matters now (`clocks.running_due_before_q`:
    response until the first response, then resolution) runs out within `within` of `now` or already did;
    or the incident is on hold with its resolution already breached (the hold began after the due time).
    A response that came late is history once work started: it does not count here."""
    paused_breached = Q(state__in=clocks.PAUSED) & clocks.resolution_breached_q(now)
    return clocks.running_due_before_q(now + within) | paused_breached


def next_due_expression() -> Case:
    """When the clock that matters now runs out (`clocks.running_due_at_expression`; NULL when none runs)."""
    return clocks.running_due_at_expression()


def next_deadline_ordering() -> list[OrderBy]:
    """The work list's order, computed in SQL (`clocks.work_order_expressions`, which the index
    `incident_work_order` holds in this order): the clock that runs out first comes first (response until
    the first response, then resolution), then incidents without a clock yet, then those on hold, then the
    finished ones; oldest first within each."""
    return [expression.asc() for expression in clocks.work_order_expressions()]


def my_tiers_q(user) -> Q:
    """Incidents at a support tier whose group `user` belongs to (`TIER_GROUPS`; every tier for a
    superuser, as `permissions.in_tier_group` has it), as one subquery rather than a query of its own."""
    if user.is_superuser:
        return Q()
    tier_of_group = Case(
        *(When(name=group, then=Value(tier)) for tier, group in TIER_GROUPS.items()),
        default=None,
        output_field=CharField(),
    )
    tiers = Group.objects.filter(user=user.pk).annotate(tier=tier_of_group).exclude(tier=None).values("tier")
    return Q(tier__in=tiers)


def work_queues(*, user, now: datetime) -> dict[str, int]:
    """The home page's queues, counted over the incidents `user` may see in one aggregate query:

    - `mine`: open, assigned to them;
    - `my_tier_unassigned`: open, unassigned, at a tier whose group they belong to (`my_tiers_q`);
    - `breaching`: open with a running clock due within 30 minutes or breached (`breaching_q`);
    - `major`: open major incidents;
    - `awaiting_closure`: resolved, waiting for the caller's answer, an Incident Manager or the auto-close.
    """
    is_open = Q(state__in=OPEN_STATES)
    counts = {
        QUEUE_MINE: Count("pk", filter=is_open & Q(assignee=user.pk)),
        QUEUE_MY_TIER_UNASSIGNED: Count("pk", filter=is_open & Q(assignee=None) & my_tiers_q(user)),
        QUEUE_BREACHING: Count("pk", filter=is_open & breaching_q(now)),
        QUEUE_MAJOR: Count("pk", filter=is_open & Q(is_major=True)),
        QUEUE_AWAITING_CLOSURE: Count("pk", filter=Q(state=State.RESOLVED)),
    }
    result = (
        visible_incidents(user)
        .filter(state__in=[*OPEN_STATES, State.RESOLVED])
        .order_by()
        .aggregate(**counts)
    )
    return {queue: result[queue] for queue in QUEUES}


def open_major_incidents(*, user) -> QuerySet[Incident]:
    """The open major incidents `user` may see, newest first: the banner on every admin page (one query over
    the indexed `is_major` and `state` columns, run only when a page shows it)."""
    return (
        visible_incidents(user)
        .filter(is_major=True, state__in=OPEN_STATES)
        .order_by("-created_at", "-pk")
        .only("pk", "number", "title", "state")  # django-fsm reads the state of every instance
    )


@dataclass(frozen=True)
class OpenIncidentCount:
    severity: str  # "" for an incident without one (an imported record)
    state: str
    open: int
    response_breached: int
    resolution_breached: int


def open_incident_counts(*, now: datetime) -> list[OpenIncidentCount]:
    """Open incidents (`OPEN_STATES`) by severity and state, and how many of them have breached their
    response and their resolution clock at `now` (`clocks.response_breached_q`, `resolution_breached_q`). A
    provisional severity counts as its severity. One grouped query over every incident (the /metrics
    gauges), not filtered by who may see them."""
    rows = (
        Incident.objects.filter(state__in=OPEN_STATES)
        .order_by()
        .values("severity", "state")
        .annotate(
            open=Count("pk"),
            response_breached=Count("pk", filter=clocks.response_breached_q(now)),
            resolution_breached=Count("pk", filter=clocks.resolution_breached_q(now)),
        )
        .order_by("severity", "state")
    )
    return [OpenIncidentCount(**row) for row in rows]


def support_staff(*, user) -> QuerySet:
    """The people incidents are assigned to, as `user` may know them: the active members of the support
    roles (not reporters or monitoring accounts), by name. Someone who does not see every tier's incidents
    (External Support) gets only themselves: a vendor need not learn the lab's staff list."""
    people = get_user_model().objects.filter(is_active=True)
    if not user.has_perm(VIEW_ALL_PERMISSION):
        return people.filter(pk=user.pk)
    return (
        people.filter(groups__name__in=ASSIGNEE_ROLES)
        .distinct()
        .order_by("first_name", "last_name", get_user_model().USERNAME_FIELD)
    )


# Searches matching more incidents than this read them through a subquery; below, their ids are fetched first.
SEARCH_IDS_FETCHED = 100_000


def search_incidents(incidents: QuerySet[Incident], text: str) -> QuerySet[Incident]:
    """Incidents matching every word of `text` in the number, title, description, service name, assignee
    (username, first or last name) or alert labels. On PostgreSQL the title and description are also matched
    by full-text search (English stemming: "failing" finds "failed"), the description only that way; other
    databases match every field with `icontains`. No incident appears twice.

    Each word is the union of one narrow query per field (`_incidents_matching`), each served by its own
    index on PostgreSQL (migration 0016): an OR of those conditions over the incident table left PostgreSQL
    no plan but reading every incident (3.5 s at a million, whatever the word). On PostgreSQL the words'
    sets are intersected and their ids fetched first (one query); up to `SEARCH_IDS_FETCHED` of them, the
    list is narrowed to those ids as one array parameter, so its page and count read them by primary key
    (a subquery makes PostgreSQL hash-join every incident against it: 1.4 s for a word found in 50,000 of a
    million incidents). A search finding more than that keeps the subquery."""
    words = text.split()
    if not words:
        return incidents
    if connection.vendor != "postgresql":
        for word in words:
            incidents = incidents.filter(pk__in=_incidents_matching(word))
        return incidents
    matching = _incidents_matching(words[0])
    for word in words[1:]:
        matching = matching.intersection(_incidents_matching(word))
    ids = list(matching[: SEARCH_IDS_FETCHED + 1])
    if len(ids) <= SEARCH_IDS_FETCHED:
        return incidents.filter(AnyOf("pk", ids))
    return incidents.filter(pk__in=matching)


class AnyOf(Func):
    """`column = ANY(%s)` with the values as one array parameter (PostgreSQL): a long list without a
    placeholder per value, read through the column's index."""

    output_field = BooleanField()

    def __init__(self, column: str, values: list):
        super().__init__(F(column))
        self.values = values

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        return f"{column} = ANY(%s)", (*params, self.values)


def _incidents_matching(word: str) -> QuerySet:
    """The ids of the incidents `word` occurs in, as one UNION of single-index queries."""
    people = get_user_model().objects.filter(
        Q(username__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
    )
    ids = [
        Incident.objects.filter(number__icontains=word),
        Incident.objects.filter(title__icontains=word),
        Incident.objects.filter(service__in=Service.objects.filter(name__icontains=word).values("pk")),
        Incident.objects.filter(assignee__in=people.values("pk")),
    ]
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery

        document = Incident.objects.alias(search_document=search_document())
        ids.append(document.filter(search_document=SearchQuery(word, config="english")))
    else:
        ids.append(Incident.objects.filter(description__icontains=word))
    ids = [query.order_by().values_list("pk", flat=True) for query in ids]
    alerts = Alert.objects.filter(labels__icontains=word)  # every alert of the group, not only its first
    ids.append(alerts.order_by().values_list("group__incident_id", flat=True))
    return ids[0].union(*ids[1:])


def search_document():
    """The title and description as one English full-text document; migration 0016 indexes exactly this
    expression (change one, change both)."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector("title", "description", config="english")


# Keys of a timeline entry's data that name people beyond the reader (message recipients, outbox rows):
# shown only to those who read internal notes.
STAFF_ONLY_EVENT_DATA = frozenset({"recipients", "notifications"})


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


def readable_attachments_q(user) -> Q | None:
    """The attachments `user` may read on an incident they see: the same rule as the timeline's entries."""
    if can_see_internal(user):
        return None
    return Q(visibility=Visibility.PUBLIC) | Q(
        uploaded_by__isnull=False, uploaded_by=getattr(user, "pk", None)
    )


def incident_attachments(*, incident: Incident, user) -> QuerySet[Attachment]:
    """The files of `incident` that `user` may read, oldest first."""
    files = incident.attachments.select_related("uploaded_by").order_by("created_at", "pk")
    condition = readable_attachments_q(user)
    return files if condition is None else files.filter(condition)


def attachment_for(*, user, pk: int) -> Attachment | None:
    """The attachment `pk` when `user` may see both it and its incident; None otherwise (to the reader, a file
    they may not see does not exist)."""
    files = Attachment.objects.select_related("incident")
    incident_condition = visibility_q(user, "incident__")
    if incident_condition is not None:
        files = files.filter(incident_condition)
    condition = readable_attachments_q(user)
    if condition is not None:
        files = files.filter(condition)
    return files.filter(pk=pk).first()


def incident_checklist(*, incident: Incident) -> QuerySet[ChecklistItem]:
    """The runbook steps copied onto the incident at classification, in runbook order."""
    return incident.checklist.select_related("done_by", "skipped_by").order_by("order", "pk")


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
    "caller": (get_user_model(), get_user_model().USERNAME_FIELD),
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


# --- before and after a step: what classifying would give, who may act next ------------------------------


@dataclass(frozen=True)
class SeverityPreview:
    severity: str
    definition: str  # seed 3.1, as `rules.SEVERITY_DEFINITIONS` words it
    response_target: timedelta | None  # None: no SLA policy for the severity
    resolution_target: timedelta | None
    response_due_at: datetime | None
    resolution_due_at: datetime | None


def severity_preview(*, urgency: str, impact: str, logged_at: datetime | None = None) -> SeverityPreview:
    """What classifying an incident logged at `logged_at` (default now) with `urgency` x `impact` gives:
    the matrix's severity (`rules.severity_for`, what `incident_classify` uses) and the due times its SLA
    policy sets (`Incident.set_sla_clocks`). Raises ValueError for a value off the scale."""
    severity = rules.severity_for(urgency=urgency, impact=impact)
    policy = SlaPolicy.objects.filter(severity=severity).first()
    probe = Incident(created_at=logged_at or timezone.now())
    if policy is not None:
        probe.set_sla_clocks(
            response_target=policy.response_target, resolution_target=policy.resolution_target
        )
    return SeverityPreview(
        severity=severity,
        definition=rules.SEVERITY_DEFINITIONS[severity],
        response_target=policy.response_target if policy else None,
        resolution_target=policy.resolution_target if policy else None,
        response_due_at=probe.response_due_at,
        resolution_due_at=probe.resolution_due_at,
    )


@dataclass(frozen=True)
class NextStep:
    """A transition open from the incident's state and who may take it (`permissions.ACTORS`)."""

    transition: str
    label: str
    roles: tuple[str, ...]  # names of the role groups whose members may take it
    reporter: Any = None  # the person affected (the caller, else the reporter) may take it too
    assignee: Any = None  # the assignee may take it too (a tier-bound rule)


def next_steps(*, incident: Incident) -> list[NextStep]:
    """For each transition open from the incident's state (in lifecycle order), who may take it: read
    from the transition's permission rule (`permissions.ACTORS`) and from which role groups hold the
    permission it names. Superusers, who may do anything, are not named. Three queries at most."""
    rules_in_order = list(perms.ACTORS)  # the lifecycle's order: classify ... close, reopen, cancel
    transitions = sorted(
        (t for t in incident.get_available_state_transitions() if t.permission in perms.ACTORS),
        key=lambda t: rules_in_order.index(t.permission),
    )
    if not transitions:
        return []
    actors = {t.name: perms.ACTORS[t.permission] for t in transitions}
    codenames = {a.permission for a in actors.values()} | {perms.MANAGER_PERMISSION}
    holders: dict[str, set[str]] = {}
    for name, codename in Group.objects.filter(
        permissions__content_type__app_label="incidents", permissions__codename__in=codenames
    ).values_list("name", "permissions__codename"):
        holders.setdefault(codename, set()).add(name)
    managers = holders.get(perms.MANAGER_PERMISSION, set())
    order = {name: i for i, name in enumerate(Role.ALL)}
    steps = []
    for t in transitions:
        rule = actors[t.name]
        roles = holders.get(rule.permission, set())
        assignee = None
        if rule.tier_bound:
            teams = {TIER_GROUPS.get(incident.tier)}
            if incident.assignee_id:
                assignee = incident.assignee
                teams |= set(assignee.groups.filter(name__in=perms.TEAMS).values_list("name", flat=True))
            roles = (roles & teams) | managers
        steps.append(
            NextStep(
                transition=t.name,
                label=t.custom.get("label", t.name.title()),
                roles=tuple(sorted(roles, key=lambda name: (order.get(name, len(order)), name))),
                reporter=perms.person_concerned(incident) if rule.reporter else None,
                assignee=assignee,
            )
        )
    return steps


# --- the user's own settings -----------------------------------------------------------------------------


def user_time_zone(user) -> zoneinfo.ZoneInfo | None:
    """The time zone `user` chose for the admin (`UserPreference`); None for the site's (`TIME_ZONE`), for
    anyone not signed in, and for a stored name this machine no longer knows. One query."""
    if not getattr(user, "is_authenticated", False):
        return None
    name = UserPreference.objects.filter(user=user.pk).values_list("time_zone", flat=True).first()
    if not name or limits.time_zone_errors(name):
        return None
    return zoneinfo.ZoneInfo(name)


# Annotations that carry the alert's runbook (Prometheus' convention is `runbook_url`).
RUNBOOK_ANNOTATIONS = ("runbook_url", "runbook")


@dataclass(frozen=True)
class AlertLink:
    label: str
    url: str


def alert_links(incident: Incident) -> list[AlertLink]:
    """The links monitoring sent with the alert that raised the incident, for the staff it pages and
    escalates to: the alert's source graph (`generatorURL`) and its runbook (the `runbook_url` annotation),
    each only when it is an http(s) URL. Empty for an incident no alert raised."""
    try:
        alert = incident.alert
    except IncidentAlert.DoesNotExist:
        return []
    links = []
    if web_link(alert.generator_url):
        links.append(AlertLink("Alert source", alert.generator_url))
    annotations = alert.annotations if isinstance(alert.annotations, dict) else {}
    runbook = next((annotations[k] for k in RUNBOOK_ANNOTATIONS if web_link(annotations.get(k, ""))), "")
    if runbook:
        links.append(AlertLink("Runbook", runbook))
    return links


def users_time_zones(users) -> dict[int, str]:
    """The time zone each of `users` chose (`UserPreference`), by user id, in one query; users without a
    usable choice are left out (they read times in `TIME_ZONE`). Messages are written in these zones."""
    names = UserPreference.objects.filter(user__in=[u.pk for u in users]).exclude(time_zone="")
    return {
        user_id: name
        for user_id, name in names.values_list("user_id", "time_zone")
        if not limits.time_zone_errors(name)
    }
