"""The API's one translation of errors into HTTP: every error body is
`{"detail": "...", "code": "...", "errors": {field: [...]}}` (`errors` only for invalid input).

- django `ValidationError` (raised by services) and DRF `ValidationError` → 400, code `invalid`;
- django or DRF `PermissionDenied` → 403, keeping the service's message;
- `TransitionNotAllowed` → 409, code `transition_not_allowed`, with `state` and `allowed_transitions`;
- any other `Conflict` → 409 with its code;
- `PayloadTooLarge` → 413, code `payload_too_large`;
- `Http404` → 404; missing or bad credentials → 401; unparsable bodies → 400 `parse_error` (also JSON nested
  too deeply, `incidents.api.parsers`);
- a database connection lost or refused (django `OperationalError`, `InterfaceError`) → 503, code
  `database_unavailable`, with `Retry-After`: the transaction rolled back (the incident write views answer
  inside theirs, so a 503 there never follows a commit), and the same request succeeds once the database
  answers again. Outside the API (the admin) a plain 503 page says the same (`database_unavailable`, also
  reached from `server_error` when a middleware failed).

Errors Django answers before a view runs (a URL no route matches, a request it refuses, a crash) take the
same shape under `/api/`: `not_found`, `bad_request` and `server_error` are the project's handlers.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from incidents.exceptions import Conflict, PayloadTooLarge, TransitionNotAllowed

from . import parsers

logger = logging.getLogger(__name__)


# Connection terminated, server restarting, too many clients, statement or lock timeout: the database, not the
# request, is at fault, and a retry a few seconds later succeeds. Django wraps psycopg's errors in these.
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = (
    "The database is unavailable; the request was not completed. Try again in a few seconds."
)


def exception_handler(exc, context):
    if isinstance(exc, DATABASE_ERRORS):
        return database_unavailable(context["request"], exc)
    if isinstance(exc, TransitionNotAllowed):
        return Response(
            {
                "detail": str(exc),
                "code": "transition_not_allowed",
                "state": exc.state,
                "allowed_transitions": list(exc.allowed),
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Conflict):
        return Response({"detail": str(exc), "code": exc.code, **exc.data}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, PayloadTooLarge):
        return Response(
            {"detail": str(exc), "code": exc.code}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:  # not an API error: let it be a real 500, it is a bug
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {_non_field(): response.data}
        response.data = {"detail": _summary(errors), "code": "invalid", "errors": errors}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"detail": str(detail), "code": _code(exc)}
    return response


def _non_field() -> str:
    return api_settings.NON_FIELD_ERRORS_KEY


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _summary(errors: dict) -> str:
    """One readable sentence for people reading logs; programs read `errors`."""
    parts = []
    for field, messages in errors.items():
        if isinstance(messages, list) and messages and not isinstance(messages[0], dict | list):
            text = " ".join(str(m) for m in messages)
        else:
            text = "invalid."
        parts.append(text if field == _non_field() else f"{field}: {text}")
    return "Invalid input. " + " ".join(parts) if parts else "Invalid input."


# --- Django's handlers (itsm.urls): the same body for the API's paths, Django's pages elsewhere ------------

API_PREFIX = "/api/"


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    if _is_api(request) and isinstance(exception, RequestDataTooBig):
        # DRF reads JSON and form bodies through `request.body`, which stops at Django's limit.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = parsers.too_large_message(size=parsers.declared_size(request), limit=limit)
        body = {"detail": detail, "code": "payload_too_large"}
        return JsonResponse(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if _is_api(request):
        return JsonResponse(
            {"detail": "Bad request.", "code": "bad_request"}, status=status.HTTP_400_BAD_REQUEST
        )
    return defaults.bad_request(request, exception)


def query_refused(request, errors: dict[str, list[str]]):
    """A query string refused before any view runs (`itsm.middleware`): under `/api/` the 400 of invalid
    input, naming each parameter in `errors`; elsewhere (the admin) a plain-text 400 saying why."""
    detail = _summary(errors)
    if _is_api(request):
        body = {"detail": detail, "code": "invalid", "errors": errors}
        return JsonResponse(body, status=status.HTTP_400_BAD_REQUEST)
    return HttpResponseBadRequest(detail.encode(), content_type="text/plain; charset=utf-8")


def database_unavailable(request, exc: Exception):
    """503 with Retry-After: the API's error body under `/api/`, a plain page elsewhere (it needs neither the
    database nor a template that could fail too)."""
    logger.warning(
        "%s %s: database unavailable (%s: %s)", request.method, request.path, type(exc).__name__, exc
    )
    if _is_api(request):
        response = JsonResponse(
            {"detail": DATABASE_UNAVAILABLE, "code": "database_unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    else:
        page = (
            "<!doctype html><title>Service unavailable</title>"
            f"<h1>Service unavailable (503)</h1><p>{DATABASE_UNAVAILABLE}</p>"
        )
        response = HttpResponse(page, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request):
    # Django calls this while handling the exception: a database lost in a middleware (reading the session or
    # the user) arrives here, where no view's exception handling saw it.
    exc = sys.exception()
    if isinstance(exc, DATABASE_ERRORS):
        return database_unavailable(request, exc)
    if _is_api(request):
        body = {"detail": "Server error: the request could not be completed.", "code": "server_error"}
        return JsonResponse(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return defaults.server_error(request)
