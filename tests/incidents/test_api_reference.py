"""Reference data, tokens and the OpenAPI schema through the API."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from incidents.models import SlaPolicy
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def test_services_list_and_detail_by_slug(api_as, outsider):
    ServiceFactory(slug="ceph", name="Ceph storage")
    ServiceFactory(slug="old-nas", name="Old NAS", is_active=False)
    client = api_as(outsider)  # reporters need the slugs to log incidents
    rows = client.get("/api/v1/services/").data["results"]
    assert [r["slug"] for r in rows] == ["ceph", "old-nas"]
    assert [r["slug"] for r in client.get("/api/v1/services/", {"is_active": "true"}).data["results"]] == [
        "ceph"
    ]
    detail = client.get("/api/v1/services/ceph/")
    assert detail.status_code == 200 and detail.data["name"] == "Ceph storage"
    assert client.get("/api/v1/services/nope/").status_code == 404
    assert client.post("/api/v1/services/", {"slug": "x"}, format="json").status_code == 405


def test_sla_policies_are_listed_with_duration_targets(api_as, service_desk):
    client = api_as(service_desk)
    rows = client.get("/api/v1/sla-policies/").data
    assert [r["severity"] for r in rows] == ["S1", "S2", "S3", "S4"]
    s1 = client.get("/api/v1/sla-policies/S1/").data
    assert s1 == {"severity": "S1", "response_target": "00:15:00", "resolution_target": "04:00:00"}
    assert client.get("/api/v1/sla-policies/S9/").status_code == 404


def test_sla_policy_put_is_for_incident_managers(api_as, service_desk, manager):
    body = {"response_target": "00:10:00", "resolution_target": "03:00:00"}
    denied = api_as(service_desk).put("/api/v1/sla-policies/S1/", body, format="json")
    assert denied.status_code == 403
    assert SlaPolicy.objects.get(severity="S1").response_target == timedelta(minutes=15)

    response = api_as(manager).put("/api/v1/sla-policies/S1/", body, format="json")
    assert response.status_code == 200, response.data
    assert response.data["response_target"] == "00:10:00"
    policy = SlaPolicy.objects.get(severity="S1")
    assert policy.response_target == timedelta(minutes=10)
    assert policy.resolution_target == timedelta(hours=3)
    record = policy.history.first()
    assert record.history_user == manager and "SLA targets" in record.history_change_reason


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"response_target": "soon", "resolution_target": "04:00:00"}, "response_target"),
        ({"response_target": "00:00:00", "resolution_target": "04:00:00"}, "response_target"),
        ({"response_target": "-00:05:00", "resolution_target": "04:00:00"}, "response_target"),
        ({"response_target": "05:00:00", "resolution_target": "04:00:00"}, "resolution_target"),
        ({"response_target": "00:15:00"}, "resolution_target"),
    ],
)
def test_sla_policy_put_rejects_bad_durations(api_as, manager, body, field):
    response = api_as(manager).put("/api/v1/sla-policies/S1/", body, format="json")
    assert response.status_code == 400
    assert field in response.data["errors"]
    policy = SlaPolicy.objects.get(severity="S1")
    assert (policy.response_target, policy.resolution_target) == (timedelta(minutes=15), timedelta(hours=4))


def test_sla_policy_patch_and_delete_are_not_offered(api_as, manager):
    client = api_as(manager)
    assert client.patch("/api/v1/sla-policies/S1/", {}, format="json").status_code == 405
    assert client.delete("/api/v1/sla-policies/S1/").status_code == 405


def test_token_endpoint_exchanges_credentials_for_a_working_token(service_desk):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "desk", "password": "pw-for-tests-only"}, format="json"
    )
    assert response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.data['token']}")
    assert client.get("/api/v1/incidents/").status_code == 200

    wrong = APIClient().post("/api/v1/auth/token/", {"username": "desk", "password": "nope"}, format="json")
    assert wrong.status_code == 400 and wrong.data["code"] == "invalid"


def test_schema_and_docs_are_served(api_as, manager):
    client = api_as(manager)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/incidents/{number}/classify/" in schema.json()["paths"]
    assert client.get("/api/v1/docs/").status_code == 200


def test_schema_generates_without_warnings_and_validates(tmp_path):
    """`spectacular --fail-on-warn` raises on any warning or error; `--validate` checks it against OpenAPI."""
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/sla-policies/{severity}/" in out.read_text()
