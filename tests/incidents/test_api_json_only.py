"""The API reads JSON only, as its schema declares: forms and multipart are a 415 naming the type, at every
endpoint that takes a body, the token endpoint included. The admin's HTML forms are Django's, untouched;
alert intake reads its raw body itself."""

import json

import pytest
from rest_framework.test import APIClient

from incidents.models import Incident
from tests.factories import ServiceFactory
from tests.incidents.alerting import ALERTMANAGER_URL, alertmanager_payload, make_source

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"


@pytest.mark.parametrize("body_format", ["multipart", "form"])
def test_a_form_body_is_a_415_and_logs_nothing(api_as, service_desk, body_format):
    client = api_as(service_desk)
    if body_format == "multipart":
        response = client.post("/api/v1/incidents/", {"title": "Feed down"}, format="multipart")
    else:
        response = client.post(
            "/api/v1/incidents/", "title=Feed+down", content_type="application/x-www-form-urlencoded"
        )
    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "unsupported_media_type"
    assert "form" in body["detail"]
    assert not Incident.objects.exists()
    json_body = client.post("/api/v1/incidents/", {"title": "Feed down"}, format="json")
    assert json_body.status_code == 201, json_body.content


def test_the_token_endpoint_takes_json(service_desk):
    form = APIClient().post(
        "/api/v1/auth/token/",
        f"username=desk&password={PASSWORD}",
        content_type="application/x-www-form-urlencoded",
    )
    assert form.status_code == 415
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "desk", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["token"]


def test_alert_intake_reads_its_body_whatever_the_content_type(db):
    """Alert intake reads and parses its raw body itself: a sender that labels its JSON as a form (curl -d
    without a Content-Type) is still heard, and the JSON-only rule of the other endpoints does not apply."""
    ServiceFactory(slug="ceph")
    _, token = make_source()
    client = APIClient()
    response = client.post(
        ALERTMANAGER_URL,
        json.dumps(alertmanager_payload()),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    assert Incident.objects.filter(source="monitoring").count() == 1
