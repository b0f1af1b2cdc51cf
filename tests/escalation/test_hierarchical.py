"""Hierarchical escalation timing and idempotency, with time-machine (no sleeps, no worker)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation import services
from escalation.models import EscalationEvent, IncidentEscalation, Notification
from incidents import services as incident_services
from incidents.choices import Role
from tests.factories import ServiceFactory, make_user

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def people(db):
    return {
        "manager": make_user(Role.INCIDENT_MANAGERS, username="im", email="im@lab.example"),
        "desk": make_user(Role.SERVICE_DESK, username="desk1", email="desk1@lab.example"),
        "boss": make_user(Role.MANAGEMENT, username="boss", email="boss@lab.example"),
    }


def s4_incident(manager, when=T0):
    with at(when):
        incident = incident_services.incident_create(
            user=manager, title="Portal slow", service=ServiceFactory(stakeholder_emails="users@lab.example")
        )
        return incident_services.incident_classify(
            incident=incident, user=manager, category="application", urgency="low", impact="low"
        )


def fired(incident):
    return list(
        EscalationEvent.objects.filter(incident=incident)
        .order_by("fired_at", "pk")
        .values_list("level", "step__percent", "step__clock")
    )


def test_classification_schedules_the_first_step(people):
    incident = s4_incident(people["manager"])
    record = IncidentEscalation.objects.get(incident=incident)
    # S4: response 24 h (100% → level 1 at +24 h); resolution 72 h (50% = +36 h) → response step first.
    assert record.next_escalation_at == T0 + timedelta(hours=24)
    assert record.next_step.clock == "response"


def test_steps_fire_at_their_percentages_once_each(people):
    manager = people["manager"]
    incident = s4_incident(manager)
    with at(T0 + timedelta(hours=1)):
        incident = incident_services.incident_investigate(incident=incident, user=manager)
    record = IncidentEscalation.objects.get(incident=incident)
    assert record.next_escalation_at == T0 + timedelta(hours=36), "response step stops at first response"

    # Early: nothing fires, even when asked repeatedly.
    with at(T0 + timedelta(hours=35)):
        assert services.sweep() == 0
    for hours, expected in [
        (36, [(1, 50, "resolution")]),
        (54, [(1, 50, "resolution"), (2, 75, "resolution")]),
    ]:
        with at(T0 + timedelta(hours=hours)):
            services.sweep()
            services.sweep()
        assert fired(incident) == expected
    with at(T0 + timedelta(hours=72)):
        token = str(IncidentEscalation.objects.get(incident=incident).active_escalation_id)
        assert len(services.fire_due(incident_id=incident.pk, token=token)) == 1
        assert services.fire_due(incident_id=incident.pk, token=token) == []  # duplicate delivery
        assert services.sweep() == 0
    assert [level for level, _, _ in fired(incident)] == [1, 2, 3]
    assert IncidentEscalation.objects.get(incident=incident).next_escalation_at is None
    timeline = list(incident.timeline.filter(kind="escalation").values_list("note", flat=True))
    assert len(timeline) == 3 and timeline[2].startswith("Level 3 escalation")
    level3 = Notification.objects.filter(
        incident=incident, template="escalation", subject__contains="level 3"
    )
    assert list(level3.values_list("recipient", flat=True)) == ["boss@lab.example"]


def test_stale_token_does_nothing(people):
    incident = s4_incident(people["manager"])
    old = str(IncidentEscalation.objects.get(incident=incident).active_escalation_id)
    with at(T0 + timedelta(hours=2)):  # a reclassification reschedules with a new token
        incident_services.incident_classify(
            incident=incident, user=people["manager"], category="application", urgency="low", impact="medium"
        )
    with at(T0 + timedelta(hours=25)):
        assert services.fire_due(incident_id=incident.pk, token=old) == []
        assert services.sweep() == 1


def test_hold_pauses_resolution_steps_and_resume_moves_them(people):
    manager = people["manager"]
    incident = s4_incident(manager)
    with at(T0 + timedelta(minutes=10)):
        incident = incident_services.incident_investigate(incident=incident, user=manager)
    with at(T0 + timedelta(hours=10)):
        incident = incident_services.incident_hold(
            incident=incident, user=manager, reason="awaiting_user", note="?"
        )
    assert IncidentEscalation.objects.get(incident=incident).next_escalation_at is None
    with at(T0 + timedelta(hours=40)):
        assert services.sweep() == 0, "nothing fires while on hold"
        incident = incident_services.incident_resume(incident=incident, user=manager, note="back")
    # 30 h on hold: the 50% step (36 h) moves to 66 h.
    assert IncidentEscalation.objects.get(incident=incident).next_escalation_at == T0 + timedelta(hours=66)


def test_resolution_stops_escalation(people):
    manager = people["manager"]
    incident = s4_incident(manager)
    with at(T0 + timedelta(minutes=5)):
        incident = incident_services.incident_investigate(incident=incident, user=manager)
        incident = incident_services.incident_resolve(
            incident=incident, user=manager, code="fixed", notes="ok"
        )
    assert IncidentEscalation.objects.get(incident=incident).next_escalation_at is None
    with at(T0 + timedelta(days=10)):
        assert services.sweep() == 0
    assert fired(incident) == []


def test_a_long_outage_fires_every_overdue_step_once(people):
    incident = s4_incident(people["manager"])
    with at(T0 + timedelta(days=5)):
        assert services.sweep() == 4
        assert services.sweep() == 0
    assert sorted(level for level, _, _ in fired(incident)) == [1, 1, 2, 3]


def test_nobody_on_call_notifies_the_whole_group_and_says_so(people):
    incident = s4_incident(people["manager"])
    with at(T0 + timedelta(hours=24)):
        services.sweep()
    note = incident.timeline.get(kind="escalation").note
    assert "Nobody is on call" in note
    recipients = set(
        Notification.objects.filter(incident=incident, template="escalation").values_list(
            "recipient", flat=True
        )
    )
    assert "desk1@lab.example" in recipients


def test_sweep_reads_only_due_rows(people, django_assert_max_num_queries):
    for _ in range(5):
        s4_incident(people["manager"])
    with at(T0 + timedelta(hours=1)), django_assert_max_num_queries(1):
        assert services.sweep() == 0
