"""The incidents API end to end with tokens: the whole lifecycle, the audit trail, and the error contract
(`{"detail", "code", "errors"}`, never a 500 for bad input)."""

import pytest
from rest_framework.test import APIClient

from incidents import services
from incidents.api.serializers import IncidentSerializer, IncidentUpdateSerializer
from incidents.models import Incident
from tests.factories import INVESTIGATION, ServiceFactory, incident_in

pytestmark = pytest.mark.django_db

INCIDENT_FIELDS = [
    "number",
    "title",
    "description",
    "service",
    "category",
    "incident_type",
    "source",
    "urgency",
    "impact",
    "severity",
    "severity_provisional",
    "state",
    "tier",
    "assignee",
    "reporter",
    "caller",
    "caller_name",
    "caller_email",
    "is_major",
    "detected_at",
    "created_at",
    "first_response_at",
    "response_due_at",
    "resolution_due_at",
    "on_hold_reason",
    "on_hold_seconds",
    "resolved_at",
    "closed_at",
    "reopen_count",
    "resolution_code",
    "resolution_notes",
    "diagnosis",
    "root_cause",
    "workaround",
    "closure_notes",
    "closed_by",
    "problem",
    "change_ref",
    "parent",
    "response_breached",
    "resolution_breached",
]


def url(number="", action=""):
    path = "/api/v1/incidents/"
    if number:
        path += f"{number}/"
    if action:
        path += f"{action}/"
    return path


def test_the_whole_lifecycle_through_the_api_with_tokens(api_as, service_desk, sysadmin, manager):
    service = ServiceFactory(slug="ceph", name="Ceph storage")
    desk, admin, boss = api_as(service_desk), api_as(sysadmin), api_as(manager)

    created = desk.post(
        url(),
        {
            "title": "Ceph OSD down",
            "description": "osd.7 flapping",
            "service": "ceph",
            "source": "operations",
        },
        format="json",
    )
    assert created.status_code == 201, created.data
    number = created.data["number"]
    assert created.data["state"] == "logged"
    assert created.data["reporter"] == "desk"
    assert created.data["service"] == "ceph"

    steps = [
        (desk, "classify", {"category": "infrastructure", "urgency": "high", "impact": "medium"}),
        (admin, "investigate", {"note": "looking"}),
        (admin, "hold", {"reason": "awaiting_vendor", "note": "RMA opened"}),
        (admin, "resume", {"note": "disk arrived"}),
        (
            admin,
            "resolve",
            {"resolution_code": "fixed", "resolution_notes": "Replaced the disk", **INVESTIGATION},
        ),
        (boss, "close", {"closure_notes": "Confirmed with the users", "note": "confirmed with the users"}),
    ]
    expected_states = ["classified", "investigating", "on_hold", "investigating", "resolved", "closed"]
    for (client, name, body), expected in zip(steps, expected_states, strict=True):
        response = client.post(url(number, name), body, format="json")
        assert response.status_code == 200, (name, response.data)
        assert response.data["state"] == expected

    incident = Incident.objects.get(number=number)
    assert incident.state == "closed"
    assert incident.severity == "S2"  # high x medium
    assert incident.assignee.username == "sysadmin"
    assert incident.first_response_at is not None and incident.closed_at is not None
    assert incident.resolution_code == "fixed"
    assert incident.service == service

    final = desk.get(url(number)).data
    assert final["state"] == "closed" and final["assignee"] == "sysadmin" and final["severity"] == "S2"

    history = boss.get(url(number, "history")).data
    who_did_what = [(row["user"], row["change_reason"].split(":")[0]) for row in reversed(history)]
    assert who_did_what == [
        ("desk", "logged"),
        ("desk", "classify"),
        ("sysadmin", "investigate"),
        ("sysadmin", "hold"),
        ("sysadmin", "resume"),
        ("sysadmin", "resolve"),
        ("manager", "close"),
    ]
    close = history[0]
    assert close["type"] == "changed"
    assert {"field": "state", "old": "resolved", "new": "closed"} in close["changes"]
    investigate = history[-3]
    assert {"field": "assignee", "old": None, "new": "sysadmin"} in investigate["changes"]
    assert history[-1]["type"] == "created" and history[-1]["changes"] == []

    timeline = boss.get(url(number, "timeline")).data
    transitions = [(e["transition"], e["actor"]) for e in timeline if e["kind"] == "transition"]
    assert transitions == [
        ("classify", "desk"),
        ("investigate", "sysadmin"),
        ("hold", "sysadmin"),
        ("resume", "sysadmin"),
        ("resolve", "sysadmin"),
        ("close", "manager"),
    ]


def test_representation_has_exactly_the_contract_names(api_as, manager):
    incident = incident_in("investigating", manager=manager)
    data = api_as(manager).get(url(incident.number)).data
    assert list(data) == [*INCIDENT_FIELDS, "alert"]  # the names, then what monitoring reported
    assert data["alert"] is None
    assert data["assignee"] == "manager"
    assert data["reporter"] == "manager"
    assert data["response_breached"] is False


def test_create_rejects_bad_input_with_field_errors(api_as, service_desk):
    client = api_as(service_desk)
    ServiceFactory(slug="retired", is_active=False)
    cases = [
        ({}, "title"),
        ({"title": "x", "service": "no-such-service"}, "service"),
        ({"title": "x", "detected_at": "yesterday-ish"}, "detected_at"),
        ({"title": "x", "detected_at": "2999-01-01T00:00:00Z"}, "detected_at"),  # the service's rule
        ({"title": "x", "service": "retired"}, "service"),  # the service's rule
        ({"title": "x", "source": "telepathy"}, "source"),
    ]
    for body, field in cases:
        response = client.post(url(), body, format="json")
        assert response.status_code == 400, body
        assert response.data["code"] == "invalid"
        assert field in response.data["errors"], (body, response.data)
        assert response.data["detail"].startswith("Invalid input")
    assert not Incident.objects.exists()


def test_create_refuses_fields_it_does_not_take_rather_than_dropping_them(api_as, service_desk):
    client = api_as(service_desk)
    response = client.post(url(), {"title": "x", "severity": "S1", "colour": "red"}, format="json")
    assert response.status_code == 400
    assert set(response.data["errors"]) == {"severity", "colour"}
    assert "Read-only" in response.data["errors"]["severity"][0]
    assert response.data["errors"]["colour"] == ["Unknown field."]
    assert not Incident.objects.exists()


def test_log_and_classify_in_one_call_or_neither(api_as, service_desk):
    client = api_as(service_desk)
    body = {
        "title": "pve-03 unreachable",
        "category": "infrastructure",
        "urgency": "high",
        "impact": "medium",
    }
    response = client.post(url(), body, format="json")
    assert response.status_code == 201, response.data
    assert (response.data["state"], response.data["severity"]) == ("classified", "S2")
    assert response.data["severity_provisional"] is False
    half = client.post(url(), {"title": "x", "category": "infrastructure", "urgency": "high"}, format="json")
    assert half.status_code == 400 and set(half.data["errors"]) == {"impact"}
    assert Incident.objects.count() == 1  # nothing logged by the refused call


def test_non_json_body_is_a_400_not_a_500(api_as, service_desk):
    response = api_as(service_desk).post(url(), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.data["code"] == "parse_error"


def test_requests_without_credentials_are_401(service_desk):
    response = APIClient().get(url())
    assert response.status_code == 401
    assert response.data["code"] == "not_authenticated"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert bad.get(url()).status_code == 401


def test_patch_edits_descriptive_fields_through_the_service(api_as, service_desk, sysadmin):
    incident = incident_in("classified")
    parent = incident_in("logged", title="the original")
    problem = services.problem_create(user=service_desk, title="Flaky OSD firmware")
    ServiceFactory(slug="network")
    response = api_as(service_desk).patch(
        url(incident.number),
        {
            "title": "Ceph OSD down (osd.7)",
            "service": "network",
            "assignee": "sysadmin",
            "problem": problem.number,
            "parent": parent.number,
            "change_ref": "CHG-42",
        },
        format="json",
    )
    assert response.status_code == 200, response.data
    assert response.data["title"] == "Ceph OSD down (osd.7)"
    assert response.data["parent"] == parent.number and response.data["problem"] == problem.number
    incident.refresh_from_db()
    assert incident.service.slug == "network"
    assert incident.assignee == sysadmin
    assert incident.change_ref == "CHG-42"
    assert incident.state == "classified"
    last = incident.history.first()
    assert last.history_user == service_desk and last.history_change_reason.startswith("edited:")


@pytest.mark.parametrize(
    "body",
    [
        {"state": "closed"},
        {"severity": "S1"},
        {"resolved_at": "2026-01-01T00:00:00Z"},
        {"title": "ok", "state": "resolved"},
        {"is_major": True},
    ],
)
def test_patching_a_read_only_field_is_a_400_naming_transitions(api_as, manager, body):
    incident = incident_in("classified", manager=manager)
    response = api_as(manager).patch(url(incident.number), body, format="json")
    assert response.status_code == 400
    read_only = (set(body) - {"title"}).pop()
    assert "transitions" in response.data["errors"][read_only][0]
    incident.refresh_from_db()
    assert incident.state == "classified" and incident.title == "Ceph OSD down on pve-03"


def test_patch_rejects_an_incident_as_its_own_parent(api_as, manager):
    incident = incident_in("logged", manager=manager)
    response = api_as(manager).patch(url(incident.number), {"parent": incident.number}, format="json")
    assert response.status_code == 400
    assert "parent" in response.data["errors"]


def test_patch_by_a_role_that_may_not_edit_is_403(api_as, management):
    incident = incident_in("logged")
    response = api_as(management).patch(url(incident.number), {"title": "new"}, format="json")
    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"
    assert response.data["detail"] == "You may not edit incidents."


def test_put_and_delete_are_not_allowed(api_as, manager):
    incident = incident_in("logged", manager=manager)
    client = api_as(manager)
    assert client.put(url(incident.number), {"title": "x"}, format="json").status_code == 405
    response = client.delete(url(incident.number))
    assert response.status_code == 405
    assert response.data["code"] == "method_not_allowed"
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_unknown_incident_is_a_json_404(api_as, manager):
    response = api_as(manager).get(url("INC-999999"))
    assert response.status_code == 404
    assert response.data["code"] == "not_found"


def test_update_serializer_offers_exactly_the_services_editable_fields():
    assert set(IncidentUpdateSerializer().fields) == set(services.EDITABLE_FIELDS)
    assert set(services.EDITABLE_FIELDS) < set(IncidentSerializer.Meta.fields)
