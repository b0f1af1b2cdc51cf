"""Correlation: the alerts of one Alertmanager group (or one fingerprint) make one incident, listed on it;
firing again within the reopen window reopens it, after closure a recurrence is linked to it; a person
resolving while the alert fires gets a "still firing" note, not a duplicate incident."""

import copy
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents import services
from incidents.choices import EventKind, State
from incidents.models import Alert, Incident, IncidentAlert
from tests.factories import INVESTIGATION, ServiceFactory
from tests.incidents.alerting import ALERTMANAGER_URL, alertmanager_payload, make_source, post

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 4, 9, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def lab_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ceph():
    return ServiceFactory(name="Ceph storage", slug="ceph")


def osd(n: int, status: str = "firing", **changes) -> dict:
    """One alert of the CephOSDDown group: osd.<n>."""
    alert = copy.deepcopy(alertmanager_payload(status)["alerts"][0])
    alert["labels"] = {**alert["labels"], "ceph_daemon": f"osd.{n}", "instance": f"pve-0{n % 9}:9283"}
    alert["annotations"] = {**alert["annotations"], "summary": f"OSD osd.{n} is down"}
    alert["fingerprint"] = f"osd-{n:04d}"
    alert.update(changes)
    return alert


def notification(*alerts: dict, status: str | None = None) -> dict:
    """Alertmanager's notification of the CephOSDDown group holding `alerts`."""
    payload = alertmanager_payload()
    payload["alerts"] = list(alerts)
    payload["status"] = status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved")
    return payload


def monitoring_notes(incident) -> list[str]:
    return list(
        incident.timeline.filter(kind=EventKind.MONITORING).order_by("pk").values_list("note", flat=True)
    )


def resolve_as(incident, person):
    incident = services.incident_investigate(incident=incident, user=person)
    return services.incident_resolve(
        incident=incident, user=person, code="fixed", notes="OSDs back", **INVESTIGATION
    )


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


# --- one group, one incident --------------------------------------------------------------------------------


def test_three_osd_alerts_of_one_group_make_one_incident_listing_them_and_page_once(
    ceph, service_desk, lab_time
):
    _, token = make_source("Prometheus")
    first = post(ALERTMANAGER_URL, notification(osd(7)), token)
    assert first.data["results"][0]["action"] == "created"
    number = first.data["incidents"][0]
    incident = Incident.objects.get(number=number)
    assert incident.is_major  # S1: the emergency page and the announcements went out once, at raising
    sent = incident.notifications.count()
    assert sent > 0

    lab_time.shift(timedelta(minutes=5))  # Alertmanager's next notification: the group has grown
    second = post(ALERTMANAGER_URL, notification(osd(7), osd(8), osd(9)), token)

    assert second.status_code == 200
    assert second.data["incidents"] == [number]
    assert [r["action"] for r in second.data["results"]] == ["absorbed", "joined", "joined"]
    assert Incident.objects.count() == 1
    assert incident.notifications.count() == sent  # joining alerts page and notify nobody again
    group = IncidentAlert.objects.get()
    assert (group.grouping, group.key) == ("group", '{}/{severity="critical"}:{alertname="CephOSDDown"}')
    assert (group.alert_count, group.occurrences, group.status) == (3, 4, "firing")
    alerts = list(group.alerts.order_by("pk").values_list("fingerprint", "occurrences", "first_seen_at"))
    assert alerts == [
        ("osd-0007", 2, NOW),
        ("osd-0008", 1, NOW + timedelta(minutes=5)),
        ("osd-0009", 1, NOW + timedelta(minutes=5)),
    ]
    [joined] = monitoring_notes(incident)
    assert "2 alerts (CephOSDDown: OSD osd.8 is down, CephOSDDown: OSD osd.9 is down) joined" in joined


def test_the_group_recovers_when_all_its_alerts_do_and_then_auto_resolves(ceph, lab_time):
    _, token = make_source("Prometheus", auto_resolve=True)
    number = post(ALERTMANAGER_URL, notification(osd(7), osd(8)), token).data["incidents"][0]
    lab_time.shift(timedelta(minutes=5))

    partly = post(ALERTMANAGER_URL, notification(osd(7, "resolved"), osd(8)), token)
    assert [r["action"] for r in partly.data["results"]] == ["recovered", "absorbed"]
    incident = Incident.objects.get(number=number)
    assert incident.state == State.CLASSIFIED and incident.alert.status == "firing"
    assert "Other alerts of the incident still fire." in monitoring_notes(incident)[-1]

    lab_time.shift(timedelta(minutes=5))
    done = post(ALERTMANAGER_URL, notification(osd(7, "resolved"), osd(8, "resolved")), token)
    assert [r["action"] for r in done.data["results"]] == ["ignored", "resolved"]
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED
    assert incident.alert.status == "resolved" and incident.alert.recovered_at == NOW + timedelta(minutes=10)


def test_grouping_by_fingerprint_makes_one_incident_per_alert(ceph):
    _, token = make_source("Prometheus", grouping="fingerprint")
    response = post(ALERTMANAGER_URL, notification(osd(7), osd(8)), token)
    assert [r["action"] for r in response.data["results"]] == ["created", "created"]
    assert Incident.objects.count() == 2
    assert set(IncidentAlert.objects.values_list("key", flat=True)) == {"osd-0007", "osd-0008"}


def test_the_most_severe_alert_of_a_new_group_classifies_its_incident(ceph):
    _, token = make_source("Prometheus")
    warning = osd(7, labels={**osd(7)["labels"], "severity": "warning"})
    response = post(ALERTMANAGER_URL, notification(warning, osd(8)), token)
    incident = Incident.objects.get(number=response.data["incidents"][0])
    assert incident.severity == "S1"
    assert incident.title == "CephOSDDown: OSD osd.7 is down (and 1 more alerts)"


def test_the_incident_page_and_the_api_detail_list_the_alerts(ceph, manager, manager_client, api_as):
    _, token = make_source("Prometheus")
    number = post(ALERTMANAGER_URL, notification(osd(7), osd(8)), token).data["incidents"][0]
    incident = Incident.objects.get(number=number)

    page = manager_client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "OSD osd.7 is down" in html and "OSD osd.8 is down" in html and "2 reports of 2 alerts" in html

    detail = api_as(manager).get(f"/api/v1/incidents/{number}/").data["alert"]
    assert (detail["grouping"], detail["alert_count"], detail["is_open"]) == ("group", 2, True)
    assert [a["fingerprint"] for a in detail["alerts"]] == ["osd-0007", "osd-0008"]
    assert detail["alerts"][0]["labels"]["ceph_daemon"] == "osd.7"
    listed = api_as(manager).get("/api/v1/incidents/").data["results"]
    assert next(i for i in listed if i["number"] == number)["alert"]["alerts"] is None  # detail only


def test_alertmanager_truncating_a_group_is_said_on_the_timeline(ceph):
    _, token = make_source("Prometheus")
    payload = notification(osd(7))
    payload["truncatedAlerts"] = 12
    number = post(ALERTMANAGER_URL, payload, token).data["incidents"][0]
    incident = Incident.objects.get(number=number)
    assert incident.alert.truncated_alerts == 12
    assert any("left 12 alerts of this group out" in note for note in monitoring_notes(incident))


# --- firing again after the resolution ------------------------------------------------------------------


def test_firing_again_within_the_reopen_window_reopens_the_auto_resolved_incident(ceph, lab_time):
    _, token = make_source("Prometheus", auto_resolve=True)
    number = post(ALERTMANAGER_URL, notification(osd(7)), token).data["incidents"][0]
    lab_time.shift(timedelta(minutes=10))
    post(ALERTMANAGER_URL, notification(osd(7, "resolved")), token)
    assert Incident.objects.get(number=number).state == State.RESOLVED

    lab_time.shift(timedelta(minutes=59))  # flapping: back within the hour
    again = post(ALERTMANAGER_URL, notification(osd(7)), token)

    assert again.data["results"][0]["action"] == "reopened"
    assert again.data["incidents"] == [number]
    assert Incident.objects.count() == 1
    incident = Incident.objects.get(number=number)
    assert incident.state == State.INVESTIGATING and incident.reopen_count == 1  # a reopen, counted
    reopen = incident.timeline.get(transition="reopen")
    assert "fires again 59 min after the resolution" in reopen.note and reopen.actor == incident.reporter
    assert incident.alert.status == "firing"


def test_firing_again_after_the_reopen_window_raises_a_recurrence_linked_to_the_resolved_one(ceph, lab_time):
    _, token = make_source("Prometheus", auto_resolve=True, reopen_window=timedelta(minutes=30))
    number = post(ALERTMANAGER_URL, notification(osd(7)), token).data["incidents"][0]
    post(ALERTMANAGER_URL, notification(osd(7, "resolved")), token)

    lab_time.shift(timedelta(minutes=31))
    again = post(ALERTMANAGER_URL, notification(osd(7)), token)

    assert again.data["results"][0]["action"] == "created"
    new = Incident.objects.get(number=again.data["incidents"][0])
    assert new.number != number and Incident.objects.get(number=number).state == State.RESOLVED
    assert new.alert.recurrence_of.number == number and new.alert.is_current
    assert not IncidentAlert.objects.get(incident__number=number).is_current
    assert f"Recurrence of {number}" in monitoring_notes(new)[0]


def test_after_closure_a_firing_alert_raises_a_new_incident_linked_to_the_closed_one(ceph, manager, lab_time):
    _, token = make_source("Prometheus")
    number = post(ALERTMANAGER_URL, notification(osd(7)), token).data["incidents"][0]
    incident = resolve_as(Incident.objects.get(number=number), manager)
    services.incident_close(incident=incident, user=manager, closure_notes="Disk replaced.")
    post(ALERTMANAGER_URL, notification(osd(7, "resolved")), token)  # nothing to record on a closed one

    lab_time.shift(timedelta(minutes=5))  # within the window, but closed: never reopened
    again = post(ALERTMANAGER_URL, notification(osd(7)), token)

    new = Incident.objects.get(number=again.data["incidents"][0])
    assert new.number != number and Incident.objects.get(number=number).state == State.CLOSED
    assert new.alert.recurrence_of.number == number
    assert "after it was closed" in monitoring_notes(new)[0]
    assert list(
        Incident.objects.get(number=number).recurrences.values_list("incident__number", flat=True)
    ) == [new.number]


def test_a_person_resolving_while_the_alert_fires_gets_a_still_firing_note_not_a_duplicate(
    ceph, manager, lab_time
):
    _, token = make_source("Prometheus")
    number = post(ALERTMANAGER_URL, notification(osd(7)), token).data["incidents"][0]
    lab_time.shift(timedelta(minutes=10))
    resolve_as(Incident.objects.get(number=number), manager)

    for minutes in (5, 240, 240):  # the next notification, then Alertmanager's repeat_interval, twice
        lab_time.shift(timedelta(minutes=minutes))
        repeat = post(ALERTMANAGER_URL, notification(osd(7)), token)
        assert repeat.data["results"][0]["action"] == "still_firing"
        assert repeat.data["incidents"] == [number]

    assert Incident.objects.count() == 1
    incident = Incident.objects.get(number=number)
    assert incident.state == State.RESOLVED and incident.reopen_count == 0
    notes = [n for n in monitoring_notes(incident) if "still firing" in n]
    assert len(notes) == 1  # once per resolution, not on every repeat
    assert incident.alert.occurrences == 4


def test_a_source_may_reopen_when_still_firing(ceph, manager, lab_time):
    _, token = make_source("Prometheus", reopen_when_still_firing=True)
    number = post(ALERTMANAGER_URL, notification(osd(7)), token).data["incidents"][0]
    resolve_as(Incident.objects.get(number=number), manager)

    lab_time.shift(timedelta(hours=3))  # the window does not matter: it never stopped firing
    repeat = post(ALERTMANAGER_URL, notification(osd(7)), token)

    assert repeat.data["results"][0]["action"] == "reopened"
    incident = Incident.objects.get(number=number)
    assert incident.state == State.INVESTIGATING and incident.reopen_count == 1


def test_a_new_alert_of_the_group_after_a_person_resolved_reopens_within_the_window(ceph, manager, lab_time):
    _, token = make_source("Prometheus")
    number = post(ALERTMANAGER_URL, notification(osd(7)), token).data["incidents"][0]
    resolve_as(Incident.objects.get(number=number), manager)
    lab_time.shift(timedelta(minutes=20))

    response = post(ALERTMANAGER_URL, notification(osd(7), osd(8)), token)

    assert [r["action"] for r in response.data["results"]] == ["absorbed", "reopened"]
    incident = Incident.objects.get(number=number)
    assert incident.state == State.INVESTIGATING and incident.alert.alert_count == 2


def test_a_recovery_on_a_resolved_incident_is_recorded_and_ignored_once(ceph, manager):
    _, token = make_source("Prometheus")
    number = post(ALERTMANAGER_URL, notification(osd(7)), token).data["incidents"][0]
    resolve_as(Incident.objects.get(number=number), manager)
    first = post(ALERTMANAGER_URL, notification(osd(7, "resolved")), token)
    second = post(ALERTMANAGER_URL, notification(osd(7, "resolved")), token)
    assert first.data["results"][0]["action"] == "recovered"
    assert second.data["results"][0]["action"] == "ignored"
    assert Alert.objects.get().status == "resolved"


def test_a_reopening_notification_also_records_the_recoveries_it_carries(ceph, manager, lab_time):
    _, token = make_source("Prometheus")
    number = post(ALERTMANAGER_URL, notification(osd(7), osd(8)), token).data["incidents"][0]
    resolve_as(Incident.objects.get(number=number), manager)
    post(ALERTMANAGER_URL, notification(osd(7, "resolved"), osd(8)), token)  # osd.7 recovered
    lab_time.shift(timedelta(minutes=10))

    response = post(ALERTMANAGER_URL, notification(osd(7), osd(8, "resolved")), token)

    assert [r["action"] for r in response.data["results"]] == ["reopened", "recovered"]
    statuses = dict(Alert.objects.values_list("fingerprint", "status"))
    assert statuses == {"osd-0007": "firing", "osd-0008": "resolved"}


def test_a_recurrence_of_a_security_incident_names_it_only_to_those_who_may_see_it(
    ceph, manager, service_desk, api_as, client, lab_time
):
    """Service Desk does not see security incidents: the recurrence of one is shown to it without the number
    (API, admin page, timeline); an Incident Manager follows the link."""
    _, token = make_source("Prometheus")
    number = post(ALERTMANAGER_URL, notification(osd(7)), token).data["incidents"][0]
    earlier = services.incident_classify(
        incident=Incident.objects.get(number=number),
        user=manager,
        category="security",
        urgency="high",
        impact="high",
    )
    services.incident_cancel(incident=earlier, user=manager, reason="a pen test, not an outage")
    post(ALERTMANAGER_URL, notification(osd(7, "resolved")), token)
    lab_time.shift(timedelta(minutes=5))
    new = Incident.objects.get(
        number=post(ALERTMANAGER_URL, notification(osd(7)), token).data["incidents"][0]
    )
    assert new.alert.recurrence_of.number == number and new.category != "security"

    url = f"/api/v1/incidents/{new.number}/"
    assert api_as(manager).get(url).data["alert"]["recurrence_of"] == number
    desk = api_as(service_desk)
    assert desk.get(url).data["alert"]["recurrence_of"] is None
    assert number not in str(desk.get(url + "timeline/").data)
    assert "Recurrence of an earlier security incident" in monitoring_notes(new)[0]
    client.force_login(service_desk)
    page = client.get(reverse("admin:incidents_incident_change", args=[new.pk]))
    assert page.status_code == 200 and number not in page.content.decode()
    client.force_login(manager)
    assert number in client.get(reverse("admin:incidents_incident_change", args=[new.pk])).content.decode()
