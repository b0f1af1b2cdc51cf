"""Wires the incident lifecycle to reporting. Connected in ReportingConfig.ready(); receivers only call
reporting services, inside the transition's transaction (so a review is drafted if and only if the
transition commits)."""

from django.dispatch import receiver

from incidents.signals import incident_transitioned

from . import services


@receiver(incident_transitioned, dispatch_uid="reporting.on_transition")
def on_transition(sender, incident, transition, from_state, user, **kwargs):
    # Drafted when a major incident is resolved; at close too, for one resolved before that rule (idempotent).
    if transition in ("resolve", "close") and incident.is_major:
        services.review_draft(incident=incident, user=user)
