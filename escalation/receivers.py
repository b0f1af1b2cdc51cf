"""Wires the incident lifecycle to escalation. Connected in EscalationConfig.ready(); each receiver only
calls escalation services, inside the incident's transaction."""

from django.dispatch import receiver

from incidents.signals import (
    demo_data_loaded,
    demo_staff_ready,
    demo_time_passed,
    incident_created,
    incident_transitioned,
)

from . import services
from .choices import WebhookEvent


@receiver(incident_transitioned, dispatch_uid="escalation.on_transition")
def on_transition(sender, incident, transition, from_state, user, **kwargs):
    # Every transition can start, pause, move or stop a clock: recompute the schedule.
    services.reschedule(incident=incident)
    services.emit_for_transition(incident=incident, transition=transition, from_state=from_state)
    if transition == "classify":
        services.page_security_team(incident=incident, user=user)
        if services.is_emergency(incident) and not incident.is_major:
            services.declare_major(
                incident=incident,
                user=user,
                reason=f"{incident.severity} {incident.category} incident",
                automatic=True,
            )
        services.on_classified(incident=incident)  # the message rules say who is told, and when
    elif transition == "resolve":
        services.on_resolved(incident=incident)
    elif transition == "close":
        services.on_closed(incident=incident)


@receiver(demo_staff_ready, dispatch_uid="escalation.on_demo_staff_ready")
def on_demo_staff_ready(sender, users, **kwargs):
    from .demo import demo_rotations

    demo_rotations(users=users)


@receiver(demo_time_passed, dispatch_uid="escalation.on_demo_time_passed")
def on_demo_time_passed(sender, incident, now, **kwargs):
    from .demo import fire_due_on_time

    fire_due_on_time(until=now, incident_id=incident.pk)


@receiver(demo_data_loaded, dispatch_uid="escalation.on_demo_data_loaded")
def on_demo_data_loaded(sender, users, history_before, **kwargs):
    from .demo import settle_demo_history

    settle_demo_history(history_before=history_before)


@receiver(incident_created, dispatch_uid="escalation.on_created")
def on_created(sender, incident, user, **kwargs):
    # Logging starts the provisional severity's clocks: schedule its escalation and tell the first line.
    services.reschedule(incident=incident)
    services.emit_webhook_event(incident=incident, event=WebhookEvent.CREATED)
    services.announce_new_incident(incident=incident, user=user)
