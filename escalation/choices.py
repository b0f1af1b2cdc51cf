from django.db import models

# One vocabulary for the SLA clocks (escalation steps run on one of them); re-exported for `..choices`.
from incidents.choices import Clock  # noqa: F401


class Level(models.IntegerChoices):
    TEAM_LEAD = 1, "1 · Team lead"
    INCIDENT_MANAGER = 2, "2 · Incident manager on duty"
    MANAGEMENT = 3, "3 · Management"


class OnCallTarget(models.TextChoices):
    NONE = "", "Nobody on call"
    TIER = "tier", "The incident tier's on-call person"
    INCIDENT_MANAGER = "incident_manager", "The on-duty Incident Manager"


class RotationKind(models.TextChoices):
    """A rotation covers one support tier, the Incident Managers or the Security Team."""

    TIER1 = "tier1", "Tier 1 (Service Desk)"
    TIER2 = "tier2", "Tier 2 (System Administrators)"
    TIER3 = "tier3", "Tier 3 (Subject Matter Experts)"
    EXTERNAL = "external", "External Support"
    INCIDENT_MANAGER = "incident_manager", "Incident Managers"
    SECURITY = "security", "Security Team"


class EventKind(models.TextChoices):
    HIERARCHICAL = "hierarchical", "Hierarchical (time threshold)"
    FUNCTIONAL = "functional", "Functional (to a higher tier)"
    EMERGENCY = "emergency", "Emergency (major incident)"
    SECURITY = "security", "Security (Security Team paged)"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class Template(models.TextChoices):
    """Seed 5.2's communication templates, plus the escalation and paging messages."""

    INCIDENT_NOTIFICATION = "incident_notification", "Incident Notification"
    STATUS_UPDATE = "status_update", "Status Update"
    RESOLUTION_NOTICE = "resolution_notice", "Resolution Notice"
    POST_INCIDENT_SUMMARY = "post_incident_summary", "Post-Incident Summary"
    ESCALATION = "escalation", "Escalation notice"
    PAGE = "page", "Emergency page"
    SECURITY_PAGE = "security_page", "Security Team page"
    MAJOR_REMINDER = "major_reminder", "Status-update reminder"
    NEW_INCIDENT = "new_incident", "New incident (to the first line)"
    CLOSURE_REQUEST = "closure_request", "Fix confirmation request (to the caller)"
    INCIDENT_DIGEST = "incident_digest", "Incident digest"
    EVENT = "event", "Incident event (webhook subscription)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"
    SKIPPED = "skipped", "Not sent (replayed demo history)"


class WebhookEvent(models.TextChoices):
    """What a webhook subscribes to: the communications (as chat messages) and the incident events."""

    NOTIFICATION = "notification", "Notifications (chat message with a `text` field)"
    CREATED = "incident.created", "Incident created"
    CLASSIFIED = "incident.classified", "Incident classified"
    STATE_CHANGED = "incident.state_changed", "Incident state changed"
    ESCALATED = "incident.escalated", "Incident escalated"
    MAJOR_DECLARED = "incident.major_declared", "Major incident declared"
    RESOLVED = "incident.resolved", "Incident resolved"
    CLOSED = "incident.closed", "Incident closed"


class Job(models.TextChoices):
    """A periodic job that records a heartbeat (`Heartbeat`) each time it succeeds."""

    ESCALATION_SWEEP = "escalation_sweep", "Escalation sweep"


class Moment(models.TextChoices):
    """When a message rule sends its template (seed 5.2: each communication at its moment)."""

    CLASSIFIED = "classified", "When the incident is classified"
    STATUS_UPDATE_DUE = "status_update_due", "While open, every interval (status-update reminder)"
    CLOSED = "closed", "When the incident is closed"
    REVIEW_FINAL = "review_final", "When the major-incident review is marked final"


class Audience(models.TextChoices):
    """Who a message rule writes to. The first three are outside the support roles: they never read
    internal work notes or links into the admin."""

    STAKEHOLDERS = "stakeholders", "The service's stakeholders"
    CALLER = "caller", "The caller (the person affected)"
    REPORTER = "reporter", "The reporter (who logged it)"
    OPERATIONS = "operations", "Operations Team"
    INCIDENT_MANAGERS = "incident_managers", "Incident Managers"
    INCIDENT_MANAGER = "incident_manager", "The incident's Incident Manager (else the one on duty)"
    ASSIGNEE = "assignee", "The assignee"


OUTSIDE_AUDIENCES = (Audience.STAKEHOLDERS, Audience.CALLER, Audience.REPORTER)


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", "At once"
    DIGEST = "digest", "Collected in the hourly digest"
