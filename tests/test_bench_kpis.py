"""The benchmark's hand-written KPI query (bench/kpis_vs_sql.py) computes the same numbers as
`reporting.selectors.kpis`, so the ratio `make bench` prints compares like with like. A varied October 2026
built through the real services and the real alert intake: every severity and several categories, resolved
in and out of time, on hold, reopened, self-healed by monitoring, answered and unanswered, open at the end,
cancelled, and incidents on both sides of the period's bounds."""

import importlib.util
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from incidents import alerts, services
from incidents.choices import Role
from incidents.models import Incident
from reporting import selectors
from reporting.periods import iso_week
from tests.factories import ServiceFactory, make_user
from tests.incidents.alerting import alertmanager_payload, make_source
from tests.reporting.stories import at, story, t

pytestmark = pytest.mark.django_db

NOW = t(11, 20)
WARNING = {"alertname": "CephOSDDown", "service": "ceph", "severity": "warning"}  # S3


def load_comparison():
    path = Path(__file__).resolve().parent.parent / "bench" / "kpis_vs_sql.py"
    spec = importlib.util.spec_from_file_location("kpis_vs_sql", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def alert(source, status: str, fingerprint: str, moment: datetime) -> Incident | None:
    payload = alertmanager_payload(
        status, labels=WARNING, fingerprint=fingerprint, startsAt=moment.isoformat().replace("+00:00", "Z")
    )
    with at(moment):
        result = alerts.alert_receive(source=source, payload_bytes=json.dumps(payload).encode())
    return Incident.objects.get(number=result.incidents[0]) if result.incidents else None


@pytest.fixture
def varied_october(postgres):
    manager = make_user(Role.INCIDENT_MANAGERS, username="bench-manager")
    sysadmin = make_user(Role.SYSADMINS, username="bench-sysadmin")
    alpha = ServiceFactory(slug="alpha", name="Alpha")
    ceph = ServiceFactory(slug="ceph", name="Ceph storage")

    def made(created, severity, steps=(), **kwargs):
        return story(
            manager,
            service=kwargs.pop("service", alpha),
            created=created,
            severity=severity,
            steps=steps,
            **kwargs,
        )

    # Before and after the period: only what crosses a bound counts.
    made(t(8, 3, 9), "S3", (("investigate", t(8, 3, 10)), ("resolve", t(8, 4, 9)), ("close", t(8, 5))))
    made(t(11, 3, 9), "S2", (("investigate", t(11, 3, 9, 20)),))
    made(t(9, 30, 20), "S4", (("investigate", t(9, 30, 21)), ("resolve", t(10, 1, 2))))  # resolved inside
    made(t(9, 20, 8), "S2", (("investigate", t(9, 20, 8, 10)),))  # open throughout
    made(t(9, 25, 8), "S3", (("investigate", t(9, 25, 9)), ("resolve", t(9, 26)), ("close", t(10, 2))))
    # S1: answered in time, resolved in time, closed in October; another answered and resolved late.
    made(
        t(10, 2, 10), "S1", (("investigate", t(10, 2, 10, 7)), ("resolve", t(10, 2, 12)), ("close", t(10, 3)))
    )
    made(t(10, 5, 8), "S1", (("investigate", t(10, 5, 8, 20)), ("resolve", t(10, 5, 13))))
    # S1 never answered: its response is decided (missed) once due.
    made(t(10, 28, 10), "S1")
    # S4 never answered, due (24 h) after the period's end but before now: decided by now, not by the end.
    made(t(10, 31, 12), "S4")
    # S2 application on hold, resolved in time thanks to the hold; S2 answered late, resolved in November.
    made(
        t(10, 10, 9),
        "S2",
        (
            ("investigate", t(10, 10, 9, 5)),
            ("hold", t(10, 10, 10)),
            ("resume", t(10, 10, 12)),
            ("resolve", t(10, 10, 18)),
        ),
        category="application",
    )
    made(t(10, 31, 23), "S2", (("investigate", t(10, 31, 23, 40)), ("resolve", t(11, 1, 1))))
    # S3 reopened, last resolution counts; S3 in the observatory category, answered, still investigating.
    made(
        t(10, 12),
        "S3",
        (
            ("investigate", t(10, 12, 1)),
            ("resolve", t(10, 12, 10)),
            ("reopen", t(10, 12, 11)),
            ("resolve", t(10, 13)),
        ),
    )
    made(t(10, 14, 9), "S3", (("investigate", t(10, 14, 9, 45)),), category="observatory")
    # S4: answered after 2 h, resolved late (96 h), closed in November; S4 application resolved quickly.
    made(t(10, 6, 9), "S4", (("investigate", t(10, 6, 11)), ("resolve", t(10, 10, 9)), ("close", t(11, 2))))
    made(
        t(10, 16, 9),
        "S4",
        (("investigate", t(10, 16, 9, 30)), ("resolve", t(10, 16, 11))),
        category="application",
    )
    # Cancelled (excluded everywhere) and logged, never classified (on its provisional severity).
    made(t(10, 20), "S3", (("cancel", t(10, 20, 1)),))
    made(t(10, 25), None)
    # Monitoring: two self-healed (one late), one answered and resolved by a person.
    source, _token = make_source("Prometheus", auto_resolve=True, default_service=ceph)
    alert(source, "firing", "c", t(10, 7, 9))
    alert(source, "resolved", "c", t(10, 7, 9, 20))
    alert(source, "firing", "d", t(10, 8, 9))
    alert(source, "resolved", "d", t(10, 9, 10))
    answered = alert(source, "firing", "e", t(10, 12, 9))
    with at(t(10, 12, 9, 10)):
        services.incident_investigate(incident=answered, user=sysadmin)
    with at(t(10, 12, 10, 20)):
        services.incident_resolve(
            incident=Incident.objects.get(pk=answered.pk), user=sysadmin, code="fixed", notes="Restarted"
        )


def both(start: date, end: date):
    comparison = load_comparison()
    with at(NOW):
        report = selectors.kpis(start=start, end=end, now=NOW)
        figures = comparison.hand_written(start=start, end=end, now=NOW)
    return comparison, report, figures


def test_the_hand_written_sql_agrees_with_the_selector_on_every_number(varied_october):
    comparison, report, figures = both(date(2026, 10, 1), date(2026, 11, 1))
    assert comparison.compare(report, figures) == []
    # exactly, not within the float tolerance: every timestamp is a whole minute
    assert {key: report[key] for key in figures} == figures
    # the month is as varied as it is meant to be, so the agreement covers every branch
    counts = figures["counts"]
    assert counts["self_healed"]["all"] == 2
    assert counts["open_at_end"]["all"] >= 4 and counts["closed"]["all"] == 2
    assert set(k for k, v in counts["created"]["by_category"].items() if v) >= {
        "infrastructure",
        "application",
        "observatory",
    }
    assert all(figures["mttr_seconds"][s] is not None for s in ("S1", "S2", "S3", "S4"))
    assert figures["first_response_p90_seconds"]["all"] is not None
    assert 0 < figures["reopen_rate"] < 1 and 0 < figures["sla_compliance"] < 1
    assert 0 < figures["response_sla_compliance"] < 1 and figures["self_healed_sla_compliance"] == 0.5


def test_they_agree_on_a_week_a_day_and_an_empty_month(varied_october):
    for start, end in (
        (date(2026, 10, 5), date(2026, 10, 12)),
        (date(2026, 10, 31), date(2026, 11, 1)),
        (date(2026, 6, 1), date(2026, 7, 1)),
    ):
        comparison, report, figures = both(start, end)
        assert comparison.compare(report, figures) == [], (start, end)
    assert figures["mttr_seconds"]["all"] is None and figures["counts"]["created"]["all"] == 0
    week = iso_week(2026, 41)
    with at(NOW):
        weekly = selectors.period_kpis(period=week, now=NOW)
        assert comparison.compare(weekly, comparison.period_hand_written(period=week, now=NOW)) == []


def test_they_agree_with_local_midnights_in_another_time_zone(varied_october, settings):
    created_in_utc = both(date(2026, 10, 1), date(2026, 11, 1))[2]["counts"]["created"]["all"]
    settings.TIME_ZONE = "Europe/Berlin"  # October ends at 23:00 UTC: the S2 logged then is November's
    comparison, report, figures = both(date(2026, 10, 1), date(2026, 11, 1))
    assert comparison.compare(report, figures) == []
    assert figures["counts"]["created"]["all"] == created_in_utc - 1


def test_compare_names_each_number_that_differs(varied_october):
    comparison, report, figures = both(date(2026, 10, 1), date(2026, 11, 1))
    figures["counts"]["resolved"]["by_category"]["application"] += 1
    figures["first_response_p90_seconds"]["S1"] += 60
    figures["mttr_seconds"]["S2"] += 1  # a mean within the float tolerance is not a difference
    assert comparison.compare(report, figures) == [
        "first_response_p90_seconds.S1: selector 1200 != SQL 1260",
        "counts.resolved.by_category.application: selector 2 != SQL 3",
    ]
