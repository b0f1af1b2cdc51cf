"""Signals other apps (escalation, reporting) subscribe to, so `incidents` never imports them.

They are sent inside the service's transaction: a receiver's database writes (an escalation schedule,
outbox rows) commit or roll back with the change that caused them. Receivers must queue broker work
(Celery tasks) with `transaction.on_commit`, never directly.
"""

from django.dispatch import Signal

# kwargs: incident (locked, already saved), transition, from_state, user
incident_transitioned = Signal()
# kwargs: incident, user
incident_created = Signal()
# kwargs: incident, user, changed (list of field names)
incident_updated = Signal()
# kwargs: users (demo username → User). Sent by `load_demo` before it replays history (rotas, ...).
demo_staff_ready = Signal()
# kwargs: incident, now. Sent by `load_demo` as its replay moves an incident's clock forward, so other apps
# can do what their workers would have done by then (fire due escalations).
demo_time_passed = Signal()
# kwargs: users (demo username → User), history_before (real time the replayed history ends, or None when
# no history was generated). Sent by `load_demo` so other apps add their demo data (rotations, ...).
demo_data_loaded = Signal()
