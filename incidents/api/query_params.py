"""A list answers only the questions it understands: a query parameter it does not know is a 400 naming it,
rather than a page of everything that looks like an answer (`?source=monitoring` before that filter existed
returned every incident)."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.settings import api_settings


class RejectUnknownParameters(BaseFilterBackend):
    """First of every list's filter backends (REST_FRAMEWORK's default, and the views naming their own)."""

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "action", "list") != "list":
            return queryset
        known = known_parameters(view, queryset)
        unknown = sorted(name for name in request.query_params if name not in known)
        if unknown:
            raise ValidationError(
                {
                    name: [f"Unknown query parameter. This list understands: {', '.join(sorted(known))}."]
                    for name in unknown
                }
            )
        return queryset


def known_parameters(view, queryset) -> set[str]:
    """The names the view's filter backends and paginator read."""
    names = {api_settings.URL_FORMAT_OVERRIDE} - {None}
    for backend_class in view.filter_backends:
        backend = backend_class()
        get_filterset_class = getattr(backend, "get_filterset_class", None)
        if get_filterset_class:
            filterset = get_filterset_class(view, queryset)
            if filterset is not None:
                names |= set(filterset.base_filters)
        if hasattr(backend, "search_param") and getattr(view, "search_fields", None):
            names.add(backend.search_param)  # SearchFilter reads it only where the view names fields
        if hasattr(backend, "ordering_param"):
            names.add(backend.ordering_param)
    paginator = view.paginator
    if paginator is not None:
        for attribute in ("page_query_param", "page_size_query_param", "cursor_query_param"):
            if getattr(paginator, attribute, None):
                names.add(getattr(paginator, attribute))
    return names
