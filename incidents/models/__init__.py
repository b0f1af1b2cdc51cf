"""Incident data: the lifecycle core (`core`) and monitoring alert intake (`alerts`).

Everything is re-exported here, so `from incidents.models import Incident` keeps working wherever a model
lives.
"""

from .alerts import AlertPayload, AlertSource, IncidentAlert
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

__all__ = [
    "AlertPayload",
    "AlertSource",
    "ChecklistItem",
    "Comment",
    "CommentManager",
    "Incident",
    "IncidentAlert",
    "IncidentQuerySet",
    "NumberSequence",
    "Problem",
    "ResponsePlan",
    "ResponsePlanStep",
    "Service",
    "SlaPolicy",
    "SupportTier",
    "TimelineEvent",
    "resolution_breached_q",
    "response_breached_q",
]
