"""Escalation defaults (idempotent, against an apps registry like incidents.reference_data)."""

from incidents.choices import Role, Severity
from incidents.reference_data import ensure_interval_task, grant_role_permissions

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

PERIODIC_TASKS = [
    # name, task, every (seconds)
    ("Escalation sweep (fires lost escalations, re-queues notifications)", "escalation.tasks.sweep", 60),
    ("Major incident status-update reminders", "escalation.tasks.major_incident_reminders", 60),
    ("Escalation watchdog", "escalation.tasks.watchdog", 600),
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
    ],
}
_READ_ON_CALL = [
    "view_escalationpolicy",
    "view_escalationstep",
    "view_rotation",
    "view_rotationmember",
    "view_rotationoverride",
]
for _role in (Role.SERVICE_DESK, Role.SYSADMINS, Role.EXPERTS, Role.SECURITY_TEAM, Role.MANAGEMENT):
    ROLE_PERMISSIONS[_role] = [*_READ_ON_CALL, "view_escalationevent"]
# Escalation reasons and actors are internal: a vendor reads neither (like the lab's work notes).
ROLE_PERMISSIONS[Role.EXTERNAL] = _READ_ON_CALL
EXTERNAL_WITHHELD = ["escalation.view_escalationevent"]


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

    for name, task, every in PERIODIC_TASKS:
        ensure_interval_task(apps, name=name, task=task, every=every, period="seconds")
