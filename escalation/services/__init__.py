"""Every write of the escalation app. Split by the seed's three escalation types plus the outbox."""

from .audit import requeue_pending, watchdog
from .delivery import deliver
from .functional import escalate_tier
from .heartbeats import heartbeat_record
from .hierarchical import fire_due, missed_breaches, overdue, reschedule, sweep
from .major import (
    clear_major,
    declare_major,
    is_emergency,
    on_closed,
    on_resolved,
    send_incident_notification,
    send_major_reminders,
    send_status_update,
)
from .notifications import notify, render
from .outbox_admin import notification_retry
from .policies import policy_replace_steps, step_errors
from .security import page_security_team
from .webhook_urls import check_webhook_url
from .webhooks import emit as emit_webhook_event
from .webhooks import emit_for_transition

__all__ = [
    "check_webhook_url",
    "clear_major",
    "declare_major",
    "deliver",
    "emit_for_transition",
    "emit_webhook_event",
    "escalate_tier",
    "fire_due",
    "heartbeat_record",
    "is_emergency",
    "missed_breaches",
    "notification_retry",
    "notify",
    "on_closed",
    "on_resolved",
    "overdue",
    "page_security_team",
    "policy_replace_steps",
    "render",
    "requeue_pending",
    "reschedule",
    "send_incident_notification",
    "send_major_reminders",
    "send_status_update",
    "step_errors",
    "sweep",
    "watchdog",
]
