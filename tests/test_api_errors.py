"""One error body across the API, whichever app or layer answers: `{"detail": str, "code": str}`, plus
`errors` for invalid input and `state` + `allowed_transitions` for a refused transition. Includes the inputs
the fuzz test (tests/test_api_fuzz.py) found giving 500s, mostly on PostgreSQL: NUL characters, integers
past a column's range, moments and durations past the calendar's end, URLs no route matches."""

import json

import pytest
from rest_framework.test import APIClient

from incidents.choices import AlertSourceKind
from tests.factories import ServiceFactory, incident_in
from tests.incidents.alerting import make_source

pytestmark = pytest.mark.django_db

NUL = "a\x00b"
STEP = {"clock": "response", "percent": 50, "level": 1, "notify_tier_group": True}

# (method, path, body, status, code, field named in `errors`); {logged}, {closed}, {resolved} are numbers.
CASES = [
    # incidents
    ("get", "/api/v1/incidents/INC-999999/", None, 404, "not_found", None),
    ("get", "/api/v1/incidents/INC%00/", None, 404, "not_found", None),  # matches no route
    ("get", "/api/v1/no-such-thing/", None, 404, "not_found", None),
    ("get", "/api/v1/incidents/?state=bogus", None, 400, "invalid", "state"),
    ("get", "/api/v1/incidents/?page=999", None, 404, "not_found", None),
    ("post", "/api/v1/incidents/", {"title": "ok", "service": NUL}, 400, "invalid", "service"),
    ("post", "/api/v1/incidents/", {"title": NUL}, 400, "invalid", "title"),
    ("patch", "/api/v1/incidents/{logged}/", {"assignee": NUL}, 400, "invalid", "assignee"),
    ("patch", "/api/v1/incidents/{logged}/", {"parent": NUL, "problem": NUL}, 400, "invalid", "problem"),
    ("post", "/api/v1/incidents/{resolved}/hold/", {}, 409, "transition_not_allowed", None),
    ("delete", "/api/v1/incidents/{logged}/", None, 405, "method_not_allowed", None),
    (
        "put",
        "/api/v1/sla-policies/S1/",
        {"response_target": "1", "resolution_target": "999999999 00:00:00"},
        400,
        "invalid",
        "resolution_target",
    ),
    # escalation
    ("get", "/api/v1/escalation-policies/S9/", None, 404, "not_found", None),
    (
        "put",
        "/api/v1/escalation-policies/S1/",
        {"steps": [{**STEP, "order": 40000}]},
        400,
        "invalid",
        "steps",
    ),
    (
        "put",
        "/api/v1/escalation-policies/S1/",
        {"steps": [{**STEP, "percent": None, "offset": "999999999"}]},
        400,
        "invalid",
        "steps",
    ),
    (
        "put",
        "/api/v1/escalation-policies/S1/",
        {"steps": [{**STEP, "notify_group": NUL}]},
        400,
        "invalid",
        "steps",
    ),
    ("get", "/api/v1/oncall/?at=9999-12-31T23:59:59Z", None, 400, "invalid", "at"),
    ("post", "/api/v1/incidents/{closed}/status-update/", {"message": "All good"}, 409, "conflict", None),
    # reporting
    ("get", "/api/v1/kpis/?start=2025-02-01&end=2025-01-01", None, 400, "invalid", "end"),
    ("get", "/api/v1/reports/service-impact/?month=a%00b", None, 400, "invalid", "month"),
]


def _check_shape(response, status, code, field=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["code"] == code
    if code == "invalid":
        assert set(body) == {"detail", "code", "errors"}
        assert field in body["errors"], body
    elif code == "transition_not_allowed":
        assert set(body) == {"detail", "code", "state", "allowed_transitions"}
    else:
        assert set(body) == {"detail", "code"}


@pytest.mark.parametrize(("method", "path", "body", "status", "code", "field"), CASES)
def test_error_bodies_share_one_shape(api_as, manager, method, path, body, status, code, field):
    ServiceFactory(slug="ceph")
    numbers = {
        state: incident_in(state, manager=manager).number for state in ("logged", "resolved", "closed")
    }
    client = api_as(manager)
    kwargs = {"data": body, "format": "json"} if body is not None else {}
    response = getattr(client, method)(path.format(**numbers), **kwargs)
    _check_shape(response, status, code, field)


def test_errors_outside_the_views_share_it_too(api_as, outsider):
    """Authentication, parsing, media types, permission classes and alert intake answer alike."""
    _check_shape(APIClient().get("/api/v1/incidents/"), 401, "not_authenticated")
    client = api_as(outsider)
    _check_shape(client.get("/api/v1/kpis/?start=2025-01-01&end=2025-02-01"), 403, "permission_denied")
    _check_shape(
        client.post("/api/v1/incidents/", "{not json", content_type="application/json"), 400, "parse_error"
    )
    _check_shape(
        client.post("/api/v1/incidents/", "title=x", content_type="text/plain"), 415, "unsupported_media_type"
    )

    _, token = make_source("Zabbix", kind=AlertSourceKind.GENERIC)
    alerts = APIClient()
    _check_shape(alerts.post("/api/v1/alerts/", {}, format="json"), 401, "not_authenticated")
    alerts.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    _check_shape(
        alerts.post("/api/v1/alerts/", {"title": "Disk full", "status": None}, format="json"),
        400,
        "invalid",
        "status",
    )
    _check_shape(alerts.post("/api/v1/alerts/alertmanager/", {}, format="json"), 403, "permission_denied")
    oversized = json.dumps({"title": "x" * (10 * 1024 * 1024)})
    _check_shape(
        alerts.post("/api/v1/alerts/", oversized, content_type="application/json"), 413, "payload_too_large"
    )


def test_an_unknown_api_path_is_a_json_404_in_development_too(client, settings):
    settings.DEBUG = True
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page(client):
    response = client.post("/api/v1/no-such-thing/", {"a": 1})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
