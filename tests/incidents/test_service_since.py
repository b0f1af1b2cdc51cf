"""A service's date of going into operation (`Service.in_service_since`, issue #8 item 6: "`detected_at` not
before the service existed"): no incident of a service is detected before it, whichever write path sets the
detection or the service (logging, editing, classification, CSV import, alert intake)."""

from __future__ import annotations

import importlib
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse
from rest_framework.test import APIClient

from incidents import services
from incidents.choices import AlertSourceKind, State
from incidents.csv_io import COLUMNS, CsvRejected, import_incidents
from incidents.exceptions import ValidationError
from incidents.models import Incident, Service
from incidents.reference_data import LAB_SERVICES, seed_service_catalogue
from tests.factories import ServiceFactory, incident_in
from tests.incidents.alerting import GENERIC_URL, make_source

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
START = date(2026, 3, 1)
MIDNIGHT = datetime(2026, 3, 1, tzinfo=UTC)  # START's first moment in the tests' time zone (UTC)
BEFORE = "Detection cannot be before the service went into operation (2026-03-01)."


@pytest.fixture(autouse=True)
def lab_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def portal(db):
    return ServiceFactory(slug="new-portal", name="New portal", in_service_since=START)


def refusal(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


def errors_of(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


def test_a_new_service_goes_into_operation_today():
    assert Service.objects.create(name="Tape library", slug="tape-library").in_service_since == date(
        2026, 3, 10
    )


# --- logging and editing ---------------------------------------------------------------------------------


def test_logging_refuses_a_detection_before_the_service_started(api_as, manager, portal):
    early = MIDNIGHT - timedelta(seconds=1)
    assert refusal(
        lambda: services.incident_create(user=manager, title="Portal down", service=portal, detected_at=early)
    ) == {"detected_at": [BEFORE]}
    response = api_as(manager).post(
        "/api/v1/incidents/",
        {"title": "Portal down", "service": "new-portal", "detected_at": "2026-02-28T12:00:00Z"},
        format="json",
    )
    assert errors_of(response) == {"detected_at": [BEFORE]}
    incident = services.incident_create(
        user=manager, title="Portal down", service=portal, detected_at=MIDNIGHT
    )
    assert incident.detected_at == MIDNIGHT


def test_the_day_begins_in_the_configured_time_zone(settings, manager, portal):
    settings.TIME_ZONE = "Europe/Berlin"  # 2026-03-01 begins at 2026-02-28T23:00Z
    late_evening = datetime(2026, 2, 28, 22, 59, tzinfo=UTC)
    assert refusal(
        lambda: services.incident_create(user=manager, title="Down", service=portal, detected_at=late_evening)
    ) == {"detected_at": [BEFORE]}
    just_after = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    services.incident_create(user=manager, title="Down", service=portal, detected_at=just_after)


def test_a_service_not_yet_in_operation_takes_no_incident(manager):
    future = ServiceFactory(slug="next-year", in_service_since=date(2027, 1, 1))
    assert refusal(lambda: services.incident_create(user=manager, title="Down", service=future)) == {
        "service": ["Detection cannot be before the service went into operation (2027-01-01)."]
    }


def test_editing_keeps_the_detection_after_the_service_started(api_as, manager, portal):
    older = incident_in(State.LOGGED, manager=manager, detected_at=NOW - timedelta(days=20))
    assert refusal(
        lambda: services.incident_update(incident=older, user=manager, data={"service": portal})
    ) == {"service": [BEFORE]}
    newer = incident_in(State.LOGGED, manager=manager, service=portal, detected_at=MIDNIGHT)
    response = api_as(manager).patch(
        f"/api/v1/incidents/{newer.number}/", {"detected_at": "2026-02-27T00:00:00Z"}, format="json"
    )
    assert errors_of(response) == {"detected_at": [BEFORE]}
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.service != portal, newer.detected_at) == (True, MIDNIGHT)


def test_classification_refuses_a_service_younger_than_the_detection(api_as, manager, portal):
    incident = incident_in(State.LOGGED, manager=manager, detected_at=NOW - timedelta(days=20))
    inputs = {"category": "infrastructure", "urgency": "low", "impact": "low"}
    assert refusal(
        lambda: services.incident_classify(incident=incident, user=manager, service=portal, **inputs)
    ) == {"service": [BEFORE]}
    response = api_as(manager).post(
        f"/api/v1/incidents/{incident.number}/classify/", {**inputs, "service": "new-portal"}, format="json"
    )
    assert errors_of(response) == {"service": [BEFORE]}
    incident.refresh_from_db()
    assert incident.state == State.LOGGED
    # Classifying without moving it to another service keeps working for incidents logged before the date
    # (the migration dates every service no later than its incidents; only an edit can leave one behind).
    classified = services.incident_classify(incident=incident, user=manager, **inputs)
    assert classified.state == State.CLASSIFIED


def test_an_alert_that_started_before_its_service_is_detected_at_the_start(portal):
    _, token = make_source("Zabbix", kind=AlertSourceKind.GENERIC)
    intake = APIClient()
    intake.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = intake.post(
        GENERIC_URL,
        {"title": "Portal 502", "service": "new-portal", "starts_at": "2026-02-27T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Incident.objects.get().detected_at == MIDNIGHT


# --- CSV import --------------------------------------------------------------------------------------------


def csv_of(*rows: dict) -> str:
    base = {
        "title": "Portal 502",
        "service": "new-portal",
        "state": "logged",
        "detected_at": "2026-03-02T07:50:00+00:00",
        "created_at": "2026-03-02T08:00:00+00:00",
    }
    lines = [",".join(COLUMNS)]
    for row in rows:
        cells = {**base, **row}
        lines.append(",".join(cells.get(column, "") for column in COLUMNS))
    return "\r\n".join(lines) + "\r\n"


def test_the_import_refuses_rows_detected_before_their_service(manager, portal):
    text = csv_of({}, {"detected_at": "2026-02-28T23:59:59+00:00"})
    for dry_run in (True, False):
        with pytest.raises(CsvRejected) as caught:
            import_incidents(stream=io.StringIO(text), user=manager, dry_run=dry_run)
        assert caught.value.messages == [f"row 3: detected_at: {BEFORE}"]
    assert not Incident.objects.exists()


def test_a_service_the_import_creates_starts_on_its_earliest_row(manager):
    text = csv_of(
        {
            "service": "tape-library",
            "detected_at": "2025-10-01T07:50:00+00:00",
            "created_at": "2025-10-01T08:00Z",
        },
        {
            "service": "tape-library",
            "detected_at": "2025-09-15T23:30:00+00:00",
            "created_at": "2025-09-16T08:00Z",
        },
    )
    result = import_incidents(stream=io.StringIO(text), user=manager, create_services=True, dry_run=True)
    assert result.services_created == ["tape-library"]
    import_incidents(stream=io.StringIO(text), user=manager, create_services=True)
    assert Service.objects.get(slug="tape-library").in_service_since == date(2025, 9, 15)


# --- where people see it -------------------------------------------------------------------------------


def test_the_service_admin_edits_the_date_and_the_api_shows_it(client, api_as, manager, portal):
    client.force_login(manager)
    page = client.get(reverse("admin:incidents_service_change", args=[portal.pk])).content.decode()
    assert 'name="in_service_since"' in page and "2026-03-01" in page
    client_api = api_as(manager)
    assert client_api.get("/api/v1/services/new-portal/").json()["in_service_since"] == "2026-03-01"
    assert (
        client_api.patch("/api/v1/services/new-portal/", {"in_service_since": "2020-01-01"}).status_code
        == 405
    )


# --- the lab catalogue and the migration ------------------------------------------------------------------


def test_the_lab_catalogue_is_seeded_with_its_dates():
    seed_service_catalogue(apps)
    dates = dict(Service.objects.values_list("slug", "in_service_since"))
    assert {entry.slug: dates[entry.slug] for entry in LAB_SERVICES} == {
        entry.slug: entry.in_service_since for entry in LAB_SERVICES
    }


def test_the_migration_dates_services_by_their_earliest_incident_or_the_catalogue(manager):
    migration = importlib.import_module("incidents.migrations.0008_service_in_service_since")
    used = ServiceFactory(slug="used")
    idle = ServiceFactory(slug="idle")
    with time_machine.travel(datetime(2025, 11, 3, 10, 0, tzinfo=UTC), tick=False):
        services.incident_create(
            user=manager, title="Down", service=used, detected_at=datetime(2025, 10, 20, 6, 0, tzinfo=UTC)
        )
    with time_machine.travel(datetime(2025, 12, 1, 10, 0, tzinfo=UTC), tick=False):
        services.incident_create(user=manager, title="Down again", service=used)
    catalogued = LAB_SERVICES[0]
    lab = ServiceFactory(slug=catalogued.slug, name=catalogued.name)
    Service.objects.update(in_service_since=date(2030, 1, 1))  # as the new column's default leaves them

    migration.date_services(apps, None)

    dates = dict(Service.objects.values_list("slug", "in_service_since"))
    assert dates[used.slug] == date(2025, 10, 20)
    assert dates[idle.slug] == date(2026, 3, 10)  # the day the migration runs
    assert dates[lab.slug] == catalogued.in_service_since
