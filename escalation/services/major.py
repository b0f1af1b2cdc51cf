"""Emergency escalation (seed 4.1: "critical service impact → emergency response team") and the
communications that follow an incident through its life."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from incidents import limits as incident_limits
from incidents import permissions as incident_perms
from incidents import services as incident_services
from incidents.choices import OPEN_STATES, Category, EventKind, Level, Role, Severity, State, Tier
from incidents.exceptions import Conflict, PermissionDenied, ValidationError
from incidents.models import Incident
from incidents.selectors import is_security_incident

from ..choices import EventKind as EscalationKind
from ..choices import RotationKind, WebhookEvent
from ..choices import Template as T
from ..models import EscalationEvent, IncidentEscalation, Notification
from ..selectors import on_call
from .notifications import notify, stakeholders, users_of
from .webhooks import emit

REMINDER_EVERY = timedelta(minutes=30)


def is_emergency(incident: Incident) -> bool:
    """S1, or a security incident with high impact."""
    return incident.severity == Severity.S1 or (
        incident.category == Category.SECURITY and incident.impact == Level.HIGH
    )


EMERGENCY_ROTATIONS = [
    (Tier.TIER1, Role.SERVICE_DESK),
    (Tier.TIER2, Role.SYSADMINS),
    (Tier.TIER3, Role.EXPERTS),
    (RotationKind.INCIDENT_MANAGER, Role.INCIDENT_MANAGERS),
]
# A vendor sees an incident once it reached the external tier (`incidents.selectors`): paged from then on.
EXTERNAL_ROTATION = (Tier.EXTERNAL, Role.EXTERNAL)
# A security incident is confidential: its emergency team is the Security Team and the Incident Managers.
SECURITY_EMERGENCY_ROTATIONS = [
    (RotationKind.SECURITY, Role.SECURITY_TEAM),
    (RotationKind.INCIDENT_MANAGER, Role.INCIDENT_MANAGERS),
]


def emergency_team(at: datetime, incident: Incident) -> tuple[list, list[str]]:
    """The on-call person of every tier that may see the incident plus the on-duty Incident Manager (for a
    security incident: of the Security Team and the Incident Managers); a whole group where a rotation
    has nobody."""
    if is_security_incident(incident):
        rotations = SECURITY_EMERGENCY_ROTATIONS
    else:
        rotations = EMERGENCY_ROTATIONS + ([EXTERNAL_ROTATION] if incident.tier == Tier.EXTERNAL else [])
    users, gaps = [], []
    for kind, group in rotations:
        current = on_call(kind=kind, at=at)
        if current and current.user:
            users.append(current.user)
        else:
            users += users_of([group])
            gaps.append(group)
    return list(dict.fromkeys(users)), gaps


def declare_major(*, incident: Incident, user, reason: str, automatic: bool = False) -> Incident:
    """Mark the incident major, page the emergency response team and notify the service's stakeholders.
    Idempotent: an incident that is already major is left as it is."""
    if not automatic and not incident_perms.is_incident_manager(user):
        raise PermissionDenied("Only Incident Managers declare major incidents.")
    if not reason or not reason.strip():
        raise ValidationError({"reason": ["This field is required."]})
    _check_text(reason=reason)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.is_major:
            return locked
        if locked.state not in OPEN_STATES:
            raise Conflict(f"{locked.number} is {locked.state}; only an open incident can be declared major.")
        now = timezone.now()
        locked = incident_services.incident_set_major(
            incident=locked, user=user, is_major=True, reason=reason
        )
        count = EscalationEvent.objects.filter(incident=locked, kind=EscalationKind.EMERGENCY).count()
        EscalationEvent.objects.create(
            incident=locked,
            kind=EscalationKind.EMERGENCY,
            key=f"emergency-{count + 1}",
            fired_at=now,
            actor=user if getattr(user, "is_authenticated", False) else None,
            reason=reason,
        )
        team, gaps = emergency_team(now, locked)
        manager = on_call(kind=RotationKind.INCIDENT_MANAGER, at=now)
        record, _ = IncidentEscalation.objects.get_or_create(incident=locked)
        record.incident_manager = (
            manager.user
            if manager and manager.user
            else (user if incident_perms.is_incident_manager(user) else None)
        )
        record.last_reminder_at = now
        record.save(update_fields=["incident_manager", "last_reminder_at"])
        note = f"Major incident declared ({reason}). Paging the emergency response team."
        if gaps:
            note += f" Nobody on call for {', '.join(gaps)}: paged the whole group."
        incident_services.timeline_record(
            incident=locked,
            kind=EventKind.ESCALATION,
            user=user if not automatic else None,
            note=note,
            data={"kind": "emergency", "team": [u.get_username() for u in team]},
        )
        notify(incident=locked, template=T.PAGE, users=team, extra={"reason": reason})
        emit(incident=locked, event=WebhookEvent.MAJOR_DECLARED, extra={"reason": reason})
        send_incident_notification(incident=locked)
    return locked


def clear_major(*, incident: Incident, user, reason: str) -> Incident:
    if not incident_perms.is_incident_manager(user):
        raise PermissionDenied("Only Incident Managers clear major status.")
    if not reason or not reason.strip():
        raise ValidationError({"reason": ["This field is required."]})
    _check_text(reason=reason)
    with transaction.atomic():
        locked = incident_services.incident_set_major(
            incident=incident, user=user, is_major=False, reason=reason
        )
        incident_services.timeline_record(
            incident=locked, kind=EventKind.ESCALATION, user=user, note=f"Major status cleared: {reason}"
        )
    return locked


def _check_text(**values: str) -> None:
    errors: dict = {}
    incident_limits.check_text(errors, **values)
    if errors:
        raise ValidationError(errors)


def send_incident_notification(*, incident: Incident) -> None:
    """The Incident Notification to the service's stakeholders, once per incident."""
    if Notification.objects.filter(incident=incident, template=T.INCIDENT_NOTIFICATION).exists():
        return
    notify(incident=incident, template=T.INCIDENT_NOTIFICATION, emails=stakeholders(incident))


def send_status_update(*, incident: Incident, user, message: str) -> Incident:
    """A Status Update to stakeholders (and the reporter), recorded as a public update."""
    if not incident_perms.can_send_status_update(user):
        raise PermissionDenied("You may not send status updates to this incident's stakeholders.")
    if not message or not message.strip():
        raise ValidationError({"message": ["This field is required."]})
    _check_text(message=message)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.state in (State.CLOSED, State.CANCELLED):
            raise Conflict(f"{locked.number} is {locked.state}: there is nothing left to update anyone on.")
        reporter = [locked.reporter] if locked.reporter else []
        notify(
            incident=locked,
            template=T.STATUS_UPDATE,
            users=reporter,
            emails=stakeholders(locked),
            extra={"message": message.strip(), "author": user},
        )
        IncidentEscalation.objects.filter(incident=locked).update(last_reminder_at=timezone.now())
    return locked


def send_major_reminders(*, now: datetime | None = None) -> int:
    """Every 30 minutes while a major incident is unresolved, remind its Incident Manager to update."""
    now = now or timezone.now()
    due = IncidentEscalation.objects.filter(
        incident__is_major=True,
        incident__state__in=OPEN_STATES,
        last_reminder_at__lte=now - REMINDER_EVERY,
    ).select_related("incident", "incident_manager")
    sent = 0
    for record in due:
        with transaction.atomic():
            locked = IncidentEscalation.objects.select_for_update().get(pk=record.pk)
            if locked.last_reminder_at and locked.last_reminder_at > now - REMINDER_EVERY:
                continue  # another run got here first
            manager = locked.incident_manager
            users = [manager] if manager else users_of([Role.INCIDENT_MANAGERS])
            notify(incident=record.incident, template=T.MAJOR_REMINDER, users=users, webhooks=False)
            locked.last_reminder_at = now
            locked.save(update_fields=["last_reminder_at"])
            sent += 1
    return sent


def on_resolved(*, incident: Incident) -> None:
    notify(
        incident=incident,
        template=T.RESOLUTION_NOTICE,
        users=[incident.reporter] if incident.reporter else [],
        emails=stakeholders(incident),
    )


def on_closed(*, incident: Incident) -> None:
    if incident.is_major:
        notify(
            incident=incident,
            template=T.POST_INCIDENT_SUMMARY,
            users=users_of([Role.INCIDENT_MANAGERS]),
            emails=stakeholders(incident),
        )
