"""Message rules: who receives which communication template at which moment of an incident, per severity
(seed 5.2's four templates; `escalation.reference_data.DEFAULT_MESSAGE_RULES` holds the document's defaults).
Incident Managers edit them in the admin through `message_rule_save`, which states what is wrong with a
combination field by field; the moments (`escalation.services.moments`) read them through `rules_for`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from django.db import IntegrityError, transaction

from incidents import selectors as incident_selectors
from incidents.choices import Role, Severity
from incidents.exceptions import PermissionDenied, ValidationError
from incidents.formatting import exact_duration
from incidents.models import Incident

from ..choices import OUTSIDE_AUDIENCES, Audience, Delivery, Moment, RotationKind, Template
from ..models import IncidentEscalation, MessageRule
from ..selectors import on_call
from .notifications import users_of

RULE_FIELDS = ("severity", "moment", "template", "audiences", "delivery", "interval", "is_active")

# The template each moment sends (seed 5.2): the Incident Notification is the "initial alert to
# stakeholders", the Status Update reminder asks for "ongoing progress communication", the Resolution
# Notice is the "confirmation of incident closure" and the Post-Incident Summary carries the review.
MOMENT_TEMPLATES = {
    Moment.CLASSIFIED: (Template.INCIDENT_NOTIFICATION,),
    Moment.STATUS_UPDATE_DUE: (Template.MAJOR_REMINDER,),
    Moment.CLOSED: (Template.RESOLUTION_NOTICE,),
    Moment.REVIEW_FINAL: (Template.POST_INCIDENT_SUMMARY,),
}
# Addressed to staff (it asks them to act): never to stakeholders, the caller or the reporter.
STAFF_TEMPLATES = (Template.MAJOR_REMINDER,)
MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(days=1)


def _labels(values, choices) -> str:
    return ", ".join(choices(value).label for value in values)


def rule_errors(spec: Mapping, *, rule: MessageRule | None = None) -> dict[str, list[str]]:
    """What is wrong with a rule, by field ("__all__" for the combination):

    - each moment sends its own template (`MOMENT_TEMPLATES`);
    - at least one audience, and a staff template (the status-update reminder) only to staff audiences;
    - only the Incident Notification at classification may wait for the hourly digest;
    - a status-update reminder repeats every `interval` (5 min to 1 day); no other rule has an interval;
    - one rule per severity, moment and template (said on `template`)."""
    errors: dict[str, list[str]] = {}
    severity, moment, template = spec.get("severity"), spec.get("moment"), spec.get("template")
    if severity not in Severity.values:
        errors["severity"] = [f"Choose one of {', '.join(Severity.values)}."]
    if moment not in Moment.values:
        errors["moment"] = ["Choose when the message is sent."]
    if template not in Template.values:
        errors["template"] = ["Choose a communication template."]
    elif moment in Moment.values and template not in MOMENT_TEMPLATES[moment]:
        sent = _labels(MOMENT_TEMPLATES[moment], Template)
        errors["template"] = [
            f"{Moment(moment).label}, the {sent} is sent, not the {Template(template).label}. "
            f"Choose the {sent}, or the moment the {Template(template).label} belongs to."
        ]
    audiences = list(spec.get("audiences") or [])
    unknown = [str(a) for a in audiences if a not in Audience.values]
    if unknown:
        errors["audiences"] = [f"Unknown audience: {', '.join(unknown)}."]
    elif not audiences:
        errors["audiences"] = ["Choose at least one audience: a rule that writes to nobody does nothing."]
    elif template in STAFF_TEMPLATES:
        outside = [a for a in audiences if a in OUTSIDE_AUDIENCES]
        if outside:
            errors["audiences"] = [
                f"The {Template(template).label} asks staff to act; it cannot go to "
                f"{_labels(outside, Audience).lower()}."
            ]
    delivery = spec.get("delivery") or Delivery.IMMEDIATE
    if delivery not in Delivery.values:
        errors["delivery"] = ["Choose at once or the hourly digest."]
    elif delivery == Delivery.DIGEST and moment != Moment.CLASSIFIED:
        errors["delivery"] = [
            "Only the Incident Notification, when an incident is classified, can wait for the hourly digest."
        ]
    interval = spec.get("interval")
    if moment == Moment.STATUS_UPDATE_DUE:
        if interval is None:
            errors["interval"] = ["Give how often the reminder repeats (for example 30 min)."]
        elif not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            errors["interval"] = [
                f"Between {exact_duration(MIN_INTERVAL)} and {exact_duration(MAX_INTERVAL)}."
            ]
    elif interval is not None:
        errors["interval"] = ["Only status-update reminders repeat: leave the interval empty."]
    if not errors:
        clash = MessageRule.objects.filter(severity=severity, moment=moment, template=template)
        if rule is not None and rule.pk is not None:
            clash = clash.exclude(pk=rule.pk)
        if clash.exists():
            errors["template"] = [
                f"There is already a rule for {severity} {Moment(moment).label.lower()} sending the "
                f"{Template(template).label}: change that one."
            ]
    return errors


@transaction.atomic
def message_rule_save(*, user, rule: MessageRule | None = None, **fields) -> MessageRule:
    """Add a rule (`rule` None) or change one; the fields not given keep their value. Incident Managers only
    (`escalation.add_messagerule` / `change_messagerule`); `rule_errors` says what is wrong. The rule's
    history records who changed it."""
    adding = rule is None or rule.pk is None
    if not user.has_perm("escalation.add_messagerule" if adding else "escalation.change_messagerule"):
        raise PermissionDenied("Only Incident Managers change the message rules.")
    current = {} if adding else {name: getattr(rule, name) for name in RULE_FIELDS}
    spec = {"delivery": Delivery.IMMEDIATE, "is_active": True, **current, **fields}
    spec["audiences"] = list(dict.fromkeys(spec.get("audiences") or []))
    spec["delivery"] = spec.get("delivery") or Delivery.IMMEDIATE
    errors = rule_errors(spec, rule=rule)
    if errors:
        raise ValidationError(errors)
    target = MessageRule() if adding else MessageRule.objects.select_for_update().get(pk=rule.pk)
    for name in RULE_FIELDS:
        setattr(target, name, spec.get(name))
    target._history_user = user
    target._change_reason = "rule added" if adding else "rule changed"
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError as exc:  # a rule for the same severity, moment and template was saved meanwhile
        raise ValidationError(
            {
                "template": [
                    "Someone saved a rule for this severity, moment and template meanwhile: change that."
                ]
            }
        ) from exc
    return target


@transaction.atomic
def message_rule_delete(*, user, rule: MessageRule) -> None:
    if not user.has_perm("escalation.delete_messagerule"):
        raise PermissionDenied("Only Incident Managers change the message rules.")
    rule._history_user, rule._change_reason = user, "rule deleted"
    rule.delete()


# --- reading the rules -----------------------------------------------------------------------------------


def rules_for(incident: Incident, moment: str) -> list[MessageRule]:
    """The active rules of the incident's severity for `moment`. An incident without a severity has none."""
    if not incident.severity:
        return []
    return list(MessageRule.objects.filter(severity=incident.severity, moment=moment, is_active=True))


def reminder_rule(incident: Incident) -> MessageRule | None:
    """The incident's status-update reminder rule: its severity's; a major incident whose severity has no
    reminder rule at all follows S1's (a major incident is run as a critical one). None when inactive."""
    rules = MessageRule.objects.filter(moment=Moment.STATUS_UPDATE_DUE)
    rule = rules.filter(severity=incident.severity).first() if incident.severity else None
    if rule is None and incident.is_major:
        rule = rules.filter(severity=Severity.S1).first()
    return rule if rule is not None and rule.is_active else None


def reminder_interval(incident: Incident) -> timedelta | None:
    rule = reminder_rule(incident)
    return rule.interval if rule else None


def stakeholder_addresses(incident: Incident) -> list[str]:
    """The stakeholders of the services the incident affects: its own service's, and those of the incidents
    linked to it as part of it (`parent`)."""
    addresses = list(incident.service.stakeholder_email_list) if incident.service else []
    children = Incident.objects.filter(parent=incident, service__isnull=False).select_related("service")
    for child in children.exclude(service_id=incident.service_id):
        addresses += child.service.stakeholder_email_list
    return list(dict.fromkeys(addresses))


def audience_recipients(incident: Incident, audiences) -> tuple[list, list[str]]:
    """The users and bare addresses an audience list names for this incident. `notify` (and the digest)
    then keep only the users who may see the incident, and no outside address for a security incident."""
    users, emails = [], []
    for audience in audiences:
        if audience == Audience.STAKEHOLDERS:
            emails += stakeholder_addresses(incident)
        elif audience == Audience.CALLER:
            caller = incident_selectors.incident_caller(incident)
            if caller is not None and caller.user is not None:
                users.append(caller.user)
            elif caller is not None:
                emails.append(caller.email)
        elif audience == Audience.REPORTER:
            users += [incident.reporter] if incident.reporter else []
        elif audience == Audience.OPERATIONS:
            users += users_of([Role.OPERATIONS])
        elif audience == Audience.INCIDENT_MANAGERS:
            users += users_of([Role.INCIDENT_MANAGERS])
        elif audience == Audience.INCIDENT_MANAGER:
            users += _incident_manager(incident)
        elif audience == Audience.ASSIGNEE:
            users += [incident.assignee] if incident.assignee else []
    return list(dict.fromkeys(users)), list(dict.fromkeys(emails))


def _incident_manager(incident: Incident) -> list:
    """The Incident Manager recorded for the incident (when it was declared major), else the one on duty,
    else every Incident Manager."""
    record = IncidentEscalation.objects.filter(incident=incident).select_related("incident_manager").first()
    if record is not None and record.incident_manager is not None and record.incident_manager.is_active:
        return [record.incident_manager]
    current = on_call(kind=RotationKind.INCIDENT_MANAGER)
    if current is not None and current.user is not None:
        return [current.user]
    return users_of([Role.INCIDENT_MANAGERS])
