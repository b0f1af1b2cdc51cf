"""A lost database connection is a 503 with Retry-After, never a 500: under /api/ the API's error body, in
the admin a plain page; whether the view, DRF or a middleware met it. Other crashes stay 500s.
(End to end, with PostgreSQL's connections really terminated under gunicorn: tests/faults/.)"""

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from escalation.models import Notification
from incidents.api import errors
from incidents.choices import Role
from incidents.middleware import UserTimeZoneMiddleware
from incidents.models import Incident
from tests.factories import make_user

pytestmark = pytest.mark.django_db

TERMINATED = OperationalError("terminating connection due to administrator command")


def fail_with(exc):
    def raising(*args, **kwargs):
        raise exc

    return raising


def assert_api_503(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)
    assert response.json() == {"detail": errors.DATABASE_UNAVAILABLE, "code": "database_unavailable"}


@pytest.mark.parametrize("exc", [TERMINATED, InterfaceError("connection already closed")])
def test_an_api_view_that_loses_the_database_answers_503_json(monkeypatch, api_as, manager, exc):
    client = api_as(manager)
    monkeypatch.setattr("incidents.api.views.selectors.incident_list", fail_with(exc))
    assert_api_503(client.get("/api/v1/incidents/"))


def test_a_write_that_loses_the_database_answers_503_json(monkeypatch, api_as, service_desk):
    client = api_as(service_desk)
    monkeypatch.setattr("incidents.api.views.services.incident_create", fail_with(TERMINATED))
    assert_api_503(client.post("/api/v1/incidents/", {"title": "pve-03 unreachable"}, format="json"))


def test_an_admin_page_that_loses_the_database_answers_a_plain_503_page(monkeypatch, client, manager):
    client.force_login(manager)
    monkeypatch.setattr("incidents.selectors.work_queues", fail_with(TERMINATED))
    response = client.get("/admin/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)
    assert errors.DATABASE_UNAVAILABLE in response.content.decode()


def test_a_middleware_that_loses_the_database_answers_503_too(monkeypatch, manager):
    """Outside any view (the user's time zone is read from the database before the view runs) only
    Django's 500 handler sees the error."""
    monkeypatch.setattr(UserTimeZoneMiddleware, "__call__", fail_with(TERMINATED))
    client = Client(raise_request_exception=False)
    client.force_login(manager)
    assert_api_503(client.get("/api/v1/incidents/"))
    page = client.get("/admin/")
    assert page.status_code == 503
    assert errors.DATABASE_UNAVAILABLE in page.content.decode()


def test_other_crashes_stay_500s(monkeypatch, api_as, manager):
    client = api_as(manager)
    client.raise_request_exception = False
    monkeypatch.setattr("incidents.api.views.selectors.incident_list", fail_with(RuntimeError("a bug")))
    response = client.get("/api/v1/incidents/")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "Retry-After" not in response


def test_kept_connections_are_checked_before_reuse(settings):
    """With CONN_MAX_AGE > 0 a connection PostgreSQL dropped between requests would fail the next one."""
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_a_connection_lost_while_answering_a_write_saves_nothing(monkeypatch, api_as, service_desk):
    """The incident is rendered inside the write's transaction: losing the database there is a 503 with the
    incident rolled back, not a 503 for an incident that was saved (the client would log it twice)."""
    client = api_as(service_desk)
    monkeypatch.setattr("incidents.api.views.IncidentViewSet._render", fail_with(TERMINATED))
    body = {"title": "pve-03 unreachable", "category": "infrastructure", "urgency": "low", "impact": "low"}
    assert_api_503(client.post("/api/v1/incidents/", body, format="json"))
    assert not Incident.objects.filter(title="pve-03 unreachable").exists()


@pytest.mark.django_db(transaction=True)
def test_queuing_after_the_commit_cannot_turn_a_saved_incident_into_a_503(monkeypatch, api_as, service_desk):
    """Once committed, the incident is saved: a failure to queue its e-mails afterwards (the broker or the
    database gone since) is logged and left to the sweep, and the answer is still 201."""
    make_user(Role.SERVICE_DESK, username="desk-colleague")  # receives the New incident e-mail
    client = api_as(service_desk)
    monkeypatch.setattr("escalation.services.notifications.queue_delivery", fail_with(TERMINATED))
    response = client.post("/api/v1/incidents/", {"title": "pve-03 unreachable"}, format="json")
    assert response.status_code == 201
    assert Notification.objects.filter(incident__number=response.json()["number"], status="pending").exists()


@pytest.mark.django_db(transaction=True)
def test_scheduling_after_the_commit_cannot_turn_a_saved_incident_into_a_503(
    monkeypatch, api_as, service_desk
):
    client = api_as(service_desk)
    monkeypatch.setattr("escalation.services.hierarchical._schedule", fail_with(TERMINATED))
    body = {"title": "pve-03 unreachable", "category": "infrastructure", "urgency": "low", "impact": "low"}
    assert client.post("/api/v1/incidents/", body, format="json").status_code == 201
