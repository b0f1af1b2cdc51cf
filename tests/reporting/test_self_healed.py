"""Honest KPIs: an incident monitoring resolved before any person responded is self-healed. The KPIs count
it on its own line, leave it out of the first-response figures and of SLA compliance, and give it an SLA
compliance of its own; the reports print every KPI's definition. Monitoring incidents come through the
real alert intake, people's work through the real services, each at a known moment of October 2026."""

import json
from datetime import date, datetime

import pytest

from incidents import alerts, services
from incidents.choices import Role, Source, State
from incidents.models import Incident
from reporting import renderers, selectors
from reporting.kpi_definitions import KPI_DEFINITIONS
from reporting.periods import iso_week, parse_month
from tests.factories import ServiceFactory, make_user
from tests.incidents.alerting import alertmanager_payload, make_source

from .stories import at, story, t

pytestmark = pytest.mark.django_db

NOW = t(11, 20)
# A `warning` alert maps to urgency and impact medium: S3 (4 h response, 24 h resolution).
WARNING = {"alertname": "CephOSDDown", "service": "ceph", "severity": "warning"}


def alert(source, status: str, fingerprint: str, moment: datetime) -> Incident | None:
    payload = alertmanager_payload(
        status, labels=WARNING, fingerprint=fingerprint, startsAt=moment.isoformat().replace("+00:00", "Z")
    )
    with at(moment):
        result = alerts.alert_receive(source=source, payload_bytes=json.dumps(payload).encode())
    numbers = result.incidents
    return Incident.objects.get(number=numbers[0]) if numbers else None


@pytest.fixture
def october():
    """A, B: people's incidents. C, D: self-healed (D after its resolution due time, and never answered
    past its response due time). E: raised by monitoring, answered and resolved by a person."""
    manager = make_user(Role.INCIDENT_MANAGERS, username="kpi-manager")
    sysadmin = make_user(Role.SYSADMINS, username="kpi-sysadmin")
    ceph = ServiceFactory(slug="ceph", name="Ceph storage")
    source, _token = make_source("Prometheus", auto_resolve=True, default_service=ceph)
    made = {}
    # A. S3: answered after 30 min, resolved after 3 h (in time).
    made["A"] = story(
        manager,
        service=ceph,
        created=t(10, 5, 9),
        severity="S3",
        incident_type="",
        steps=(("investigate", t(10, 5, 9, 30)), ("resolve", t(10, 5, 12))),
    )
    # B. S4: answered after 2 h, resolved after 96 h (late: due after 72 h).
    made["B"] = story(
        manager,
        service=ceph,
        created=t(10, 6, 9),
        severity="S4",
        incident_type="",
        steps=(("investigate", t(10, 6, 11)), ("resolve", t(10, 10, 9))),
    )
    # C. Self-healed in 20 min.
    made["C"] = alert(source, "firing", "c", t(10, 7, 9))
    alert(source, "resolved", "c", t(10, 7, 9, 20))
    # D. Self-healed after 25 h: resolution late, and its response due time (4 h) passed unanswered.
    made["D"] = alert(source, "firing", "d", t(10, 8, 9))
    alert(source, "resolved", "d", t(10, 9, 10))
    # E. Raised by monitoring, answered by a person after 10 min, resolved by them after 1 h 20 min.
    made["E"] = alert(source, "firing", "e", t(10, 12, 9))
    with at(t(10, 12, 9, 10)):
        services.incident_investigate(incident=made["E"], user=sysadmin)
    with at(t(10, 12, 10, 20)):
        services.incident_resolve(
            incident=Incident.objects.get(pk=made["E"].pk), user=sysadmin, code="fixed", notes="Restarted"
        )
    for incident in made.values():
        incident.refresh_from_db()
    return made


def october_kpis():
    with at(NOW):
        return selectors.kpis(start=date(2026, 10, 1), end=date(2026, 11, 1))


def test_the_stories_are_what_the_numbers_assume(october):
    c, d, e = october["C"], october["D"], october["E"]
    assert {c.source, d.source, e.source} == {Source.MONITORING}
    assert c.state == d.state == e.state == State.RESOLVED
    assert c.severity == d.severity == "S3"
    assert c.first_response_at is None and d.first_response_at is None
    assert e.first_response_at == t(10, 12, 9, 10)


def test_self_healed_incidents_are_counted_on_their_own_line(october):
    counts = october_kpis()["counts"]
    assert counts["resolved"]["all"] == 5
    assert counts["self_healed"]["all"] == 2
    assert counts["self_healed"]["by_severity"] == {"S1": 0, "S2": 0, "S3": 2, "S4": 0, "unclassified": 0}
    assert counts["self_healed"]["by_category"]["infrastructure"] == 2


def test_first_response_figures_leave_self_healed_incidents_out(october):
    kpis = october_kpis()
    # A 30 min, E 10 min (S3); B 2 h (S4). C and D were never answered by a person.
    assert kpis["first_response_seconds"] == {"S1": None, "S2": None, "S3": 1200, "S4": 7200, "all": 3200}
    assert kpis["first_response_p90_seconds"]["S3"] == 1800
    # D's response due time passed unanswered, but it healed: not a missed response. A, B, E in time.
    assert kpis["response_sla_compliance"] == 1.0


def test_sla_compliance_shows_self_healed_incidents_separately(october):
    kpis = october_kpis()
    assert kpis["sla_compliance"] == 0.6667  # A and E in time, B late
    assert kpis["self_healed_sla_compliance"] == 0.5  # C in time, D late
    # MTTR counts every resolution, self-healed ones too: A 3 h, C 20 min, D 25 h, E 1 h 20 min.
    assert kpis["mttr_seconds"]["S3"] == (10800 + 1200 + 90000 + 4800) // 4


def test_a_person_reopening_and_resolving_makes_it_no_longer_self_healed(october):
    d = october["D"]
    desk = make_user(Role.SERVICE_DESK, username="kpi-desk")
    with at(t(10, 9, 11)):
        d = services.incident_reopen(incident=d, user=desk, reason="osd.7 flapping again")
    with at(t(10, 9, 12)):
        services.incident_resolve(incident=d, user=desk, code="fixed", notes="Replaced the disk")
    kpis = october_kpis()
    assert kpis["counts"]["self_healed"]["all"] == 1
    assert kpis["self_healed_sla_compliance"] == 1.0
    assert kpis["sla_compliance"] == 0.5  # A, E in time; B and now D late


def test_service_impact_counts_self_healed_apart(october):
    with at(NOW):
        report = selectors.service_impact(month=parse_month("2026-10"))
    (row,) = [r for r in report["services"] if r["service"] == "ceph"]
    assert row["resolved"] == 5
    assert row["self_healed"] == 2
    assert row["self_healed_sla_compliance"] == 0.5
    assert row["sla_compliance"] == 0.6667
    assert report["totals"]["self_healed"] == 2


def test_the_weekly_summary_lists_a_self_healed_incident_as_such(october):
    with at(NOW):
        report = selectors.weekly_summary(week=iso_week(2026, 41))  # Mon 5 Oct - Mon 12 Oct
    status = {row["number"]: row["sla_status"] for row in report["incidents"]}
    assert status[october["C"].number] == "self-healed"
    assert status[october["D"].number] == "breached"  # healed, but after its resolution due time
    assert status[october["A"].number] == "met"


def test_renderers_print_the_self_healed_line_and_its_compliance(october):
    kpis = october_kpis()
    markdown = renderers.kpis_markdown(kpis)
    assert "| SLA compliance (self-healed) |" in markdown and "50.0%" in markdown
    assert "| self-healed | 0 | 0 | 2 | 0 | 0 | 2 |" in markdown
    csv = renderers.kpis_csv(kpis)
    assert "self_healed_sla_compliance,,,,,0.5," in csv
    assert "count_self_healed,0,0,2,0,2,unclassified 0" in csv


@pytest.mark.parametrize(
    ("kind", "build"),
    [
        ("weekly summary", lambda: selectors.weekly_summary(week=iso_week(2026, 41))),
        ("service impact", lambda: selectors.service_impact(month=parse_month("2026-10"))),
    ],
)
def test_every_report_prints_every_kpi_definition(october, kind, build):
    with at(NOW):
        data = build()
    if kind == "weekly summary":
        outputs = [renderers.weekly_summary_markdown(data), renderers.weekly_summary_html(data)]
    else:
        outputs = [renderers.service_impact_markdown(data), renderers.service_impact_html(data)]
    for output in outputs:
        for definition in KPI_DEFINITIONS:
            assert definition.name in output
            # The HTML escapes apostrophes; Markdown keeps the text as written.
            assert definition.text.replace("'", "&#x27;") in output or definition.text in output
