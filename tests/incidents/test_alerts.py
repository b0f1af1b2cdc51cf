"""Detection via monitoring: Alertmanager and generic alerts become one classified incident per open
alert, recoveries reach its timeline (and resolve it when the source says so), and deliveries that are
not allowed, too large or malformed are refused with the right status and kept for debugging."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incidents import alerts, services
from incidents.choices import AlertSourceKind, EventKind, PayloadStatus, Source, State
from incidents.exceptions import PermissionDenied
from incidents.models import AlertPayload, Incident, IncidentAlert
from tests.factories import INVESTIGATION, ServiceFactory, incident_in
from tests.incidents.alerting import (
    ALERTMANAGER_URL,
    GENERATOR_URL,
    GENERIC_URL,
    alertmanager_payload,
    make_source,
    post,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 4, 9, 15, tzinfo=UTC)  # 2.5 minutes after the alert started


@pytest.fixture(autouse=True)
def lab_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ceph():
    return ServiceFactory(name="Ceph storage", slug="ceph")


@pytest.fixture
def prometheus(ceph):
    return make_source("Prometheus")


def monitoring_events(incident):
    return list(incident.timeline.filter(kind=EventKind.MONITORING).order_by("pk"))


# --- the issue's "done means": firing, then resolved ------------------------------------------------------


def test_alertmanager_firing_then_resolved_makes_one_classified_incident_then_the_recovery_event(
    prometheus, ceph, lab_time
):
    source, token = prometheus
    response = post(ALERTMANAGER_URL, alertmanager_payload("firing"), token)

    assert response.status_code == 200, response.data
    assert response.data["alerts"] == 1
    [result] = response.data["results"]
    assert result["action"] == "created"
    number = result["incident"]
    assert response.data["incidents"] == [number]

    incident = Incident.objects.get(number=number)
    assert incident.source == Source.MONITORING
    assert incident.detected_at == datetime(2025, 3, 4, 9, 12, 31, 482917, tzinfo=UTC)  # startsAt
    assert incident.created_at == NOW
    assert incident.title == "CephOSDDown: OSD osd.7 is down"
    assert "marked down for more than 5 minutes" in incident.description
    assert incident.service == ceph
    # Classified from the mapping: severity=critical → high/high → S1, so both SLA clocks run.
    assert incident.state == State.CLASSIFIED
    assert (incident.category, incident.urgency, incident.impact) == ("infrastructure", "high", "high")
    assert incident.severity == "S1"
    assert incident.response_due_at == NOW + timedelta(minutes=15)
    assert incident.resolution_due_at == NOW + timedelta(hours=4)
    assert incident.is_major  # S1: the escalation app declared it major on classification

    source.refresh_from_db()
    account = source.account
    assert incident.reporter == account
    assert account.username == "monitoring-prometheus"
    assert not account.has_usable_password() and not account.is_staff and not account.groups.exists()
    assert {h.history_user for h in incident.history.all()} == {account}

    alert = incident.alert
    assert (alert.source, alert.fingerprint, alert.occurrences) == (source, "3c1c5e0fa4a4f1f2", 1)
    assert alert.labels["ceph_daemon"] == "osd.7" and alert.labels["severity"] == "critical"
    assert alert.annotations["runbook_url"] == "https://wiki.lab/runbooks/ceph-osd-down"
    assert alert.generator_url == GENERATOR_URL
    assert alert.is_current and alert.status == "firing" and alert.alert_count == 1

    lab_time.shift(timedelta(minutes=5))  # Alertmanager's repeat: the same alert, still firing
    again = post(ALERTMANAGER_URL, alertmanager_payload("firing"), token)
    assert again.data["results"][0] == {
        "fingerprint": "3c1c5e0fa4a4f1f2",
        "status": "firing",
        "action": "absorbed",
        "incident": number,
        "count": 1,
    }
    alert.refresh_from_db()
    assert (alert.occurrences, alert.first_seen_at, alert.last_seen_at) == (
        2,
        NOW,
        NOW + timedelta(minutes=5),
    )

    lab_time.shift(timedelta(minutes=25))
    resolved = post(ALERTMANAGER_URL, alertmanager_payload("resolved"), token)
    assert resolved.status_code == 200
    assert resolved.data["results"][0]["action"] == "recovered"

    assert Incident.objects.count() == 1
    incident.refresh_from_db()
    assert incident.state == State.CLASSIFIED  # not auto-resolving: it stays for a human
    [event] = monitoring_events(incident)
    assert event.note.startswith("Monitoring reports recovery")
    assert event.actor == account
    assert event.data["fingerprint"] == "3c1c5e0fa4a4f1f2"
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.recovered_at == NOW + timedelta(minutes=30)
    assert alert.is_current  # a new firing is counted on it

    payloads = AlertPayload.objects.filter(source=source)
    assert payloads.count() == 3 and {p.status for p in payloads} == {PayloadStatus.ACCEPTED}
    assert all(list(p.incidents.all()) == [incident] for p in payloads)


def test_a_repeated_recovery_is_recorded_once_and_a_new_firing_is_noted(prometheus):
    _, token = prometheus
    number = post(ALERTMANAGER_URL, alertmanager_payload("firing"), token).data["incidents"][0]
    post(ALERTMANAGER_URL, alertmanager_payload("resolved"), token)
    repeated = post(ALERTMANAGER_URL, alertmanager_payload("resolved"), token)
    assert repeated.data["results"][0]["action"] == "ignored"

    refired = post(ALERTMANAGER_URL, alertmanager_payload("firing"), token)
    assert refired.data["results"][0]["action"] == "absorbed"
    incident = Incident.objects.get(number=number)
    notes = [e.note for e in monitoring_events(incident)]
    assert len(notes) == 2 and "recovery" in notes[0] and "firing again" in notes[1]
    assert incident.alert.status == "firing"


def test_recovery_of_an_alert_without_an_open_incident_changes_nothing(prometheus):
    _, token = prometheus
    response = post(ALERTMANAGER_URL, alertmanager_payload("resolved"), token)
    assert response.status_code == 200
    assert response.data["results"][0]["action"] == "ignored"
    assert response.data["incidents"] == []
    assert not Incident.objects.exists()


# --- auto-resolve -----------------------------------------------------------------------------------------


def test_auto_resolve_takes_a_classified_incident_through_investigation_to_resolved(ceph, lab_time):
    _, token = make_source("Prometheus", auto_resolve=True)
    number = post(ALERTMANAGER_URL, alertmanager_payload("firing"), token).data["incidents"][0]
    lab_time.shift(timedelta(minutes=10))

    response = post(ALERTMANAGER_URL, alertmanager_payload("resolved"), token)

    assert response.data["results"][0]["action"] == "resolved"
    incident = Incident.objects.get(number=number)
    account = incident.reporter
    assert incident.state == State.RESOLVED
    assert incident.resolution_code == "fixed"
    assert "monitoring (Prometheus) reports recovery" in incident.resolution_notes
    assert incident.assignee == account
    # Resolved within S1's 4 h; the monitoring account's moves are no first response: nobody answered.
    assert incident.resolved_at == NOW + timedelta(minutes=10)
    assert incident.first_response_at is None
    assert not incident.resolution_breached
    transitions = list(incident.timeline.filter(kind=EventKind.TRANSITION).values_list("transition", "actor"))
    assert transitions == [("classify", account.pk), ("investigate", account.pk), ("resolve", account.pk)]
    assert len(monitoring_events(incident)) == 1
    # Still its group's incident: firing again reopens it (tests/incidents/test_alerts_correlation.py).
    assert IncidentAlert.objects.get(incident=incident).is_current


def test_auto_resolve_keeps_the_human_assignee_of_an_investigated_incident(ceph, sysadmin):
    _, token = make_source("Prometheus", auto_resolve=True)
    number = post(ALERTMANAGER_URL, alertmanager_payload("firing"), token).data["incidents"][0]
    services.incident_investigate(incident=Incident.objects.get(number=number), user=sysadmin)

    post(ALERTMANAGER_URL, alertmanager_payload("resolved"), token)

    incident = Incident.objects.get(number=number)
    assert incident.state == State.RESOLVED
    assert incident.assignee == sysadmin


def test_auto_resolve_leaves_an_incident_on_hold_for_a_human(ceph, sysadmin):
    _, token = make_source("Prometheus", auto_resolve=True)
    number = post(ALERTMANAGER_URL, alertmanager_payload("firing"), token).data["incidents"][0]
    incident = services.incident_investigate(incident=Incident.objects.get(number=number), user=sysadmin)
    services.incident_hold(
        incident=incident, user=sysadmin, reason="awaiting_vendor", note="RMA for the disk"
    )

    response = post(ALERTMANAGER_URL, alertmanager_payload("resolved"), token)

    assert response.data["results"][0]["action"] == "recovered"
    incident.refresh_from_db()
    assert incident.state == State.ON_HOLD
    assert len(monitoring_events(incident)) == 1


# --- deduplication follows the incident's lifecycle -------------------------------------------------------


def test_a_reopened_incident_absorbs_again_when_no_other_owns_its_fingerprint(prometheus, manager):
    _, token = prometheus
    number = post(ALERTMANAGER_URL, alertmanager_payload(), token).data["incidents"][0]
    incident = services.incident_investigate(incident=Incident.objects.get(number=number), user=manager)
    incident = services.incident_resolve(
        incident=incident, user=manager, code="fixed", notes="restarted", **INVESTIGATION
    )
    services.incident_reopen(incident=incident, user=manager, reason="not fixed")

    assert IncidentAlert.objects.get(incident=incident).is_current
    response = post(ALERTMANAGER_URL, alertmanager_payload(), token)
    assert response.data["results"][0]["action"] == "absorbed"
    assert response.data["incidents"] == [number]


def test_a_cancelled_incident_leaves_deduplication(prometheus, manager):
    _, token = prometheus
    number = post(ALERTMANAGER_URL, alertmanager_payload(), token).data["incidents"][0]
    services.incident_cancel(incident=Incident.objects.get(number=number), user=manager, reason="test alert")
    response = post(ALERTMANAGER_URL, alertmanager_payload(), token)
    assert response.data["results"][0]["action"] == "created"
    new = Incident.objects.get(number=response.data["incidents"][0])
    assert new.alert.recurrence_of.number == number
    assert not IncidentAlert.objects.get(incident__number=number).is_current


# --- the mapping ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "levels", "expected"),
    [
        ("critical", ("high", "high"), "S1"),
        ("warning", ("medium", "medium"), "S3"),
        ("Info", ("low", "low"), "S4"),
        ("page-me", ("medium", "low"), "S4"),  # not in the map: the source's defaults
    ],
)
def test_severity_label_maps_to_urgency_and_impact(ceph, severity, levels, expected):
    _, token = make_source("Prometheus", default_urgency="medium", default_impact="low")
    labels = {"alertname": "Probe", "service": "ceph", "severity": severity}
    number = post(ALERTMANAGER_URL, alertmanager_payload(labels=labels), token).data["incidents"][0]
    incident = Incident.objects.get(number=number)
    assert (incident.urgency, incident.impact, incident.severity) == (*levels, expected)


def test_custom_labels_and_an_unknown_service_fall_back_to_the_source_default(ceph):
    network = ServiceFactory(name="Network", slug="network")
    _, token = make_source(
        "Zabbix bridge",
        service_label="component",
        severity_label="priority",
        severity_map={"disaster": ["high", "medium"]},
        default_service=network,
        default_category="infrastructure",
        default_incident_type="network_outage",
        grouping="fingerprint",  # one incident per alert, though both came in one notification
    )
    known = {"alertname": "A", "component": "ceph", "priority": "disaster"}
    unknown = {"alertname": "B", "component": "no-such-service", "priority": "disaster"}
    payload = alertmanager_payload(labels=known, fingerprint="")
    payload["alerts"].append({**payload["alerts"][0], "labels": unknown})

    response = post(ALERTMANAGER_URL, payload, token)

    first, second = (Incident.objects.get(number=n) for n in response.data["incidents"])
    assert first.service == ceph and second.service == network
    assert (first.category, first.incident_type, first.severity) == ("infrastructure", "network_outage", "S2")
    assert first.checklist.exists()  # the network outage response plan was copied on classification
    note = second.timeline.get(transition="classify").note
    assert "'no-such-service'" in note and "network" in note
    # No fingerprint sent: each alert's is derived from its labels, so they stay distinct.
    assert first.alert.fingerprint != second.alert.fingerprint and len(first.alert.fingerprint) == 16


# --- generic JSON -----------------------------------------------------------------------------------------


def test_generic_alert_with_urgency_and_impact_then_resolved_by_fingerprint(ceph):
    _, token = make_source("Uptime", kind=AlertSourceKind.GENERIC, auto_resolve=True)
    body = {
        "source": "uptime-kuma",
        "fingerprint": "https-wiki",
        "status": "firing",
        "title": "Wiki answers 502",
        "description": "https://wiki.lab returned 502 three times in a row.",
        "service": "ceph",
        "urgency": "medium",
        "impact": "high",
        "labels": {"monitor": "wiki"},
        "starts_at": "2025-03-04T09:10:00+01:00",
    }
    response = post(GENERIC_URL, body, token)
    assert response.status_code == 200, response.data
    incident = Incident.objects.get(number=response.data["incidents"][0])
    assert (incident.title, incident.severity, incident.service) == ("Wiki answers 502", "S2", ceph)
    assert incident.detected_at == datetime(2025, 3, 4, 8, 10, tzinfo=UTC)
    assert incident.alert.labels == {"monitor": "wiki", "source": "uptime-kuma"}

    recovered = post(GENERIC_URL, {"fingerprint": "https-wiki", "status": "resolved"}, token)
    assert recovered.data["results"][0]["action"] == "resolved"
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED


def test_generic_alert_severity_and_derived_fingerprint(ceph):
    _, token = make_source("Scripts", kind=AlertSourceKind.GENERIC)
    body = {"title": "Backup job failed", "severity": "warning", "labels": {"job": "nightly"}}
    first = post(GENERIC_URL, body, token).data
    second = post(GENERIC_URL, body, token).data
    assert first["results"][0]["action"] == "created"
    assert second["results"][0]["action"] == "absorbed"
    assert first["incidents"] == second["incidents"]
    assert Incident.objects.get(number=first["incidents"][0]).severity == "S3"


def test_a_future_start_time_is_taken_as_now(prometheus):
    _, token = prometheus
    response = post(ALERTMANAGER_URL, alertmanager_payload(startsAt="2025-03-04T09:15:03Z"), token)
    assert Incident.objects.get(number=response.data["incidents"][0]).detected_at == NOW


# --- authentication ---------------------------------------------------------------------------------------


def test_unknown_revoked_and_missing_tokens_get_the_same_401(prometheus):
    # A valid source exists: its token is simply not the one sent.
    _, revoked_token = make_source("Old Prometheus", is_active=False)
    answers = [
        post(ALERTMANAGER_URL, alertmanager_payload(), None),
        post(ALERTMANAGER_URL, alertmanager_payload(), "not-a-token"),
        post(ALERTMANAGER_URL, alertmanager_payload(), revoked_token),
        post(ALERTMANAGER_URL + "?token=not-a-token", alertmanager_payload(), None),
    ]
    assert [a.status_code for a in answers] == [401] * 4
    assert all(a.json() == answers[0].json() for a in answers)
    assert answers[0].json() == {
        "detail": "Invalid or missing alert source token.",
        "code": "not_authenticated",
    }
    assert answers[0]["WWW-Authenticate"].startswith("Bearer")
    assert not AlertPayload.objects.exists() and not Incident.objects.exists()


def test_token_in_the_query_string_for_tools_that_cannot_set_headers(prometheus):
    _, token = prometheus
    response = post(f"{ALERTMANAGER_URL}?token={token}", alertmanager_payload(), None)
    assert response.status_code == 200


def test_user_sessions_and_api_tokens_do_not_authenticate_alert_intake(prometheus, manager):
    api_token, _ = Token.objects.get_or_create(user=manager)
    by_token = post(
        ALERTMANAGER_URL, alertmanager_payload(), None, HTTP_AUTHORIZATION=f"Token {api_token.key}"
    )
    client = APIClient()
    client.force_login(manager)
    by_session = post(ALERTMANAGER_URL, alertmanager_payload(), None, client=client)
    assert by_token.status_code == by_session.status_code == 401


def test_a_token_posts_only_to_its_kind_of_endpoint(prometheus):
    _, token = prometheus
    response = post(GENERIC_URL, {"title": "x"}, token)
    assert response.status_code == 403
    assert ALERTMANAGER_URL in response.json()["detail"]


def test_a_new_token_replaces_the_old_one(prometheus, manager):
    source, old = prometheus
    new = alerts.alert_source_issue_token(source=source, user=manager)
    assert post(ALERTMANAGER_URL, alertmanager_payload(), old).status_code == 401
    assert post(ALERTMANAGER_URL, alertmanager_payload(), new).status_code == 200
    source.refresh_from_db()
    assert source.token_hint == new[:6] and new not in str(source.__dict__)  # only the hash is stored
    assert source.history.filter(history_change_reason="new token issued", history_user=manager).exists()


def test_only_alert_source_editors_issue_tokens(prometheus, service_desk):
    source, _ = prometheus
    with pytest.raises(PermissionDenied):
        alerts.alert_source_issue_token(source=source, user=service_desk)


def test_the_rate_limit_counts_per_source_not_per_address(prometheus, monkeypatch):
    from incidents.api.alerts import AlertSourceRateThrottle

    monkeypatch.setattr(AlertSourceRateThrottle, "THROTTLE_RATES", {"alert_source": "2/min"})
    _, token = prometheus
    _, other_token = make_source("Blackbox")
    statuses = [post(ALERTMANAGER_URL, alertmanager_payload(), token).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert post(ALERTMANAGER_URL, alertmanager_payload(), other_token).status_code == 200


# --- size and shape ---------------------------------------------------------------------------------------


def test_a_body_over_10_mib_is_refused_with_413_naming_the_limit_and_not_stored(prometheus):
    _, token = prometheus
    payload = alertmanager_payload()
    payload["alerts"][0]["annotations"]["description"] = "x" * (10 * 1024 * 1024)
    response = post(ALERTMANAGER_URL, payload, token)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert "10 MiB" in response.json()["detail"]
    record = AlertPayload.objects.get()
    assert record.status == PayloadStatus.REJECTED and record.body == ""
    assert record.size > 10 * 1024 * 1024 and "10 MiB" in record.error
    assert not Incident.objects.exists()


def test_an_announced_size_over_10_mib_is_refused_before_reading(prometheus):
    _, token = prometheus
    response = post(ALERTMANAGER_URL, alertmanager_payload(), token, CONTENT_LENGTH=str(11 * 1024 * 1024))
    assert response.status_code == 413
    assert AlertPayload.objects.get().size == 11 * 1024 * 1024


def test_a_body_of_exactly_10_mib_is_accepted(prometheus):
    _, token = prometheus
    payload = alertmanager_payload()
    base = len(json.dumps(payload))
    payload["alerts"][0]["annotations"]["padding"] = "x" * (10 * 1024 * 1024 - base - len(', "padding": ""'))
    body = json.dumps(payload)
    assert len(body.encode()) == 10 * 1024 * 1024
    assert post(ALERTMANAGER_URL, body, token).status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"", "body", "empty"),
        (b"{not json", "body", "Not valid JSON"),
        (b"\xff\xfe{}", "body", "not UTF-8"),
        (b'{"alerts": [{"status": "firing", "labels": {"a": "b"}, "x": NaN}]}', "body", "NaN"),
        (b"[1, 2]", "body", "JSON object"),
        (b'{"version": "4"}', "alerts", "non-empty list"),
        (b'{"alerts": []}', "alerts", "non-empty list"),
        (b'{"version": "3", "alerts": [{"status": "firing", "labels": {}}]}', "version", "version 4"),
        (b'{"alerts": [{"labels": {"alertname": "A"}}]}', "alerts[0].status", "required"),
        (b'{"alerts": [{"status": "burning", "labels": {"a": "b"}}]}', "alerts[0].status", "burning"),
        (b'{"alerts": [{"status": "firing"}]}', "alerts[0].labels", "required"),
        (b'{"alerts": [{"status": "firing", "labels": ["a"]}]}', "alerts[0].labels", "object"),
        (b'{"alerts": [{"status": "firing", "labels": {"a": {"b": 1}}}]}', "alerts[0].labels.a", "string"),
        (b'{"alerts": [{"status": "firing", "labels": {"a": "\\u0000"}}]}', "alerts[0].labels.a", "NUL"),
        (b'{"alerts": [{"status": "firing", "labels": {"a": "\\ud800"}}]}', "alerts[0].labels.a", "Unicode"),
        # An unstorable name with a value that is no string: the error's path must not carry the name
        # (the error is stored with the payload; PostgreSQL refuses NUL, every database a lone surrogate).
        (b'{"alerts": [{"status": "firing", "labels": {"a\\u0000": [1]}}]}', "alerts[0].labels", "NUL"),
        (b'{"alerts": [{"status": "firing", "labels": {"\\ud800": {}}}]}', "alerts[0].labels", "Unicode"),
        (
            b'{"alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": "yesterday"}]}',
            "alerts[0].startsAt",
            "ISO 8601",
        ),
        (
            b'{"alerts": [{"status": "firing", "labels": {"a": "b"}}, 7]}',
            "alerts[1]",
            "object",
        ),
        (b"[" * 100000 + b"]" * 100000, "body", "nested"),
    ],
)
def test_a_malformed_alertmanager_payload_is_a_400_naming_the_problem_and_stored_as_rejected(
    prometheus, body, field, message
):
    _, token = prometheus
    response = post(ALERTMANAGER_URL, body, token)

    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "invalid"
    assert message in " ".join(data["errors"][field]), data
    record = AlertPayload.objects.get()
    assert record.status == PayloadStatus.REJECTED
    assert field in record.error
    assert "\x00" not in record.body
    assert not Incident.objects.exists()


def test_a_payload_with_many_broken_alerts_lists_the_first_problems(prometheus):
    _, token = prometheus
    response = post(ALERTMANAGER_URL, {"alerts": [{}] * 1000}, token)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 51 and "alerts[0].status" in errors
    assert "more fields have problems" in errors["body"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"status": "resolved"}, "title"),
        ({"title": "t", "urgency": "high"}, "impact"),
        ({"title": "t", "urgency": "severe", "impact": "high"}, "urgency"),
        ({"title": "t", "labels": "a=b"}, "labels"),
        ({"title": 5}, "title"),
        ({"title": "t", "fingerprint": "f" * 256}, "fingerprint"),
        ({"title": "t", "starts_at": "2025-13-01T00:00:00Z"}, "starts_at"),
    ],
)
def test_a_malformed_generic_alert_is_a_400_naming_the_field(body, field):
    _, token = make_source("Scripts", kind=AlertSourceKind.GENERIC)
    response = post(GENERIC_URL, body, token)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert AlertPayload.objects.get().status == PayloadStatus.REJECTED


# --- retention --------------------------------------------------------------------------------------------


def test_payloads_older_than_30_days_are_purged(prometheus, lab_time):
    _, token = prometheus
    post(ALERTMANAGER_URL, alertmanager_payload(), token)  # day 0, linked to its incident
    post(ALERTMANAGER_URL, b"{broken", token)  # day 0, rejected
    lab_time.shift(timedelta(days=20))
    post(ALERTMANAGER_URL, alertmanager_payload(), token)  # day 20
    lab_time.shift(timedelta(days=10, seconds=1))  # day 30 and a second

    assert alerts.alert_payloads_purge(batch_size=1) == 2
    [kept] = AlertPayload.objects.all()
    assert kept.received_at == NOW + timedelta(days=20)
    assert Incident.objects.count() == 1  # incidents are not touched, only the raw payloads
    assert AlertPayload.incidents.through.objects.count() == 1


def test_the_purge_runs_daily_from_celery_beat():
    from django_celery_beat.models import PeriodicTask

    from incidents import tasks

    task = PeriodicTask.objects.get(task="incidents.tasks.purge_alert_payloads")
    assert (task.interval.every, task.interval.period) == (1, "days")
    assert tasks.purge_alert_payloads.name == task.task


# --- incidents logged by people are unaffected ------------------------------------------------------------


def test_incidents_without_an_alert_transition_as_before(manager):
    incident = incident_in("closed", manager=manager)
    assert incident.state == State.CLOSED
    assert not IncidentAlert.objects.exists()


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("http://prometheus:9090/graph?g0.expr=up%3D%3D0", True),  # a host name without a dot
        ("https://pve-mon01.lab.example:9090/graph", True),
        ("javascript:alert(1)", False),  # never linked, but the alert still counts
        ("not a url", False),
    ],
)
def test_the_link_back_never_costs_the_alert(prometheus, url, kept):
    _, token = prometheus
    response = post(ALERTMANAGER_URL, alertmanager_payload(generatorURL=url), token)
    assert response.status_code in (200, 202), response.content
    incident = Incident.objects.get()
    assert incident.alert.generator_url == (url if kept else "")


def test_the_incident_api_shows_what_monitoring_reported(prometheus, api_as, manager):
    _, token = prometheus
    post(ALERTMANAGER_URL, alertmanager_payload(copies=3), token)
    incident = Incident.objects.get()
    alert = api_as(manager).get(f"/api/v1/incidents/{incident.number}/").data["alert"]
    assert alert["occurrences"] == 3 and alert["is_open"] and alert["status"] == "firing"
    assert alert["source"] == incident.alert.source.slug and alert["labels"] == incident.alert.labels
