"""Admin registrations: the incident workbench, the reference data, the monitoring integrations, the
API tokens and each user's own preferences (autodiscover imports this package)."""

from .alerts import AlertPayloadAdmin, AlertSourceAdmin
from .incident import IncidentAdmin
from .preferences import UserPreferenceAdmin
from .process import ProcessSettingsAdmin
from .reference import ProblemAdmin, ResponsePlanAdmin, ServiceAdmin, SlaPolicyAdmin, SupportTierAdmin
from .tokens import TokenAdmin

__all__ = [
    "AlertPayloadAdmin",
    "AlertSourceAdmin",
    "IncidentAdmin",
    "ProblemAdmin",
    "ProcessSettingsAdmin",
    "ResponsePlanAdmin",
    "ServiceAdmin",
    "SlaPolicyAdmin",
    "SupportTierAdmin",
    "TokenAdmin",
    "UserPreferenceAdmin",
]
