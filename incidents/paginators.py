"""Counting what a list shows stays cheap at a million rows (the API's lists and the admin's incident list).

Counting every row a filter matches costs a scan of them all (124 ms for a million incidents on PostgreSQL), on
every page. Up to `EXACT_COUNT_LIMIT` rows the count is exact and costs a scan of at most that many; beyond it,
on PostgreSQL, `count` is the planner's estimate for the same query and `count_is_exact` is false (other
databases count exactly). Whether a next page exists never rests on the estimate: such a page reads one row
more than it shows.
"""

from __future__ import annotations

import json
from functools import cached_property

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections

EXACT_COUNT_LIMIT = 10_000


class EstimatedCountPaginator(Paginator):
    """A paginator whose `count` is exact up to `EXACT_COUNT_LIMIT` and PostgreSQL's estimate beyond."""

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        # Unordered: counting needs no sort, and the first rows any index yields will do.
        capped = self.object_list.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if capped <= EXACT_COUNT_LIMIT:
            return capped, True
        estimate = planner_estimate(self.object_list)
        if estimate is None:
            return self.object_list.count(), True
        return max(estimate, capped), False

    @property
    def count(self) -> int:
        return self._counted[0]

    @property
    def count_is_exact(self) -> bool:
        return self._counted[1]

    def validate_number(self, number):
        """With an estimated count any page from 1 on may exist (the estimate may fall short of the rows);
        a page past the last row is empty, and `page` refuses that."""
        if self.count_is_exact:
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number):
        number = self.validate_number(number)
        if self.count_is_exact:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        return EstimatedPage(rows[: self.per_page], number, self, has_more=len(rows) > self.per_page)


class EstimatedPage(Page):
    """A page of an estimated count: it knows from its own extra row whether another follows."""

    def __init__(self, object_list, number, paginator, *, has_more: bool):
        super().__init__(object_list, number, paginator)
        self.has_more = has_more

    def has_next(self) -> bool:
        return self.has_more


def planner_estimate(queryset) -> int | None:
    """The number of rows PostgreSQL's planner expects `queryset` to return (its statistics, no scan); None on
    other databases."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
