"""Reference data every installation starts with: roles, tiers, SLA targets, response plans.

Written against an apps registry so the data migration (historical models) and the test suite (after a
transactional test flushed the tables) seed exactly the same rows. Idempotent: existing rows are kept, so
an administrator's edits survive.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from .choices import TIER_GROUPS, IncidentType, Role, Severity, Tier

SLA_DEFAULTS = {  # seed 3.1: response / resolution
    Severity.S1: (timedelta(minutes=15), timedelta(hours=4)),
    Severity.S2: (timedelta(minutes=30), timedelta(hours=8)),
    Severity.S3: (timedelta(hours=4), timedelta(hours=24)),
    Severity.S4: (timedelta(hours=24), timedelta(hours=72)),
}

TIER_NAMES = {
    Tier.TIER1: ("Service Desk", 1),
    Tier.TIER2: ("System Administrators", 2),
    Tier.TIER3: ("Subject Matter Experts", 3),
    Tier.EXTERNAL: ("External Support", 4),
}

_READ_REFERENCE = [
    "incidents.view_service",
    "incidents.view_supporttier",
    "incidents.view_slapolicy",
    "incidents.view_responseplan",
    "incidents.view_responseplanstep",
    "incidents.view_problem",
]
_SUPPORT = [
    *_READ_REFERENCE,
    "incidents.send_status_update",
    "incidents.view_incident",
    "incidents.add_incident",
    "incidents.change_incident",
    "incidents.view_timelineevent",
    "incidents.add_comment",
    "incidents.view_comment",
    "incidents.view_checklistitem",
    "incidents.change_checklistitem",
    "incidents.investigate_incident",
    "incidents.hold_incident",
    "incidents.resolve_incident",
    "incidents.add_problem",
    "incidents.change_problem",
]

# Incident Managers configure monitoring integrations and read what they posted.
ALERT_INTAKE_PERMISSIONS = [
    "incidents.view_alertsource",
    "incidents.add_alertsource",
    "incidents.change_alertsource",
    "incidents.view_alertpayload",
]

# Seeing incidents beyond one's own (see `incidents.selectors`): every tier's, and security incidents.
VIEW_ALL_INCIDENTS = "incidents.view_all_incidents"
VIEW_SECURITY_INCIDENTS = "incidents.view_security_incident"
# A vendor works on what reached the external tier or was handed to them; it does not read the lab's
# internal work notes or audit trail, speak to the lab's stakeholders, or keep its problem records.
EXTERNAL_WITHHELD = [
    "incidents.view_timelineevent",
    "incidents.send_status_update",
    "incidents.add_problem",
    "incidents.change_problem",
]

ROLE_PERMISSIONS = {
    Role.SERVICE_DESK: [
        *_SUPPORT,
        VIEW_ALL_INCIDENTS,
        "incidents.classify_incident",
        "incidents.reopen_incident",
    ],
    Role.SYSADMINS: [*_SUPPORT, VIEW_ALL_INCIDENTS],
    Role.EXPERTS: [*_SUPPORT, VIEW_ALL_INCIDENTS],
    Role.EXTERNAL: [p for p in _SUPPORT if p not in EXTERNAL_WITHHELD],
    Role.SECURITY_TEAM: [*_SUPPORT, VIEW_ALL_INCIDENTS, VIEW_SECURITY_INCIDENTS],
    Role.INCIDENT_MANAGERS: [
        *_SUPPORT,
        VIEW_ALL_INCIDENTS,
        VIEW_SECURITY_INCIDENTS,
        "incidents.classify_incident",
        "incidents.reopen_incident",
        "incidents.close_incident",
        "incidents.cancel_incident",
        "incidents.override_severity",
        "incidents.manage_incident",
        "incidents.add_service",
        "incidents.change_service",
        "incidents.change_slapolicy",
        "incidents.add_responseplan",
        "incidents.change_responseplan",
        "incidents.delete_responseplan",
        "incidents.add_responseplanstep",
        "incidents.change_responseplanstep",
        "incidents.delete_responseplanstep",
        "incidents.change_supporttier",
        *ALERT_INTAKE_PERMISSIONS,
    ],
    Role.MANAGEMENT: [
        *_READ_REFERENCE,
        "incidents.view_incident",
        VIEW_ALL_INCIDENTS,
        "incidents.view_timelineevent",
        "incidents.view_comment",
        "incidents.view_checklistitem",
    ],
    # Those who run the lab's services day to day (seed 4: the weekly summary's audience) read incidents
    # the way Management does, and receive the weekly summary.
    Role.OPERATIONS: [
        *_READ_REFERENCE,
        "incidents.view_incident",
        VIEW_ALL_INCIDENTS,
        "incidents.view_timelineevent",
        "incidents.view_comment",
        "incidents.view_checklistitem",
    ],
}


@dataclass(frozen=True)
class Step:
    """A runbook step; a required one holds up resolving until it is done or skipped with a reason."""

    text: str
    required: bool = False


def required(text: str) -> Step:
    return Step(text, required=True)


# A response plan per incident type (seed 5.1 "Incident Response Plans"; the types of seed 2.2). Steps are
# required where the document names the procedure: VM migration for a host failure, containment (and the
# evidence it must not destroy) for security incidents.
RESPONSE_PLANS: dict[str, tuple[str, str, list[Step | str]]] = {
    IncidentType.HOST_FAILURE: (
        "Host failure response",
        "Hardware diagnosis and VM migration (seed 5.1).",
        [
            "Confirm the host is down from the Proxmox cluster view and IPMI",
            "Check Ceph health (ceph -s) and the host's OSDs",
            required("Migrate or restart the affected VMs on healthy nodes (HA group)"),
            "Collect hardware logs (IPMI SEL, dmesg) and open a vendor case if hardware failed",
            "Confirm services are back and tell the stakeholders",
        ],
    ),
    IncidentType.NETWORK_OUTAGE: (
        "Network outage response",
        "Connectivity troubleshooting (seed 5.1).",
        [
            "Identify the affected segment: ping gateways, check switch port status",
            "Check recent changes to switch, router and firewall configuration",
            "Fail over to the redundant link or roll back the change",
            "Verify connectivity from the affected hosts and services",
        ],
    ),
    IncidentType.INFRASTRUCTURE_OTHER: (
        "Infrastructure incident response",
        "Triage of an infrastructure fault that is neither a host failure nor a network outage.",
        [
            "Confirm the impact and the affected hosts, storage or facilities",
            "Check monitoring history and recent changes to the affected components",
            "Apply the fix or a workaround and verify the services depending on it",
        ],
    ),
    IncidentType.DATABASE_UNAVAILABLE: (
        "Database recovery",
        "Database recovery procedures (seed 5.1).",
        [
            "Check the PostgreSQL service, replication state and disk space",
            "Fail over to the replica if the primary cannot be recovered quickly",
            "Restore from the latest backup and replay WAL if data is damaged",
            "Verify dependent applications reconnect",
        ],
    ),
    IncidentType.APPLICATION_ERROR: (
        "Application error response",
        "Triage of a failing application.",
        [
            "Reproduce the error and collect logs",
            "Check recent deployments; roll back if one is implicated",
            "Apply the fix or a workaround and verify with the user",
        ],
    ),
    IncidentType.APPLICATION_OTHER: (
        "Application incident response",
        "Triage of a software or service fault that is neither a database outage nor an application error.",
        [
            "Confirm the impact with the caller and reproduce it",
            "Check the service's logs, configuration and recent deployments",
            "Apply the fix or a workaround and verify with the caller",
        ],
    ),
    IncidentType.UNAUTHORIZED_ACCESS: (
        "Unauthorized access response",
        "Containment and remediation (seed 5.1).",
        [
            required("Inform the Security Team and preserve evidence (logs, disk snapshots)"),
            required("Contain: isolate affected hosts and revoke exposed credentials"),
            "Eradicate the cause and patch",
            "Restore from known-good state and monitor closely",
            "Record the timeline for the post-incident review",
        ],
    ),
    IncidentType.MALWARE: (
        "Malware response",
        "Containment and remediation (seed 5.1).",
        [
            required("Inform the Security Team and preserve evidence (memory and disk snapshots, samples)"),
            required("Contain: isolate the infected hosts from the network"),
            "Identify the malware and how it got in; scan the other hosts for it",
            "Re-image or restore the hosts from a known-good state; rotate credentials used on them",
            "Record the timeline for the post-incident review",
        ],
    ),
    IncidentType.SECURITY_OTHER: (
        "Security incident response",
        "Containment and remediation (seed 5.1).",
        [
            required("Inform the Security Team and preserve evidence (logs, disk snapshots)"),
            "Assess what is exposed and contain it",
            "Remediate and monitor closely",
            "Record the timeline for the post-incident review",
        ],
    ),
    IncidentType.SDR_FAILURE: (
        "SDR failure",
        "Observatory receiver recovery.",
        [
            "Check the SDR receiver's USB/network link and the acquisition service",
            "Check the receiver's lock to the 10 MHz / GPSDO reference",
            "Restart the acquisition pipeline and confirm samples arrive",
            "Mark the data gap in the observation log",
        ],
    ),
    IncidentType.FEED_ISSUE: (
        "Antenna feed issue",
        "Observatory feed, LNA and antenna recovery.",
        [
            "Check the LNA power and bias current",
            "Check the feed's cabling and connectors against the cal source",
            "Check the antenna drive and encoders if pointing is affected",
            "Confirm the system temperature is nominal again",
            "Mark the data gap in the observation log",
        ],
    ),
    IncidentType.OBSERVATORY_OTHER: (
        "Observatory incident response",
        "Triage of an observatory fault that is neither an SDR failure nor a feed issue.",
        [
            "Confirm the impact on scheduled observations with the observatory staff",
            "Find the responsible expert",
            "Apply and verify the fix; mark any data gap in the observation log",
        ],
    ),
}


def plan_steps(steps: list[Step | str]) -> list[Step]:
    return [step if isinstance(step, Step) else Step(step) for step in steps]


# The lab's service catalogue (seed: Service-Catalog), what incidents hit and reports are about.
@dataclass(frozen=True)
class CatalogueService:
    slug: str
    name: str
    description: str
    owner: str
    criticality: str
    demo_stakeholders: tuple[str, ...]  # only `load_demo` fills these in
    in_service_since: date  # when it went into operation: no incident of it is detected earlier


LAB_SERVICES = (
    CatalogueService(
        "pve-cluster",
        "Proxmox VE cluster",
        "Eight-node Proxmox VE cluster (pve-01..pve-08) with HA groups; hosts every lab VM.",
        Role.SYSADMINS,
        "high",
        ("it-ops@lab.example", "heads@lab.example"),
        in_service_since=date(2018, 5, 1),
    ),
    CatalogueService(
        "ceph",
        "Ceph storage",
        "Hyper-converged Ceph on the Proxmox nodes: RBD pools for VM disks, CephFS for shared data.",
        Role.SYSADMINS,
        "high",
        ("it-ops@lab.example", "data-office@lab.example"),
        in_service_since=date(2018, 5, 1),
    ),
    CatalogueService(
        "core-network",
        "Core network",
        "Core switches, routers, firewall pair, DNS/DHCP and the fibre link to the observatory site.",
        Role.SYSADMINS,
        "high",
        ("it-ops@lab.example", "everyone@lab.example"),
        in_service_since=date(2016, 9, 1),
    ),
    CatalogueService(
        "postgresql",
        "PostgreSQL cluster",
        "pg-main with two streaming replicas; holds the observation catalogue and the portal database.",
        Role.EXPERTS,
        "high",
        ("dba@lab.example", "portal-team@lab.example"),
        in_service_since=date(2017, 10, 1),
    ),
    CatalogueService(
        "web-portal",
        "Lab web portal",
        "portal.lab.example: proposals, observation schedules, data downloads for collaborators.",
        Role.EXPERTS,
        "medium",
        ("portal-team@lab.example", "users@lab.example"),
        in_service_since=date(2019, 2, 1),
    ),
    CatalogueService(
        "identity-sso",
        "Identity and SSO",
        "OpenLDAP pair and Keycloak single sign-on for every lab service.",
        Role.SECURITY_TEAM,
        "high",
        ("it-ops@lab.example", "security@lab.example"),
        in_service_since=date(2017, 3, 1),
    ),
    CatalogueService(
        "jupyterhub",
        "JupyterHub and compute",
        "JupyterHub with CPU and GPU profiles on the compute nodes, backed by a Slurm queue.",
        Role.SYSADMINS,
        "medium",
        ("research-computing@lab.example", "users@lab.example"),
        in_service_since=date(2021, 9, 1),
    ),
    CatalogueService(
        "sdr-array",
        "SDR receiver array",
        "Four SDR receivers (SDR-1..SDR-4) with GPSDO timing and the acquisition pipeline.",
        Role.EXPERTS,
        "high",
        ("observatory@lab.example", "radio-astronomy@lab.example"),
        in_service_since=date(2020, 1, 15),
    ),
    CatalogueService(
        "antenna-feed",
        "Antenna feed and LNA",
        "The 7 m dish: drive and encoders, hydrogen-line and L-band feeds, LNAs and the coax run.",
        Role.EXPERTS,
        "medium",
        ("observatory@lab.example",),
        in_service_since=date(2019, 6, 1),
    ),
    CatalogueService(
        "data-archive",
        "Data archive and backup",
        "ZFS observation archive, nightly backups to the tape library and the restore service.",
        Role.SYSADMINS,
        "medium",
        ("data-office@lab.example", "it-ops@lab.example"),
        in_service_since=date(2018, 11, 1),
    ),
)


def seed_reference_data(apps) -> None:
    """Create the role groups with their permissions, the tiers, SLA policies and response plans."""
    groups = grant_role_permissions(apps, ROLE_PERMISSIONS)

    SupportTier = apps.get_model("incidents", "SupportTier")
    for code, (name, rank) in TIER_NAMES.items():
        SupportTier.objects.get_or_create(
            code=code, defaults={"name": name, "rank": rank, "group": groups[TIER_GROUPS[code]]}
        )

    SlaPolicy = apps.get_model("incidents", "SlaPolicy")
    for severity, (response, resolution) in SLA_DEFAULTS.items():
        SlaPolicy.objects.get_or_create(
            severity=severity, defaults={"response_target": response, "resolution_target": resolution}
        )

    seed_response_plans(apps)

    NumberSequence = apps.get_model("incidents", "NumberSequence")
    for name in ("incident", "problem"):
        NumberSequence.objects.get_or_create(name=name)


def seed_response_plans(apps, *, mark_required: bool = False) -> None:
    """A response plan for every incident type that has none (`RESPONSE_PLANS`). An existing plan keeps an
    administrator's steps; with `mark_required` (once, when steps became requirable) the seed's required
    steps among them are marked required. Migrations from before then (0002) get the steps alone."""
    ResponsePlan = apps.get_model("incidents", "ResponsePlan")
    ResponsePlanStep = apps.get_model("incidents", "ResponsePlanStep")
    can_require = any(field.name == "required" for field in ResponsePlanStep._meta.get_fields())
    for incident_type, (title, description, steps) in RESPONSE_PLANS.items():
        steps = plan_steps(steps)
        plan, created = ResponsePlan.objects.get_or_create(
            incident_type=incident_type, defaults={"title": title, "description": description}
        )
        if created:
            ResponsePlanStep.objects.bulk_create(
                ResponsePlanStep(
                    plan=plan, order=i, text=step.text, **({"required": step.required} if can_require else {})
                )
                for i, step in enumerate(steps, start=1)
            )
        elif can_require and mark_required:
            texts = [step.text for step in steps if step.required]
            ResponsePlanStep.objects.filter(plan=plan, text__in=texts, required=False).update(required=True)


# name, task, every (days)
ALERT_INTAKE_PERIODIC_TASKS = [
    ("Purge alert payloads older than 30 days", "incidents.tasks.purge_alert_payloads", 1),
]


def seed_process(apps) -> None:
    """Issue #10's process: the Operations Team role, and how the incidents closed before it were closed
    (by staff: there was no other way)."""
    grant_role_permissions(apps, {Role.OPERATIONS: ROLE_PERMISSIONS[Role.OPERATIONS]})
    Incident = apps.get_model("incidents", "Incident")
    Incident.objects.filter(state="closed", closed_by="").update(closed_by="staff")
    ProcessSettings = apps.get_model("incidents", "ProcessSettings")
    ProcessSettings.objects.get_or_create(pk=1)


def seed_alert_intake(apps) -> None:
    """Alert intake's permissions for Incident Managers and its daily purge (celery beat). Needs the
    django_celery_beat tables, so it is a migration of its own rather than part of `seed_reference_data`."""
    grant_role_permissions(apps, {Role.INCIDENT_MANAGERS: ALERT_INTAKE_PERMISSIONS})
    for name, task, days in ALERT_INTAKE_PERIODIC_TASKS:
        ensure_interval_task(apps, name=name, task=task, every=days, period="days")


def seed_service_catalogue(apps) -> None:
    """The lab's services, without stakeholder addresses (those are each installation's own)."""
    Group = apps.get_model("auth", "Group")
    Service = apps.get_model("incidents", "Service")
    groups = {g.name: g for g in Group.objects.filter(name__in=Role.ALL)}
    taken = set(Service.objects.values_list("slug", flat=True)) | set(
        Service.objects.values_list("name", flat=True)
    )
    # Migration 0005 seeds with a Service that has no `in_service_since` yet; 0008 dates those rows.
    dated = any(field.name == "in_service_since" for field in Service._meta.get_fields())
    for entry in LAB_SERVICES:
        if entry.slug in taken or entry.name in taken:
            continue
        Service.objects.create(
            slug=entry.slug,
            name=entry.name,
            description=entry.description,
            owner_group=groups.get(entry.owner),
            criticality=entry.criticality,
            **({"in_service_since": entry.in_service_since} if dated else {}),
        )


# --- helpers the apps' data migrations share --------------------------------------------------------------


def grant_role_permissions(apps, role_permissions: dict[str, list[str]]) -> dict:
    """Give role groups permissions named "app_label.codename", creating the groups and, first, the apps'
    permissions (Django creates them only after all migrations, too late for a data migration). Returns
    the groups by role name."""
    from django.contrib.auth.management import create_permissions

    wanted = {role: [code.split(".", 1) for code in codes] for role, codes in role_permissions.items()}
    for app_label in sorted({app for pairs in wanted.values() for app, _ in pairs}):
        config = apps.get_app_config(app_label)
        config.models_module = getattr(config, "models_module", None) or True
        create_permissions(config, apps=apps, verbosity=0)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    groups = {}
    for role, pairs in wanted.items():
        groups[role], _ = Group.objects.get_or_create(name=role)
        for app_label in {app for app, _ in pairs}:
            codenames = [codename for app, codename in pairs if app == app_label]
            groups[role].permissions.add(
                *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            )
    return groups


def revoke_role_permissions(apps, role_permissions: dict[str, list[str]]) -> None:
    """Take permissions named "app_label.codename" back from role groups (a rule that narrowed)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in role_permissions.items():
        group = Group.objects.filter(name=role).first()
        for code in codes if group else ():
            app_label, codename = code.split(".", 1)
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )


def seed_confidentiality(apps) -> None:
    """Existing installations: grant the visibility permissions and take internal notes from vendors."""
    grant_role_permissions(apps, ROLE_PERMISSIONS)
    revoke_role_permissions(apps, {Role.EXTERNAL: EXTERNAL_WITHHELD})


def ensure_interval_task(apps, *, name: str, task: str, every: int, period: str) -> None:
    """A django-celery-beat entry running `task` every `every` `period` (kept as an admin left it)."""
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
    PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval, "args": "[]"})
