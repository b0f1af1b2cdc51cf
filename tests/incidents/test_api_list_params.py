"""The list's parameters say what they do: the source and time filters, `page_size` up to 500, an unknown
parameter a 400 naming it, and a count that stays cheap past `EXACT_COUNT_LIMIT` (PostgreSQL's estimate)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import paginators, services
from incidents.models import Incident
from tests.factories import incident_in

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIST = "/api/v1/incidents/"


def numbers(response):
    assert response.status_code == 200, response.data
    return {row["number"] for row in response.data["results"]}


def test_filter_by_source(api_as, manager):
    by_user = services.incident_create(user=manager, title="Printer jam")
    by_monitoring = services.incident_create(user=manager, title="OSD down")
    Incident.objects.filter(pk=by_monitoring.pk).update(source="monitoring")  # as an alert source logs it
    client = api_as(manager)
    assert numbers(client.get(LIST, {"source": "monitoring"})) == {by_monitoring.number}
    assert numbers(client.get(LIST, {"source": "user"})) == {by_user.number}
    response = client.get(LIST, {"source": "rumour"})
    assert response.status_code == 400 and "source" in response.data["errors"]


def test_filter_by_creation_and_resolution_times(api_as, manager):
    with time_machine.travel(T0, tick=False):
        early = incident_in("resolved", manager=manager, title="early")
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        late = incident_in("resolved", manager=manager, title="late")
        open_one = incident_in("investigating", manager=manager, title="open")
    client = api_as(manager)
    middle = (T0 + timedelta(days=1)).isoformat()
    assert numbers(client.get(LIST, {"created_before": middle})) == {early.number}
    assert numbers(client.get(LIST, {"created_after": middle})) == {late.number, open_one.number}
    assert numbers(client.get(LIST, {"resolved_after": middle})) == {late.number}
    assert numbers(client.get(LIST, {"resolved_before": middle})) == {early.number}
    # the lower bound is inclusive, the upper exclusive: a day split in two halves loses nothing
    exact = early.created_at.isoformat()
    assert numbers(client.get(LIST, {"created_after": exact, "created_before": middle})) == {early.number}
    assert numbers(client.get(LIST, {"created_before": exact})) == set()
    for field, value in [
        ("created_after", "last tuesday"),
        ("created_after", "9999-12-31T23:59:59-14:00"),  # no such time in UTC
        ("resolved_before", "0001-01-01T00:00:00+14:00"),
    ]:
        response = client.get(LIST, {field: value})
        assert response.status_code == 400 and field in response.data["errors"], value


def test_is_major_filter(api_as, manager):
    incident_in("investigating", manager=manager, urgency="low", impact="low")
    major = incident_in("investigating", manager=manager, urgency="low", impact="low")
    Incident.objects.filter(pk=major.pk).update(is_major=True)
    assert numbers(api_as(manager).get(LIST, {"is_major": "true"})) == {major.number}


def test_an_unknown_parameter_is_a_400_naming_it(api_as, manager):
    incident_in("investigating", manager=manager)
    client = api_as(manager)
    response = client.get(LIST, {"sauce": "monitoring", "state": "investigating"})
    assert response.status_code == 400
    assert list(response.data["errors"]) == ["sauce"]
    assert "state" in response.data["errors"]["sauce"][0]  # says what the list understands
    # what every list reads is known: page, page_size, ordering, format
    ok = client.get(LIST, {"page": 1, "page_size": 10, "ordering": "-number", "format": "json"})
    assert ok.status_code == 200
    for other in ("/api/v1/services/", "/api/v1/sla-policies/", "/api/v1/escalation-policies/"):
        assert client.get(other, {"colour": "red"}).status_code == 400, other
    assert client.get("/api/v1/services/", {"search": "ceph"}).status_code == 200
    # a detail URL names one incident whatever the query says
    number = Incident.objects.get().number
    assert client.get(f"{LIST}{number}/", {"sauce": "x"}).status_code == 200


def test_page_size(api_as, manager):
    for i in range(4):
        services.incident_create(user=manager, title=f"incident {i}")
    client = api_as(manager)
    page = client.get(LIST, {"page_size": 3}).data
    assert len(page["results"]) == 3 and page["count"] == 4 and page["next"]
    assert "page_size=3" in page["next"]
    assert len(client.get(LIST, {"page_size": 500}).data["results"]) == 4
    for bad in ("501", "0", "-2", "many"):
        response = client.get(LIST, {"page_size": bad})
        assert response.status_code == 400, bad
        assert "500" in response.data["errors"]["page_size"][0]


def test_query_count_does_not_grow_with_the_page_size(api_as, manager):
    for i in range(6):
        incident_in("investigating", manager=manager, title=f"incident {i}")
    client = api_as(manager)

    def queries(size):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST, {"page_size": size})
        assert len(response.data["results"]) == min(size, 6)
        return len(ctx.captured_queries)

    assert queries(1) == queries(6) == queries(500)


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(paginators, "EXACT_COUNT_LIMIT", 3)


def test_an_empty_list_has_one_empty_page(api_as, manager):
    client = api_as(manager)
    page = client.get(LIST, {"search": "nothing-like-this"}).data
    assert page["count"] == 0 and page["results"] == [] and page["next"] is None
    for number, status in [(1, 200), ("last", 200), (2, 404), (6, 404)]:
        response = client.get(LIST, {"search": "nothing-like-this", "page": number})
        assert response.status_code == status, number


def test_counts_up_to_the_limit_are_exact(api_as, manager, small_limit):
    for i in range(3):
        services.incident_create(user=manager, title=f"incident {i}")
    page = api_as(manager).get(LIST, {"page_size": 2}).data
    assert page["count"] == 3 and page["count_is_exact"] is True


def test_beyond_the_limit_postgresql_estimates_and_pages_still_end_right(
    postgres, api_as, manager, small_limit
):
    for i in range(7):
        services.incident_create(user=manager, title=f"incident {i}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident")
    client = api_as(manager)
    first = client.get(LIST, {"page_size": 3}).data
    assert first["count_is_exact"] is False
    assert first["count"] >= 4  # the planner's figure, never below what was seen
    seen, page = [], first
    while True:
        seen += [row["number"] for row in page["results"]]
        if not page["next"]:
            break
        page = client.get(page["next"]).data
    assert len(seen) == len(set(seen)) == 7  # the last page knows it is last from its own extra row
    assert client.get(LIST, {"page_size": 3, "page": 9}).status_code == 404


def test_other_databases_count_exactly_beyond_the_limit(api_as, manager, small_limit):
    if connection.vendor == "postgresql":
        pytest.skip("the estimate is PostgreSQL's; see the test above")
    for i in range(5):
        services.incident_create(user=manager, title=f"incident {i}")
    page = api_as(manager).get(LIST, {"page_size": 2}).data
    assert page["count"] == 5 and page["count_is_exact"] is True


def test_the_admin_list_says_about_for_an_estimate(postgres, client, manager, small_limit):
    for i in range(5):
        services.incident_create(user=manager, title=f"disk failing {i}")
    services.incident_create(user=manager, title="disk failing badly")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident")
    client.force_login(manager)
    page = client.get("/admin/incidents/incident/", {"state": "all", "q": "disk"}).content.decode()
    assert re.search(r"about \d+ results", page)
    exact = client.get("/admin/incidents/incident/", {"state": "all", "q": "badly"}).content.decode()
    assert re.search(r"\b1 result\b", exact) and not re.search(r"about \d+ result", exact)


def test_an_estimate_short_of_the_rows_still_reaches_every_page(api_as, manager, small_limit, monkeypatch):
    for i in range(7):
        services.incident_create(user=manager, title=f"incident {i}")
    monkeypatch.setattr(paginators, "planner_estimate", lambda queryset: 4)  # statistics far behind
    client = api_as(manager)
    page, seen = client.get(LIST, {"page_size": 2}).data, []
    assert page["count"] == 4 and page["count_is_exact"] is False
    while True:
        seen += [row["number"] for row in page["results"]]
        if not page["next"]:
            break
        page = client.get(page["next"]).data
    assert len(set(seen)) == 7
    assert client.get(LIST, {"page_size": 2, "page": 5}).status_code == 404
    assert client.get(LIST, {"page_size": 2, "page": "two"}).status_code == 404
