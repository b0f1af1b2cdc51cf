"""The incident list as a work list (issue #9, item 2): open incidents by default, ordered by the next
deadline, filters for "mine", "unassigned" and "my tiers", an assignee filter by full name, search across
what people remember of an incident, compact rows, and bulk actions that report on every incident."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin import helpers
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.choices import Role, State, Tier
from incidents.models import Incident
from tests.factories import ServiceFactory, incident_in, make_user
from tests.incidents.alerting import ALERTMANAGER_URL, alertmanager_payload, make_source, post

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:incidents_incident_changelist")
T0 = timezone.now().replace(microsecond=0) - timedelta(days=1)


def listed(client, **params):
    response = client.get(CHANGELIST_URL, params)
    assert response.status_code == 200, response
    return list(response.context["cl"].result_list)


def numbers(client, **params):
    return [incident.number for incident in listed(client, **params)]


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def act(client, action, incidents, follow=True, **data):
    """Run a changelist action on `incidents` as the list offers it (the list of every state)."""
    body = {
        "action": action,
        "index": 0,
        helpers.ACTION_CHECKBOX_NAME: [str(i.pk) for i in incidents],
        **data,
    }
    return client.post(f"{CHANGELIST_URL}?state=all", body, follow=follow)


@pytest.fixture
def every_state(manager):
    """One medium/medium (S3, not major) incident in each state, in `State` order."""
    return {
        state: incident_in(
            state, manager=manager, urgency="medium", impact="medium", title=f"{state} incident"
        )
        for state in State
    }


# --- which incidents: open by default, several states at once --------------------------------------------


def test_the_list_shows_open_incidents_unless_asked_for_states(client, manager, every_state):
    client.force_login(manager)
    number = {state: incident.number for state, incident in every_state.items()}
    open_states = [State.LOGGED, State.CLASSIFIED, State.INVESTIGATING, State.ON_HOLD]
    assert sorted(numbers(client)) == sorted(number[s] for s in open_states)
    assert sorted(numbers(client, state="open")) == sorted(number[s] for s in open_states)
    assert sorted(numbers(client, state="all")) == sorted(number.values())
    assert numbers(client, state="resolved") == [number[State.RESOLVED]]
    assert sorted(numbers(client, state="closed,cancelled")) == sorted(
        [number[State.CLOSED], number[State.CANCELLED]]
    )
    # The field filter's parameter, in links and bookmarks made before, still names one state.
    assert numbers(client, state__exact="closed") == [number[State.CLOSED]]
    # "Show all" beside the result count means every state, not the default again.
    assert '(<a href="?state=all">Show all</a>)' in client.get(CHANGELIST_URL).content.decode()
    # A state that does not exist is the admin's "invalid filter" answer, not an empty list.
    response = client.get(CHANGELIST_URL, {"state": "open,bogus"})
    assert response.status_code == 302 and "e=1" in response.url


def test_each_state_in_the_sidebar_toggles_in_or_out_of_the_selection(client, manager, every_state):
    client.force_login(manager)
    page = client.get(CHANGELIST_URL, {"state": "investigating"}).content.decode()
    assert 'href="?state=investigating%2Con_hold"' in page  # add "on hold"
    assert 'href="?state=all"' in page
    page = client.get(CHANGELIST_URL, {"state": "investigating,on_hold"}).content.decode()
    assert 'href="?state=investigating"' in page  # take "on hold" out again


# --- order: the next deadline first ----------------------------------------------------------------------


def test_ordered_by_the_clock_that_runs_out_first_and_on_hold_last(client, manager):
    """S2 30 min / 8 h, S3 4 h / 24 h, S4 24 h / 72 h; the response clock until the first response."""

    def logged_at(minutes, state, urgency, impact):
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            return incident_in(state, manager=manager, urgency=urgency, impact=impact)

    on_hold = logged_at(0, State.ON_HOLD, "medium", "high")  # S2, resolution paused
    s3_response = logged_at(1, State.CLASSIFIED, "medium", "medium")  # due T0 + 4 h 1 min
    s2_resolution = logged_at(2, State.INVESTIGATING, "medium", "high")  # due T0 + 8 h 2 min
    s2_response = logged_at(3, State.CLASSIFIED, "medium", "high")  # due T0 + 33 min
    unclassified = logged_at(4, State.LOGGED, "low", "low")  # provisional S3: due T0 + 4 h 4 min
    s4_response = logged_at(5, State.CLASSIFIED, "low", "low")  # due T0 + 24 h 5 min
    closed = logged_at(6, State.CLOSED, "low", "low")
    client.force_login(manager)
    expected = [s2_response, s3_response, unclassified, s2_resolution, s4_response, on_hold]
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert listed(client) == expected
        assert listed(client, state="all") == [*expected, closed]
        # The SLA column sorts by the same deadline (after the action checkbox, number, title, severity, state).
        assert listed(client, o="5", state="classified,investigating") == [
            s2_response,
            s3_response,
            s2_resolution,
            s4_response,
        ]


# --- filters ---------------------------------------------------------------------------------------------


def test_assigned_to_me_unassigned_my_tiers_and_assignees_by_full_name(client, manager, service_desk):
    sysadmin = make_user(Role.SYSADMINS, username="sam", first_name="Sam", last_name="Mills")
    mine = incident_in(State.INVESTIGATING, manager=manager, urgency="medium", impact="medium")
    mine = services.incident_update(incident=mine, user=manager, data={"assignee": sysadmin})
    at_tier2 = incident_in(State.CLASSIFIED, manager=manager, urgency="medium", impact="medium")
    at_tier2 = services.incident_set_tier(
        incident=at_tier2, user=manager, tier=Tier.TIER2, assignee=None, reason="needs a sysadmin"
    )
    at_tier1 = incident_in(State.CLASSIFIED, manager=manager, urgency="medium", impact="medium")
    client.force_login(sysadmin)
    assert listed(client, assignee__id__exact="me") == [mine]
    assert set(listed(client, assignee__id__exact="none")) == {at_tier2, at_tier1}
    assert listed(client, assignee__id__exact="none", tier__exact="mine") == [at_tier2]
    assert listed(client, tier__exact="tier1") == [at_tier1]  # the field filter's parameter still works
    assert listed(client, assignee__id__exact=str(sysadmin.pk)) == [mine]
    make_user(username="researcher", is_staff=False, first_name="Rita", last_name="Search")
    page = client.get(CHANGELIST_URL).content.decode()
    filters = page[page.index('id="changelist-filter"') :]
    assert ">Sam Mills</a>" in filters  # support staff by full name
    assert ">desk</a>" in filters  # no full name recorded: the username
    assert "Rita Search" not in filters  # reporters are never assignees


def test_a_vendor_filters_by_itself_only(client, manager):
    vendor = make_user(Role.EXTERNAL, username="vendor", first_name="Vera", last_name="Endor")
    make_user(Role.SYSADMINS, username="sam", first_name="Sam", last_name="Mills")
    client.force_login(vendor)
    filters = client.get(CHANGELIST_URL).content.decode()
    assert ">Vera Endor</a>" in filters and "Sam Mills" not in filters


# --- search ----------------------------------------------------------------------------------------------


@pytest.fixture
def searchable(manager):
    sysadmin = make_user(Role.SYSADMINS, username="smills", first_name="Sam", last_name="Mills")
    ceph = ServiceFactory(name="Ceph storage", slug="ceph")
    network = ServiceFactory(name="Core network", slug="core-network")
    disk = incident_in(
        State.INVESTIGATING,
        manager=manager,
        title="Disk failure on pve-03",
        description="The controller reported a failed SAS expander.",
        service=ceph,
        urgency="medium",
        impact="medium",
    )
    disk = services.incident_update(incident=disk, user=manager, data={"assignee": sysadmin})
    switch = incident_in(
        State.CLASSIFIED,
        manager=manager,
        title="Port flapping on rack B4",
        service=network,
        urgency="medium",
        impact="medium",
    )
    _, token = make_source("Prometheus")
    assert post(ALERTMANAGER_URL, alertmanager_payload(), token).status_code in (200, 201, 202)
    alert = Incident.objects.get(alert__isnull=False)
    return {"disk": disk, "switch": switch, "alert": alert}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INC-000001", ["disk"]),  # number
        ("pve-03 disk", ["disk"]),  # title, every word must match
        ("expander", ["disk"]),  # description
        ("core network", ["switch"]),  # service name
        ("Mills", ["disk"]),  # assignee's name
        ("smills", ["disk"]),  # assignee's username
        ("9283", ["alert"]),  # alert label (instance pve-03:9283)
        ("osd.7", ["alert"]),
        ("nothing-like-this", []),
    ],
)
def test_search_finds_incidents_by_what_people_remember(
    client, manager, searchable, text, expected, django_assert_max_num_queries
):
    client.force_login(manager)
    with django_assert_max_num_queries(14):
        found = listed(client, q=text)
    assert sorted(i.pk for i in found) == sorted(searchable[name].pk for name in expected)


def test_search_costs_a_query_or_two_without_duplicates(client, manager, searchable):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents import selectors

    with CaptureQueriesContext(connection) as queries:
        found = list(selectors.search_incidents(Incident.objects.all(), "ceph pve-03"))
    # PostgreSQL: the ids the words match, then the rows; elsewhere one query with a subquery per word.
    assert len(queries) == (2 if connection.vendor == "postgresql" else 1)
    assert len(found) == len(set(found))
    assert set(found) == {searchable["disk"], searchable["alert"]}  # the alert's labels name pve-03


def test_a_search_finding_very_many_keeps_the_subquery(postgres, client, manager, searchable, monkeypatch):
    from incidents import selectors

    words = "ceph pve-03"
    expected = set(selectors.search_incidents(Incident.objects.all(), words))
    monkeypatch.setattr(selectors, "SEARCH_IDS_FETCHED", 0)  # every search is now "very many"
    found = set(selectors.search_incidents(Incident.objects.all(), words))
    assert found == expected == {searchable["disk"], searchable["alert"]}
    client.force_login(manager)
    assert listed(client, q="osd.7") == [searchable["alert"]]


def test_search_finds_a_group_by_the_labels_of_any_of_its_alerts(client, manager, searchable):
    """The second alert of a group (`ceph_osd_id` 11) joins the incident; its labels find it too."""
    import copy

    from incidents.models import IncidentAlert

    payload = alertmanager_payload()
    second = copy.deepcopy(payload["alerts"][0])
    second["fingerprint"] = "77aa01"
    second["labels"] = {**second["labels"], "ceph_daemon": "osd.11", "instance": "pve-05:9283"}
    payload["alerts"].append(second)
    _, token = make_source("Second Prometheus", slug="second-prometheus")
    assert post(ALERTMANAGER_URL, payload, token).status_code in (200, 201, 202)
    group = IncidentAlert.objects.get(source__slug="second-prometheus")
    assert group.alerts.count() == 2
    client.force_login(manager)
    assert listed(client, q="pve-05") == [group.incident]


def test_full_text_search_matches_other_forms_of_a_word_on_postgresql(postgres, client, manager, searchable):
    client.force_login(manager)
    assert listed(client, q="failing") == [searchable["disk"]]  # "failure" and "failed" share the stem


# --- compact rows ----------------------------------------------------------------------------------------


def test_rows_are_one_line_with_the_badges_before_the_long_columns(client, manager):
    title = "pve-03 unreachable after kernel update, all VMs on the node down and HA not migrating them"
    major = incident_in(State.INVESTIGATING, manager=manager, title=title, urgency="medium", impact="medium")
    services.incident_set_major(incident=major, user=manager, is_major=True, reason="all of pve down")
    incident_in(State.CLASSIFIED, manager=manager, title="Grafana blank", urgency="low", impact="low")
    client.force_login(manager)
    page = client.get(CHANGELIST_URL).content.decode()
    assert "incidents/worklist.css" in page
    assert f'<span class="itsm-title" title="{title}">{title}</span>' in page  # CSS ellipsis, whole on hover
    row = re.search(r"<tr>.*?</tr>", page[page.index("<tbody>") :], flags=re.S).group(0)
    assert 'itsm-badge itsm-major" title="Major incident">MAJOR</span>' in row
    columns = re.findall(r'class="field-([a-z_]+)', row)
    assert columns[:6] == [
        "number",
        "severity_display",
        "major_display",
        "state_display",
        "sla_display",
        "title_display",
    ]
    assert 'class="itsm-major' not in page[page.index("Grafana blank") :]


# --- bulk actions ----------------------------------------------------------------------------------------


def test_assign_to_me_reports_each_incident_it_could_not_assign(client, manager):
    sysadmin = make_user(Role.SYSADMINS, username="sam", first_name="Sam", last_name="Mills")
    first = incident_in(State.CLASSIFIED, manager=manager, urgency="medium", impact="medium")
    second = incident_in(State.INVESTIGATING, manager=manager, urgency="medium", impact="medium")
    closed = incident_in(State.CLOSED, manager=manager, urgency="medium", impact="medium")
    client.force_login(sysadmin)
    response = act(client, "assign_to_me", [first, second, closed])
    assert response.status_code == 200
    for incident in (first, second):
        incident.refresh_from_db()
        assert incident.assignee == sysadmin
        assert incident.tier == Tier.TIER2  # the tier follows the assignee, as on the incident page
    closed.refresh_from_db()
    assert closed.assignee != sysadmin
    shown = messages_of(response)
    assert f"Assigned to you: {first.number}, {second.number}." in shown
    assert any(m.startswith(f"{closed.number}: ") and "read-only" in m for m in shown)


def test_assign_to_asks_whom_then_assigns_through_the_service(client, manager, service_desk):
    sysadmin = make_user(Role.SYSADMINS, username="sam", first_name="Sam", last_name="Mills")
    make_user(username="researcher", is_staff=False, first_name="Rita", last_name="Search")
    incidents = [
        incident_in(State.CLASSIFIED, manager=manager, urgency="medium", impact="medium") for _ in range(2)
    ]
    client.force_login(service_desk)
    page = act(client, "assign_to", incidents, follow=False)
    assert page.status_code == 200
    content = page.content.decode()
    assert "Sam Mills (sam)" in content and "Rita Search" not in content  # support staff only
    for incident in incidents:
        assert incident.number in content
    refused = act(client, "assign_to", incidents, follow=False, apply="1", assignee="")
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()
    done = act(client, "assign_to", incidents, apply="1", assignee=str(sysadmin.pk))
    assert f"Assigned to Sam Mills: {incidents[0].number}, {incidents[1].number}." in messages_of(done)
    assert all(i.assignee == sysadmin for i in Incident.objects.filter(pk__in=[i.pk for i in incidents]))


def test_close_resolved_closes_what_it_may_and_says_why_not_for_the_rest(client, manager, every_state):
    client.force_login(manager)
    resolved, investigating = every_state[State.RESOLVED], every_state[State.INVESTIGATING]
    # Closing asks first for the closure notes every incident closed keeps (final documentation).
    page = act(client, "close_resolved", [resolved, investigating], follow=False)
    assert page.status_code == 200 and resolved.number in page.content.decode()
    refused = act(client, "close_resolved", [resolved], follow=False, apply="1", closure_notes=" ")
    assert "This field is required" in refused.content.decode()
    assert Incident.objects.get(pk=resolved.pk).state == State.RESOLVED
    notes = "Verified with the users; no recurrence."
    response = act(client, "close_resolved", [resolved, investigating], apply="1", closure_notes=notes)
    resolved.refresh_from_db()
    investigating.refresh_from_db()
    assert (resolved.state, investigating.state) == (State.CLOSED, State.INVESTIGATING)
    assert (resolved.closure_notes, resolved.closed_by) == (notes, "staff")
    shown = messages_of(response)
    assert f"Closed: {resolved.number}." in shown
    assert any(
        m.startswith(f"{investigating.number}: It is investigating: you cannot close it now") for m in shown
    )


def test_cancel_duplicates_links_each_to_the_original(client, manager, every_state):
    client.force_login(manager)
    logged, investigating = every_state[State.LOGGED], every_state[State.INVESTIGATING]
    original = every_state[State.CLASSIFIED]
    page = act(client, "cancel_duplicates", [logged, investigating], follow=False)
    assert page.status_code == 200 and "Duplicates of" in page.content.decode()  # asks first
    assert Incident.objects.get(pk=logged.pk).state == State.LOGGED
    unknown = act(client, "cancel_duplicates", [logged], follow=False, apply="1", original="INC-999999")
    assert "No incident INC-999999 that you may see." in unknown.content.decode()

    response = act(
        client, "cancel_duplicates", [logged, investigating, original], apply="1", original=original.number
    )
    logged.refresh_from_db()
    assert (logged.state, logged.parent, logged.cancel_reason) == (
        State.CANCELLED,
        original,
        f"duplicate of {original.number}",
    )
    investigating.refresh_from_db()  # refused: and not linked either
    assert (investigating.state, investigating.parent) == (State.INVESTIGATING, None)
    assert Incident.objects.get(pk=original.pk).state == State.CLASSIFIED
    shown = messages_of(response)
    assert f"Cancelled as duplicates of {original.number}: {logged.number}." in shown
    assert f"{investigating.number}: It is investigating: you cannot cancel it now" in " ".join(shown)
    assert f"{original.number}: It is the original: it stays open." in shown


def test_actions_follow_the_role(client, manager, service_desk, management, every_state):
    def offered(user):
        client.force_login(user)
        action_form = client.get(CHANGELIST_URL).context["action_form"]
        return set() if action_form is None else {name for name, _ in action_form.fields["action"].choices}

    assert {"assign_to_me", "assign_to", "close_resolved", "cancel_duplicates"} <= offered(manager)
    desk = offered(service_desk)
    assert {"assign_to_me", "assign_to"} <= desk and not desk & {"close_resolved", "cancel_duplicates"}
    assert offered(management) == set()  # read-only: no checkboxes at all
    # Posting an action anyway changes nothing: the admin runs only the actions it offers.
    client.force_login(service_desk)
    resolved = every_state[State.RESOLVED]
    act(client, "close_resolved", [resolved], apply="1", closure_notes="closing")
    assert Incident.objects.get(pk=resolved.pk).state == State.RESOLVED


def test_an_action_acts_only_on_incidents_the_user_may_see(client, manager):
    vendor = make_user(Role.EXTERNAL, username="vendor")
    hidden = incident_in(State.CLASSIFIED, manager=manager, urgency="medium", impact="medium")
    client.force_login(vendor)
    response = act(client, "assign_to_me", [hidden])
    assert Incident.objects.get(pk=hidden.pk).assignee is None
    assert messages_of(response) == ["1 selected incident(s) not found: nothing done."]
    assert hidden.number not in response.content.decode()


# --- cost ------------------------------------------------------------------------------------------------


def test_the_work_list_costs_the_same_few_queries_whatever_it_shows(
    client, manager, django_assert_max_num_queries
):
    sysadmin = make_user(Role.SYSADMINS, username="sam", first_name="Sam", last_name="Mills")
    for state in (State.CLASSIFIED, State.INVESTIGATING, State.ON_HOLD):
        incident = incident_in(state, manager=manager, urgency="medium", impact="medium")
    services.incident_set_major(incident=incident, user=manager, is_major=True, reason="wide outage")
    client.force_login(sysadmin)
    queries = [
        {},
        {"state": "all"},
        {"state": "investigating,on_hold"},
        {"assignee__id__exact": "me"},
        {"assignee__id__exact": "none", "tier__exact": "mine"},
        {"breached": "soon"},
        {"q": "Ceph pve-03"},
    ]
    for params in queries:
        with django_assert_max_num_queries(14) as few:
            client.get(CHANGELIST_URL, params)
        baseline = len(few.captured_queries)
    for _ in range(10):
        incident_in(State.INVESTIGATING, manager=manager, urgency="medium", impact="medium")
    with django_assert_max_num_queries(baseline):
        client.get(CHANGELIST_URL, queries[-1])
