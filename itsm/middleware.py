"""Project-wide request checks that belong to no single app."""

from __future__ import annotations

from incidents.api.errors import DATABASE_ERRORS, database_unavailable, query_refused

NUL_QUERY_MESSAGE = "Query parameters may not contain NUL bytes."
NUL_HEADER_MESSAGE = "Headers may not contain NUL bytes."


class RefuseNulMiddleware:
    """Refuse (400) a request whose query string or headers hold a NUL character (`?q=%00`, `?state=a%00b`).

    PostgreSQL refuses NUL in text, so any filter, search or ordering that reached a query with one was a
    500: the admin changelists' `q` and list filters, DRF's `?search=` and `?ordering=`, the django-filter
    parameters, the reports' periods. No parameter of this project can mean anything with a NUL in it, so
    one check here, before any view, covers every list that exists and every one added later. Under
    `/api/` the answer is the API's invalid-input body naming the parameters (`incidents.api.errors`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = {
            name.replace("\x00", "\\x00"): [NUL_QUERY_MESSAGE]
            for name, values in request.GET.lists()
            if "\x00" in name or any("\x00" in value for value in values)
        }
        # Headers too: sign-in records the User-Agent (django-axes), and PostgreSQL refuses NUL there.
        refused.update(
            {
                f"header {name[5:].replace('_', '-').title()}": [NUL_HEADER_MESSAGE]
                for name, value in request.META.items()
                if name.startswith("HTTP_") and isinstance(value, str) and "\x00" in value
            }
        )
        if refused:
            return query_refused(request, refused)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A view that lost its database connection (PostgreSQL restarted, the connection terminated) answers
    503 with Retry-After instead of 500: the admin a plain page, `/api/` the API's error body. The
    service's transaction rolled back, and Django drops the broken connection at the end of the request,
    so the next request gets a fresh one (`CONN_HEALTH_CHECKS` for persistent connections). DRF views map
    it themselves (`incidents.api.errors.exception_handler`); a middleware failing the same way reaches
    `server_error`, which does the same."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable(request, exception)
        return None
