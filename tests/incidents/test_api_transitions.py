"""Transitions through the API: 409 names the state and what is allowed, 403 for a role that may not,
400 with field errors for missing or bad input, and the order of those checks."""

import pytest

from incidents.models import Incident, TimelineEvent
from tests.factories import ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db

GOOD_INPUT = {
    "classify": {"category": "infrastructure", "urgency": "low", "impact": "low"},
    "investigate": {},
    "hold": {"reason": "awaiting_user", "note": "asked the user"},
    "resume": {"note": "user answered"},
    "resolve": {"resolution_code": "workaround", "resolution_notes": "restarted"},
    "close": {"closure_notes": "verified with the user"},
    "reopen": {"reason": "broke again"},
    "cancel": {"reason": "false alarm"},
}


def post(client, incident, name, body=None):
    return client.post(f"/api/v1/incidents/{incident.number}/{name}/", body or {}, format="json")


def test_409_names_the_state_and_the_allowed_transitions(api_as, manager):
    incident = incident_in("resolved", manager=manager)
    response = post(api_as(manager), incident, "hold", GOOD_INPUT["hold"])
    assert response.status_code == 409
    assert response.data["code"] == "transition_not_allowed"
    assert response.data["state"] == "resolved"
    assert sorted(response.data["allowed_transitions"]) == ["close", "reopen"]
    assert "resolved" in response.data["detail"] and "close" in response.data["detail"]
    incident.refresh_from_db()
    assert incident.state == "resolved"


def test_409_lists_only_what_this_user_may_do(api_as, service_desk):
    incident = incident_in("resolved")
    response = post(api_as(service_desk), incident, "resolve", GOOD_INPUT["resolve"])
    assert response.status_code == 409
    assert response.data["allowed_transitions"] == ["reopen"]  # closing is for managers and the reporter


@pytest.mark.parametrize(
    ("role_fixture", "state", "name"),
    [
        ("management", "logged", "classify"),
        ("sysadmin", "logged", "classify"),
        ("service_desk", "resolved", "close"),
        ("service_desk", "logged", "cancel"),
        ("outsider", "classified", "investigate"),
    ],
)
def test_403_for_a_role_without_the_permission(request, api_as, role_fixture, state, name):
    user = request.getfixturevalue(role_fixture)
    incident = incident_in(state, reporter=make_user(username="someone"))
    if role_fixture == "outsider":  # outsiders only see what they reported
        Incident.objects.filter(pk=incident.pk).update(reporter=user)
    response = post(api_as(user), incident, name, GOOD_INPUT[name])
    assert response.status_code == 403, response.data
    assert response.data["code"] == "permission_denied"
    assert name in response.data["detail"]
    incident.refresh_from_db()
    assert incident.state == state


@pytest.mark.parametrize(
    ("state", "name", "body", "fields"),
    [
        ("logged", "classify", {}, {"category", "urgency", "impact"}),
        ("logged", "classify", {"category": "weather", "urgency": "high", "impact": "high"}, {"category"}),
        ("logged", "classify", {**GOOD_INPUT["classify"], "service": "nope"}, {"service"}),
        ("classified", "investigate", {"assignee": "nobody-by-that-name"}, {"assignee"}),
        ("investigating", "hold", {}, {"reason", "note"}),
        ("investigating", "hold", {"reason": "bored", "note": "x"}, {"reason"}),
        ("on_hold", "resume", {"note": "  "}, {"note"}),
        ("investigating", "resolve", {"resolution_code": "fixed"}, {"resolution_notes"}),
        ("resolved", "reopen", {}, {"reason"}),
        ("logged", "cancel", {"reason": ""}, {"reason"}),
    ],
)
def test_400_with_field_errors_for_missing_or_bad_input(api_as, manager, state, name, body, fields):
    incident = incident_in(state, manager=manager)
    events_before = TimelineEvent.objects.filter(incident=incident).count()
    response = post(api_as(manager), incident, name, body)
    assert response.status_code == 400, response.data
    assert response.data["code"] == "invalid"
    assert set(response.data["errors"]) == fields
    incident.refresh_from_db()
    assert incident.state == state
    assert TimelineEvent.objects.filter(incident=incident).count() == events_before


def test_service_rules_come_back_as_field_errors(api_as, service_desk, outsider):
    """Rules the serializer cannot know (an assignee without a support role) are the service's."""
    incident = incident_in("classified")
    response = post(api_as(service_desk), incident, "investigate", {"assignee": "outsider"})
    assert response.status_code == 400
    assert "support tier" in response.data["errors"]["assignee"][0]


def test_severity_override_needs_a_manager_and_a_reason(api_as, service_desk, manager):
    override = {"category": "security", "urgency": "low", "impact": "low", "severity": "S1"}
    incident = incident_in("logged")
    assert post(api_as(service_desk), incident, "classify", override).status_code == 403
    response = post(api_as(manager), incident, "classify", override)
    assert response.status_code == 400 and "severity_reason" in response.data["errors"]
    response = post(api_as(manager), incident, "classify", {**override, "severity_reason": "data leak"})
    assert response.status_code == 200
    assert response.data["severity"] == "S1"


def test_permission_and_state_are_checked_before_the_input(api_as, management, manager):
    logged = incident_in("logged", manager=manager)
    # No input at all, but the role may not classify: 403, not 400.
    assert post(api_as(management), logged, "classify").status_code == 403
    # No input at all, but resolving a logged incident is never possible: 409, not 400.
    assert post(api_as(manager), logged, "resolve").status_code == 409


def test_investigate_defaults_the_assignee_to_the_caller(api_as, sysadmin):
    incident = incident_in("classified")
    response = post(api_as(sysadmin), incident, "investigate")
    assert response.status_code == 200
    assert response.data["assignee"] == "sysadmin"
    assert response.data["first_response_at"] is not None


def test_investigate_assigns_the_named_user(api_as, service_desk, expert):
    incident = incident_in("classified")
    response = post(api_as(service_desk), incident, "investigate", {"assignee": "expert"})
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.assignee == expert


def test_classify_with_service_and_type_copies_the_runbook(api_as, service_desk):
    ServiceFactory(slug="pg-cluster")
    incident = incident_in("logged")
    body = {
        "category": "application",  # seed 2.2: database unavailability is an application incident
        "urgency": "medium",
        "impact": "high",
        "service": "pg-cluster",
        "incident_type": "database_unavailable",
        "note": "primary down",
    }
    response = post(api_as(service_desk), incident, "classify", body)
    assert response.status_code == 200, response.data
    assert response.data["severity"] == "S2"
    assert response.data["service"] == "pg-cluster"
    assert response.data["response_due_at"] is not None and response.data["resolution_due_at"] is not None
    checklist = api_as(service_desk).get(f"/api/v1/incidents/{incident.number}/checklist/").data
    assert checklist and checklist[0]["text"].startswith("Check the PostgreSQL service")


def test_reporter_without_a_role_may_close_and_reopen_their_own(api_as, outsider):
    reopened = incident_in("resolved", reporter=outsider)
    response = post(api_as(outsider), reopened, "reopen", {"reason": "still broken"})
    assert response.status_code == 200
    assert response.data["state"] == "investigating" and response.data["reopen_count"] == 1

    closed = incident_in("resolved", reporter=outsider)
    assert post(api_as(outsider), closed, "close", {"note": "works now"}).status_code == 200
    closed.refresh_from_db()
    assert closed.state == "closed"


def test_cancel_by_a_manager(api_as, manager):
    incident = incident_in("classified", manager=manager)
    response = post(api_as(manager), incident, "cancel", {"reason": "duplicate of INC-000001"})
    assert response.status_code == 200
    assert response.data["state"] == "cancelled"


def test_transitions_lists_what_this_user_may_do_with_inputs(api_as, service_desk, manager):
    incident = incident_in("resolved", manager=manager)
    desk = api_as(service_desk).get(f"/api/v1/incidents/{incident.number}/transitions/").data
    assert [t["name"] for t in desk] == ["reopen"]
    assert desk[0]["label"] == "Reopen" and desk[0]["target"] == "investigating"
    assert desk[0]["inputs"] == [{"name": "reason", "required": True, "choices": None}]

    boss = api_as(manager).get(f"/api/v1/incidents/{incident.number}/transitions/").data
    assert sorted(t["name"] for t in boss) == ["close", "reopen"]


def test_transitions_shows_reclassify_keeping_the_state(api_as, manager):
    incident = incident_in("investigating", manager=manager)
    options = api_as(manager).get(f"/api/v1/incidents/{incident.number}/transitions/").data
    by_name = {t["name"]: t for t in options}
    assert by_name["classify"]["label"] == "Reclassify"
    assert by_name["classify"]["target"] == "investigating"
    urgency = next(i for i in by_name["classify"]["inputs"] if i["name"] == "urgency")
    assert urgency == {"name": "urgency", "required": True, "choices": ["high", "medium", "low"]}
    assert set(by_name) == {"classify", "hold", "resolve"}
