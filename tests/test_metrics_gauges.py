"""The application's gauges on GET /metrics, each against real rows: open incidents, breached clocks, the
notification outbox, escalation lateness and overdue steps, the sweep's age. A scrape costs a fixed number
of queries however many rows there are, and the page parses as Prometheus' text format."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import OperationalError
from prometheus_client.parser import text_string_to_metric_families

from escalation import tasks
from escalation.choices import Channel, DeliveryStatus, EventKind, Template
from escalation.models import EscalationEvent, Heartbeat, IncidentEscalation, Notification
from incidents.choices import OPEN_STATES, Severity, State
from itsm.metrics import collector
from tests.factories import incident_in

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TOKEN = "metrics-token-0123456789abcdef"


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample on the page, by name and labels; the page must parse as Prometheus' text format."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(page, name, **labels):
    return page[name, tuple(sorted(labels.items()))]


def series(page, name):
    return {labels: sample for (metric, labels), sample in page.items() if metric == name}


@pytest.fixture
def incidents(manager):
    """Logged at T0: one of each open state, plus a resolved and a cancelled one that do not count."""
    with at(T0):
        return {
            "logged": incident_in(State.LOGGED, manager=manager),  # provisional S3 (the default)
            "classified": incident_in(State.CLASSIFIED, manager=manager),  # S1
            "investigating": incident_in(State.INVESTIGATING, manager=manager, impact="medium"),  # S2
            "on_hold": incident_in(State.ON_HOLD, manager=manager),  # S1, held since T0
            "resolved": incident_in(State.RESOLVED, manager=manager),
            "cancelled": incident_in(State.CANCELLED, manager=manager),
        }


def test_open_incidents_by_severity_and_state_provisional_counting_as_its_severity(client, incidents):
    assert incidents["logged"].severity_provisional and incidents["logged"].severity == Severity.S3
    with at(T0 + timedelta(minutes=1)):
        page = scrape(client)
    counts = series(page, "itsm_incidents_open")
    assert len(counts) == len(Severity) * len(OPEN_STATES)  # every combination, zeros included
    assert {labels: n for labels, n in counts.items() if n} == {
        (("severity", "S3"), ("state", "logged")): 1,
        (("severity", "S1"), ("state", "classified")): 1,
        (("severity", "S2"), ("state", "investigating")): 1,
        (("severity", "S1"), ("state", "on_hold")): 1,
    }


def test_breached_clocks_of_open_incidents(client, incidents):
    with at(T0 + timedelta(minutes=1)):
        assert not any(series(scrape(client), "itsm_sla_breached").values())
    # 5 h after logging: the classified S1 missed both its 15 min response and its 4 h resolution; the
    # logged S3 its 4 h response; the S1 on hold was held before its due time, the S2 has 8 h; the resolved
    # incident was resolved in time and is not open anyway.
    with at(T0 + timedelta(hours=5)):
        page = scrape(client)
    breached = {labels: n for labels, n in series(page, "itsm_sla_breached").items() if n}
    assert breached == {
        (("clock", "response"), ("severity", "S1")): 1,
        (("clock", "response"), ("severity", "S3")): 1,
        (("clock", "resolution"), ("severity", "S1")): 1,
    }
    assert len(series(page, "itsm_sla_breached")) == 2 * len(Severity)


def notification(*, channel, status, created_at):
    return Notification.objects.create(
        channel=channel,
        recipient="desk@lab.example",
        template=Template.ESCALATION,
        subject="test",
        body="test",
        status=status,
        created_at=created_at,
    )


def test_outbox_backlog_and_the_oldest_pending_age(client):
    notification(channel=Channel.EMAIL, status=DeliveryStatus.PENDING, created_at=T0 - timedelta(minutes=10))
    notification(channel=Channel.EMAIL, status=DeliveryStatus.PENDING, created_at=T0 - timedelta(minutes=2))
    notification(channel=Channel.WEBHOOK, status=DeliveryStatus.FAILED, created_at=T0 - timedelta(days=2))
    notification(channel=Channel.EMAIL, status=DeliveryStatus.SENT, created_at=T0 - timedelta(days=1))
    with at(T0):
        page = scrape(client)
    assert series(page, "itsm_notification_outbox") == {
        (("channel", "email"), ("status", "pending")): 2,
        (("channel", "webhook"), ("status", "pending")): 0,
        (("channel", "email"), ("status", "failed")): 0,
        (("channel", "webhook"), ("status", "failed")): 1,
    }
    assert series(page, "itsm_notification_outbox_oldest_pending_age_seconds") == {
        (("channel", "email"),): 600,
        (("channel", "webhook"),): 0,
    }


def fired(incident, key, *, due_at, late, kind=EventKind.HIERARCHICAL):
    EscalationEvent.objects.create(
        incident=incident, kind=kind, key=key, due_at=due_at, fired_at=(due_at or T0) + late
    )


def test_escalation_lateness_over_the_last_hour(client, manager):
    with at(T0 - timedelta(hours=3)):
        incident = incident_in(State.LOGGED, manager=manager)
    EscalationEvent.objects.all().delete()
    fired(incident, "a", due_at=T0 - timedelta(minutes=30), late=timedelta(seconds=0.5))
    fired(incident, "b", due_at=T0 - timedelta(minutes=20), late=timedelta(seconds=10))
    fired(incident, "c", due_at=T0 - timedelta(minutes=10), late=timedelta(seconds=200))
    # Fired 5000 s late, but 97 minutes ago: outside the hour.
    fired(incident, "old", due_at=T0 - timedelta(hours=3), late=timedelta(seconds=5000))
    fired(incident, "functional-1", due_at=None, late=timedelta(), kind=EventKind.FUNCTIONAL)  # no due time
    with at(T0):
        page = scrape(client)
    buckets = {
        dict(labels)["le"]: n for labels, n in series(page, "itsm_escalation_lateness_seconds_bucket").items()
    }
    assert buckets == {
        "1.0": 1,
        "5.0": 1,
        "15.0": 2,
        "30.0": 2,
        "60.0": 2,
        "120.0": 2,
        "300.0": 3,
        "600.0": 3,
        "1800.0": 3,
        "3600.0": 3,
        "+Inf": 3,
    }
    assert value(page, "itsm_escalation_lateness_seconds_gcount") == 3
    assert value(page, "itsm_escalation_lateness_seconds_gsum") == pytest.approx(210.5)
    assert value(page, "itsm_escalation_lateness_max_seconds") == pytest.approx(200)


def test_no_escalation_fired_in_the_last_hour(client):
    with at(T0):
        page = scrape(client)
    assert value(page, "itsm_escalation_lateness_seconds_gcount") == 0
    assert value(page, "itsm_escalation_lateness_max_seconds") == 0


def test_escalations_overdue_by_more_than_a_minute(client, manager):
    with at(T0):
        late, recent, later = (incident_in(State.LOGGED, manager=manager) for _ in range(3))
    for incident, due in (
        (late, T0 - timedelta(minutes=2)),
        (recent, T0 - timedelta(seconds=30)),
        (later, T0),
    ):
        IncidentEscalation.objects.update_or_create(incident=incident, defaults={"next_escalation_at": due})
    IncidentEscalation.objects.exclude(incident__in=[late, recent, later]).update(next_escalation_at=None)
    with at(T0):
        assert value(scrape(client), "itsm_escalations_overdue") == 1


def test_the_sweep_age_and_never_run(client):
    # A worker a transactional test started may have recorded a sweep at the real time after that test's
    # flush: this test is about its own sweep.
    Heartbeat.objects.all().delete()
    with at(T0):
        assert value(scrape(client), "itsm_escalation_sweep_age_seconds") == float("inf")
    with at(T0 - timedelta(seconds=90)):
        tasks.sweep()
    with at(T0):
        page = scrape(client)
    assert value(page, "itsm_escalation_sweep_age_seconds") == 90
    assert value(page, "itsm_database_up") == 1
    assert len(series(page, "itsm_build_info")) == 1


def test_a_scrape_costs_five_queries_however_many_rows(client, incidents, django_assert_num_queries):
    notification(channel=Channel.EMAIL, status=DeliveryStatus.PENDING, created_at=T0)
    with at(T0 + timedelta(hours=5)), django_assert_num_queries(5):
        scrape(client)


def test_without_the_database_the_page_still_answers_saying_so(client, monkeypatch):
    def unavailable(**kwargs):
        raise OperationalError("connection refused on db.lab")

    monkeypatch.setattr(collector.incident_selectors, "open_incident_counts", unavailable)
    page = scrape(client)
    assert value(page, "itsm_database_up") == 0
    assert not series(page, "itsm_incidents_open")


def test_request_metrics_of_the_web_process_are_there(client):
    client.get("/healthz")
    page = scrape(client)
    assert (
        value(
            page,
            "django_http_responses_total_by_status_view_method_total",
            method="GET",
            status="503",
            view="healthz",
        )
        >= 1
    )


def test_prometheus_multiprocess_mode_adds_up_the_workers_folder(client, monkeypatch, tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR (gunicorn with several workers) the process metrics come from that
    folder (empty here) and the application's gauges are there all the same."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    page = scrape(client)
    assert not series(page, "python_gc_objects_collected_total")
    assert len(series(page, "itsm_incidents_open")) == len(Severity) * len(OPEN_STATES)
