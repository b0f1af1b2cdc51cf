"""Every write to incidents goes through these functions: the admin, the API, management commands and
Celery tasks call them, so each rule lives in one place.

Each transition service locks the incident row, checks the user's permission and the current state, calls
the django-fsm transition, saves with the history user and reason, records the timeline event and sends
`incident_transitioned` once the transaction has committed.

- `base`: input checks, saving, timeline entries and the locked, checked transition;
- `records`: logging incidents and editing (or correcting) their records;
- `lifecycle`: the transitions;
- `work`: comments, runbook steps, problem records;
- `attachments`: files sent with an incident;
- `reference`: SLA policies, the process settings and each user's own settings.
"""

from .attachments import attachment_add, clean_file_name
from .base import (
    EDITABLE_FIELDS,
    INVESTIGATION_FIELDS,
    PUBLIC_TRANSITIONS,
    TRANSITIONS,
    allowed_transitions,
    check_transition,
    next_number,
    tier_following,
    timeline_record,
)
from .caller import CALLER_FIELDS, clean_caller, default_caller
from .closure import (
    incident_auto_close,
    incident_caller_confirm,
    incident_caller_not_fixed,
    incidents_auto_close,
)
from .lifecycle import (
    INVESTIGATION_REQUIRED_FOR,
    TRANSITION_SERVICES,
    incident_cancel,
    incident_classify,
    incident_close,
    incident_hold,
    incident_investigate,
    incident_reopen,
    incident_resolve,
    incident_resume,
)
from .records import (
    CLASSIFICATION_FIELDS,
    incident_correct,
    incident_create,
    incident_log,
    incident_set_major,
    incident_set_tier,
    incident_update,
    is_editable,
    provisional_severity,
)
from .reference import process_settings_update, sla_policy_update, user_preference_set
from .work import (
    PROBLEM_EDITABLE_FIELDS,
    checklist_item_done,
    checklist_item_skip,
    comment_add,
    problem_create,
    problem_update,
)

__all__ = [
    "CALLER_FIELDS",
    "CLASSIFICATION_FIELDS",
    "EDITABLE_FIELDS",
    "INVESTIGATION_FIELDS",
    "INVESTIGATION_REQUIRED_FOR",
    "PROBLEM_EDITABLE_FIELDS",
    "PUBLIC_TRANSITIONS",
    "TRANSITIONS",
    "TRANSITION_SERVICES",
    "allowed_transitions",
    "attachment_add",
    "check_transition",
    "checklist_item_done",
    "checklist_item_skip",
    "clean_caller",
    "clean_file_name",
    "comment_add",
    "default_caller",
    "incident_auto_close",
    "incident_caller_confirm",
    "incident_caller_not_fixed",
    "incident_cancel",
    "incident_classify",
    "incident_close",
    "incident_correct",
    "incident_create",
    "incident_hold",
    "incident_investigate",
    "incident_log",
    "incident_reopen",
    "incident_resolve",
    "incident_resume",
    "incident_set_major",
    "incident_set_tier",
    "incident_update",
    "incidents_auto_close",
    "is_editable",
    "next_number",
    "problem_create",
    "problem_update",
    "process_settings_update",
    "provisional_severity",
    "sla_policy_update",
    "tier_following",
    "timeline_record",
    "user_preference_set",
]
