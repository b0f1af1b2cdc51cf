"""Incident data: the lifecycle core (`core`), monitoring alert intake (`alerts`), files sent with incidents (`attachments`), the admin's view of
API tokens (`tokens`) and each user's own preferences (`preferences`) and the process's adjustable defaults (`process`).

Everything is re-exported here, so `from incidents.models import Incident` keeps working wherever a model
lives.
"""

from .alerts import Alert, AlertPayload, AlertSource, IncidentAlert
from .attachments import Attachment
from .core import (
    ChecklistItem,
    Comment,
    CommentManager,
    Incident,
    IncidentQuerySet,
    NumberSequence,
    Problem,
    ResponsePlan,
    ResponsePlanStep,
    Service,
    SlaPolicy,
    SupportTier,
    TimelineEvent,
    resolution_breached_q,
    response_breached_q,
)
from .preferences import UserPreference
from .process import ProcessSettings
from .tokens import ApiToken

__all__ = [
    "Alert",
    "AlertPayload",
    "AlertSource",
    "ApiToken",
    "Attachment",
    "ChecklistItem",
    "Comment",
    "CommentManager",
    "Incident",
    "IncidentAlert",
    "IncidentQuerySet",
    "NumberSequence",
    "Problem",
    "ProcessSettings",
    "ResponsePlan",
    "ResponsePlanStep",
    "Service",
    "SlaPolicy",
    "SupportTier",
    "TimelineEvent",
    "UserPreference",
    "resolution_breached_q",
    "response_breached_q",
]
