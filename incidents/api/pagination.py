"""Pages of the API's lists: `?page=` and `?page_size=` (1 to 500, default 50), with a count that stays cheap at
a million rows (`incidents.paginators`: exact up to 10,000, PostgreSQL's estimate beyond, `count_is_exact`
says which).
"""

from __future__ import annotations

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from incidents import paginators

MAX_PAGE_SIZE = 500


class Pagination(pagination.PageNumberPagination):
    """The API's page-number pagination (REST_FRAMEWORK's default)."""

    django_paginator_class = paginators.EstimatedCountPaginator
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        try:
            size = int(value)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return size

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "count_is_exact": self.page.paginator.count_is_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"]["description"] = (
            f"Rows matching the query: exact up to {paginators.EXACT_COUNT_LIMIT:,}, PostgreSQL's estimate beyond."
        )
        response["properties"]["count_is_exact"] = {"type": "boolean", "example": True}
        response["required"] = [*response.get("required", []), "count_is_exact"]
        return response
