"""Who may take which transition. Used as django-fsm `permission=` callables, so the admin's buttons, the
API's `transitions/` list and the services all ask the same question.

Role permissions are ordinary Django permissions granted to the role groups by migration; the relational
parts of the rules (the incident's tier, its caller or reporter) are checked here.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, Group

from .choices import TIER_GROUPS, Role

MANAGER_PERMISSION = "manage_incident"
# The teams whose members hold and resume each other's incidents (`can_hold`).
TEAMS = (*Role.SUPPORT_TIERS, Role.SECURITY_TEAM)


def _perm(user, codename: str) -> bool:
    return bool(user and user.is_active and user.has_perm(f"incidents.{codename}"))


def is_incident_manager(user) -> bool:
    return _perm(user, MANAGER_PERMISSION)


def is_support_role(user) -> bool:
    """The people who work incidents: the support tiers, the Security Team and the Incident Managers
    (all hold `investigate_incident`). They reach each other directly, so they see colleagues' e-mail
    addresses; Management (reads only) and accounts without a role do not."""
    return _perm(user, "investigate_incident")


def can_log_incident(user) -> bool:
    """Anyone signed in may report an incident, except read-only roles: a role that lets one see incidents
    (`view_incident`) without adding them is Management's, which reads everything and writes nothing."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return _perm(user, "add_incident") or not _perm(user, "view_incident")


def can_send_status_update(user) -> bool:
    """Stakeholder communications: the lab's support roles and Incident Managers, not External Support."""
    return _perm(user, "send_status_update")


def in_tier_group(user, tier: str) -> bool:
    group = TIER_GROUPS.get(tier)
    if not group or isinstance(user, AnonymousUser):
        return False
    return user.is_superuser or user.groups.filter(name=group).exists()


def can_classify(incident, user) -> bool:
    """Service Desk and Incident Managers classify (and reclassify)."""
    return _perm(user, "classify_incident")


def can_investigate(incident, user) -> bool:
    """Any support tier or Incident Manager may take an incident into investigation."""
    return _perm(user, "investigate_incident")


def can_hold(incident, user) -> bool:
    """Holding and resuming belong to the assignee's tier (the assignee and their tier colleagues, and the
    tier the incident sits with), or an Incident Manager."""
    if is_incident_manager(user):
        return True
    if not _perm(user, "hold_incident"):
        return False
    if incident.assignee_id == user.pk or in_tier_group(user, incident.tier):
        return True
    if not incident.assignee_id:
        return False
    # Two filter() calls: one join for the user's groups, another for the assignee's.
    return Group.objects.filter(name__in=TEAMS, user=user).filter(user=incident.assignee_id).exists()


def can_resolve(incident, user) -> bool:
    return _perm(user, "resolve_incident")


def can_close(incident, user) -> bool:
    """Incident Managers close (with closure notes); so may the person affected (`person_concerned`),
    confirming the fix."""
    return _perm(user, "close_incident") or _is_concerned(incident, user)


def can_reopen(incident, user) -> bool:
    """The person affected (`person_concerned`), the Service Desk or an Incident Manager may reopen a
    resolved incident."""
    return _perm(user, "reopen_incident") or _is_concerned(incident, user)


def can_cancel(incident, user) -> bool:
    return _perm(user, "cancel_incident")


def can_override_severity(user) -> bool:
    return _perm(user, "override_severity")


def is_system_account(user) -> bool:
    """An account an integration acts through, never a person: an alert source's `monitoring-<slug>`
    (`AlertSource.account`, no password, no role). What it does is on the record under its name, but never
    counts as a person's work: it is never an incident's first response (`Incident.investigate`)."""
    if not (user and user.is_authenticated and user.pk):
        return False
    return hasattr(user, "alert_source")  # the reverse one-to-one; cached on the user once asked


def person_concerned(incident):
    """The person affected, who confirms the fix or says it did not hold besides the roles: the caller's
    account; when nobody is named as caller, the reporter, unless they are staff who typed it in (they act
    through their role, if at all). None for a caller without a login: they answer by the links."""
    if incident.caller_id or incident.caller_email:
        return incident.caller if incident.caller_id else None
    reporter = incident.reporter if incident.reporter_id else None
    return reporter if reporter is not None and not is_support_role(reporter) else None


def _is_concerned(incident, user) -> bool:
    """`person_concerned` asked about `user`, without loading anyone else."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if incident.caller_id or incident.caller_email:
        return incident.caller_id == user.pk
    return incident.reporter_id == user.pk and not is_support_role(user)


def is_staff_closer(user) -> bool:
    """Who closes as staff (`ClosedBy.STAFF`, closure notes required), rather than as the person affected
    confirming the fix."""
    return _perm(user, "close_incident")


@dataclass(frozen=True)
class Actors:
    """Who a transition's permission rule lets act, as data for telling people who may act next
    (`selectors.next_steps`): the roles holding `permission`, plus the person affected (`person_concerned`:
    the caller, else the reporter) when `reporter`;
    a `tier_bound` rule (holding and resuming) lets only the assignee and the teams of the incident's tier
    and of its assignee act, and Incident Managers always. `tests/incidents/test_next_steps.py` checks
    that this agrees with the rules above for every role and state."""

    permission: str
    reporter: bool = False
    tier_bound: bool = False


ACTORS = {
    can_classify: Actors("classify_incident"),
    can_investigate: Actors("investigate_incident"),
    can_hold: Actors("hold_incident", tier_bound=True),
    can_resolve: Actors("resolve_incident"),
    can_close: Actors("close_incident", reporter=True),
    can_reopen: Actors("reopen_incident", reporter=True),
    can_cancel: Actors("cancel_incident"),
}
