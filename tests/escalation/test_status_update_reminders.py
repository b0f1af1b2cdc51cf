"""Status Update reminders (seed 5.2 "ongoing progress communication"): while an S1 or S2 incident is open,
its Incident Manager is reminded every interval of its severity's rule to send the stakeholders an update;
an update sent restarts the interval. S3 and S4 have no reminder unless a rule adds one."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation import services, tasks
from escalation.models import MessageRule, Notification, Rotation, RotationMember
from incidents import services as incident_services
from incidents.choices import Role
from tests.factories import incident_in, make_user

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)

# severity: (urgency, impact, reminder interval in minutes or None) — one table for the matrix.
MATRIX = {
    "S1": ("high", "high", 30),
    "S2": ("high", "medium", 60),
    "S3": ("medium", "medium", None),
    "S4": ("low", "low", None),
}


@pytest.fixture
def im_on_duty(db):
    user = make_user(Role.INCIDENT_MANAGERS, username="im-oncall", email="im-oncall@lab.example")
    rotation = Rotation.objects.create(
        name="IM", kind="incident_manager", start_date=T0.date() - timedelta(days=1)
    )
    RotationMember.objects.create(rotation=rotation, user=user)
    return user


def reminders(incident):
    return Notification.objects.filter(incident=incident, template="major_reminder")


@pytest.mark.parametrize("severity", MATRIX)
def test_reminders_follow_the_severity_interval(manager, im_on_duty, severity):
    urgency, impact, minutes = MATRIX[severity]
    with time_machine.travel(T0, tick=False):
        incident = incident_in("investigating", manager=manager, urgency=urgency, impact=impact)
    assert incident.severity == severity
    every = timedelta(minutes=minutes or 60)
    with time_machine.travel(T0 + every - timedelta(minutes=1), tick=False):
        assert services.send_status_update_reminders() == 0
    with time_machine.travel(T0 + every, tick=False):
        assert services.send_status_update_reminders() == (1 if minutes else 0)
        assert services.send_status_update_reminders() == 0  # safe to run twice
    with time_machine.travel(T0 + 2 * every, tick=False):
        assert tasks.major_incident_reminders() == (1 if minutes else 0)
    if minutes:
        assert set(reminders(incident).values_list("recipient", flat=True)) == {"im-oncall@lab.example"}
        reminder = reminders(incident).first()
        assert reminder.subject == f"[{severity}] Status update due: {incident.number} {incident.title}"
        assert f"expect an update every {minutes if minutes < 60 else 1} " in reminder.body
    else:
        assert not reminders(incident).exists()


def test_a_status_update_restarts_the_interval_and_resolving_stops_it(manager, im_on_duty):
    with time_machine.travel(T0, tick=False):
        incident = incident_in("investigating", manager=manager, urgency="high", impact="medium")  # S2
    with time_machine.travel(T0 + timedelta(minutes=50), tick=False):
        services.send_status_update(incident=incident, user=manager, message="Rebalancing the pool.")
    with time_machine.travel(T0 + timedelta(minutes=70), tick=False):
        assert services.send_status_update_reminders() == 0
    with time_machine.travel(T0 + timedelta(minutes=110), tick=False):
        assert services.send_status_update_reminders() == 1
        incident_services.incident_resolve(
            incident=incident,
            user=manager,
            code="fixed",
            notes="Pool rebalanced",
            diagnosis="One OSD flapping",
            root_cause="Failing disk",
        )
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        assert services.send_status_update_reminders() == 0


def test_the_interval_is_the_rules_and_a_major_s3_follows_s1(manager, im_on_duty):
    rule = MessageRule.objects.get(severity="S1", moment="status_update_due")
    services.message_rule_save(user=manager, rule=rule, interval=timedelta(minutes=10))
    with time_machine.travel(T0, tick=False):
        incident = incident_in("investigating", manager=manager, urgency="medium", impact="medium")
        services.declare_major(incident=incident, user=manager, reason="observatory run at risk")
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        assert services.send_status_update_reminders() == 1
    services.message_rule_save(user=manager, rule=rule, is_active=False)
    with time_machine.travel(T0 + timedelta(minutes=40), tick=False):
        assert services.send_status_update_reminders() == 0


def test_the_stakeholders_are_promised_the_next_update_by_the_interval(manager, im_on_duty):
    with time_machine.travel(T0, tick=False):
        s2 = incident_in("investigating", manager=manager, urgency="high", impact="medium")
        s3 = incident_in("investigating", manager=manager, urgency="medium", impact="medium")
        _, s2_text, _ = services.render(template="status_update", incident=s2, extra={"message": "m"})
        _, s3_text, _ = services.render(template="status_update", incident=s3, extra={"message": "m"})
    assert "Next update by 2026-06-01 11:00" in s2_text
    assert "Next update by" not in s3_text
