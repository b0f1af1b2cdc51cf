"""Every write of the escalation app. Split by the seed's three escalation types plus the outbox."""

from .audit import requeue_pending, watchdog
from .delivery import deliver
from .digest import send_incident_digests
from .functional import escalate_tier
from .heartbeats import heartbeat_record
from .hierarchical import fire_due, missed_breaches, overdue, queue_upcoming, reschedule, sweep
from .intake import announce_new_incident, first_line
from .major import (
    clear_major,
    declare_major,
    is_emergency,
    on_closed,
    on_resolved,
    send_incident_notification,
    send_status_update,
)
from .message_rules import message_rule_delete, message_rule_save, rule_errors
from .moments import (
    on_classified,
    send_post_incident_summary,
    send_resolution_notice,
    send_status_update_reminders,
)
from .notifications import notify, render
from .outbox_admin import notification_retry
from .policies import policy_replace_steps, step_errors
from .security import page_security_team
from .webhook_endpoints import webhook_redeliver, webhook_resume, webhook_rotate_secret
from .webhook_urls import check_webhook_url
from .webhooks import emit as emit_webhook_event
from .webhooks import emit_for_transition

__all__ = [
    "announce_new_incident",
    "check_webhook_url",
    "clear_major",
    "declare_major",
    "deliver",
    "emit_for_transition",
    "emit_webhook_event",
    "escalate_tier",
    "fire_due",
    "first_line",
    "heartbeat_record",
    "is_emergency",
    "message_rule_delete",
    "message_rule_save",
    "missed_breaches",
    "notification_retry",
    "notify",
    "on_classified",
    "on_closed",
    "on_resolved",
    "overdue",
    "page_security_team",
    "policy_replace_steps",
    "queue_upcoming",
    "render",
    "requeue_pending",
    "reschedule",
    "rule_errors",
    "send_incident_digests",
    "send_incident_notification",
    "send_post_incident_summary",
    "send_resolution_notice",
    "send_status_update",
    "send_status_update_reminders",
    "step_errors",
    "sweep",
    "watchdog",
    "webhook_redeliver",
    "webhook_resume",
    "webhook_rotate_secret",
]
