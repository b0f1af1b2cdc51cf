"""What a list or a record costs in queries, pinned so CI catches a regression without timing anything: the API
incident list (a page of 1 and a full page), the API detail with its timeline, and the admin incident list
(default, filtered by state and severity, a search), for each kind of reader the visibility rule treats
differently. The count may not grow with the rows in the database, on the page or on the timeline.

Every incident of the world below names everything its representation can name (service, assignee, reporter,
caller, problem, parent, an alert and its source), so each page pays for every join and prefetch it can."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.pagination import PageNumberPagination

from incidents import services
from incidents.choices import Role, State, Tier
from incidents.models import IncidentAlert
from tests.factories import ServiceFactory, make_user
from tests.incidents.alerting import make_source

pytestmark = pytest.mark.django_db

LIST = "/api/v1/incidents/"
CHANGELIST_URL = reverse("admin:incidents_incident_changelist")
FEW, MANY = 3, 30
PAGE_SIZES = (1, settings.REST_FRAMEWORK["PAGE_SIZE"])  # no `page_size` parameter: PAGE_SIZE is the largest

# Queries per request, pinned, the same for every reader. The API: the token with its user, the user's and
# the groups' permissions, then the count and the page, and one prefetch each for the problems, the parents,
# the alerts and the alerts' sources the page names.
API_LIST = 9
# The record: the incident with its joins and the same four prefetches (no count), and the first alerts of
# the group behind it (`IncidentAlertSerializer.alerts`, the detail only).
API_DETAIL = 9
# The timeline: the incident's row alone (nothing of it is rendered), then the entries with their actors.
API_TIMELINE = 5
# The admin list: session, user, time zone, permissions (3), the filters' people and services, the
# paginator's count, the tier filter's groups, the page, the major-incident banner.
CHANGELIST = 12
# A search on PostgreSQL fetches the ids its words match first (`selectors.search_incidents`).
SEARCH_IDS = 1
CHANGELIST_QUERIES = {
    "default": {},
    "state and severity": {"state": "investigating", "severity__exact": "S1"},
    "search": {"q": "Ceph"},
}


@pytest.fixture
def people(manager, service_desk, outsider):
    """One reader per kind the visibility rule knows: every tier and security (Incident Manager), every
    tier but not security (Service Desk), the external tier or their own (External Support), and only what
    they reported (no role)."""
    vendor = make_user(Role.EXTERNAL, username="vendor", first_name="Vera", last_name="Vendor")
    return {"manager": manager, "service_desk": service_desk, "vendor": vendor, "reporter": outsider}


@pytest.fixture
def world(people):
    """`grow(n)` brings the incidents to n, each reported by the reporter, investigated by the vendor (so at
    the external tier), linked to a problem and the first incident, raised by an alert, with comments."""
    manager, vendor, reporter = people["manager"], people["vendor"], people["reporter"]
    problem = services.problem_create(user=manager, title="Firmware bug in the OSD disks")
    source, _ = make_source()
    incidents: list = []

    def grow(n: int) -> list:
        while len(incidents) < n:
            number = len(incidents)
            incident = services.incident_create(
                user=reporter, title=f"Ceph OSD {number} down on pve-03", service=ServiceFactory()
            )
            incident = services.incident_classify(
                incident=incident, user=manager, category="infrastructure", urgency="high", impact="high"
            )
            incident = services.incident_investigate(incident=incident, user=manager, assignee=vendor)
            links = {"problem": problem, **({"parent": incidents[0]} if incidents else {})}
            incident = services.incident_update(incident=incident, user=manager, data=links)
            services.comment_add(incident=incident, user=manager, body="Disk replaced, rebalancing")
            services.comment_add(incident=incident, user=reporter, body="Still slow?", visibility="public")
            IncidentAlert.objects.create(
                incident=incident, source=source, key=f"osd-{number}", fingerprint=f"osd-{number}"
            )
            incidents.append(incident)
        return incidents

    return grow


def queries(client, url, params=None) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200, (url, params, response.status_code)
    return len(captured), response


def test_the_world_is_seen_by_every_reader(people, world):
    """The counts below mean something only if every reader's pages show rows."""
    incidents = world(FEW)
    assert incidents[-1].tier == Tier.EXTERNAL and incidents[-1].state == State.INVESTIGATING
    assert incidents[-1].parent_id == incidents[0].pk and incidents[-1].problem_id


def test_the_api_list_costs_the_same_whatever_the_rows_and_the_page_size(
    api_as, people, world, monkeypatch, django_assert_num_queries
):
    clients = {role: api_as(user) for role, user in people.items()}
    seen = {}
    for rows in (FEW, MANY):
        world(rows)
        for page_size in PAGE_SIZES:
            monkeypatch.setattr(PageNumberPagination, "page_size", page_size)  # read from settings at import
            for role, client in clients.items():
                count, response = queries(client, LIST)
                assert len(response.data["results"]) == min(page_size, rows), (role, page_size)
                assert response.data["count"] == rows, role
                seen[role, rows, page_size] = count
    for role, client in clients.items():
        assert {seen[role, rows, size] for rows in (FEW, MANY) for size in PAGE_SIZES} == {API_LIST}, (
            role,
            seen,
        )
        with django_assert_num_queries(API_LIST):
            client.get(LIST, {"state": "investigating", "severity": "S1"})


def test_the_api_detail_and_timeline_cost_the_same_however_long_the_timeline(
    api_as, people, world, django_assert_num_queries
):
    incident = world(FEW)[-1]  # names a problem, a parent and an alert
    url = f"{LIST}{incident.number}/"
    before = {}
    for role, user in people.items():
        client = api_as(user)
        before[role] = (queries(client, url)[0], queries(client, f"{url}timeline/")[0])
    for n in range(MANY):
        services.comment_add(incident=incident, user=people["manager"], body=f"note {n}")
        services.comment_add(
            incident=incident, user=people["reporter"], body=f"reply {n}", visibility="public"
        )
    for role, user in people.items():
        client = api_as(user)
        with django_assert_num_queries(API_DETAIL):
            assert client.get(url).data["number"] == incident.number
        with django_assert_num_queries(API_TIMELINE):
            events = client.get(f"{url}timeline/").data
        assert len(events) > MANY, role  # the vendor and the reporter read the public entries only
        assert before[role] == (API_DETAIL, API_TIMELINE), role


def test_the_admin_list_costs_the_same_whatever_the_rows(client, people, world):
    staff = {role: user for role, user in people.items() if role != "reporter"}  # no admin without a role
    seen = {}
    for rows in (FEW, MANY):
        world(rows)
        for role, user in staff.items():
            client.force_login(user)
            for name, params in CHANGELIST_QUERIES.items():
                count, response = queries(client, CHANGELIST_URL, params)
                assert len(response.context["cl"].result_list) == rows, (role, name)
                seen[role, rows, name] = count
    search_ids = SEARCH_IDS if connection.vendor == "postgresql" else 0
    for role in staff:
        for name in CHANGELIST_QUERIES:
            expected = CHANGELIST + (search_ids if name == "search" else 0)
            assert {seen[role, rows, name] for rows in (FEW, MANY)} == {expected}, (role, name, seen)
