"""The notification outbox: render a communication template, write one row per recipient (and one per
active webhook) in the caller's transaction, record it on the timeline, and queue delivery on commit."""

from __future__ import annotations

import logging
import re
import zoneinfo
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from incidents import selectors as incident_selectors
from incidents import services as incident_services
from incidents.choices import EventKind, Visibility
from incidents.models import Incident
from incidents.output_safety import header_line

from ..choices import Channel, DeliveryStatus, Template, WebhookEvent
from ..models import Notification
from .headlines import escalation_headline
from .publishing import publish
from .webhooks import subscribed_hooks

User = get_user_model()
logger = logging.getLogger(__name__)

SUBJECTS = {
    Template.INCIDENT_NOTIFICATION: "[{severity}] Incident {number}: {title}",
    Template.STATUS_UPDATE: "[{severity}] Status update on {number}: {title}",
    Template.RESOLUTION_NOTICE: "Closed: {number} {title}",
    Template.POST_INCIDENT_SUMMARY: "Post-incident summary: {number} {title}",
    # "[S2] Response target missed: INC-000042 Title (level 1)", "[S2] Escalated to Tier 2 (...): ..."
    Template.ESCALATION: "[{severity}] {headline}: {number} {title}{level_note}",
    Template.PAGE: "PAGE [{severity}] major incident {number}: {title}",
    Template.SECURITY_PAGE: "PAGE [{severity}] security incident {number}",
    Template.MAJOR_REMINDER: "[{severity}] Status update due: {number} {title}",
    Template.CLOSURE_REQUEST: "Is it fixed? {number} {title}",
    Template.NEW_INCIDENT: "[{severity}] New incident {number}: {title}",
}
SUBJECT_LENGTH = Notification._meta.get_field("subject").max_length
# The templates a person reads (everything but raw webhook events).
COMMUNICATION_TEMPLATES = list(SUBJECTS)
# Public templates go to stakeholders and show on the reporter's timeline; the rest are internal.
PUBLIC_TEMPLATES = {
    Template.INCIDENT_NOTIFICATION,
    Template.STATUS_UPDATE,
    Template.RESOLUTION_NOTICE,
    Template.CLOSURE_REQUEST,
}
# Written to the people an incident concerns, about their own incident: they reach a security incident's
# caller too (a Status Update someone writes; the Fix confirmation request, addressed only to the caller).
ADDRESSED_TEMPLATES = (Template.STATUS_UPDATE, Template.CLOSURE_REQUEST)


# Sent beyond the support roles (stakeholders' addresses, the caller, the reporter): never with internal
# work notes, raw monitoring labels or links into the admin (`incident_link`).
OUTSIDE_TEMPLATES = PUBLIC_TEMPLATES | {Template.POST_INCIDENT_SUMMARY, Template.INCIDENT_DIGEST}

# A line of monitoring labels, as the alert intake writes them into a monitoring incident's description
# ("Labels: alertname=HostDown, instance=pve-03:9100") or as they are pasted ("{alertname=...}").
_LABEL_LINE = re.compile(r"^\s*(labels\s*:|\{?\s*[A-Za-z_][\w.]*\s*=)", re.IGNORECASE)


def stakeholder_link(incident: Incident) -> str:
    """Where someone outside the support roles follows an incident: nowhere yet. They cannot open the admin;
    the portal's status page, when there is one, is linked from here, the one place stakeholder-facing
    messages take their link from."""
    return ""


def admin_link(incident: Incident) -> str:
    """The incident's page in the admin, for staff messages."""
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    return f"{site}/admin/incidents/incident/{incident.pk}/change/" if site else ""


def incident_link(incident: Incident, *, template: str) -> str:
    return stakeholder_link(incident) if template in OUTSIDE_TEMPLATES else admin_link(incident)


def outside_description(incident: Incident) -> str:
    """The description as someone outside the support roles reads it: without lines of monitoring labels,
    nor any line quoting one of the incident's alert labels (`name=value`)."""
    labels = getattr(getattr(incident, "alert", None), "labels", None) or {}
    quoted = [f"{name}={value}" for name, value in labels.items() if value]
    kept = [
        line
        for line in incident.description.splitlines()
        if not _LABEL_LINE.match(line) and not any(pair in line for pair in quoted)
    ]
    return "\n".join(kept).strip()


def render(
    *,
    template: str,
    incident: Incident,
    extra: dict | None = None,
    internal: bool = False,
    time_zone: str = "",
) -> tuple[str, str, str]:
    """Subject, plain-text body and HTML body of a communication about an incident, its times in
    `time_zone` (an IANA name; "" for `TIME_ZONE`, whichever user's request sends the message). The
    timeline highlights hold internal work notes only when `internal` (every reader may read them). The
    subject is one line whatever the title holds (`header_line`): a legacy title with CR/LF must not stop
    the mail."""
    outside = template in OUTSIDE_TEMPLATES
    context = {
        "incident": incident,
        "service": incident.service,
        "description": outside_description(incident) if outside else incident.description,
        "highlights": _highlights(incident, internal=internal),
        "next_update_at": _next_update_at(incident),
        "incident_url": incident_link(incident, template=template),
        "template_name": Template(template).label,
        **(extra or {}),
    }
    if template == Template.ESCALATION:
        context.setdefault("headline", escalation_headline(incident, context))
    subject = _subject(template, incident, context)
    with timezone.override(zoneinfo.ZoneInfo(time_zone) if time_zone else None):
        text = render_to_string(f"communications/{template}.txt", context).strip() + "\n"
        html = render_to_string(f"communications/{template}.html", context)
    return subject, text, html


def _subject(template: str, incident: Incident, context: dict) -> str:
    """The template's subject line, within SUBJECT_LENGTH: a long title is shortened (…) rather than what
    follows it (an escalation's level)."""
    level = context.get("level", "")
    values = {
        "severity": incident.severity or "S?",
        "number": incident.number,
        "title": header_line(incident.title),
        "level": level,
        "headline": context.get("headline", ""),
        "level_note": f" (level {level})" if level and not context.get("functional") else "",
    }
    subject = header_line(SUBJECTS[template].format(**values))
    excess = len(subject) - SUBJECT_LENGTH
    if excess > 0 and len(values["title"]) > excess:
        values["title"] = values["title"][: len(values["title"]) - excess - 1].rstrip() + "…"
        subject = header_line(SUBJECTS[template].format(**values))
    return subject[:SUBJECT_LENGTH].rstrip()


def _highlights(incident: Incident, *, internal: bool, limit: int = 6) -> list:
    events = incident.timeline.exclude(kind=EventKind.NOTIFICATION)
    if not internal:
        events = events.filter(visibility=Visibility.PUBLIC)
    return list(reversed(events.order_by("-created_at", "-pk")[:limit]))


def _next_update_at(incident: Incident):
    """The next status update the stakeholders can expect: the incident's status-update reminder interval
    (`message_rules.reminder_interval`) from now; none promised when no reminder rule covers it."""
    from .message_rules import reminder_interval

    interval = reminder_interval(incident) if incident.is_open else None
    return timezone.now() + interval if interval else None


def _message(*, template, incident, extra, internal, time_zone) -> tuple[str, str, str]:
    """`render` for a message about an incident; a message about none carries its own subject and body."""
    if incident is not None:
        return render(
            template=template, incident=incident, extra=extra, internal=internal, time_zone=time_zone
        )
    extra = extra or {}
    return header_line(extra.get("subject", "itsm"), max_length=SUBJECT_LENGTH), extra.get("body", ""), ""


def users_of(group_names: Iterable[str]) -> list:
    return list(
        User.objects.filter(groups__name__in=list(group_names), is_active=True).distinct().order_by("pk")
    )


def notify(
    *,
    incident: Incident | None,
    template: str,
    users: Iterable = (),
    emails: Iterable[str] = (),
    extra: dict | None = None,
    note: str = "",
    webhooks: bool = True,
) -> list[Notification]:
    """Queue a communication to users and addresses (deduplicated) and to every active webhook.

    A message about an incident reaches only the users who may see it (`incidents.selectors.may_see`);
    a security incident is confidential, so its automatic messages go to no outside address either (a
    status update someone writes to the stakeholders, and the caller's Fix confirmation request, still do;
    `ADDRESSED_TEMPLATES`). Internal work notes appear only when every reader may read them: no outside
    address, a template for staff, users of roles that read them."""
    users = list(users)
    emails = [e for e in emails if e]
    internal = False
    if incident is not None:
        users = [u for u in users if incident_selectors.may_see(u, incident)]
        if incident_selectors.is_security_incident(incident) and template not in ADDRESSED_TEMPLATES:
            emails = []
        internal = (
            template not in OUTSIDE_TEMPLATES
            and not emails
            and all(incident_selectors.can_see_internal(u) for u in users)
        )
    # Each address reads the times in its user's zone (the first user with that address decides); outside
    # addresses and webhooks in the site's. One rendering per zone.
    zones = incident_selectors.users_time_zones(users) if incident is not None else {}
    zone_of = {}
    for user in users:
        if user.email:
            zone_of.setdefault(user.email, zones.get(user.pk, ""))
    for address in emails:
        zone_of.setdefault(address, "")
    addresses = list(zone_of)
    renderings = {
        zone: _message(template=template, incident=incident, extra=extra, internal=internal, time_zone=zone)
        for zone in {"", *zone_of.values()}
    }
    subject, text, _html = renderings[""]  # webhooks'
    rows = []
    for address in addresses:
        zone_subject, zone_text, zone_html = renderings[zone_of[address]]
        rows.append(
            Notification(
                incident=incident,
                channel=Channel.EMAIL,
                recipient=address,
                template=template,
                subject=zone_subject,
                body=zone_text,
                html_body=zone_html,
            )
        )
    if webhooks:
        rows += [
            Notification(
                incident=incident,
                channel=Channel.WEBHOOK,
                recipient=hook.name,
                webhook=hook,
                template=template,
                subject=subject,
                body=text,
            )
            for hook in subscribed_hooks(event=WebhookEvent.NOTIFICATION, incident=incident)
        ]
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    if incident is not None:
        public = template in PUBLIC_TEMPLATES
        who = recipients_text(addresses, public=public)
        incident_services.timeline_record(
            incident=incident,
            kind=EventKind.NOTIFICATION,
            note=(note + " " if note else "")
            + f"{Template(template).label} sent to {who}"
            + (f" and {len(created) - len(addresses)} webhook(s)" if len(created) > len(addresses) else ""),
            data={"template": template, "recipients": addresses, "notifications": [n.pk for n in created]},
            visibility=Visibility.PUBLIC if public else Visibility.INTERNAL,
        )
    ids = [n.pk for n in created]
    if ids:
        # robust: the rows are committed; a failure to queue them (broker or database gone since) is logged
        # and left to the sweep, never raised into the request that committed them.
        transaction.on_commit(lambda: queue_delivery(ids), robust=True)
    return created


def recipients_text(addresses: list[str], *, public: bool) -> str:
    """Who a timeline entry says a message went to: the addresses (five, then "and N more") on an internal
    entry; only how many on a public one, which reporters and callers read (one recipient's address is no
    business of another's; staff find them in the outbox)."""
    if not addresses:
        return "no e-mail recipient"
    if public:
        return f"{len(addresses)} recipient{'s' if len(addresses) != 1 else ''}"
    return ", ".join(addresses[:5]) + (f" and {len(addresses) - 5} more" if len(addresses) > 5 else "")


def queue_delivery(ids: list[int]) -> None:
    """Queue a delivery task per notification still pending (some may have been settled meanwhile)."""
    from ..tasks import deliver_notification

    pending = Notification.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).values_list(
        "pk", flat=True
    )
    for pk in pending:
        if not publish(partial(deliver_notification.delay, pk), what=f"notification {pk}"):
            return  # the sweep re-queues pending rows: nothing is lost


def stakeholders(incident: Incident) -> list[str]:
    return incident.service.stakeholder_email_list if incident.service else []
