from django import template

from reporting import formatting
from reporting.kpi_definitions import KPI_DEFINITIONS

register = template.Library()

for _name in ("duration", "percent", "availability", "minutes", "when", "met", "dash"):
    register.filter(_name, getattr(formatting, _name))


@register.filter
def get(mapping, key):
    """`{{ row.incidents|get:"S1" }}`: dictionary lookup by a variable key."""
    return (mapping or {}).get(key)


@register.simple_tag
def kpi_definitions():
    """`{% kpi_definitions as definitions %}`: every KPI's exact definition, as every report prints it."""
    return KPI_DEFINITIONS
