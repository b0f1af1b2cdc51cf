"""The watchdog: late escalations and breaches nobody was told about reach the Incident Managers, once."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation import services
from escalation.models import EscalationEvent, IncidentEscalation, Notification
from incidents import services as incident_services
from incidents.choices import Role
from tests.factories import ServiceFactory, make_user

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def im(db):
    return make_user(Role.INCIDENT_MANAGERS, username="im", email="im@lab.example")


def s4(user):
    with at(T0):
        incident = incident_services.incident_create(user=user, title="Wiki slow", service=ServiceFactory())
        return incident_services.incident_classify(
            incident=incident, user=user, category="application", urgency="low", impact="low"
        )


def watchdog_mails():
    return Notification.objects.filter(incident=None, subject__contains="watchdog")


def test_nothing_to_report_when_escalation_keeps_up(im):
    incident = s4(im)
    with at(T0 + timedelta(hours=25)):
        services.sweep()
        assert services.watchdog() == {"late": [], "missed_breaches": [], "reported": []}
    assert EscalationEvent.objects.filter(incident=incident).count() == 1
    assert not watchdog_mails().exists()


def test_a_stalled_sweep_is_reported_once_a_day(im):
    incident = s4(im)  # response step due at +24 h; nobody runs the sweep
    with at(T0 + timedelta(hours=24, minutes=4)):
        assert services.watchdog()["late"] == []  # within the 5 minutes' grace
    with at(T0 + timedelta(hours=24, minutes=6)):
        report = services.watchdog()
        assert report["late"] == [incident.number]
        assert report["missed_breaches"] == [incident.number], "the response breach went unnoticed"
        assert report["reported"] == [incident.number]
    [mail] = watchdog_mails()
    assert mail.recipient == "im@lab.example" and incident.number in mail.body
    with at(T0 + timedelta(hours=24, minutes=16)):
        assert services.watchdog()["reported"] == []  # already told today
    assert watchdog_mails().count() == 1
    with at(T0 + timedelta(hours=24, minutes=17)):
        services.sweep()
        assert services.watchdog()["late"] == []


def test_a_lost_schedule_shows_as_an_unnoticed_resolution_breach(im):
    incident = s4(im)
    with at(T0 + timedelta(minutes=10)):
        incident = incident_services.incident_investigate(incident=incident, user=im)
    IncidentEscalation.objects.filter(incident=incident).update(next_escalation_at=None)  # e.g. a bad restore
    with at(T0 + timedelta(hours=73)):
        report = services.watchdog()
    assert report == {"late": [], "missed_breaches": [incident.number], "reported": [incident.number]}
