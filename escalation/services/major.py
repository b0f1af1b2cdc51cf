"""Emergency escalation (seed 4.1: "critical service impact → emergency response team") and the
communications that follow an incident through its life."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from incidents import limits as incident_limits
from incidents import permissions as incident_perms
from incidents import services as incident_services
from incidents.caller_links import caller_links
from incidents.choices import OPEN_STATES, Category, EventKind, Level, Role, Severity, State, Tier
from incidents.exceptions import Conflict, PermissionDenied, ValidationError
from incidents.models import Incident
from incidents.selectors import incident_caller, is_security_incident

from ..choices import EventKind as EscalationKind
from ..choices import RotationKind, WebhookEvent
from ..choices import Template as T
from ..models import EscalationEvent, IncidentEscalation
from ..selectors import on_call
from . import moments
from .notifications import notify, stakeholders, users_of
from .webhooks import emit


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
    """Clear the major status of an open incident. A resolved, closed or cancelled incident's record is
    read-only: its major status feeds the major-incident reports and reviews."""
    if not incident_perms.is_incident_manager(user):
        raise PermissionDenied("Only Incident Managers clear major status.")
    if not reason or not reason.strip():
        raise ValidationError({"reason": ["This field is required."]})
    _check_text(reason=reason)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if not locked.is_open:
            raise Conflict(
                f"{locked.number} is {locked.get_state_display().lower()}: its record, major status "
                "included, is read-only."
            )
        locked = incident_services.incident_set_major(
            incident=locked, user=user, is_major=False, reason=reason
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
    """The Incident Notification at once, whatever its severity's rule says about the digest: a major
    incident's stakeholders do not wait (`moments.send_incident_notification`)."""
    moments.send_incident_notification(incident=incident)


def send_status_update(*, incident: Incident, user, message: str) -> Incident:
    """A Status Update to stakeholders and the caller, recorded as a public update."""
    if not incident_perms.can_send_status_update(user):
        raise PermissionDenied("You may not send status updates to this incident's stakeholders.")
    if not message or not message.strip():
        raise ValidationError({"message": ["This field is required."]})
    _check_text(message=message)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.state in (State.CLOSED, State.CANCELLED):
            raise Conflict(f"{locked.number} is {locked.state}: there is nothing left to update anyone on.")
        caller_users, caller_emails = caller_recipients(locked)
        notify(
            incident=locked,
            template=T.STATUS_UPDATE,
            users=caller_users,
            emails=[*caller_emails, *stakeholders(locked)],
            extra={"message": message.strip(), "author": user},
        )
        IncidentEscalation.objects.filter(incident=locked).update(last_reminder_at=timezone.now())
    return locked


def caller_recipients(incident: Incident) -> tuple[list, list[str]]:
    """The caller as `notify` takes them: their account, or a contact's address; nobody when none is named."""
    caller = incident_caller(incident)
    if caller is None:
        return [], []
    return ([caller.user], []) if caller.user is not None else ([], [caller.email])


def send_closure_request(*, incident: Incident) -> None:
    """Ask the caller whether the fix works (seed 2.1 "Closure: verification ... User"): the Fix confirmation
    request with the signed *Confirm it's fixed* and *It's not fixed* links (`incidents.caller_links`).
    Nobody named, nobody asked: the incident closes itself when the answer period ends. Never to webhooks,
    since the links act without signing in."""
    users, emails = caller_recipients(incident)
    if not users and not emails:
        return
    links = caller_links(incident)
    notify(
        incident=incident,
        template=T.CLOSURE_REQUEST,
        users=users,
        emails=emails,
        extra={
            "caller_name": incident_caller(incident).name,
            "confirm_url": links.confirm_url,
            "not_fixed_url": links.not_fixed_url,
            "answer_by": links.expires_at,
        },
        webhooks=False,
    )


def on_resolved(*, incident: Incident) -> None:
    send_closure_request(incident=incident)


def on_closed(*, incident: Incident) -> None:
    """The Resolution Notice, "confirmation of incident closure" (seed 5.2), to the audiences of the closing
    rules of its severity (by default the caller and the stakeholders). A major incident's Post-Incident
    Summary waits for its review to be marked final (`moments.send_post_incident_summary`)."""
    moments.send_resolution_notice(incident=incident)
