"""The indexes that keep lists fast at a million incidents are indexes PostgreSQL can use for the queries the
pages actually send. An expression index that no longer matches the query (the work list's order changed,
the migration did not) is silently ignored: these tests read the plans instead of timing anything."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.choices import State
from tests.factories import incident_in

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:incidents_incident_changelist")


def page_query(client, params) -> str:
    """The SQL of the incident list's page (the query ordered by the work list's rank)."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(CHANGELIST_URL, params).status_code == 200
    pages = [q["sql"] for q in captured if q["sql"].startswith("SELECT") and "ORDER BY CASE WHEN" in q["sql"]]
    assert len(pages) == 1, [q["sql"][:80] for q in captured]
    return pages[0]


@pytest.mark.parametrize("params", [{}, {"state": "all"}, {"state": "closed"}])
def test_the_work_list_page_is_read_in_order_from_its_index(postgres, client, manager, params):
    for state in (State.CLASSIFIED, State.ON_HOLD, State.CLOSED):
        incident_in(state, manager=manager)
    client.force_login(manager)
    sql = page_query(client, params)
    with connection.cursor() as cursor:
        # On a few rows a sort is cheaper than any index; forbid sorting to see whether the index can
        # deliver the order at all (if not, the plan still sorts, at a prohibitive cost, and names no index).
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "incident_work_order" in plan, plan
    assert "Sort Key" not in plan, plan
