"""Nothing unseen (issue 10, item 2): a logged incident, classified or not, tells the first line at once, and
its provisional severity's response clock escalates and is watched like any other."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from escalation import services
from escalation.choices import Template
from escalation.models import EscalationEvent, IncidentEscalation, Notification, Rotation, RotationMember
from incidents import services as incident_services
from incidents.choices import EventKind, Role, Visibility
from tests.factories import ServiceFactory, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Berlin
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)


def at(moment):
    return time_machine.travel(moment, tick=False)


def rotation(kind: str, *members):
    rota = Rotation.objects.create(
        name=f"{kind} on call",
        kind=kind,
        shift_length=timedelta(days=7),
        handoff_time=time(9, 0),
        time_zone="Europe/Berlin",
        start_date=date(2026, 6, 1),
    )
    for order, user in enumerate(members):
        RotationMember.objects.create(rotation=rota, user=user, order=order)
    return rota


@pytest.fixture
def people(db):
    people = {
        "desk1": make_user(Role.SERVICE_DESK, username="desk1", email="desk1@lab.example"),
        "desk2": make_user(Role.SERVICE_DESK, username="desk2", email="desk2@lab.example"),
        # A System Administrator covers the Service Desk's on-call rota this week.
        "cover": make_user(Role.SYSADMINS, username="cover", email="cover@lab.example"),
        "im": make_user(Role.INCIDENT_MANAGERS, username="im", email="im@lab.example"),
        "im2": make_user(Role.INCIDENT_MANAGERS, username="im2", email="im2@lab.example"),
        "researcher": make_user(username="astro", email="astro@lab.example", is_staff=False),
    }
    rotation("tier1", people["cover"])
    rotation("incident_manager", people["im"])
    return people


def new_incident_mails(incident):
    return Notification.objects.filter(incident=incident, template=Template.NEW_INCIDENT)


def recipients(incident):
    return sorted(new_incident_mails(incident).values_list("recipient", flat=True))


def log(user, when=T0, **inputs):
    with at(when):
        return incident_services.incident_create(
            user=user, title="Feed down", service=ServiceFactory(), **inputs
        )


# --- who is told -----------------------------------------------------------------------------------------


def test_a_researchers_incident_reaches_the_service_desk_and_its_on_call_person(people):
    incident = log(people["researcher"])
    assert recipients(incident) == ["cover@lab.example", "desk1@lab.example", "desk2@lab.example"]
    mail = new_incident_mails(incident).first()
    assert mail.subject == f"[S3] New incident {incident.number}: Feed down"
    assert "S3 is provisional (the default until classification)" in mail.body
    assert "Response due:" in mail.body and "Severity: S3 Medium (provisional)" in mail.body
    assert "New incident" in mail.html_body
    # On the incident's internal timeline; to people only, no chat webhooks (they have incident.created).
    [entry] = incident.timeline.filter(kind=EventKind.NOTIFICATION)
    assert entry.visibility == Visibility.INTERNAL and entry.data["template"] == Template.NEW_INCIDENT
    assert not new_incident_mails(incident).exclude(channel="email").exists()


def test_the_callers_urgency_and_impact_show_in_the_subject(people):
    incident = log(people["researcher"], urgency="high", impact="high")
    mail = new_incident_mails(incident).first()
    assert mail.subject.startswith("[S1] New incident")
    assert "urgency high, impact high as reported" in mail.body


def test_whoever_logged_it_is_not_told_what_they_just_did(people):
    incident = log(people["desk1"])
    assert recipients(incident) == ["cover@lab.example", "desk2@lab.example"]


def test_logged_and_classified_at_once_is_announced_once(people):
    with at(T0):
        incident = incident_services.incident_log(
            user=people["desk1"],
            title="Feed down",
            classification={"category": "observatory", "urgency": "medium", "impact": "medium"},
        )
    assert recipients(incident) == ["cover@lab.example", "desk2@lab.example"]


def test_a_security_incident_goes_to_the_incident_manager_on_duty_not_to_the_service_desk(people):
    """The Service Desk may not see security incidents: the on-duty Incident Manager hears of it instead."""
    with at(T0):
        incident = incident_services.incident_log(
            user=people["im2"],
            title="Strange logins on the portal",
            classification={"category": "security", "urgency": "high", "impact": "medium"},
        )
    assert recipients(incident) == ["im@lab.example"]
    entry = incident.timeline.get(kind=EventKind.NOTIFICATION, data__template=Template.NEW_INCIDENT)
    assert "may not see this incident: told the Incident Managers" in entry.note


def test_without_anyone_on_duty_the_incident_managers_are_told(people):
    Rotation.objects.filter(kind="incident_manager").delete()
    incident = log(people["researcher"], incident_type="malware")
    assert recipients(incident) == ["im2@lab.example", "im@lab.example"]


def test_a_service_desk_member_logging_a_security_incident_is_not_left_alone_with_it(people):
    """They see what they reported, their colleagues may not: the on-duty Incident Manager is told."""
    incident = log(people["desk1"], incident_type="malware")
    assert recipients(incident) == ["im@lab.example"]


# --- escalation and the watchdog cover logged incidents --------------------------------------------------


def test_an_unclassified_incident_escalates_on_its_provisional_response_clock(people):
    incident = log(people["researcher"])
    record = IncidentEscalation.objects.get(incident=incident)
    # S3 provisional: response 4 h from logging → level 1 (the tier group and its on-call person).
    assert record.next_escalation_at == T0 + 4 * HOUR and record.next_step.clock == "response"
    with at(T0 + 4 * HOUR - MIN):
        assert services.sweep() == 0
    with at(T0 + 4 * HOUR):
        assert services.sweep() == 1
    [event] = EscalationEvent.objects.filter(incident=incident)
    assert (event.level, event.step.clock, event.step.policy.severity) == (1, "response", "S3")
    escalation_mail = Notification.objects.filter(incident=incident, template=Template.ESCALATION)
    assert "cover@lab.example" in set(escalation_mail.values_list("recipient", flat=True))


def test_classification_moves_the_schedule_to_the_real_severity_counted_from_logging(people):
    incident = log(people["researcher"])
    with at(T0 + 20 * MIN):
        incident = incident_services.incident_classify(
            incident=incident, user=people["desk1"], category="observatory", urgency="high", impact="high"
        )
    record = IncidentEscalation.objects.get(incident=incident)
    # S1: the response was due 15 minutes after logging; it is late already.
    assert record.next_escalation_at == T0 + 15 * MIN
    with at(T0 + 20 * MIN):
        assert services.sweep() == 1
    assert EscalationEvent.objects.get(incident=incident, kind="hierarchical").step.policy.severity == "S1"


def test_the_watchdog_reports_an_unclassified_incident_nobody_was_told_about(people):
    incident = log(people["researcher"])
    IncidentEscalation.objects.filter(incident=incident).update(next_escalation_at=None)  # a lost schedule
    with at(T0 + 4 * HOUR + 4 * MIN):
        assert services.watchdog()["missed_breaches"] == []  # within the grace
    with at(T0 + 4 * HOUR + 6 * MIN):
        report = services.watchdog()
    assert report["missed_breaches"] == [incident.number]
