"""Honest first responses: what monitoring's account (a system account) does is on the record but never
answers an incident; the first response is a person's. Alerts go through the real intake endpoint."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents import alerts, permissions, services
from incidents.choices import Role, State
from incidents.models import Incident
from tests.factories import ServiceFactory, make_user
from tests.incidents.alerting import (
    ALERTMANAGER_URL,
    CEPH_OSD_DOWN,
    alertmanager_payload,
    make_source,
    post,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 4, 9, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def lab_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ceph():
    return ServiceFactory(name="Ceph storage", slug="ceph")


# A `warning` maps to urgency and impact medium: S3, which resolves without a recorded investigation.
LABELS = {**CEPH_OSD_DOWN["alerts"][0]["labels"], "severity": "warning"}


def fire(token) -> Incident:
    response = post(ALERTMANAGER_URL, alertmanager_payload("firing", labels=LABELS), token)
    return Incident.objects.get(number=response.data["incidents"][0])


def recover(token) -> None:
    response = post(ALERTMANAGER_URL, alertmanager_payload("resolved", labels=LABELS), token)
    assert response.status_code == 200


def test_an_alert_sources_account_is_a_system_account_and_people_are_not(ceph, manager, outsider):
    source, _token = make_source("Prometheus")
    account = alerts.alert_source_account(source=source)
    assert account.username == "monitoring-prometheus"
    assert permissions.is_system_account(account)
    assert not permissions.is_system_account(manager)
    assert not permissions.is_system_account(outsider)
    assert not permissions.is_system_account(None)


def test_monitoring_resolving_on_recovery_is_no_first_response(ceph, lab_time):
    _source, token = make_source("Prometheus", auto_resolve=True)
    incident = fire(token)
    lab_time.shift(timedelta(minutes=10))

    recover(token)

    incident.refresh_from_db()
    assert incident.state == State.RESOLVED
    assert incident.resolved_at == NOW + timedelta(minutes=10)
    assert incident.first_response_at is None  # investigated and resolved by the account: nobody answered
    assert incident.assignee == incident.reporter  # the record still names the integration that acted


def test_a_person_investigating_after_monitoring_classified_is_the_first_response(ceph, sysadmin, lab_time):
    _source, token = make_source("Prometheus")
    incident = fire(token)  # logged and classified by the source's account
    assert incident.state == State.CLASSIFIED and incident.first_response_at is None
    lab_time.shift(timedelta(minutes=7))

    incident = services.incident_investigate(incident=incident, user=sysadmin)

    assert incident.first_response_at == NOW + timedelta(minutes=7)


def test_reopened_after_it_healed_the_person_resolving_it_answers_it(ceph, service_desk, sysadmin, lab_time):
    _source, token = make_source("Prometheus", auto_resolve=True)
    incident = fire(token)
    lab_time.shift(timedelta(minutes=10))
    recover(token)
    lab_time.shift(timedelta(minutes=5))
    incident = services.incident_reopen(incident=incident, user=service_desk, reason="still failing")
    assert incident.state == State.INVESTIGATING and incident.first_response_at is None
    lab_time.shift(timedelta(minutes=30))

    incident = services.incident_resolve(
        incident=incident, user=sysadmin, code="fixed", notes="Replaced osd.7"
    )

    assert incident.first_response_at == incident.resolved_at == NOW + timedelta(minutes=45)


def test_a_system_account_investigating_directly_leaves_the_response_to_a_person(ceph, lab_time):
    """Not only the recovery path: any transition the account takes is no first response."""
    source, token = make_source("Prometheus")
    incident = fire(token)
    account = alerts.alert_source_account(source=source)
    expert = make_user(Role.EXPERTS, username="expert2")

    incident = services.incident_investigate(incident=incident, user=account, assignee=expert)

    assert incident.state == State.INVESTIGATING
    assert incident.assignee == expert
    assert incident.first_response_at is None
