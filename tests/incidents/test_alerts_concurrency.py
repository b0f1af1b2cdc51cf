"""Concurrent deliveries on PostgreSQL, with real threads and connections: the partial unique index on
open alerts lets exactly one delivery raise the incident; the others absorb into it."""

import json

import pytest

from incidents import alerts, services
from incidents.alerts import AlertIntakeResult
from incidents.models import AlertSource, Incident, IncidentAlert, NumberSequence
from tests.factories import INVESTIGATION, ServiceFactory, make_user
from tests.incidents.alerting import alertmanager_payload, make_source
from tests.incidents.test_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)

DELIVERIES = 8


def deliver(source_pk: int, body: bytes):
    # Each thread loads its own source, as each request would.
    return lambda: alerts.alert_receive(source=AlertSource.objects.get(pk=source_pk), payload_bytes=body)


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_deliveries_of_a_new_alert_make_one_incident(postgres, reference_data, attempt):
    ServiceFactory(name="Ceph storage", slug="ceph")
    source, _ = make_source("Prometheus")  # no system account yet: the deliveries race to create it too
    body = json.dumps(alertmanager_payload("firing")).encode()

    results = race(*[deliver(source.pk, body) for _ in range(DELIVERIES)])

    assert all(isinstance(r, AlertIntakeResult) for r in results), results
    actions = sorted(r.outcomes[0].action for r in results)
    assert actions == ["absorbed"] * (DELIVERIES - 1) + ["created"]
    assert len({r.incidents[0] for r in results}) == 1
    incident = Incident.objects.get()
    assert incident.state == "classified"
    assert IncidentAlert.objects.get().occurrences == DELIVERIES
    # The losers' incidents were rolled back whole: no gap in the numbers, one timeline, one account.
    assert NumberSequence.objects.get(name="incident").last_value == 1
    assert incident.timeline.filter(transition="classify").count() == 1
    source.refresh_from_db()
    assert source.account is not None
    assert type(source.account).objects.filter(username__startswith="monitoring-").count() == 1


def test_a_reopen_racing_a_new_firing_leaves_one_open_incident_per_alert(postgres, reference_data):
    ServiceFactory(name="Ceph storage", slug="ceph")
    manager = make_user("Incident Managers", username="manager")
    source, _ = make_source("Prometheus")
    body = json.dumps(alertmanager_payload("firing")).encode()
    number = alerts.alert_receive(source=source, payload_bytes=body).incidents[0]
    incident = services.incident_investigate(incident=Incident.objects.get(number=number), user=manager)
    services.incident_resolve(
        incident=incident, user=manager, code="fixed", notes="restarted the OSD", **INVESTIGATION
    )

    results = race(
        lambda: services.incident_reopen(
            incident=Incident.objects.get(number=number), user=manager, reason="it is back"
        ),
        deliver(source.pk, body),
    )

    assert not any(isinstance(r, Exception) for r in results), results
    assert Incident.objects.get(number=number).state == "investigating"
    assert IncidentAlert.objects.filter(source=source, is_current=True).count() == 1


def test_concurrent_notifications_of_one_group_make_one_incident_listing_every_alert(
    postgres, reference_data
):
    ServiceFactory(name="Ceph storage", slug="ceph")
    source, _ = make_source("Prometheus")
    bodies = []
    for n in range(DELIVERIES):  # each notification brings another OSD of the same group
        payload = alertmanager_payload("firing", fingerprint=f"osd-{n}")
        payload["alerts"][0]["labels"] = {**payload["alerts"][0]["labels"], "ceph_daemon": f"osd.{n}"}
        bodies.append(json.dumps(payload).encode())

    results = race(*[deliver(source.pk, body) for body in bodies])

    assert all(isinstance(r, AlertIntakeResult) for r in results), results
    actions = sorted(r.outcomes[0].action for r in results)
    assert actions == ["created"] + ["joined"] * (DELIVERIES - 1)
    incident = Incident.objects.get()
    group = IncidentAlert.objects.get()
    assert group.incident == incident and group.alert_count == DELIVERIES and group.occurrences == DELIVERIES
    assert sorted(group.alerts.values_list("fingerprint", flat=True)) == sorted(
        f"osd-{n}" for n in range(DELIVERIES)
    )
    assert NumberSequence.objects.get(name="incident").last_value == 1
