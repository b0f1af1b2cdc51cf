"""The hourly incident digest: Incident Notifications a message rule collects instead of sending at once
(by default S3 and S4), one message per recipient listing their incidents.

Queued rows (`DigestItem`) are written in the classification's transaction; the hourly beat task sends
what is pending. A run locks the rows it sends, so two runs at once send each row once, and a worker that
was down sends everything at its next run: nothing is lost."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from incidents import selectors as incident_selectors
from incidents import services as incident_services
from incidents.choices import EventKind, State, Visibility
from incidents.models import Incident
from incidents.output_safety import header_line

from ..choices import Channel, Template
from ..models import DigestItem, Notification
from .notifications import (
    SUBJECT_LENGTH,
    outside_description,
    queue_delivery,
    recipients_text,
    stakeholder_link,
)


def digest_queue(
    *, incident: Incident, template: str, users: Iterable = (), emails: Iterable[str] = ()
) -> int:
    """Queue `template` about the incident for the next digest of each recipient, once per address. The
    visibility rule applies as for any message (`notify`): only users who may see the incident, and no
    outside address for a security incident. Returns how many rows were queued."""
    recipients: dict[str, object] = {}
    for user in users:
        if user.email and incident_selectors.may_see(user, incident):
            recipients.setdefault(user.email, user)
    if not incident_selectors.is_security_incident(incident):
        for address in emails:
            if address:
                recipients.setdefault(address, None)
    rows = [
        DigestItem(incident=incident, recipient=address, user=user, template=template)
        for address, user in recipients.items()
    ]
    created = DigestItem.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        incident_services.timeline_record(
            incident=incident,
            kind=EventKind.NOTIFICATION,
            note=f"{Template(template).label} to {len(rows)} recipient(s) waits for the hourly digest",
            data={"template": template, "recipients": list(recipients), "digest": True},
        )
    return len(created)


def _still_news(item: DigestItem) -> bool:
    """Whether the incident still belongs in the recipient's digest. It may have changed since it was
    queued: cancelled (logged by mistake: nothing to announce), closed (the Resolution Notice told them),
    reclassified as security or handed elsewhere (the recipient may no longer see it)."""
    if item.incident.state in (State.CANCELLED, State.CLOSED):
        return False
    if item.user is not None:
        return item.user.is_active and incident_selectors.may_see(item.user, item.incident)
    return not incident_selectors.is_security_incident(item.incident)


def render_digest(*, incidents: list[Incident], time_zone: str = "") -> tuple[str, str, str]:
    """Subject, text and HTML of a digest listing `incidents`, its times in `time_zone` ("" for the site's).
    Written for readers outside the support roles: no monitoring labels, no link into the admin."""
    entries = [
        {
            "incident": incident,
            "description": outside_description(incident),
            "url": stakeholder_link(incident),
        }
        for incident in incidents
    ]
    numbers = ", ".join(incident.number for incident in incidents)
    subject = f"Incident digest: {len(incidents)} incident{'s' if len(incidents) != 1 else ''} ({numbers})"
    context = {"entries": entries}
    with timezone.override(zoneinfo.ZoneInfo(time_zone) if time_zone else None):
        text = render_to_string("communications/incident_digest.txt", context).strip() + "\n"
        html = render_to_string("communications/incident_digest.html", context)
    return header_line(subject, max_length=SUBJECT_LENGTH), text, html


def send_incident_digests(*, now: datetime | None = None) -> int:
    """Every hour (celery beat): one digest per recipient of what waits for them, oldest incident first;
    an incident no longer news to the recipient (`_still_news`) is left out (its row settled without a
    message). Each incident's public timeline says how many it was sent to (not who). Returns the number
    of digests queued for delivery."""
    now = now or timezone.now()
    with transaction.atomic():
        items = list(
            DigestItem.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(settled_at__isnull=True, queued_at__lte=now)
            .select_related("incident__service", "user")
            .order_by("recipient", "incident__created_at", "pk")
        )
        by_recipient: dict[str, list[DigestItem]] = defaultdict(list)
        for item in items:
            by_recipient[item.recipient].append(item)
        zones = incident_selectors.users_time_zones([i.user for i in items if i.user is not None])
        rows, sent_to = [], defaultdict(list)
        for recipient, pending in by_recipient.items():
            kept = [item for item in pending if _still_news(item)]
            if not kept:
                continue
            user = next((item.user for item in kept if item.user is not None), None)
            subject, text, html = render_digest(
                incidents=[item.incident for item in kept], time_zone=zones.get(user.pk, "") if user else ""
            )
            notification = Notification(
                channel=Channel.EMAIL,
                recipient=recipient,
                template=Template.INCIDENT_DIGEST,
                subject=subject,
                body=text,
                html_body=html,
                created_at=now,
                next_attempt_at=now,
            )
            rows.append((notification, kept))
        Notification.objects.bulk_create([notification for notification, _ in rows])
        for notification, kept in rows:
            for item in kept:
                item.notification = notification
                sent_to[item.incident].append(item.recipient)
        for item in items:
            item.settled_at = now
        DigestItem.objects.bulk_update(items, ["settled_at", "notification"])
        for incident, recipients in sent_to.items():
            who = recipients_text(recipients, public=True)
            incident_services.timeline_record(
                incident=incident,
                kind=EventKind.NOTIFICATION,
                note=f"{Template.INCIDENT_NOTIFICATION.label} sent in the hourly digest to {who}",
                data={"template": Template.INCIDENT_DIGEST, "recipients": recipients},
                visibility=Visibility.PUBLIC,
            )
        ids = [notification.pk for notification, _ in rows]
        if ids:
            transaction.on_commit(lambda: queue_delivery(ids), robust=True)  # as in notify()
    return len(ids)
