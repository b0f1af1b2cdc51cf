"""Pages outside the admin and the API: the on-call calendar feeds that calendar applications subscribe to.

A feed's address is its only credential (`models.CalendarFeed`): no sign-in, which calendar applications
cannot do. An unknown or reset token, or a deactivated account's feed, is a 404 like any page that is not
there, so an address gives nothing away about the others.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from . import ical, selectors

CONTENT_TYPE = "text/calendar; charset=utf-8"


def feed_address(feed) -> str:
    """The feed's absolute address (`SITE_URL`), to paste into a calendar application."""
    return settings.SITE_URL.rstrip("/") + reverse("oncall-calendar", kwargs={"token": feed.token})


def webcal_address(feed) -> str:
    """The same address as a `webcal:` link, which opens the subscription dialog of a calendar application."""
    return "webcal://" + feed_address(feed).split("://", 1)[-1]


@require_safe
def oncall_calendar(request, token: str) -> HttpResponse:
    feed = selectors.calendar_feed_by_token(token=token)
    if feed is None:
        raise Http404("No such calendar.")
    now = timezone.now()
    if feed.rotation is not None:
        shifts = selectors.rotation_shifts(rotation=feed.rotation, now=now)
        body = ical.rotation_calendar(rotation=feed.rotation, shifts=shifts, now=now)
    else:
        shifts = selectors.user_shifts(user=feed.user, now=now)
        body = ical.user_calendar(user=feed.user, shifts=shifts, now=now)
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = 'inline; filename="oncall.ics"'
    # Private: the address is a secret; a shared cache must not keep the feed for anyone else.
    response["Cache-Control"] = "private, max-age=300"
    return response
