"""Outbound webhook subscriptions: incident events go out through the same outbox as every other message
(signed, retried with backoff, logged per delivery), to the hooks subscribed to them."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from incidents.models import Incident
from incidents.selectors import is_security_incident

from ..choices import Channel, WebhookEvent
from ..choices import Template as T
from ..models import Notification, Webhook


def subscribed_hooks(*, event: str, incident: Incident | None) -> list[Webhook]:
    """Active hooks subscribed to `event` whose service and severity filters let the incident through.
    Security incidents are confidential (`incidents.selectors`): nothing about them leaves through a
    webhook, whose readers the lab does not control."""
    if incident is not None and is_security_incident(incident):
        return []
    hooks = Webhook.objects.filter(is_active=True).prefetch_related("services")
    matching = []
    for hook in hooks:  # a handful of hooks, not incidents
        if event not in (hook.events or []):
            continue
        if incident is not None:
            service_ids = {s.pk for s in hook.services.all()}
            if service_ids and incident.service_id not in service_ids:
                continue
            if hook.severities and incident.severity not in hook.severities:
                continue
        matching.append(hook)
    return matching


def emit(*, incident: Incident, event: str, extra: dict | None = None) -> list[Notification]:
    """Queue `event` for every subscribed hook, with the incident's API representation as it is now."""
    hooks = subscribed_hooks(event=event, incident=incident)
    if not hooks:
        return []
    from incidents.api.serializers import IncidentSerializer

    payload = {
        "event": event,
        "occurred_at": timezone.now().isoformat(),
        "incident": IncidentSerializer(incident).data,
        **(extra or {}),
    }
    summary = f"{WebhookEvent(event).label}: {incident.number} {incident.title} ({incident.severity or 'unclassified'}, {incident.state})"
    rows = Notification.objects.bulk_create(
        Notification(
            incident=incident,
            channel=Channel.WEBHOOK,
            recipient=hook.name,
            webhook=hook,
            template=T.EVENT,
            subject=f"{event} {incident.number}",
            body=summary,
            payload={**payload, "text": summary},
        )
        for hook in hooks
    )
    from .notifications import queue_delivery

    ids = [n.pk for n in rows]
    transaction.on_commit(lambda: queue_delivery(ids), robust=True)  # as in notify(): the sweep re-queues
    return rows


TRANSITION_EVENTS = {
    "classify": WebhookEvent.CLASSIFIED,
    "resolve": WebhookEvent.RESOLVED,
    "close": WebhookEvent.CLOSED,
}


def emit_for_transition(*, incident: Incident, transition: str, from_state: str) -> None:
    if incident.state != from_state:
        emit(
            incident=incident,
            event=WebhookEvent.STATE_CHANGED,
            extra={"from_state": from_state, "transition": transition},
        )
    if transition in TRANSITION_EVENTS:
        emit(incident=incident, event=TRANSITION_EVENTS[transition])
