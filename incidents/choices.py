"""Vocabulary of the incident process, as TextChoices used by models, serializers, filters and templates."""

from django.db import models


class Category(models.TextChoices):
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    APPLICATION = "application", "Application"
    SECURITY = "security", "Security"
    OBSERVATORY = "observatory", "Observatory"


class IncidentType(models.TextChoices):
    HOST_FAILURE = "host_failure", "Host failure"
    NETWORK_OUTAGE = "network_outage", "Network outage"
    DATABASE_UNAVAILABLE = "database_unavailable", "Database unavailability"
    SECURITY_BREACH = "security_breach", "Security breach"
    SDR_FEED_FAILURE = "sdr_feed_failure", "SDR/feed failure"
    APPLICATION_ERROR = "application_error", "Application error"
    OTHER = "other", "Other"


class Source(models.TextChoices):
    MONITORING = "monitoring", "Monitoring"
    USER = "user", "User"
    OPERATIONS = "operations", "Operations"


class Level(models.TextChoices):
    """Urgency and impact share one three-step scale."""

    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Severity(models.TextChoices):
    S1 = "S1", "S1 Critical"
    S2 = "S2", "S2 High"
    S3 = "S3", "S3 Medium"
    S4 = "S4", "S4 Low"


class State(models.TextChoices):
    LOGGED = "logged", "Logged"
    CLASSIFIED = "classified", "Classified"
    INVESTIGATING = "investigating", "Investigating"
    ON_HOLD = "on_hold", "On hold"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATES = (State.LOGGED, State.CLASSIFIED, State.INVESTIGATING, State.ON_HOLD)


class Clock(models.TextChoices):
    """The two SLA clocks of an incident (`incidents.clocks`); escalation steps run on one of them."""

    RESPONSE = "response", "Response clock"
    RESOLUTION = "resolution", "Resolution clock"


class Tier(models.TextChoices):
    TIER1 = "tier1", "Tier 1 (Service Desk)"
    TIER2 = "tier2", "Tier 2 (System Administrators)"
    TIER3 = "tier3", "Tier 3 (Subject Matter Experts)"
    EXTERNAL = "external", "External Support"


class HoldReason(models.TextChoices):
    AWAITING_USER = "awaiting_user", "Awaiting user"
    AWAITING_VENDOR = "awaiting_vendor", "Awaiting vendor"
    AWAITING_CHANGE = "awaiting_change", "Awaiting change"
    OTHER = "other", "Other"


class ResolutionCode(models.TextChoices):
    FIXED = "fixed", "Fixed"
    WORKAROUND = "workaround", "Workaround"
    NO_FAULT_FOUND = "no_fault_found", "No fault found"
    DUPLICATE = "duplicate", "Duplicate"
    OTHER = "other", "Other"


class ClosedBy(models.TextChoices):
    """How an incident came to be closed (seed 2.1 "Closure: confirmation with the user")."""

    STAFF = "staff", "Closed by staff"
    CALLER = "caller", "Fix confirmed by the caller"
    AUTO = "auto", "Closed without an answer from the caller"


class Criticality(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Visibility(models.TextChoices):
    INTERNAL = "internal", "Internal work note"
    PUBLIC = "public", "Public update"


class EventKind(models.TextChoices):
    CREATED = "created", "Logged"
    TRANSITION = "transition", "State change"
    SEVERITY = "severity", "Severity change"
    ASSIGNMENT = "assignment", "Assignment"
    UPDATE = "update", "Details edited"
    CHECKLIST = "checklist", "Checklist step done"
    CHECKLIST_SKIP = "checklist_skip", "Checklist step skipped"
    COMMENT = "comment", "Comment"
    ESCALATION = "escalation", "Escalation"
    NOTIFICATION = "notification", "Notification"
    MONITORING = "monitoring", "Monitoring"


class AlertSourceKind(models.TextChoices):
    """The payload format an alert source posts, and so the endpoint it posts to."""

    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager (webhook v4)"
    GENERIC = "generic", "Generic JSON"


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class AlertAction(models.TextChoices):
    """What the intake did with one alert of a delivery."""

    CREATED = "created", "Raised a new incident"
    ABSORBED = "absorbed", "Counted on the open incident"
    RECOVERED = "recovered", "Recovery recorded"
    RESOLVED = "resolved", "Recovery recorded and the incident resolved"
    IGNORED = "ignored", "Nothing to do"


class PayloadStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Role:
    """Names of the Django groups that carry the process roles (created by migration)."""

    SERVICE_DESK = "Service Desk"
    SYSADMINS = "System Administrators"
    EXPERTS = "Subject Matter Experts"
    EXTERNAL = "External Support"
    INCIDENT_MANAGERS = "Incident Managers"
    MANAGEMENT = "Management"
    SECURITY_TEAM = "Security Team"
    OPERATIONS = "Operations Team"

    ALL = (
        SERVICE_DESK,
        SYSADMINS,
        EXPERTS,
        EXTERNAL,
        INCIDENT_MANAGERS,
        MANAGEMENT,
        SECURITY_TEAM,
        OPERATIONS,
    )
    SUPPORT_TIERS = (SERVICE_DESK, SYSADMINS, EXPERTS, EXTERNAL)


TIER_GROUPS = {
    Tier.TIER1: Role.SERVICE_DESK,
    Tier.TIER2: Role.SYSADMINS,
    Tier.TIER3: Role.EXPERTS,
    Tier.EXTERNAL: Role.EXTERNAL,
}
