"""The monthly service-impact report over a known October 2026: overlapping and nested outages counted once,
outages clipped at both month boundaries, an unresolved one running to the month's end (or to now, in the
current month), an outage spanning the whole month, an on-hold incident, a reopened one, incidents with no
service, the six-month trend and the recommendations."""

import pytest

from incidents.choices import IncidentType, Role
from reporting import selectors
from reporting.periods import parse_month
from tests.factories import ServiceFactory, make_user

from .stories import at, story, t

pytestmark = pytest.mark.django_db

NOW = t(11, 20)
OCTOBER_MINUTES = 31 * 24 * 60
SEPTEMBER_MINUTES = 30 * 24 * 60


@pytest.fixture(scope="module")
def catalogue(module_db):
    manager = make_user(Role.INCIDENT_MANAGERS, username="report-manager")
    alpha = ServiceFactory(slug="alpha", name="Alpha")
    beta = ServiceFactory(slug="beta", name="Beta")
    gamma = ServiceFactory(slug="gamma", name="Gamma")
    ServiceFactory(slug="retired", name="Retired", is_active=False)  # no incidents: not listed
    m = manager

    # Alpha, S1: [10:00, 12:00) + [11:00, 13:00) + [11:30, 11:45) = 180 min on 3 October.
    story(
        m,
        service=alpha,
        severity="S1",
        detected=t(10, 3, 10),
        created=t(10, 3, 10, 10),
        steps=(("investigate", t(10, 3, 10, 15)), ("resolve", t(10, 3, 12))),
    )
    story(
        m,
        service=alpha,
        severity="S1",
        detected=t(10, 3, 11),
        created=t(10, 3, 11, 5),
        steps=(("investigate", t(10, 3, 11, 10)), ("resolve", t(10, 3, 13))),
    )
    story(
        m,
        service=alpha,
        severity="S1",
        detected=t(10, 3, 11, 30),
        created=t(10, 3, 11, 35),
        steps=(("investigate", t(10, 3, 11, 40)), ("resolve", t(10, 3, 11, 45))),
    )
    # Alpha, S1 across the start of the month: 20:00 on 30 September to 01:00 → 60 min in October, 240 in
    # September; resolved 5 h after logging, so late (S1: 4 h).
    story(
        m,
        service=alpha,
        severity="S1",
        detected=t(9, 30, 20),
        created=t(9, 30, 20),
        steps=(("investigate", t(9, 30, 20, 10)), ("resolve", t(10, 1, 1))),
    )
    # Alpha, S1 still open, detected 30 minutes before the end of October.
    story(m, service=alpha, severity="S1", detected=t(10, 31, 23, 30), created=t(10, 31, 23, 31))
    # Alpha, S2: [08:00, 09:00) + [08:30, 10:00) = 120 degraded minutes; the second was reopened.
    story(
        m,
        service=alpha,
        severity="S2",
        detected=t(10, 10, 8),
        created=t(10, 10, 8, 5),
        steps=(("investigate", t(10, 10, 8, 10)), ("resolve", t(10, 10, 9))),
    )
    story(
        m,
        service=alpha,
        severity="S2",
        detected=t(10, 10, 8, 30),
        created=t(10, 10, 8, 35),
        steps=(
            ("investigate", t(10, 10, 8, 40)),
            ("resolve", t(10, 10, 9, 30)),
            ("reopen", t(10, 10, 9, 40)),
            ("resolve", t(10, 10, 10)),
        ),
    )

    # Beta, S1 from 15 September to 2 November: the whole of October is outage.
    story(
        m,
        service=beta,
        severity="S1",
        detected=t(9, 15),
        created=t(9, 15),
        steps=(("investigate", t(9, 15, 0, 5)), ("resolve", t(11, 2))),
    )
    # Beta, S2 with 4 h on hold: 6 h degraded (the hold does not pause the outage) and in time (8 h + 4 h).
    story(
        m,
        service=beta,
        severity="S2",
        created=t(10, 20, 10),
        steps=(
            ("investigate", t(10, 20, 10, 10)),
            ("hold", t(10, 20, 11)),
            ("resume", t(10, 20, 15)),
            ("resolve", t(10, 20, 16)),
        ),
    )

    # Gamma: three S4 host failures → "open a problem record".
    for day in (5, 6, 7):
        story(
            m,
            service=gamma,
            severity="S4",
            created=t(10, day, 9),
            incident_type=IncidentType.HOST_FAILURE,
            steps=(("investigate", t(10, day, 9, 30)), ("resolve", t(10, day, 10))),
        )
    # No service: counted in the totals, not against any service's availability.
    story(
        m,
        service=None,
        severity="S3",
        created=t(10, 8, 9),
        steps=(("investigate", t(10, 8, 9, 30)), ("resolve", t(10, 8, 11))),
    )
    # Cancelled S1 on alpha: would add an outage if it were counted.
    story(m, service=alpha, severity="S1", created=t(10, 15), steps=(("cancel", t(10, 15, 2)),))
    return {"alpha": alpha, "beta": beta, "gamma": gamma}


def report(month="2026-10"):
    with at(NOW):
        return selectors.service_impact(month=parse_month(month))


def row(data, slug):
    return next(r for r in data["services"] if r["service"] == slug)


def test_services_listed_are_the_active_ones_and_incidents_without_a_service(catalogue):
    data = report()
    assert [r["service"] for r in data["services"]] == ["alpha", "beta", "gamma", None]
    assert data["month"] == "2026-10"
    assert data["start"] == "2026-10-01T00:00:00+00:00" and data["end"] == "2026-11-01T00:00:00+00:00"


def test_alpha_overlapping_nested_and_boundary_outages_are_counted_once(catalogue):
    alpha = row(report(), "alpha")
    assert alpha["incidents"] == {"S1": 4, "S2": 2, "S3": 0, "S4": 0, "unclassified": 0, "total": 6}
    assert alpha["outage_minutes"] == 180 + 60 + 30
    assert alpha["degraded_minutes"] == 120
    assert alpha["availability"] == round(1 - 270 / OCTOBER_MINUTES, 6)
    # Resolved in October: 110, 115, 10 min, 5 h (from September), 55 min, 85 min (last resolution).
    assert alpha["mttr_seconds"] == (6600 + 6900 + 600 + 18000 + 3300 + 5100) // 6
    assert alpha["sla_compliance"] == round(5 / 6, 4)
    assert alpha["reopen_rate"] == round(1 / 6, 4)
    assert alpha["resolved"] == 6


def test_beta_outage_spanning_the_month_and_an_on_hold_incident(catalogue):
    beta = row(report(), "beta")
    assert beta["incidents"]["total"] == 1  # the long S1 was logged in September
    assert beta["outage_minutes"] == OCTOBER_MINUTES
    assert beta["availability"] == 0.0
    assert beta["degraded_minutes"] == 6 * 60
    assert beta["mttr_seconds"] == 6 * 3600
    assert beta["sla_compliance"] == 1.0


def test_a_service_without_outages_and_the_no_service_row(catalogue):
    data = report()
    gamma = row(data, "gamma")
    assert gamma["incidents"]["S4"] == 3
    assert (gamma["outage_minutes"], gamma["degraded_minutes"], gamma["availability"]) == (0, 0, 1.0)
    assert gamma["mttr_seconds"] == 3600
    nobody = row(data, None)
    assert nobody["name"] == "(no service)"
    assert nobody["incidents"]["S3"] == 1
    assert nobody["availability"] is None
    assert nobody["mttr_seconds"] == 7200


def test_totals(catalogue):
    totals = report()["totals"]
    assert totals["incidents"] == {"S1": 4, "S2": 3, "S3": 1, "S4": 3, "unclassified": 0, "total": 11}
    assert totals["outage_minutes"] == 270 + OCTOBER_MINUTES
    assert totals["degraded_minutes"] == 120 + 360
    assert totals["services"] == 3
    assert totals["availability"] == round(1 - (270 + OCTOBER_MINUTES) / (3 * OCTOBER_MINUTES), 6)
    assert totals["mttr_seconds"] == round((40500 + 21600 + 3 * 3600 + 7200) / 11)
    assert totals["sla_compliance"] == round(10 / 11, 4)
    assert totals["reopen_rate"] == round(1 / 11, 4)


def test_trend_covers_six_months_oldest_first(catalogue):
    trend = report()["trend"]
    assert [entry["month"] for entry in trend] == [
        "2026-05",
        "2026-06",
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-10",
    ]
    september = trend[4]
    assert september["incidents"]["S1"] == 2
    assert september["outage_minutes"] == 240 + 16 * 24 * 60  # alpha's evening + beta from the 15th
    assert september["availability"] == round(1 - (240 + 16 * 24 * 60) / (3 * SEPTEMBER_MINUTES), 6)
    assert september["mttr_seconds"] is None  # nothing was resolved in September
    assert september["sla_compliance"] is None
    empty = trend[0]
    assert empty["incidents"]["total"] == 0
    assert (empty["outage_minutes"], empty["availability"], empty["reopen_rate"]) == (0, 1.0, None)
    assert trend[5] == {k: v for k, v in report()["totals"].items() if k != "services"} | {"month": "2026-10"}


def test_an_unresolved_outage_runs_until_now_in_the_current_month(catalogue):
    november = report("2026-11")
    alpha, beta = row(november, "alpha"), row(november, "beta")
    assert alpha["outage_minutes"] == 19 * 24 * 60  # from midnight on the 1st to now (the 20th)
    assert beta["outage_minutes"] == 24 * 60  # resolved at midnight on the 2nd


def test_recommendations_are_rule_based_and_explained(catalogue):
    advice = report()["recommendations"]
    rules = [(a["rule"], a["service"], a["severity"], a["incident_type"]) for a in advice]
    assert rules == [
        ("recurring_incidents", "gamma", None, "host_failure"),
        ("sla_compliance", None, "S1", None),
        ("reopen_rate", "alpha", None, None),
    ]
    assert advice[0]["action"] == "Open a problem record"
    assert "3 incidents of type Host failure on Gamma in 2026-10" in advice[0]["explanation"]
    assert advice[1]["action"] == "Review staffing or targets"
    assert "3 of 4 incidents" in advice[1]["explanation"] and "75.0%" in advice[1]["explanation"]
    assert advice[2]["action"] == "Review resolution verification"
    assert "1 of 6" in advice[2]["explanation"]


def test_an_empty_month(catalogue):
    data = report("2026-03")
    assert all(r["incidents"]["total"] == 0 for r in data["services"])
    assert data["totals"]["mttr_seconds"] is None
    assert data["totals"]["availability"] == 1.0
    assert data["recommendations"] == []


def test_the_report_takes_a_constant_number_of_queries(catalogue, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # created counts, resolutions, outages, the services
        report()
