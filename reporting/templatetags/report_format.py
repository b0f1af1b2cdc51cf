from django import template

from reporting import formatting

register = template.Library()

for _name in ("duration", "percent", "availability", "minutes", "when", "met", "dash"):
    register.filter(_name, getattr(formatting, _name))


@register.filter
def get(mapping, key):
    """`{{ row.incidents|get:"S1" }}`: dictionary lookup by a variable key."""
    return (mapping or {}).get(key)
