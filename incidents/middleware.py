"""Each request runs in its user's time zone (`UserPreference`, default `TIME_ZONE`), so every time the admin
shows (fields, lists, history, the SLA header) is the user's local time, with the zone's abbreviation."""

from __future__ import annotations

from django.utils import timezone

from . import selectors


class UserTimeZoneMiddleware:
    """After `AuthenticationMiddleware`. A request without a signed-in user (an API token is checked later,
    by the view) keeps `TIME_ZONE` and costs no query; a signed-in one costs one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = selectors.user_time_zone(getattr(request, "user", None))
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()  # the thread serves the next request from the default again
