"""One id per request, on the response (`X-Request-ID`) and on every log line written while serving it, so
a line in the logs, the proxy's access log and what a user reports can be matched up.

The id comes from `X-Request-ID` only when the request arrived from a trusted proxy (TRUSTED_PROXIES; nginx
sends its `$request_id`) and looks like an id; otherwise, a client could write anything into our logs, so a
new one is made (uuid4, hex).
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from django.conf import settings

from itsm.client_address import from_trusted_proxy, trusted_networks

HEADER = "X-Request-ID"
# What proxies and tracing tools send (nginx: 32 hex digits; uuids with dashes); nothing that could break a
# log line or a header.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,128}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this thread, or None outside a request."""
    return _current.get()


class RequestIdMiddleware:
    """First in MIDDLEWARE: it reads REMOTE_ADDR before ClientAddressMiddleware replaces the proxy's address
    with the client's, and its id is set for everything after it."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.trusted = trusted_networks(settings.TRUSTED_PROXIES)

    def request_id(self, request) -> str:
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        if (
            offered
            and _WELL_FORMED.fullmatch(offered)
            and from_trusted_proxy(request.META.get("REMOTE_ADDR", ""), self.trusted)
        ):
            return offered
        return uuid.uuid4().hex

    def __call__(self, request):
        request.request_id = self.request_id(request)
        token = _current.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on each record (None outside a request), for the JSON formatter and text formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _current.get()
        return True
