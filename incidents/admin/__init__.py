"""Admin registrations: the incident workbench, the reference data and the monitoring integrations
(autodiscover imports this package)."""

from .alerts import AlertPayloadAdmin, AlertSourceAdmin
from .incident import IncidentAdmin
from .reference import ProblemAdmin, ResponsePlanAdmin, ServiceAdmin, SlaPolicyAdmin, SupportTierAdmin

__all__ = [
    "AlertPayloadAdmin",
    "AlertSourceAdmin",
    "IncidentAdmin",
    "ProblemAdmin",
    "ResponsePlanAdmin",
    "ServiceAdmin",
    "SlaPolicyAdmin",
    "SupportTierAdmin",
]
