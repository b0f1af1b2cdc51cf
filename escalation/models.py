"""Escalation policies, on-call rotations, the escalation record and the notification outbox."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from incidents import clocks
from incidents.choices import Severity, Tier
from incidents.formatting import exact_duration
from incidents.models import Incident

from .choices import (
    Channel,
    Clock,
    Delivery,
    DeliveryStatus,
    EventKind,
    Job,
    Level,
    Moment,
    OnCallTarget,
    RotationKind,
    Template,
    WebhookEvent,
)


class EscalationPolicy(models.Model):
    """Hierarchical escalation of one severity: an ordered list of time-threshold steps."""

    severity = models.CharField(max_length=2, choices=Severity.choices, unique=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["severity"]
        verbose_name_plural = "escalation policies"

    def __str__(self):
        return f"Escalation policy {self.severity}"


class EscalationStep(models.Model):
    """Fires when its clock reaches a percentage of its target (or a fixed offset), while the clock runs."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=0)
    clock = models.CharField(max_length=10, choices=Clock.choices)
    percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Fire at this percentage of the clock's SLA target.",
    )
    offset = models.DurationField(
        null=True, blank=True, help_text="Or: fire this long after the clock starts (logging)."
    )
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    notify_group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A group to notify (every member).",
    )
    notify_tier_group = models.BooleanField(
        default=False, help_text="Notify the group of the incident's current tier (its team leads)."
    )
    notify_oncall = models.CharField(max_length=20, choices=OnCallTarget.choices, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["policy", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__isnull=False, offset__isnull=True)
                | Q(percent__isnull=True, offset__isnull=False),
                name="escalation_step_percent_xor_offset",
            )
        ]

    def __str__(self):
        when = f"{self.percent}%" if self.percent is not None else exact_duration(self.offset)
        return f"{self.policy.severity} {self.clock} {when} → level {self.level}"

    def due_at(self, incident: Incident):
        """When this step fires for the incident, or None when its clock has no target yet.

        Both clocks start at logging; the resolution clock is pushed back by the time spent on hold
        (`incidents.clocks.elapsed_at`)."""
        target = clocks.clock_target(incident, self.clock)
        if target is None:
            return None
        elapsed = self.offset if self.offset is not None else target * self.percent / 100
        return clocks.elapsed_at(incident, self.clock, elapsed)


class IncidentEscalation(models.Model):
    """An incident's escalation schedule: its next step, when it is due, and the token of the one
    scheduled task allowed to fire it (a task carrying an older token is stale and does nothing)."""

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, primary_key=True, related_name="escalation"
    )
    next_step = models.ForeignKey(
        EscalationStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    next_escalation_at = models.DateTimeField(null=True, blank=True, db_index=True)
    active_escalation_id = models.UUIDField(default=uuid.uuid4)
    # The token whose task is in the broker. Nothing is queued more than ESCALATION_QUEUE_HORIZON ahead, so
    # the sweep queues a later step when it comes within reach, once: until a reschedule changes the token.
    queued_token = models.UUIDField(null=True, blank=True, editable=False)
    incident_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who receives the major incident's status-update reminders.",
    )
    last_reminder_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.incident.number}: next at {self.next_escalation_at or '—'}"


class EscalationEvent(models.Model):
    """An escalation that happened. `key` makes each one happen at most once per incident."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="escalation_events")
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    key = models.CharField(max_length=64, help_text="step-<id>, emergency-<n>, functional-<n>")
    step = models.ForeignKey(
        EscalationStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    level = models.PositiveSmallIntegerField(null=True, blank=True, choices=Level.choices)
    from_tier = models.CharField(max_length=10, choices=Tier.choices, blank=True)
    to_tier = models.CharField(max_length=10, choices=Tier.choices, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    fired_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["incident", "fired_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["incident", "key"], name="escalation_event_once")]

    def __str__(self):
        return f"{self.incident.number} {self.get_kind_display()} {self.key}"


class Rotation(models.Model):
    """Who is on call for a tier (or the Incident Managers): members take shifts in order."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=RotationKind.choices, unique=True)
    shift_length = models.DurationField(default=timedelta(days=7))
    handoff_time = models.TimeField(default="09:00")
    time_zone = models.CharField(max_length=64, default="UTC")
    start_date = models.DateField(default=timezone.localdate)
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind"]

    def __str__(self):
        return self.name


class RotationMember(models.Model):
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["rotation", "order", "pk"]

    def __str__(self):
        return f"{self.rotation}: {self.user}"


class RotationOverride(models.Model):
    """Someone covers a rotation for a while (holiday swap, sick leave)."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["rotation", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["rotation", "starts_at", "ends_at"], name="override_window")]

    def __str__(self):
        return f"{self.user} covers {self.rotation} {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M}"


def new_calendar_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits


class CalendarFeed(models.Model):
    """A secret address a calendar application subscribes to: one person's shifts in every rotation, or one
    rotation's shifts of everyone, overrides included (`escalation.views.oncall_calendar`). Knowing the
    address is the only access, so its token is 256 random bits; resetting it ends every subscription to the
    old address (`services.calendar_feed_reset`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    rotation = models.OneToOneField(
        Rotation, null=True, blank=True, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True, default=new_calendar_token, editable=False)
    issued_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "on-call calendar feed"
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, rotation__isnull=True)
                | Q(user__isnull=True, rotation__isnull=False),
                name="calendar_feed_of_a_user_or_a_rotation",
            )
        ]

    def __str__(self):
        return f"Shifts of {self.rotation or self.user}"


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64, the form receivers' libraries read."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


_new_secret = new_webhook_secret  # named by migration 0001


def new_message_id() -> str:
    """A delivery's `webhook-id`: unique per message, the same on every attempt to send it."""
    return f"msg_{uuid.uuid4().hex}"


def _default_events() -> list[str]:
    return [WebhookEvent.NOTIFICATION]


class Webhook(models.Model):
    """An outbound subscription: a chat channel (notifications as Slack/Mattermost `text`) or an automation
    endpoint (incident events with the incident's API representation), optionally filtered by service
    and severity. Every body is signed (Standard Webhooks). An endpoint that fails without a success for
    `WEBHOOK_PAUSE_AFTER` is paused: its events are kept and go out, in order, when it is resumed.
    `is_active` is the administrators' own switch: a hook switched off is sent nothing."""

    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=128, default=new_webhook_secret, editable=False, help_text="Signs each body (HMAC-SHA256)."
    )
    # After a rotation the previous secret signs too (a second `v1,` signature) until receivers have the new one.
    previous_secret = models.CharField(max_length=128, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    events = models.JSONField(default=_default_events, blank=True, help_text="Event names subscribed to.")
    services = models.ManyToManyField(
        "incidents.Service", blank=True, related_name="+", help_text="Only these services (none: all)."
    )
    severities = models.JSONField(default=list, blank=True, help_text="Only these severities (none: all).")
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    is_active = models.BooleanField("active", default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="The first failure since the last success."
    )
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    paused_reason = models.CharField(max_length=255, blank=True, editable=False)
    history = HistoricalRecords(
        excluded_fields=["secret", "previous_secret", "consecutive_failures", "failing_since"]
    )

    def __str__(self):
        return self.name


class Notification(models.Model):
    """The outbox: written in the same transaction as the event that causes it, delivered by a task with
    retries; the sweep re-queues whatever is still pending, so a broker outage delays but loses nothing."""

    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.CharField(max_length=254, help_text="An e-mail address, or the webhook's name.")
    webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    template = models.CharField(max_length=32, choices=Template.choices)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    payload = models.JSONField(
        null=True, blank=True, help_text="An event's JSON body, frozen when it happened."
    )
    # NULL only for rows delivered before ids existed; unique among the rest.
    message_id = models.CharField(  # noqa: DJ001
        max_length=40, unique=True, null=True, default=new_message_id, editable=False, help_text="webhook-id"
    )
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Failed webhook deliveries are retried until then."
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False, help_text="Being sent until.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="notification_pending_due"
            ),
            # An endpoint's queue per incident: what must go out before a delivery may (`delivery.deliver`).
            models.Index(
                fields=["webhook", "incident", "id"],
                condition=Q(status="pending"),
                name="notification_webhook_queue",
            ),
        ]

    def __str__(self):
        return f"{self.get_template_display()} → {self.recipient} ({self.status})"


class Heartbeat(models.Model):
    """When a periodic job last succeeded, one row per job, written by the job itself. Its age is how
    something outside the worker (/healthz, the admin home page) notices that the worker or beat stopped."""

    name = models.CharField(max_length=32, choices=Job.choices, unique=True)
    last_success_at = models.DateTimeField()

    def __str__(self):
        return f"{self.get_name_display()}: last success {self.last_success_at:%Y-%m-%d %H:%M:%S}"


class MessageRule(models.Model):
    """Who receives which communication template at which moment of an incident of one severity (seed 5.2:
    Incident Notification, Status Update, Resolution Notice, Post-Incident Summary). Incident Managers edit
    the rules in the admin through `escalation.services.message_rule_save`; the defaults follow the
    process document (`escalation.reference_data.DEFAULT_MESSAGE_RULES`)."""

    severity = models.CharField(max_length=2, choices=Severity.choices)
    moment = models.CharField(max_length=20, choices=Moment.choices)
    template = models.CharField(max_length=32, choices=Template.choices)
    audiences = models.JSONField(default=list, blank=True, help_text="Who receives it (`Audience` values).")
    delivery = models.CharField(
        max_length=10,
        choices=Delivery.choices,
        default=Delivery.IMMEDIATE,
        help_text="The Incident Notification may wait for the hourly digest (one message per recipient).",
    )
    interval = models.DurationField(
        null=True, blank=True, help_text="Status-update reminders: how often while the incident is open."
    )
    is_active = models.BooleanField("active", default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["severity", "moment", "template"]
        constraints = [
            models.UniqueConstraint(
                fields=["severity", "moment", "template"],
                name="message_rule_once",
                violation_error_message="There is already a rule for this severity, moment and template.",
            ),
            models.CheckConstraint(
                condition=Q(moment=Moment.STATUS_UPDATE_DUE, interval__isnull=False)
                | (~Q(moment=Moment.STATUS_UPDATE_DUE) & Q(interval__isnull=True)),
                name="message_rule_interval_for_reminders",
                violation_error_message="A status-update reminder repeats every interval; no other rule has one.",
            ),
            models.CheckConstraint(
                condition=Q(delivery=Delivery.IMMEDIATE) | Q(moment=Moment.CLASSIFIED),
                name="message_rule_digest_when_classified",
                violation_error_message="Only the Incident Notification at classification waits for the digest.",
            ),
        ]

    def __str__(self):
        return f"{self.severity} {self.get_moment_display().lower()}: {self.get_template_display()}"


class DigestItem(models.Model):
    """An Incident Notification waiting for the hourly digest: one row per incident and recipient, written in
    the classification's transaction, so a worker that is down delays the digest but loses nothing. The
    digest task sends each recipient one message listing their incidents and settles the rows."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="digest_items")
    recipient = models.CharField(max_length=254, help_text="An e-mail address.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The account the address belongs to; empty for a stakeholder address.",
    )
    template = models.CharField(
        max_length=32, choices=Template.choices, default=Template.INCIDENT_NOTIFICATION
    )
    queued_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(
        null=True, blank=True, help_text="Sent in a digest, or dropped (the recipient may no longer see it)."
    )
    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="digest_items"
    )

    class Meta:
        ordering = ["queued_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "recipient", "template"], name="digest_item_once")
        ]
        indexes = [
            models.Index(
                fields=["recipient"], condition=Q(settled_at__isnull=True), name="digest_item_pending"
            )
        ]

    def __str__(self):
        return f"{self.incident.number} → {self.recipient}"
