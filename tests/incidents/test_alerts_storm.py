"""An alert storm makes one incident: identical alerts are counted on it with one UPDATE per delivery
(however many copies the delivery holds), and the incident's history does not grow with the count."""

import json

import pytest

from incidents.models import AlertPayload, Incident, TimelineEvent
from tests.factories import ServiceFactory
from tests.incidents.alerting import ALERTMANAGER_URL, alertmanager_payload, make_source, post

pytestmark = pytest.mark.django_db

# Absorbing a delivery, whatever its size: authenticate the source, store the payload, find the group
# (locked) and its alerts, update both, link the payload to the incident; plus the savepoint and its
# release the test's own transaction adds around the group's.
ABSORB_QUERIES = 9


@pytest.fixture
def source_and_token():
    ServiceFactory(name="Ceph storage", slug="ceph")
    return make_source("Prometheus")


def test_10000_identical_alerts_make_one_incident_with_10000_occurrences(
    source_and_token, django_assert_max_num_queries
):
    _, token = source_and_token
    # Ten notifications of a thousand copies each.
    body = json.dumps(alertmanager_payload("firing", copies=1000))

    first = post(ALERTMANAGER_URL, body, token)
    assert first.status_code == 200
    assert first.data["alerts"] == 1000
    assert first.data["results"] == [
        {
            "fingerprint": "3c1c5e0fa4a4f1f2",
            "status": "firing",
            "action": "created",
            "incident": first.data["incidents"][0],
            "count": 1000,
        }
    ]
    incident = Incident.objects.get()
    history_rows = incident.history.count()
    timeline_rows = TimelineEvent.objects.count()

    for _ in range(9):
        with django_assert_max_num_queries(ABSORB_QUERIES):
            response = post(ALERTMANAGER_URL, body, token)
        assert response.data["results"][0]["action"] == "absorbed"

    assert Incident.objects.count() == 1
    incident.alert.refresh_from_db()
    assert incident.alert.occurrences == 10_000
    assert incident.history.count() == history_rows  # occurrences are not audited one by one
    assert TimelineEvent.objects.count() == timeline_rows
    assert AlertPayload.objects.count() == 10


def test_a_storm_of_single_alert_deliveries_costs_the_same_per_delivery(
    source_and_token, django_assert_max_num_queries
):
    _, token = source_and_token
    body = json.dumps(alertmanager_payload("firing"))
    post(ALERTMANAGER_URL, body, token)
    for _ in range(199):
        with django_assert_max_num_queries(ABSORB_QUERIES):
            post(ALERTMANAGER_URL, body, token)

    incident = Incident.objects.get()
    assert incident.alert.occurrences == 200
    assert incident.alert_payloads.count() == 200
