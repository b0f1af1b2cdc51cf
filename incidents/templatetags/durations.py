"""`{% load durations %}`: `{{ step.offset|exact_duration }}` ("15 min", "1 day 30 min"),
`{{ delta|human_duration }}` ("3 h 59 min"): durations as people write them (`incidents.formatting`)."""

from django import template

from incidents import formatting

register = template.Library()


def _lenient(write):
    """A template filter: what is no duration (a missing variable renders "") stays as it is."""

    def filter_(value):
        if value is None or value == "":
            return value
        try:
            return write(value)
        except (TypeError, ValueError):
            return value

    return filter_


register.filter("human_duration", _lenient(formatting.human_duration))
register.filter("exact_duration", _lenient(formatting.exact_duration))
