"""Security incidents page the Security Team at classification, once, and their emergency pages reach the
Security Team and the Incident Managers only (the incident is confidential)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from escalation.choices import RotationKind, Template
from escalation.models import EscalationEvent, Notification, Rotation, RotationMember
from incidents import services
from incidents.choices import Role
from tests.factories import ServiceFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(reference_data):
    return {
        "manager": make_user(Role.INCIDENT_MANAGERS, username="duty-manager"),
        "sasha": make_user(Role.SECURITY_TEAM, username="sasha"),
        "ravi": make_user(Role.SECURITY_TEAM, username="ravi"),
        "vendor": make_user(Role.EXTERNAL, username="vendor"),
        "desk": make_user(Role.SERVICE_DESK, username="desk"),
        "reporter": make_user(username="researcher", is_staff=False),
    }


def security_rota(*members):
    rotation = Rotation.objects.create(
        name="Security on call",
        kind=RotationKind.SECURITY,
        shift_length=timedelta(days=7),
        start_date=timezone.localdate() - timedelta(days=1),
    )
    for order, user in enumerate(members):
        RotationMember.objects.create(rotation=rotation, user=user, order=order)


def classify(incident, user, **inputs):
    values = {"category": "security", "urgency": "medium", "impact": "low", **inputs}
    return services.incident_classify(incident=incident, user=user, **values)


def pages(incident, template=Template.SECURITY_PAGE):
    return set(
        Notification.objects.filter(incident=incident, template=template).values_list("recipient", flat=True)
    )


def test_classifying_as_security_pages_the_security_on_call_once(team):
    security_rota(team["sasha"], team["ravi"])
    incident = services.incident_create(user=team["reporter"], title="Odd logins on the login node")
    incident = classify(incident, team["desk"])
    assert pages(incident) == {"sasha@lab.example"}
    assert EscalationEvent.objects.filter(incident=incident, kind="security").count() == 1
    assert incident.timeline.filter(note__startswith="Security Team paged").exists()

    classify(incident, team["manager"], urgency="high", impact="low")  # reclassified: no second page
    assert Notification.objects.filter(incident=incident, template=Template.SECURITY_PAGE).count() == 1


def test_nobody_on_call_pages_the_whole_security_team(team):
    incident = services.incident_create(user=team["reporter"], title="Malware on a workstation")
    classify(incident, team["desk"])
    assert pages(incident) == {"sasha@lab.example", "ravi@lab.example"}


def test_other_categories_page_nobody_on_the_security_team(team):
    incident = services.incident_create(user=team["reporter"], title="pve-03 down", service=ServiceFactory())
    classify(incident, team["desk"], category="infrastructure")
    assert pages(incident) == set()


def test_a_security_emergency_pages_security_and_managers_not_every_tier(team):
    incident = services.incident_create(user=team["reporter"], title="Ransomware on the archive")
    incident = classify(incident, team["manager"], urgency="high", impact="high")
    assert incident.is_major
    emergency = pages(incident, Template.PAGE)
    assert emergency == {"sasha@lab.example", "ravi@lab.example", "duty-manager@lab.example"}
    assert "vendor@lab.example" not in emergency and "desk@lab.example" not in emergency
