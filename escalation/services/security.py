"""Security incidents go to the Security Team (seed 4.1: "security incident → security team"): its on-call
person is paged as soon as an incident is classified as security. They are confidential (see
`incidents.selectors`), so the page goes to the Security Team alone, not to the emergency response team."""

from __future__ import annotations

from django.utils import timezone

from incidents import services as incident_services
from incidents.choices import EventKind, Role
from incidents.models import Incident
from incidents.selectors import is_security_incident

from ..choices import EventKind as EscalationKind
from ..choices import RotationKind
from ..choices import Template as T
from ..models import EscalationEvent
from ..selectors import on_call
from .notifications import notify, users_of

SECURITY_PAGE_KEY = "security-page"


def security_responders(at) -> tuple[list, bool]:
    """The Security Team's on-call person, or every active member when nobody is on call (True)."""
    current = on_call(kind=RotationKind.SECURITY, at=at)
    if current and current.user:
        return [current.user], False
    return users_of([Role.SECURITY_TEAM]), True


def page_security_team(*, incident: Incident, user) -> EscalationEvent | None:
    """Page the Security Team once per incident, when it is first classified as security. Safe to call on
    every classification: the event's unique key makes the second call a no-op."""
    if not is_security_incident(incident):
        return None
    if EscalationEvent.objects.filter(incident=incident, key=SECURITY_PAGE_KEY).exists():
        return None
    now = timezone.now()
    responders, whole_team = security_responders(now)
    reason = f"{incident.severity or 'Unclassified'} security incident classified"
    event = EscalationEvent.objects.create(
        incident=incident,
        kind=EscalationKind.SECURITY,
        key=SECURITY_PAGE_KEY,
        fired_at=now,
        actor=user if getattr(user, "is_authenticated", False) else None,
        reason=reason,
    )
    note = "Security Team paged"
    note += ": nobody on call, paged the whole team." if whole_team else "."
    incident_services.timeline_record(
        incident=incident,
        kind=EventKind.ESCALATION,
        note=note,
        data={"kind": "security", "paged": [u.get_username() for u in responders]},
    )
    notify(incident=incident, template=T.SECURITY_PAGE, users=responders, extra={"reason": reason})
    return event
