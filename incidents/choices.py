"""Vocabulary of the incident process, as TextChoices used by models, serializers, filters and templates."""

from django.db import models


class Category(models.TextChoices):
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    APPLICATION = "application", "Application"
    SECURITY = "security", "Security"
    OBSERVATORY = "observatory", "Observatory"


class IncidentType(models.TextChoices):
    """Seed 2.2 "Incident Categories": the examples of each category as types, and an "other" per category.
    Each type belongs to one category (`TYPE_CATEGORY`)."""

    HOST_FAILURE = "host_failure", "Host failure"
    NETWORK_OUTAGE = "network_outage", "Network outage"
    INFRASTRUCTURE_OTHER = "infrastructure_other", "Other infrastructure incident"
    DATABASE_UNAVAILABLE = "database_unavailable", "Database unavailability"
    APPLICATION_ERROR = "application_error", "Application error"
    APPLICATION_OTHER = "application_other", "Other application incident"
    UNAUTHORIZED_ACCESS = "unauthorized_access", "Unauthorized access"
    MALWARE = "malware", "Malware"
    SECURITY_OTHER = "security_other", "Other security incident"
    SDR_FAILURE = "sdr_failure", "SDR failure"
    FEED_ISSUE = "feed_issue", "Feed issue"
    OBSERVATORY_OTHER = "observatory_other", "Other observatory incident"


# Seed 2.2: Infrastructure "Host failure, network outage"; Application "Database unavailability, application
# error"; Security "Unauthorized access, malware"; Observatory "SDR failure, feed issues".
TYPE_CATEGORY = {
    IncidentType.HOST_FAILURE: Category.INFRASTRUCTURE,
    IncidentType.NETWORK_OUTAGE: Category.INFRASTRUCTURE,
    IncidentType.INFRASTRUCTURE_OTHER: Category.INFRASTRUCTURE,
    IncidentType.DATABASE_UNAVAILABLE: Category.APPLICATION,
    IncidentType.APPLICATION_ERROR: Category.APPLICATION,
    IncidentType.APPLICATION_OTHER: Category.APPLICATION,
    IncidentType.UNAUTHORIZED_ACCESS: Category.SECURITY,
    IncidentType.MALWARE: Category.SECURITY,
    IncidentType.SECURITY_OTHER: Category.SECURITY,
    IncidentType.SDR_FAILURE: Category.OBSERVATORY,
    IncidentType.FEED_ISSUE: Category.OBSERVATORY,
    IncidentType.OBSERVATORY_OTHER: Category.OBSERVATORY,
}
OTHER_TYPES = {
    Category.INFRASTRUCTURE: IncidentType.INFRASTRUCTURE_OTHER,
    Category.APPLICATION: IncidentType.APPLICATION_OTHER,
    Category.SECURITY: IncidentType.SECURITY_OTHER,
    Category.OBSERVATORY: IncidentType.OBSERVATORY_OTHER,
}
# Values of the types before each category had its own (exports and imports written then).
LEGACY_INCIDENT_TYPES = {
    "security_breach": IncidentType.UNAUTHORIZED_ACCESS,
    "sdr_feed_failure": IncidentType.SDR_FAILURE,
}
LEGACY_OTHER_TYPE = "other"  # became the "other" of the incident's category


def current_type(value: str, *, category: str = "") -> str:
    """A type as written before each category had its own types ("security_breach", "other") in today's
    values; any other value is returned as it is."""
    key = value.strip().lower()
    if key == LEGACY_OTHER_TYPE:
        return OTHER_TYPES.get(category.strip().lower(), "")
    return LEGACY_INCIDENT_TYPES.get(key, value)


def types_of(category: str) -> list[IncidentType]:
    """The types of one category, in the order of `IncidentType`."""
    return [t for t, c in TYPE_CATEGORY.items() if c == category]


def category_of(incident_type: str) -> Category | None:
    """The category a type belongs to; None for a blank or unknown type."""
    return TYPE_CATEGORY.get(incident_type)


def types_by_category() -> list[tuple[str, list[tuple[str, str]]]]:
    """The type choices grouped by category (option groups of a select)."""
    return [(category.label, [(t.value, t.label) for t in types_of(category)]) for category in Category]


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
    ATTACHMENT = "attachment", "Attachment"
    ESCALATION = "escalation", "Escalation"
    NOTIFICATION = "notification", "Notification"
    MONITORING = "monitoring", "Monitoring"


class AlertSourceKind(models.TextChoices):
    """The payload format an alert source posts, and so the endpoint it posts to."""

    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager (webhook v4)"
    GENERIC = "generic", "Generic JSON"


class AlertGrouping(models.TextChoices):
    """How a source's alerts are correlated into incidents: one incident per group."""

    GROUP = "group", "By Alertmanager group (groupKey)"
    FINGERPRINT = "fingerprint", "By alert (fingerprint)"


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class AlertAction(models.TextChoices):
    """What the intake did with one alert of a delivery."""

    CREATED = "created", "Raised a new incident"
    JOINED = "joined", "Added to the incident of its group"
    ABSORBED = "absorbed", "Counted on the incident of its group"
    REOPENED = "reopened", "Fired again within the reopen window: the incident reopened"
    STILL_FIRING = "still_firing", "Still firing on an incident a person resolved"
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
