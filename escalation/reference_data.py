"""Escalation defaults (idempotent, against an apps registry like incidents.reference_data)."""

from datetime import timedelta

from incidents.choices import Role, Severity
from incidents.reference_data import ensure_interval_task, grant_role_permissions

from .choices import Audience, Delivery, Moment, Template

# For every severity (issue #3): response 100% → level 1 (tier group + tier on-call); resolution 50% →
# level 1, 75% → level 2 (on-duty Incident Manager), 100% → level 3 (Management).
DEFAULT_STEPS = [
    {
        "order": 1,
        "clock": "response",
        "percent": 100,
        "level": 1,
        "notify_tier_group": True,
        "notify_oncall": "tier",
    },
    {
        "order": 2,
        "clock": "resolution",
        "percent": 50,
        "level": 1,
        "notify_tier_group": True,
        "notify_oncall": "tier",
    },
    {"order": 3, "clock": "resolution", "percent": 75, "level": 2, "notify_oncall": "incident_manager"},
    {"order": 4, "clock": "resolution", "percent": 100, "level": 3, "group": Role.MANAGEMENT},
]

# The reminders' beat entry; before issue #10 it was about major incidents only.
STATUS_UPDATE_REMINDERS_TASK = "Status-update reminders (per severity, see Message rules)"
FORMER_REMINDERS_TASK = "Major incident status-update reminders"

PERIODIC_TASKS = [
    # name, task, every (seconds)
    ("Escalation sweep (fires lost escalations, re-queues notifications)", "escalation.tasks.sweep", 60),
    (STATUS_UPDATE_REMINDERS_TASK, "escalation.tasks.major_incident_reminders", 60),
    ("Escalation watchdog", "escalation.tasks.watchdog", 600),
    ("Hourly incident digest (S3/S4 Incident Notifications)", "escalation.tasks.incident_digest", 3600),
]

ROLE_PERMISSIONS = {
    Role.INCIDENT_MANAGERS: [
        "view_escalationpolicy",
        "change_escalationpolicy",
        "view_escalationstep",
        "add_escalationstep",
        "change_escalationstep",
        "delete_escalationstep",
        "view_rotation",
        "add_rotation",
        "change_rotation",
        "view_rotationmember",
        "add_rotationmember",
        "change_rotationmember",
        "delete_rotationmember",
        "view_rotationoverride",
        "add_rotationoverride",
        "change_rotationoverride",
        "delete_rotationoverride",
        "view_webhook",
        "add_webhook",
        "change_webhook",
        "view_escalationevent",
        "view_notification",
        "view_messagerule",
        "add_messagerule",
        "change_messagerule",
        "delete_messagerule",
        "view_digestitem",
        "view_calendarfeed",
        "change_calendarfeed",
    ],
}
_READ_ON_CALL = [
    "view_escalationpolicy",
    "view_escalationstep",
    "view_rotation",
    "view_rotationmember",
    "view_rotationoverride",
]
for _role in (
    Role.SERVICE_DESK,
    Role.SYSADMINS,
    Role.EXPERTS,
    Role.SECURITY_TEAM,
    Role.MANAGEMENT,
    Role.OPERATIONS,
):
    ROLE_PERMISSIONS[_role] = [*_READ_ON_CALL, "view_escalationevent", "view_messagerule"]
# Escalation reasons and actors are internal: a vendor reads neither (like the lab's work notes).
ROLE_PERMISSIONS[Role.EXTERNAL] = _READ_ON_CALL
EXTERNAL_WITHHELD = ["escalation.view_escalationevent"]


# Who gets which template when (seed 5.2 and 6.2), per severity; Incident Managers change them in the admin.
DEFAULT_MESSAGE_RULES = [
    # Incident Notification, "initial alert to stakeholders", for every severity when classified: S1/S2 at
    # once, S3/S4 collected in the hourly digest.
    *[
        {
            "severity": severity,
            "moment": Moment.CLASSIFIED,
            "template": Template.INCIDENT_NOTIFICATION,
            "audiences": [Audience.STAKEHOLDERS],
            "delivery": Delivery.IMMEDIATE if severity in (Severity.S1, Severity.S2) else Delivery.DIGEST,
        }
        for severity in Severity.values
    ],
    # Status Update, "ongoing progress communication": S1 and S2 remind the incident's Incident Manager.
    *[
        {
            "severity": severity,
            "moment": Moment.STATUS_UPDATE_DUE,
            "template": Template.MAJOR_REMINDER,
            "audiences": [Audience.INCIDENT_MANAGER],
            "interval": interval,
        }
        for severity, interval in ((Severity.S1, timedelta(minutes=30)), (Severity.S2, timedelta(hours=1)))
    ],
    # Resolution Notice, "confirmation of incident closure": the caller and the stakeholders.
    *[
        {
            "severity": severity,
            "moment": Moment.CLOSED,
            "template": Template.RESOLUTION_NOTICE,
            "audiences": [Audience.CALLER, Audience.STAKEHOLDERS],
        }
        for severity in Severity.values
    ],
    # Post-Incident Summary with the final Major Incident Review: "all stakeholders" and the Operations Team.
    *[
        {
            "severity": severity,
            "moment": Moment.REVIEW_FINAL,
            "template": Template.POST_INCIDENT_SUMMARY,
            "audiences": [Audience.STAKEHOLDERS, Audience.OPERATIONS],
        }
        for severity in Severity.values
    ],
]


def seed_message_rules(apps) -> None:
    """The default message rules, each created unless its (severity, moment, template) exists."""
    MessageRule = apps.get_model("escalation", "MessageRule")
    for spec in DEFAULT_MESSAGE_RULES:
        spec = dict(spec)
        key = {name: spec.pop(name) for name in ("severity", "moment", "template")}
        MessageRule.objects.get_or_create(**key, defaults=spec)


def rename_reminders_task(apps) -> None:
    """The reminders' beat entry keeps its schedule and state under its new name."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if not PeriodicTask.objects.filter(name=STATUS_UPDATE_REMINDERS_TASK).exists():
        PeriodicTask.objects.filter(name=FORMER_REMINDERS_TASK).update(name=STATUS_UPDATE_REMINDERS_TASK)


def seed_escalation_data(apps) -> None:
    grant_role_permissions(
        apps,
        {role: [f"escalation.{codename}" for codename in codes] for role, codes in ROLE_PERMISSIONS.items()},
    )
    Group = apps.get_model("auth", "Group")
    Policy = apps.get_model("escalation", "EscalationPolicy")
    Step = apps.get_model("escalation", "EscalationStep")
    for severity in Severity.values:
        policy, created = Policy.objects.get_or_create(severity=severity)
        if not created:
            continue
        for spec in DEFAULT_STEPS:
            spec = dict(spec)
            group_name = spec.pop("group", None)
            Step.objects.create(
                policy=policy, notify_group=Group.objects.get(name=group_name) if group_name else None, **spec
            )

    if "messagerule" in apps.get_app_config("escalation").models:  # from migration 0009 on
        seed_message_rules(apps)
    rename_reminders_task(apps)
    for name, task, every in PERIODIC_TASKS:
        ensure_interval_task(apps, name=name, task=task, every=every, period="seconds")
