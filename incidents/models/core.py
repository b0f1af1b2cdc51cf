"""Incident data and its lifecycle.

Transition methods only set fields; locking, permission checks, saving, the timeline and follow-up work are
the job of `incidents.services`.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from .. import clocks
from .. import permissions as perms
from ..choices import (
    OPEN_STATES,
    Category,
    ClosedBy,
    Criticality,
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

# The breach predicates' home is `incidents.clocks`; `incidents.models` re-exports them.
from ..clocks import resolution_breached_q, response_breached_q
from ..formatting import exact_duration


class Service(models.Model):
    """An entry of the service catalogue: what incidents hit and what reports are about."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    owner_group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    criticality = models.CharField(max_length=8, choices=Criticality.choices, default=Criticality.MEDIUM)
    stakeholder_emails = models.TextField(blank=True, help_text="One address per line (or comma-separated).")
    is_active = models.BooleanField("active", default=True)
    in_service_since = models.DateField(
        default=timezone.localdate,
        help_text="When the service went into operation: none of its incidents can be detected earlier.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def stakeholder_email_list(self) -> list[str]:
        return [e.strip() for e in self.stakeholder_emails.replace(",", "\n").splitlines() if e.strip()]


class SupportTier(models.Model):
    """A support level, backed by the Django group that holds its members."""

    code = models.CharField(max_length=10, choices=Tier.choices, unique=True)
    name = models.CharField(max_length=80)
    rank = models.PositiveSmallIntegerField(
        unique=True, help_text="1 is the first line; higher is more expert."
    )
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="support_tier")
    history = HistoricalRecords()

    class Meta:
        ordering = ["rank"]

    def __str__(self):
        return self.name


class SlaPolicy(models.Model):
    """Response and resolution targets of one severity (seed: S1 15 min / 4 h ... S4 24 h / 72 h)."""

    severity = models.CharField(max_length=2, choices=Severity.choices, unique=True)
    response_target = models.DurationField()
    resolution_target = models.DurationField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["severity"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self):
        return (
            f"{self.severity}: respond in {exact_duration(self.response_target)}, "
            f"resolve in {exact_duration(self.resolution_target)}"
        )


class ResponsePlan(models.Model):
    """A runbook for one incident type; copied onto an incident as a checklist when it is classified."""

    incident_type = models.CharField(max_length=32, choices=IncidentType.choices, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["incident_type"]

    def __str__(self):
        return self.title


class ResponsePlanStep(models.Model):
    plan = models.ForeignKey(ResponsePlan, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=500)
    required = models.BooleanField(
        default=False, help_text="Resolving waits until this step is done or skipped with a reason."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "order", "pk"]

    def __str__(self):
        return self.text


class Problem(models.Model):
    """ITIL problem record: the underlying cause of one or more incidents."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        KNOWN_ERROR = "known_error", "Known error"
        RESOLVED = "resolved", "Resolved"

    number = models.CharField(max_length=16, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    root_cause = models.TextField(blank=True)
    is_known_error = models.BooleanField("known error", default=False)
    workaround = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.number} {self.title}"


class NumberSequence(models.Model):
    """Gap-free human numbers (INC-000001) that stay unique under concurrent creation."""

    name = models.CharField(max_length=16, primary_key=True)
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}: {self.last_value}"


INCIDENT_CONSTRAINTS = [
    models.CheckConstraint(
        condition=~models.Q(state=State.ON_HOLD) | models.Q(on_hold_since__isnull=False),
        name="incident_on_hold_has_since",
        violation_error_message="An incident on hold needs the time its hold began.",
    ),
    models.CheckConstraint(
        condition=~models.Q(state__in=[State.RESOLVED, State.CLOSED])
        | (models.Q(resolved_at__isnull=False) & ~models.Q(resolution_code="")),
        name="incident_resolved_has_resolution",
        violation_error_message="A resolved or closed incident needs its resolution time and code.",
    ),
    models.CheckConstraint(
        condition=~models.Q(state=State.CLOSED)
        | (models.Q(closed_at__isnull=False) & ~models.Q(closed_by="")),
        name="incident_closed_has_closure",
        violation_error_message="A closed incident needs its closure time and how it was closed.",
    ),
    models.CheckConstraint(
        condition=models.Q(state__in=[State.RESOLVED, State.CLOSED])
        | (models.Q(resolved_at__isnull=True) & models.Q(resolution_code="")),
        name="incident_unresolved_has_no_resolution",
        violation_error_message="Only a resolved or closed incident has a resolution time and code.",
    ),
    models.CheckConstraint(
        condition=models.Q(state=State.CLOSED) | (models.Q(closed_at__isnull=True) & models.Q(closed_by="")),
        name="incident_unclosed_has_no_closure",
        violation_error_message="Only a closed incident has a closure time and how it was closed.",
    ),
    models.CheckConstraint(
        condition=models.Q(response_due_at__isnull=True)
        | models.Q(response_due_at__gte=models.F("created_at")),
        name="incident_response_due_after_logging",
        violation_error_message="The response due time cannot precede logging.",
    ),
    models.CheckConstraint(
        condition=models.Q(resolution_due_at__isnull=True)
        | models.Q(resolution_due_at__gte=models.F("created_at")),
        name="incident_resolution_due_after_logging",
        violation_error_message="The resolution due time cannot precede logging.",
    ),
]


class IncidentQuerySet(models.QuerySet):
    def open(self):
        return self.filter(state__in=OPEN_STATES)

    def response_breached(self, now=None):
        now = now or timezone.now()
        return self.filter(response_breached_q(now))

    def resolution_breached(self, now=None):
        now = now or timezone.now()
        return self.filter(resolution_breached_q(now))

    def breached(self, now=None):
        now = now or timezone.now()
        return self.filter(response_breached_q(now) | resolution_breached_q(now))


class Incident(ConcurrentTransitionMixin, models.Model):
    number = models.CharField(max_length=16, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    category = models.CharField(max_length=16, choices=Category.choices, blank=True, db_index=True)
    # Blank until known: classification gives a blank type the "other" of the category chosen.
    incident_type = models.CharField(max_length=32, choices=IncidentType.choices, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.USER)
    urgency = models.CharField(max_length=8, choices=Level.choices, blank=True)
    impact = models.CharField(max_length=8, choices=Level.choices, blank=True)
    severity = models.CharField(max_length=2, choices=Severity.choices, blank=True, db_index=True)
    severity_provisional = models.BooleanField(
        default=False, help_text="Given at logging until classification sets the real one."
    )
    state = FSMField(
        max_length=16, choices=State.choices, default=State.LOGGED, protected=True, db_index=True
    )
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.TIER1, db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_incidents",
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reported_incidents",
        help_text="Who typed it in (the Service Desk for a phoned-in report, an alert source's account).",
    )
    # The caller is the person affected, who is told about the fix and confirms it: a lab user's account,
    # or a contact without a login (name and e-mail). Empty when nobody but the reporter is concerned.
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="called_incidents",
        help_text="The person affected, when they have an account.",
    )
    caller_name = models.CharField(max_length=150, blank=True)
    caller_email = models.EmailField(blank=True)
    is_major = models.BooleanField("major", default=False, db_index=True)

    detected_at = models.DateTimeField(help_text="When the fault was first noticed; may precede logging.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True, help_text="Logging time.")
    classified_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    on_hold_reason = models.CharField(max_length=16, choices=HoldReason.choices, blank=True)
    on_hold_since = models.DateTimeField(null=True, blank=True)
    on_hold_seconds = models.PositiveIntegerField(default=0, help_text="Total time spent on hold.")
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    resolution_code = models.CharField(max_length=16, choices=ResolutionCode.choices, blank=True)
    resolution_notes = models.TextField(blank=True)
    # The investigation on record (seed 2.1 "Investigation: diagnosis, root cause").
    diagnosis = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    workaround = models.TextField(blank=True)
    closure_notes = models.TextField(blank=True, help_text="Final documentation, written at closure.")
    closed_by = models.CharField(max_length=8, choices=ClosedBy.choices, blank=True)
    cancel_reason = models.TextField(blank=True)

    problem = models.ForeignKey(
        Problem, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    change_ref = models.CharField("change record", max_length=64, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="The incident this one duplicates or belongs to.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("classify_incident", "Can classify incidents"),
            ("investigate_incident", "Can investigate incidents"),
            ("hold_incident", "Can put incidents on hold and resume them"),
            ("resolve_incident", "Can resolve incidents"),
            ("close_incident", "Can close incidents"),
            ("reopen_incident", "Can reopen incidents"),
            ("cancel_incident", "Can cancel incidents"),
            ("override_severity", "Can override the severity matrix"),
            ("manage_incident", "Can manage any incident (Incident Manager)"),
            ("view_all_incidents", "Can see the incidents of every tier"),
            ("view_security_incident", "Can see security incidents"),
            ("send_status_update", "Can send status updates to an incident's stakeholders"),
        ]
        indexes = [
            models.Index(fields=["state", "-created_at"], name="incident_state_created"),
            models.Index(fields=["service", "-created_at"], name="incident_service_created"),
            models.Index(fields=["assignee", "state"], name="incident_assignee_state"),
            # The work list's order (`selectors.next_deadline_ordering`): a page of the incident list
            # comes from here, with or without a state filter, instead of a sort over every row.
            models.Index(*clocks.work_order_expressions(), name="incident_work_order"),
        ]
        # What each state implies, kept by the database itself: no import, script or bug can store an
        # incident the lifecycle could not have produced (`tests/incidents/test_constraints.py`).
        constraints = INCIDENT_CONSTRAINTS

    def __str__(self):
        return f"{self.number} {self.title}"

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        """Reload without django-fsm's version, which lifts the state field's protection for the whole
        process while it reloads: concurrent threads then found it protected again mid-reload and failed
        with "Direct state modification is not allowed". Forgetting the instance's own state value lets the
        reload set it while the field stays protected for everyone else."""
        reload_all = fields is None
        if reload_all:
            self._prefetched_objects_cache = {}
            deferred = self.get_deferred_fields()
            fields = [f.attname for f in self._meta.concrete_fields if f.attname not in deferred]
        if "state" in fields:
            self.__dict__.pop("state", None)
        models.Model.refresh_from_db(self, using=using, fields=fields, from_queryset=from_queryset)
        if reload_all:
            for relation in self._meta.related_objects:
                if relation.is_cached(self):
                    relation.delete_cached_value(self)
        self._update_initial_state()

    # --- computed -----------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    # The SLA rules live in `incidents.clocks`; these read them for this incident.

    @property
    def response_breached(self) -> bool:
        return clocks.response_breached(self)

    @property
    def resolution_breached(self) -> bool:
        return clocks.resolution_breached(self)

    def resolution_time_left(self, now=None) -> timedelta | None:
        """Time until the resolution clock runs out (negative when breached); None when it is not running."""
        return clocks.resolution_time_left(self, now)

    # --- lifecycle (bodies only set fields) ---------------------------------------------------------

    def set_sla_clocks(self, *, response_target: timedelta, resolution_target: timedelta) -> None:
        """Both clocks start at logging; time on hold extends the resolution clock (`clocks.due_times`)."""
        self.response_due_at, self.resolution_due_at = clocks.due_times(
            logged_at=self.created_at,
            response_target=response_target,
            resolution_target=resolution_target,
            on_hold_seconds=self.on_hold_seconds,
        )

    @transition(
        field=state,
        source=State.LOGGED,
        target=State.CLASSIFIED,
        permission=perms.can_classify,
        custom={"label": "Classify"},
    )
    @transition(
        field=state,
        source=[State.CLASSIFIED, State.INVESTIGATING, State.ON_HOLD],
        target=None,
        permission=perms.can_classify,
        custom={"label": "Reclassify"},
    )
    def classify(
        self,
        *,
        category,
        urgency,
        impact,
        severity,
        response_target,
        resolution_target,
        now,
        service=None,
        incident_type=None,
    ):
        self.category, self.urgency, self.impact, self.severity = category, urgency, impact, severity
        self.severity_provisional = False  # the severity given at logging is replaced
        if service is not None:
            self.service = service
        if incident_type:
            self.incident_type = incident_type
        self.classified_at = self.classified_at or now
        self.set_sla_clocks(response_target=response_target, resolution_target=resolution_target)

    @transition(
        field=state,
        source=State.CLASSIFIED,
        target=State.INVESTIGATING,
        permission=perms.can_investigate,
        custom={"label": "Investigate"},
    )
    def investigate(self, *, assignee, tier, now, by_person=True):
        self.assignee, self.tier = assignee, tier
        if by_person:  # a system account's move (monitoring resolving on recovery) answers nobody
            self.first_response_at = self.first_response_at or now

    @transition(
        field=state,
        source=State.INVESTIGATING,
        target=State.ON_HOLD,
        permission=perms.can_hold,
        custom={"label": "Put on hold"},
    )
    def hold(self, *, reason, now):
        self.on_hold_reason = reason
        self.on_hold_since = now

    @transition(
        field=state,
        source=State.ON_HOLD,
        target=State.INVESTIGATING,
        permission=perms.can_hold,
        custom={"label": "Resume"},
    )
    def resume(self, *, response_target, resolution_target, now):
        self.on_hold_seconds += max(0, int((now - self.on_hold_since).total_seconds()))
        self.on_hold_since = None
        self.on_hold_reason = ""
        self.set_sla_clocks(response_target=response_target, resolution_target=resolution_target)

    @transition(
        field=state,
        source=State.INVESTIGATING,
        target=State.RESOLVED,
        permission=perms.can_resolve,
        custom={"label": "Resolve"},
    )
    def resolve(self, *, code, notes, now, investigation=None, by_person=True):
        self.resolution_code = code
        self.resolution_notes = notes
        self.resolved_at = now
        if by_person:  # a person resolving what nobody had answered (reopened after it healed) answers it
            self.first_response_at = self.first_response_at or now
        for field, value in (investigation or {}).items():  # diagnosis, root cause, workaround
            setattr(self, field, value)

    @transition(
        field=state,
        source=State.RESOLVED,
        target=State.CLOSED,
        permission=perms.can_close,
        custom={"label": "Close"},
    )
    def close(self, *, now, closed_by, closure_notes=""):
        self.closed_at = now
        self.closed_by = closed_by
        self.closure_notes = closure_notes

    @transition(
        field=state,
        source=State.RESOLVED,
        target=State.INVESTIGATING,
        permission=perms.can_reopen,
        custom={"label": "Reopen"},
    )
    def reopen(self):
        self.reopen_count += 1
        self.resolved_at = None
        self.resolution_code = ""

    @transition(
        field=state,
        source=[State.LOGGED, State.CLASSIFIED],
        target=State.CANCELLED,
        permission=perms.can_cancel,
        custom={"label": "Cancel"},
    )
    def cancel(self, *, reason):
        self.cancel_reason = reason


class ChecklistItem(models.Model):
    """One runbook step copied onto an incident; ticked by whoever does it, or skipped with a reason."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="checklist")
    order = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=500)
    required = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    skipped_at = models.DateTimeField(null=True, blank=True)
    skipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    skip_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["incident", "order", "pk"]

    def __str__(self):
        return self.text


class TimelineEvent(models.Model):
    """One entry of an incident's timeline: transitions, assignments, ticks, comments, later escalations."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    from_state = models.CharField(max_length=16, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=State.choices, blank=True)
    transition = models.CharField(max_length=24, blank=True)
    note = models.TextField(blank=True)
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.INTERNAL)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["incident", "created_at", "pk"]
        indexes = [models.Index(fields=["incident", "created_at"], name="timeline_incident_time")]

    def __str__(self):
        return f"{self.get_kind_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class CommentManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=EventKind.COMMENT)


class Comment(TimelineEvent):
    """Comments are timeline events of kind `comment`: one table keeps one ordering."""

    objects = CommentManager()

    class Meta:
        proxy = True
