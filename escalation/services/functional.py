"""Functional escalation (seed 4.1: "specialised expertise needed → tier assignment"):
Tier 1 service desk → Tier 2 sysadmins → Tier 3 experts → external vendor, never downward."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from incidents import limits as incident_limits
from incidents import permissions as incident_perms
from incidents import services as incident_services
from incidents.choices import OPEN_STATES, TIER_GROUPS, EventKind, Tier
from incidents.exceptions import Conflict, PermissionDenied, ValidationError
from incidents.models import Incident

from ..choices import EventKind as EscalationKind
from ..choices import Template as T
from ..choices import WebhookEvent
from ..models import EscalationEvent
from ..selectors import on_call
from .hierarchical import reschedule
from .notifications import notify, users_of
from .webhooks import emit

TIER_ORDER = [Tier.TIER1, Tier.TIER2, Tier.TIER3, Tier.EXTERNAL]


def escalate_tier(*, incident: Incident, user, reason: str, tier: str | None = None) -> Incident:
    """Hand the incident to a higher tier: assign that tier's on-call person (or nobody, leaving it to
    the group), record the escalation, and notify the new tier."""
    if not incident_perms.is_support_role(user):  # the support tiers, Security Team, Incident Managers
        raise PermissionDenied("You may not escalate incidents.")
    errors = {}
    if not reason or not reason.strip():
        errors["reason"] = ["This field is required."]
    incident_limits.check_text(errors, reason=reason)
    if tier and tier not in TIER_ORDER:
        errors["tier"] = [f"'{tier}' is not a tier; use one of: {', '.join(TIER_ORDER)}."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.state not in OPEN_STATES:
            raise Conflict(f"{locked.number} is {locked.state}; only an open incident can be escalated.")
        current = TIER_ORDER.index(locked.tier)
        if current == len(TIER_ORDER) - 1:
            raise Conflict(f"{locked.number} is already with External Support: there is no higher tier.")
        target = tier or TIER_ORDER[current + 1]
        if TIER_ORDER.index(target) <= current:
            raise Conflict(f"Escalation goes upward only: {locked.tier} → {target} is not allowed.")
        now = timezone.now()
        oncall = on_call(kind=target, at=now)
        assignee = oncall.user if oncall and oncall.user else None
        from_tier = locked.tier
        locked = incident_services.incident_set_tier(
            incident=locked, user=user, tier=target, assignee=assignee, reason=reason
        )
        count = EscalationEvent.objects.filter(incident=locked, kind=EscalationKind.FUNCTIONAL).count()
        EscalationEvent.objects.create(
            incident=locked,
            kind=EscalationKind.FUNCTIONAL,
            key=f"functional-{count + 1}",
            from_tier=from_tier,
            to_tier=target,
            fired_at=now,
            actor=user,
            reason=reason,
        )
        label = Tier(target).label
        note = f"Escalated {Tier(from_tier).label} → {label}: {reason}."
        if assignee:
            note += f" Assigned to the on-call {assignee.get_username()}."
        else:
            note += f" Nobody is on call for {label}: unassigned and the whole group notified."
        incident_services.timeline_record(
            incident=locked,
            kind=EventKind.ESCALATION,
            user=user,
            note=note,
            data={"kind": "functional", "from": from_tier, "to": target},
        )
        users = [assignee] if assignee else users_of([TIER_GROUPS[target]])
        notify(
            incident=locked, template=T.ESCALATION, users=users, extra={"functional": True, "reason": reason}
        )
        emit(
            incident=locked,
            event=WebhookEvent.ESCALATED,
            extra={"escalation": {"kind": "functional", "from_tier": from_tier, "to_tier": target}},
        )
        reschedule(incident=locked)  # tier-targeted steps now notify the new tier
    return locked
