"""Nothing unseen: the first line hears of every incident as it is logged (seed 2.1 "Logging: Tier 1
Support, Service Desk"; seed 4.2 "Tier 1: initial triage")."""

from __future__ import annotations

from incidents.choices import TIER_GROUPS, Role, Tier
from incidents.models import Incident
from incidents.selectors import may_see

from ..choices import RotationKind, Template
from ..models import Notification
from ..selectors import on_call
from .notifications import notify, users_of


def first_line(*, incident: Incident, logged_by=None) -> tuple[list, str]:
    """Who is told of a new incident, and a note when it is not the first line: the Tier 1 group (the
    Service Desk) and whoever is on call for Tier 1 now, those of them who may see it, apart from whoever
    logged it. When none of them may (a security incident), or the only one who may is whoever logged it,
    the on-duty Incident Manager instead, or the whole Incident Managers group when nobody is on duty:
    someone besides its author who may see it and classify it."""
    people = users_of([TIER_GROUPS[Tier.TIER1]])
    current = on_call(kind=RotationKind.TIER1)
    if current and current.user:
        people.append(current.user)
    readers = [person for person in dict.fromkeys(people) if may_see(person, incident)]
    others = [person for person in readers if not _same(person, logged_by)]
    if others:
        return others, ""
    manager = on_call(kind=RotationKind.INCIDENT_MANAGER)
    managers = [manager.user] if manager and manager.user else users_of([Role.INCIDENT_MANAGERS])
    note = f"The {TIER_GROUPS[Tier.TIER1]} may not see this incident: told the Incident Managers."
    return [person for person in managers if not _same(person, logged_by)], note


def _same(person, user) -> bool:
    return user is not None and person.pk == user.pk


def announce_new_incident(*, incident: Incident, user=None) -> list[Notification]:
    """The New incident message, at logging, to `first_line`: the incident, its provisional severity and
    when its response is due. To people only; webhooks have the `incident.created` event."""
    recipients, note = first_line(incident=incident, logged_by=user)
    return notify(
        incident=incident, template=Template.NEW_INCIDENT, users=recipients, note=note, webhooks=False
    )
