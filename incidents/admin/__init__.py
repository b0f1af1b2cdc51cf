"""Admin registrations: the incident workbench and the reference data (autodiscover imports this package)."""

from .incident import IncidentAdmin
from .reference import ProblemAdmin, ResponsePlanAdmin, ServiceAdmin, SlaPolicyAdmin, SupportTierAdmin

__all__ = [
    "IncidentAdmin",
    "ProblemAdmin",
    "ResponsePlanAdmin",
    "ServiceAdmin",
    "SlaPolicyAdmin",
    "SupportTierAdmin",
]
