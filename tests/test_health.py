"""Liveness seen from outside the worker: GET /healthz (no login) and the admin home page report the
escalation sweep as failing when its last success is more than 5 minutes old, or when it never ran."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from escalation import tasks
from incidents.choices import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BANNER = "the Celery worker or beat may be down"


def at(moment):
    return time_machine.travel(moment, tick=False)


def swept(ago: timedelta) -> None:
    with at(NOON - ago):
        tasks.sweep()


def test_healthz_is_ok_while_the_sweep_runs(client):
    swept(timedelta(minutes=1))
    with at(NOON):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "failing": [],
        "checks": {
            "database": {"ok": True},
            "broker": {"ok": True},
            "cache": {"ok": True},
            "escalation_sweep": {
                "ok": True,
                "last_success_at": "2026-12-01T11:59:00+00:00",
                "age_seconds": 60,
            },
        },
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_fails_naming_the_sweep_when_it_stopped_6_minutes_ago(client):
    swept(timedelta(minutes=6))
    with at(NOON):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failing"]) == ("fail", ["escalation_sweep"])
    assert body["checks"]["database"] == body["checks"]["broker"] == body["checks"]["cache"] == {"ok": True}
    assert body["checks"]["escalation_sweep"] == {
        "ok": False,
        "last_success_at": "2026-12-01T11:54:00+00:00",
        "age_seconds": 360,
    }


def test_healthz_fails_when_the_sweep_never_ran(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["escalation_sweep"] == {
        "ok": False,
        "last_success_at": None,
        "age_seconds": None,
    }


@pytest.fixture
def staff_client(client):
    client.force_login(make_user(Role.INCIDENT_MANAGERS, username="manager"))
    return client


def admin_home(client):
    with at(NOON):
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_admin_home_page_has_no_warning_while_the_sweep_runs(staff_client):
    swept(timedelta(minutes=1))
    assert BANNER not in admin_home(staff_client)


def test_the_admin_home_page_warns_when_the_sweep_stopped_6_minutes_ago(staff_client):
    swept(timedelta(minutes=6))
    page = admin_home(staff_client)
    assert "Escalation sweep has not run since" in page
    assert "(6\xa0minutes ago)" in page
    assert BANNER in page


def test_the_admin_home_page_warns_when_the_sweep_never_ran(staff_client):
    page = admin_home(staff_client)
    assert "Escalation sweep has never run" in page
    assert BANNER in page
