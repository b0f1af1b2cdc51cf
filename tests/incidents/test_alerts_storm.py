"""An alert storm makes one incident: identical alerts are counted on it with one UPDATE per delivery
(however many copies the delivery holds), and the incident's history does not grow with the count."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Alert, AlertPayload, Incident, TimelineEvent
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


# --- a large group (issue 13, "Storms") -------------------------------------------------------------------


def group_of(n: int, *, start: int = 0, status: str = "firing") -> dict:
    """One Alertmanager notification of the CephOSDDown group holding `n` distinct alerts."""
    payload = alertmanager_payload(status)
    template = payload["alerts"][0]
    payload["alerts"] = [
        {
            **template,
            "labels": {**template["labels"], "ceph_daemon": f"osd.{i}"},
            "annotations": {**template["annotations"], "summary": f"OSD osd.{i} is down"},
            "fingerprint": f"osd-{i:05d}",
        }
        for i in range(start, start + n)
    ]
    return payload


def test_a_group_of_5000_alerts_is_accepted_as_one_incident_and_5001_are_refused_naming_the_limit(
    source_and_token,
):
    _, token = source_and_token
    body = json.dumps(group_of(5000))
    assert len(body) > 1024 * 1024  # what used to be refused

    response = post(ALERTMANAGER_URL, body, token)

    assert response.status_code == 200
    assert response.data["alerts"] == 5000 and len(response.data["incidents"]) == 1
    incident = Incident.objects.get()
    assert incident.alert.alert_count == 5000 and Alert.objects.count() == 5000
    stored = AlertPayload.objects.get()  # its first MiB, for debugging; the size says how large it was
    assert stored.size == len(body.encode()) and len(stored.body) < 1024 * 1024 + 100
    assert stored.body.endswith(f"(cut here: {len(body.encode()) - 1024 * 1024} more bytes not kept)")

    refused = post(ALERTMANAGER_URL, group_of(5001), token)
    assert refused.status_code == 413
    assert refused.json()["code"] == "payload_too_large"
    assert "5001 alerts; at most 5000" in refused.json()["detail"]
    assert AlertPayload.objects.filter(status="rejected").get().error == refused.json()["detail"]
    assert Alert.objects.count() == 5000


def queries_of(token: str, payload: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = post(ALERTMANAGER_URL, json.dumps(payload), token)
    assert response.status_code == 200, response.content
    return len(captured)


def test_the_queries_of_a_delivery_do_not_grow_with_its_alerts(source_and_token):
    """Set-based: a group of N new alerts raising an incident, N new alerts joining it, N repeats and N
    recoveries each cost the same number of queries for N small and large. (SQLite splits a bulk insert
    into batches of about 90 rows, so its large N stays below that; PostgreSQL takes 4,000 at once.)"""
    _, token = source_and_token
    small, large = 5, (4000 if connection.vendor == "postgresql" else 80)
    post(ALERTMANAGER_URL, alertmanager_payload("firing"), token)  # the source's account is created once

    def group(key, count, start=0, status="firing"):
        payload = group_of(count, start=start, status=status)
        payload["groupKey"] = key
        return payload

    costs = {}
    for n in (small, large):
        key = f"group-of-{n}"
        costs[n] = (
            queries_of(token, group(key, n)),  # raises the incident
            queries_of(token, group(key, n, start=n)),  # n more join it
            queries_of(token, group(key, n, start=n)),  # repeats
            queries_of(token, group(key, n, start=n, status="resolved")),  # recoveries (others still fire)
        )
    assert costs[small] == costs[large], costs
    _, join, repeat, recover = costs[large]
    assert repeat == ABSORB_QUERIES
    assert join == ABSORB_QUERIES + 1  # and one timeline entry
    assert recover == ABSORB_QUERIES + 2  # and which alerts still fire, and one timeline entry
