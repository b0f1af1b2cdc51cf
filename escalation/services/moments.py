"""The communications sent at the moments of an incident's life, as the message rules say (seed 5.2):

- classified: the Incident Notification, at once or collected in the hourly digest (`digest`);
- while open: status-update reminders every interval of the incident's severity;
- closed: the Resolution Notice;
- the major-incident review marked final: the Post-Incident Summary, carrying the review.

Receivers and the reporting app call these inside the transaction that caused them; the outbox delivers."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from incidents.choices import OPEN_STATES, Severity
from incidents.models import Incident

from ..choices import Delivery, Moment
from ..models import DigestItem, IncidentEscalation, MessageRule, Notification
from .digest import digest_queue
from .message_rules import audience_recipients, reminder_rule, rules_for
from .notifications import notify


def _already_sent(incident: Incident, template: str) -> bool:
    """Whether the template went out about the incident, on its own or in a digest."""
    return (
        Notification.objects.filter(incident=incident, template=template).exists()
        or DigestItem.objects.filter(
            incident=incident, template=template, notification__isnull=False
        ).exists()
    )


def _send_once(incident: Incident, rule: MessageRule) -> list[Notification]:
    """The rule's template at once, unless it already went out about the incident; what waited for the
    digest is then settled (it went out now)."""
    if _already_sent(incident, rule.template):
        return []
    users, emails = audience_recipients(incident, rule.audiences)
    sent = notify(incident=incident, template=rule.template, users=users, emails=emails)
    DigestItem.objects.filter(incident=incident, template=rule.template, settled_at__isnull=True).update(
        settled_at=timezone.now()
    )
    return sent


def on_classified(*, incident: Incident) -> None:
    """Seed 5.2 "Incident Notification: initial alert to stakeholders", by the classification rules of the
    incident's severity (by default: the service's stakeholders, S1/S2 at once, S3/S4 in the hourly digest;
    a major incident never waits). Once per incident, however often it is reclassified. Starts the
    status-update reminders when a reminder rule covers the incident."""
    for rule in rules_for(incident, Moment.CLASSIFIED):
        if rule.delivery == Delivery.DIGEST and not incident.is_major:
            queued = DigestItem.objects.filter(incident=incident, template=rule.template).exists()
            if not queued and not _already_sent(incident, rule.template):
                users, emails = audience_recipients(incident, rule.audiences)
                digest_queue(incident=incident, template=rule.template, users=users, emails=emails)
        else:
            _send_once(incident, rule)
    reminders_start(incident=incident)


def send_incident_notification(*, incident: Incident) -> None:
    """The Incident Notification at once (a major incident was declared), to the audiences of the
    classification rules of its severity. Once per incident."""
    for rule in rules_for(incident, Moment.CLASSIFIED):
        _send_once(incident, rule)


def send_resolution_notice(*, incident: Incident) -> list[Notification]:
    """Seed 5.2 "Resolution Notice: confirmation of incident closure", when the incident is closed, to the
    audiences of the closing rules of its severity (by default the caller and the stakeholders)."""
    return _send_for_moment(incident, Moment.CLOSED)


def send_post_incident_summary(*, incident: Incident, review: dict) -> list[Notification]:
    """Seed 5.2 "Post-Incident Summary: review and lessons learned" and 6.2 "Major Incident Review: all
    stakeholders", when the review is marked final: `review` (summary, root cause, lessons learned, action
    items) to the audiences of the review rules (by default the stakeholders of the affected services and
    the Operations Team)."""
    return _send_for_moment(incident, Moment.REVIEW_FINAL, extra={"review": review})


def _send_for_moment(incident: Incident, moment: str, extra: dict | None = None) -> list[Notification]:
    sent = []
    for rule in rules_for(incident, moment):
        users, emails = audience_recipients(incident, rule.audiences)
        sent += notify(incident=incident, template=rule.template, users=users, emails=emails, extra=extra)
    return sent


# --- status-update reminders -----------------------------------------------------------------------------


def reminders_start(*, incident: Incident) -> None:
    """Count the incident's status-update interval from now, unless it already runs (a status update sent
    or a reminder fired restarts it). Incidents no reminder rule covers are left alone."""
    if reminder_rule(incident) is None:
        return
    IncidentEscalation.objects.get_or_create(incident=incident)
    IncidentEscalation.objects.filter(incident=incident, last_reminder_at__isnull=True).update(
        last_reminder_at=timezone.now()
    )


def _reminder_rules() -> tuple[dict[str, MessageRule], MessageRule | None]:
    """Every reminder rule by severity (active or not: an inactive one still says "none for this severity"),
    and the rule a major incident of a severity without one follows (S1's)."""
    rules = {rule.severity: rule for rule in MessageRule.objects.filter(moment=Moment.STATUS_UPDATE_DUE)}
    return rules, rules.get(Severity.S1)


def due_reminders_q(now: datetime) -> Q:
    """Open incidents' escalation records whose status-update interval has run out, as one condition."""
    rules, major_rule = _reminder_rules()
    due = Q(pk__in=[])
    for severity, rule in rules.items():
        if rule.is_active:
            due |= Q(incident__severity=severity, last_reminder_at__lte=now - rule.interval)
    if major_rule is not None and major_rule.is_active:
        due |= Q(incident__is_major=True, last_reminder_at__lte=now - major_rule.interval) & ~Q(
            incident__severity__in=list(rules)
        )
    return due & Q(incident__state__in=OPEN_STATES)


def send_status_update_reminders(*, now: datetime | None = None) -> int:
    """Every interval of the incident's reminder rule (by default S1 every 30 min, S2 every hour; a major
    incident of another severity as S1) while it is open and nobody sent a status update, remind the
    rule's audience (by default the incident's Incident Manager) to send one. Safe to run twice: each
    record is locked and its time checked again before sending."""
    now = now or timezone.now()
    due = IncidentEscalation.objects.filter(due_reminders_q(now)).values_list("pk", flat=True)
    sent = 0
    for pk in list(due):
        with transaction.atomic():
            record = IncidentEscalation.objects.select_for_update().select_related("incident").get(pk=pk)
            incident = record.incident
            rule = reminder_rule(incident)
            if rule is None or incident.state not in OPEN_STATES or record.last_reminder_at is None:
                continue
            if record.last_reminder_at > now - rule.interval:
                continue  # another run, or a status update, got here first
            users, emails = audience_recipients(incident, rule.audiences)
            notify(
                incident=incident,
                template=rule.template,
                users=users,
                emails=emails,
                extra={"interval": rule.interval},
                webhooks=False,
            )
            record.last_reminder_at = now
            record.save(update_fields=["last_reminder_at"])
            sent += 1
    return sent
