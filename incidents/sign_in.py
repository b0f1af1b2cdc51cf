"""What a sign-in refused by the lockout (django-axes, configured in settings) answers: 429 with Retry-After
and one message saying for how long and who can release it. The admin's sign-in page shows it on a page of
its own (AXES_LOCKOUT_CALLABLE); the API's token endpoint raises `SignInLocked` (code `locked_out`). And the
username Axes records and locks (AXES_USERNAME_CALLABLE)."""

from __future__ import annotations

import math

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from rest_framework import exceptions, status

# Axes stores the username as typed in a varchar(255); PostgreSQL refuses a longer one (a 500). No account
# name is that long (150 at most), so cutting it changes no real account's lock.
USERNAME_MAX_LENGTH = AccessAttempt._meta.get_field("username").max_length


def lockout_username(request, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: Axes' own choice (the credentials, else the posted form), cut to the column."""
    if credentials:
        username = credentials.get(settings.AXES_USERNAME_FORM_FIELD)
    else:
        username = getattr(request, "data", request.POST).get(settings.AXES_USERNAME_FORM_FIELD)
    return username[:USERNAME_MAX_LENGTH] if isinstance(username, str) else username


def retry_after_seconds() -> int:
    """Axes counts the lockout from the latest failed attempt (attempts while locked out restart it)."""
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_message() -> str:
    minutes = math.ceil(retry_after_seconds() / 60)
    return (
        "Too many failed sign-ins for this account or from this address: signing in is refused for "
        f"{minutes} minute{'s' if minutes != 1 else ''} after the latest attempt. "
        "An Incident Manager can release the lock sooner."
    )


class SignInLocked(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self):
        super().__init__(lockout_message())
        self.wait = retry_after_seconds()  # DRF's handler sends it as Retry-After


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the admin's sign-in page, refused."""
    context = {**admin.site.each_context(request), "title": "Sign-in locked", "message": lockout_message()}
    response = render(request, "admin/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
    response["Retry-After"] = str(retry_after_seconds())
    return response
