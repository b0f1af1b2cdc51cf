"""`{% load incident_text %}`: how incidents read in messages. `{{ event|event_summary }}` is one timeline
entry on one line, each word once (`incidents.timeline`); `{% alert_links incident as links %}` are the
links monitoring sent with the alert behind the incident (`incidents.selectors.alert_links`)."""

from django import template

from incidents import selectors, timeline

register = template.Library()

register.filter("event_summary", timeline.event_summary)


@register.simple_tag
def alert_links(incident):
    return selectors.alert_links(incident) if incident is not None else []
