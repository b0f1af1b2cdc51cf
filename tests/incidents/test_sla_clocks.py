"""SLA clocks (seed 3.1): both start at logging; time on hold extends the resolution clock."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents import services
from incidents.models import Incident, SlaPolicy
from tests.factories import INVESTIGATION, ServiceFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

TARGETS = [
    ("high", "high", timedelta(minutes=15), timedelta(hours=4)),
    ("high", "medium", timedelta(minutes=30), timedelta(hours=8)),
    ("medium", "medium", timedelta(hours=4), timedelta(hours=24)),
    ("low", "low", timedelta(hours=24), timedelta(hours=72)),
]

pytestmark = pytest.mark.django_db


def at(moment):
    return time_machine.travel(moment, tick=False)


def log(user, when=T0):
    with at(when):
        return services.incident_create(user=user, title="Core switch flapping", service=ServiceFactory())


def classify(incident, user, when, urgency="high", impact="high"):
    with at(when):
        return services.incident_classify(
            incident=incident, user=user, category="infrastructure", urgency=urgency, impact=impact
        )


@pytest.mark.parametrize(("urgency", "impact", "response", "resolution"), TARGETS)
def test_due_dates_count_from_logging_not_classification(manager, urgency, impact, response, resolution):
    incident = log(manager)
    incident = classify(incident, manager, T0 + timedelta(minutes=7), urgency, impact)
    assert incident.created_at == T0
    assert incident.response_due_at == T0 + response
    assert incident.resolution_due_at == T0 + resolution


def test_detection_before_logging_does_not_move_the_clocks(manager):
    with at(T0):
        incident = services.incident_create(
            user=manager, title="Feed down", detected_at=T0 - timedelta(hours=2)
        )
    incident = classify(incident, manager, T0)
    assert incident.detected_at == T0 - timedelta(hours=2)
    assert incident.response_due_at == T0 + timedelta(minutes=15)


def test_hold_pauses_the_resolution_clock_and_resume_extends_it(manager):
    incident = classify(log(manager), manager, T0)
    with at(T0 + timedelta(minutes=10)):
        incident = services.incident_investigate(incident=incident, user=manager)
    with at(T0 + timedelta(hours=1)):
        incident = services.incident_hold(
            incident=incident, user=manager, reason="awaiting_vendor", note="RMA"
        )
    # While on hold past the original due time, the clock stands still: not breached.
    with at(T0 + timedelta(hours=6)):
        incident.refresh_from_db()
        assert incident.resolution_breached is False
        assert not Incident.objects.resolution_breached().filter(pk=incident.pk).exists()
        incident = services.incident_resume(incident=incident, user=manager, note="disk arrived")
    assert incident.on_hold_seconds == 5 * 3600
    assert incident.resolution_due_at == T0 + timedelta(hours=4) + timedelta(hours=5)
    assert incident.response_due_at == T0 + timedelta(minutes=15)

    # A second hold adds up.
    with at(T0 + timedelta(hours=7)):
        incident = services.incident_hold(incident=incident, user=manager, reason="awaiting_user", note="?")
    with at(T0 + timedelta(hours=7, minutes=30)):
        incident = services.incident_resume(incident=incident, user=manager, note="answered")
    assert incident.on_hold_seconds == 5 * 3600 + 1800
    assert incident.resolution_due_at == T0 + timedelta(hours=9, minutes=30)

    with at(T0 + timedelta(hours=9)):
        incident = services.incident_resolve(
            incident=incident, user=manager, code="fixed", notes="ok", **INVESTIGATION
        )
    assert incident.resolution_breached is False


def test_breach_flags_and_queryset_agree(manager):
    late_response = classify(log(manager), manager, T0)
    with at(T0 + timedelta(minutes=20)):
        late_response = services.incident_investigate(incident=late_response, user=manager)
    waiting = classify(log(manager), manager, T0)
    on_time = classify(log(manager), manager, T0)
    with at(T0 + timedelta(minutes=5)):
        on_time = services.incident_investigate(incident=on_time, user=manager)

    with at(T0 + timedelta(minutes=16)):
        for incident in (late_response, waiting, on_time):
            incident.refresh_from_db()
        assert late_response.response_breached
        assert waiting.response_breached, "a missing first response past its due time is a breach"
        assert not on_time.response_breached
        breached = set(Incident.objects.response_breached().values_list("pk", flat=True))
        assert breached == {late_response.pk, waiting.pk}

    with at(T0 + timedelta(hours=5)):
        on_time = services.incident_resolve(
            incident=on_time, user=manager, code="fixed", notes="late fix", **INVESTIGATION
        )
        assert on_time.resolution_breached
        assert not on_time.response_breached
        assert set(Incident.objects.resolution_breached().values_list("pk", flat=True)) == {
            late_response.pk,
            waiting.pk,
            on_time.pk,
        }


def test_unclassified_incident_runs_the_clocks_of_its_provisional_severity(manager):
    """Logging gives the default provisional severity (S3: 4 h / 24 h); left unclassified, it breaches."""
    incident = log(manager)
    assert (incident.severity, incident.severity_provisional) == ("S3", True)
    assert incident.response_due_at == T0 + timedelta(hours=4)
    assert incident.resolution_due_at == T0 + timedelta(hours=24)
    with at(T0 + timedelta(days=10)):
        incident.refresh_from_db()
        assert incident.response_breached and incident.resolution_breached


def test_reclassification_recomputes_due_dates_from_logging(manager):
    incident = classify(log(manager), manager, T0, "low", "low")
    assert incident.severity == "S4"
    incident = classify(incident, manager, T0 + timedelta(hours=1), "high", "high")
    assert incident.state == "classified"
    assert incident.severity == "S1"
    assert incident.response_due_at == T0 + timedelta(minutes=15)
    assert incident.resolution_due_at == T0 + timedelta(hours=4)


def test_policy_edits_apply_to_later_classifications(manager):
    SlaPolicy.objects.filter(severity="S1").update(resolution_target=timedelta(hours=2))
    incident = classify(log(manager), manager, T0)
    assert incident.resolution_due_at == T0 + timedelta(hours=2)


def test_first_response_is_the_first_move_into_investigating(manager):
    incident = classify(log(manager), manager, T0)
    with at(T0 + timedelta(minutes=3)):
        incident = services.incident_investigate(incident=incident, user=manager)
    with at(T0 + timedelta(minutes=30)):
        incident = services.incident_resolve(
            incident=incident, user=manager, code="fixed", notes="x", **INVESTIGATION
        )
    with at(T0 + timedelta(minutes=40)):
        incident = services.incident_reopen(incident=incident, user=manager, reason="still broken")
    assert incident.first_response_at == T0 + timedelta(minutes=3)
    assert incident.resolved_at is None
    with at(T0 + timedelta(hours=2)):
        incident = services.incident_resolve(
            incident=incident, user=manager, code="fixed", notes="really", **INVESTIGATION
        )
    assert incident.resolved_at == T0 + timedelta(hours=2)
    assert incident.reopen_count == 1
