"""Signals other apps (escalation, reporting) subscribe to; sent after the transaction commits."""

from django.dispatch import Signal

# kwargs: incident_id, transition, from_state, to_state, user_id
incident_transitioned = Signal()
# kwargs: incident_id, user_id
incident_created = Signal()
