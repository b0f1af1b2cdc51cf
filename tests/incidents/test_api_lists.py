"""The incident list: filters, search, ordering, pagination, constant query count, and who sees what."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.pagination import PageNumberPagination

from incidents import services
from incidents.models import Incident
from tests.factories import ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIST = "/api/v1/incidents/"


def numbers(response):
    assert response.status_code == 200, response.data
    return {row["number"] for row in response.data["results"]}


@pytest.fixture
def mix(manager):
    """One incident per interesting case, created at T0 by the manager."""
    with time_machine.travel(T0, tick=False):
        ceph, web = ServiceFactory(slug="ceph"), ServiceFactory(slug="web-portal")
        return {
            "logged": incident_in("logged", manager=manager, title="Portal login slow", service=web),
            "s1": incident_in("classified", manager=manager, title="Ceph cluster down", service=ceph),
            "s4": incident_in(
                "investigating", manager=manager, urgency="low", impact="low", title="Typo on portal"
            ),
            "resolved": incident_in("resolved", manager=manager, urgency="medium", impact="medium"),
        }


def test_filter_by_state(api_as, manager, mix):
    client = api_as(manager)
    assert numbers(client.get(LIST, {"state": "classified"})) == {mix["s1"].number}
    several = client.get(LIST + "?state=logged&state=resolved")
    assert numbers(several) == {mix["logged"].number, mix["resolved"].number}


def test_filter_by_severity_service_assignee_and_category(api_as, manager, mix):
    client = api_as(manager)
    assert numbers(client.get(LIST, {"severity": "S1"})) == {mix["s1"].number}
    assert numbers(client.get(LIST, {"severity": "S4"})) == {mix["s4"].number}
    assert numbers(client.get(LIST, {"service": "ceph"})) == {mix["s1"].number}
    assert numbers(client.get(LIST, {"service": "no-such"})) == set()
    assert numbers(client.get(LIST, {"assignee": "manager"})) == {mix["s4"].number, mix["resolved"].number}
    assert numbers(client.get(LIST, {"category": "infrastructure"})) == {
        mix["s1"].number,
        mix["s4"].number,
        mix["resolved"].number,
    }
    assert numbers(client.get(LIST, {"tier": "tier1"})) == {i.number for i in mix.values()}
    assert numbers(client.get(LIST, {"is_major": "true"})) == {mix["s1"].number}  # S1 is declared major
    assert mix["s1"].number not in numbers(client.get(LIST, {"is_major": "false"}))


def test_filter_breached_uses_the_sla_rules(api_as, manager, mix):
    """S1 must be answered within 15 min; S4 has 24 h. An hour later only the unanswered S1 is late."""
    client = api_as(manager)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert numbers(client.get(LIST, {"breached": "true"})) == {mix["s1"].number}
        assert numbers(client.get(LIST, {"breached": "false"})) == {
            mix["logged"].number,  # its provisional S3 gives it 4 h to a response
            mix["s4"].number,
            mix["resolved"].number,
        }
    with time_machine.travel(T0 + timedelta(days=4), tick=False):  # S4's 72 h resolution target passed
        # Never classified, the logged incident missed its provisional S3 targets too.
        assert numbers(client.get(LIST, {"breached": "true"})) == {
            mix["logged"].number,
            mix["s1"].number,
            mix["s4"].number,
        }
        row = next(r for r in client.get(LIST, {"breached": "true"}).data["results"] if r["severity"] == "S4")
        assert row["resolution_breached"] is True and row["response_breached"] is False


def test_search_by_number_and_title(api_as, manager, mix):
    client = api_as(manager)
    assert numbers(client.get(LIST, {"search": "portal"})) == {mix["logged"].number, mix["s4"].number}
    assert numbers(client.get(LIST, {"search": "portal typo"})) == {mix["s4"].number}
    assert numbers(client.get(LIST, {"search": mix["s1"].number})) == {mix["s1"].number}


def test_ordering(api_as, manager, mix):
    client = api_as(manager)
    rows = client.get(LIST, {"ordering": "number"}).data["results"]
    assert [r["number"] for r in rows] == sorted(i.number for i in mix.values())
    rows = client.get(LIST, {"ordering": "-number"}).data["results"]
    assert [r["number"] for r in rows] == sorted((i.number for i in mix.values()), reverse=True)
    rows = client.get(LIST, {"ordering": "severity", "severity": ["S1", "S3", "S4"]}).data["results"]
    assert [r["severity"] for r in rows] == ["S1", "S3", "S3", "S4"]  # the logged one's S3 is provisional


def test_bad_filter_values_are_400_not_500(api_as, manager, mix):
    client = api_as(manager)
    for params, field in [({"state": "sleeping"}, "state"), ({"severity": "S9"}, "severity")]:
        response = client.get(LIST, params)
        assert response.status_code == 400
        assert field in response.data["errors"]
    assert client.get(LIST, {"page": 99}).status_code == 404


def test_pagination_keys_and_pages(api_as, manager, monkeypatch):
    monkeypatch.setattr(PageNumberPagination, "page_size", 2)  # read from settings once, at import
    for i in range(3):
        services.incident_create(user=manager, title=f"incident {i}")
    client = api_as(manager)
    first = client.get(LIST).data
    assert set(first) >= {"count", "next", "previous", "results"}
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).data
    assert len(second["results"]) == 1 and second["next"] is None
    seen = {r["number"] for r in first["results"] + second["results"]}
    assert seen == set(Incident.objects.values_list("number", flat=True))


def _list_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.data["count"]


def test_list_costs_a_constant_number_of_queries(api_as, manager, django_assert_max_num_queries):
    client = api_as(manager)
    parent = incident_in("investigating", manager=manager)
    problem = services.problem_create(user=manager, title="Firmware bug")
    few, count = _list_queries(client)
    assert count == 1
    for _ in range(12):
        child = incident_in("investigating", manager=manager, service=ServiceFactory())
        services.incident_update(
            incident=child, user=manager, data={"parent": parent, "problem": problem, "change_ref": "CHG-1"}
        )
    many, count = _list_queries(client)
    assert count == 13
    assert many == few + 2  # the problems and the parents named on the page: one prefetch each
    child = incident_in("investigating", manager=manager, service=ServiceFactory())
    services.incident_update(incident=child, user=manager, data={"parent": parent, "problem": problem})
    assert _list_queries(client) == (many, 14)
    # token, 2 x permissions, count, page; problems, parents, alerts (and their sources when any)
    with django_assert_max_num_queries(9):
        client.get(LIST)


def test_reporter_without_a_role_sees_only_their_own(api_as, outsider, manager):
    own = services.incident_create(user=outsider, title="My VM is gone")
    other = incident_in("classified", reporter=make_user(username="someone-else"))
    client = api_as(outsider)
    assert numbers(client.get(LIST)) == {own.number}
    assert client.get(f"{LIST}{own.number}/").status_code == 200
    for path in ("", "timeline/", "transitions/", "checklist/"):
        response = client.get(f"{LIST}{other.number}/{path}")
        assert response.status_code == 404, path
    assert client.post(f"{LIST}{other.number}/cancel/", {"reason": "x"}, format="json").status_code == 404
    assert client.post(f"{LIST}{other.number}/comments/", {"body": "hi"}, format="json").status_code == 404
    # Support roles and management see everything.
    assert numbers(api_as(manager).get(LIST)) == {own.number, other.number}


def test_management_sees_all_incidents(api_as, management):
    incident = incident_in("logged")
    assert numbers(api_as(management).get(LIST)) == {incident.number}


def test_list_filters_do_not_hide_a_named_incident(api_as, manager):
    incident = incident_in("logged", manager=manager)
    assert api_as(manager).get(f"{LIST}{incident.number}/", {"state": "closed"}).status_code == 200
