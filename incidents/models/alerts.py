"""Monitoring alert intake: who may post alerts, what they posted, and which incident each group of alerts
raised (`IncidentAlert`, with its alerts in `Alert`).

The rules (parsing, correlation, classification, recovery) are in `incidents.alerts`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ..choices import (
    AlertGrouping,
    AlertSourceKind,
    AlertStatus,
    Category,
    IncidentType,
    Level,
    PayloadStatus,
    category_of,
)
from .core import Incident, Service

# Seed 3.2's scale: what an alert's severity label means for urgency and impact.
DEFAULT_SEVERITY_MAP = {
    "critical": [Level.HIGH, Level.HIGH],
    "warning": [Level.MEDIUM, Level.MEDIUM],
    "info": [Level.LOW, Level.LOW],
}


def default_severity_map() -> dict:
    return {severity: [str(u), str(i)] for severity, (u, i) in DEFAULT_SEVERITY_MAP.items()}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# A resolved incident waits for its caller for days at most (auto-close); a longer window would reopen
# incidents long closed in all but name.
MAX_REOPEN_WINDOW = timedelta(days=7)


def key_hash(key: str) -> str:
    """The indexed form of a correlation key (an Alertmanager groupKey may be longer than an index allows)."""
    return hashlib.sha256(key.encode()).hexdigest()


def _unusable_token_hash() -> str:
    """A source starts with a token nobody knows until one is issued (and shown) through the admin."""
    return hash_token(secrets.token_urlsafe(32))


class AlertSource(models.Model):
    """A monitoring integration allowed to post alerts, and how its alerts become classified incidents.

    Only a SHA-256 hash of the token is stored: the token is shown once, when it is issued. Tokens are 256
    random bits, so a fast hash is enough (nothing to brute-force) and lookups stay one indexed query."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(
        max_length=16,
        choices=AlertSourceKind.choices,
        default=AlertSourceKind.ALERTMANAGER,
        help_text="Alertmanager posts to /api/v1/alerts/alertmanager/, generic sources to /api/v1/alerts/.",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False, default=_unusable_token_hash)
    token_hint = models.CharField(
        "token starts with", max_length=8, blank=True, editable=False, help_text="To recognise the token."
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="Clear to revoke the source: its token is then refused (401)."
    )
    default_service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For alerts whose service label names no active service.",
    )
    default_category = models.CharField(
        max_length=16, choices=Category.choices, default=Category.INFRASTRUCTURE
    )
    default_incident_type = models.CharField(
        max_length=32,
        choices=IncidentType.choices,
        blank=True,
        help_text="One of the default category's types; blank for the category's \"other\".",
    )
    service_label = models.CharField(
        max_length=100, default="service", help_text="The label whose value is the service's slug."
    )
    severity_label = models.CharField(
        max_length=100,
        default="severity",
        help_text="The label whose value is looked up in the severity map.",
    )
    severity_map = models.JSONField(
        default=default_severity_map,
        help_text='Severity label value → [urgency, impact], e.g. {"critical": ["high", "high"]}.',
    )
    default_urgency = models.CharField(
        max_length=8, choices=Level.choices, default=Level.MEDIUM, help_text="For severities not in the map."
    )
    default_impact = models.CharField(
        max_length=8, choices=Level.choices, default=Level.MEDIUM, help_text="For severities not in the map."
    )
    auto_resolve = models.BooleanField(
        "resolve on recovery",
        default=False,
        help_text="Resolve the incident (code fixed) when monitoring reports recovery of all its alerts, "
        "unless it is on hold.",
    )
    grouping = models.CharField(
        max_length=16,
        choices=AlertGrouping.choices,
        default=AlertGrouping.GROUP,
        help_text="One incident per Alertmanager group (its groupKey), or one per alert (its fingerprint). "
        "Generic alerts and notifications without a groupKey are grouped by fingerprint.",
    )
    reopen_window = models.DurationField(
        default=timedelta(hours=1),
        help_text="An alert of a resolved incident firing again within this time after the resolution "
        "reopens the incident; later (or once it is closed), it raises a new incident linked to it.",
    )
    reopen_when_still_firing = models.BooleanField(
        "reopen when still firing",
        default=False,
        help_text="A person resolved the incident but its alert still fires: reopen it (otherwise the "
        "timeline notes that it is still firing, and the incident stays resolved).",
    )
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="alert_source",
        help_text="The source's own system account (no password, no role group): the actor of what it does.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords(excluded_fields=["token_hash"])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        errors = []
        if not isinstance(self.severity_map, dict):
            errors.append("Must be an object mapping severities to [urgency, impact].")
        else:
            for severity, levels in self.severity_map.items():
                if not (
                    isinstance(levels, list) and len(levels) == 2 and all(v in Level.values for v in levels)
                ):
                    errors.append(
                        f"'{severity}': expected [urgency, impact], each one of {', '.join(Level.values)}."
                    )
        problems = {"severity_map": errors} if errors else {}
        if self.reopen_window is not None and not timedelta(0) <= self.reopen_window <= MAX_REOPEN_WINDOW:
            problems["reopen_window"] = [f"Between 0 and {MAX_REOPEN_WINDOW.days} days."]
        category = category_of(self.default_incident_type)
        if self.default_incident_type and category != self.default_category:
            problems["default_incident_type"] = [
                f"{self.get_default_incident_type_display()} is a type of the "
                f"{Category(category).label.lower() if category else 'unknown'} category, not of "
                f"{self.get_default_category_display().lower()}."
            ]
        if problems:
            raise ValidationError(problems)

    # --- token (bodies only set fields) ---------------------------------------------------------------------

    def issue_token(self) -> str:
        """Set a new random token and return it: the one chance to show it, as only its hash is kept."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        self.token_hint = token[:6]
        return token

    def token_matches(self, token: str) -> bool:
        return hmac.compare_digest(self.token_hash, hash_token(token))

    # --- mapping ----------------------------------------------------------------------------------------

    def levels_for(self, severity: str) -> tuple[str, str] | None:
        """(urgency, impact) the severity map gives `severity` (case-insensitive), or None."""
        wanted = (severity or "").strip().lower()
        for name, levels in (self.severity_map or {}).items():
            if name.lower() == wanted and wanted:
                return levels[0], levels[1]
        return None


class AlertPayload(models.Model):
    """One delivery as received, kept 30 days for debugging (`incidents.alerts.alert_payloads_purge`).
    Bodies over 10 MiB are refused unread; of larger ones than 1 MiB only the first MiB is kept."""

    source = models.ForeignKey(
        AlertSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="payloads"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=8, choices=PayloadStatus.choices, default=PayloadStatus.ACCEPTED)
    error = models.TextField(blank=True)
    body = models.TextField(blank=True)
    size = models.PositiveIntegerField(default=0, help_text="Bytes received (or announced, when refused).")
    remote_addr = models.GenericIPAddressField("sent from", null=True, blank=True)
    incidents = models.ManyToManyField(Incident, blank=True, related_name="alert_payloads")

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["source", "-received_at"], name="alert_payload_source_time"),
        ]

    def __str__(self):
        return f"{self.source or 'unknown source'} at {self.received_at:%Y-%m-%d %H:%M:%S} ({self.status})"


class IncidentAlert(models.Model):
    """The group of alerts behind an incident raised by monitoring: its identity (source + correlation key,
    the Alertmanager `groupKey` or the alert's fingerprint), and a summary of its alerts (`alerts`): how
    often they fired, whether any still fires, and what the first one said (labels, annotations, a link
    back to the graph).

    `is_current` marks the newest incident of its source and key: the one a firing alert joins, reopens or
    links a recurrence to. The partial unique index makes "one current incident per source and key" hold
    under concurrent deliveries: the database refuses a second current row, the loser joins the winner's
    incident. No history here: the counters change on every delivery, and the incident's own history is
    the audit."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="alert")
    source = models.ForeignKey(AlertSource, on_delete=models.PROTECT, related_name="incident_alerts")
    grouping = models.CharField(
        max_length=16, choices=AlertGrouping.choices, default=AlertGrouping.FINGERPRINT
    )
    key = models.TextField(
        default="", help_text="The groupKey or the fingerprint the incident's alerts share."
    )
    key_hash = models.CharField(max_length=64, default="", editable=False)
    fingerprint = models.CharField(max_length=255, help_text="The first alert's fingerprint.")
    is_current = models.BooleanField(
        default=True,
        help_text="The newest incident of this source and key: later alerts are correlated to it.",
    )
    recurrence_of = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recurrences",
        help_text="The closed incident of the same alerts this one follows.",
    )
    status = models.CharField(
        max_length=8,
        choices=AlertStatus.choices,
        default=AlertStatus.FIRING,
        help_text="Firing while any of its alerts fires.",
    )
    occurrences = models.PositiveIntegerField(default=1, help_text="Firing reports received, all alerts.")
    alert_count = models.PositiveIntegerField("alerts", default=1, help_text="Distinct alerts in the group.")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    recovered_at = models.DateTimeField(
        null=True, blank=True, help_text="When monitoring last reported recovery of all its alerts."
    )
    truncated_alerts = models.PositiveIntegerField(
        default=0, help_text="Alerts Alertmanager left out of its last notification (max_alerts)."
    )
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    generator_url = models.URLField(max_length=2000, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "key_hash"],
                condition=Q(is_current=True),
                name="incident_alert_one_current",
            )
        ]

    def __str__(self):
        return f"{self.source} {self.key}"

    def save(self, *args, **kwargs):
        self.key_hash = key_hash(self.key)
        super().save(*args, **kwargs)


class Alert(models.Model):
    """One alert (source + fingerprint) of the group behind an incident: its status, how often it fired
    and what it said. Written in bulk by the intake, a storm costs a few queries per delivery."""

    group = models.ForeignKey(IncidentAlert, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=255)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=AlertStatus.choices, default=AlertStatus.FIRING)
    occurrences = models.PositiveIntegerField(default=1, help_text="Firing reports received.")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    recovered_at = models.DateTimeField(
        null=True, blank=True, help_text="When monitoring last reported recovery."
    )
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    generator_url = models.URLField(max_length=2000, blank=True)

    class Meta:
        ordering = ["group", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["group", "fingerprint"], name="alert_one_per_group_fingerprint")
        ]

    def __str__(self):
        return self.title or self.fingerprint
