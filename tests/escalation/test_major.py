"""Emergency escalation, major incidents, functional escalation and the lifecycle's communications."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from escalation import services
from escalation.models import EscalationEvent, Notification, Rotation, RotationMember
from incidents import services as incident_services
from incidents.choices import Role
from incidents.exceptions import Conflict, PermissionDenied
from incidents.models import Incident
from reporting.services import review_finalize
from tests.factories import ServiceFactory, incident_in, make_user

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def team(db):
    people = {}
    for kind, role, name in [
        ("tier1", Role.SERVICE_DESK, "desk-oncall"),
        ("tier2", Role.SYSADMINS, "sys-oncall"),
        ("tier3", Role.EXPERTS, "sme-oncall"),
        ("incident_manager", Role.INCIDENT_MANAGERS, "im-oncall"),
    ]:
        user = make_user(role, username=name, email=f"{name}@lab.example")
        rotation = Rotation.objects.create(name=kind, kind=kind, start_date=T0.date() - timedelta(days=1))
        RotationMember.objects.create(rotation=rotation, user=user)
        people[kind] = user
    people["vendor"] = make_user(Role.EXTERNAL, username="vendor", email="vendor@vendor.example")
    return people


def classify(incident, user, **kwargs):
    return incident_services.incident_classify(incident=incident, user=user, **kwargs)


def test_s1_classification_declares_major_and_pages_the_emergency_team(team, manager):
    service = ServiceFactory(stakeholder_emails="astro@lab.example, ops@lab.example")
    with time_machine.travel(T0, tick=False):
        incident = incident_services.incident_create(user=manager, title="Ceph down", service=service)
        incident = classify(incident, manager, category="infrastructure", urgency="high", impact="high")
    incident.refresh_from_db()
    assert incident.is_major
    assert EscalationEvent.objects.filter(incident=incident, kind="emergency").count() == 1
    paged = set(
        Notification.objects.filter(incident=incident, template="page").values_list("recipient", flat=True)
    )
    # On-call of every tier plus the on-duty Incident Manager; not the vendor, who sees only incidents at
    # the external tier (`test_an_emergency_at_the_external_tier_pages_the_vendor_group`).
    assert paged == {
        "desk-oncall@lab.example",
        "sys-oncall@lab.example",
        "sme-oncall@lab.example",
        "im-oncall@lab.example",
    }
    notified = set(
        Notification.objects.filter(incident=incident, template="incident_notification").values_list(
            "recipient", flat=True
        )
    )
    assert notified == {"astro@lab.example", "ops@lab.example"}
    sent = sorted(e.data["template"] for e in incident.timeline.filter(kind="notification"))
    assert sent == ["incident_notification", "new_incident", "page"]  # the first line heard at logging
    assert "Nobody on call" not in incident.timeline.get(kind="escalation", data__kind="emergency").note

    # Reclassifying keeps one emergency, one notification.
    classify(incident, manager, category="infrastructure", urgency="high", impact="high")
    assert EscalationEvent.objects.filter(incident=incident, kind="emergency").count() == 1
    assert Notification.objects.filter(incident=incident, template="incident_notification").count() == 2


def test_an_emergency_at_the_external_tier_pages_the_vendor_group(team, manager):
    with time_machine.travel(T0, tick=False):
        incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
        services.escalate_tier(incident=incident, user=manager, reason="vendor kit", tier="external")
        services.declare_major(incident=incident, user=manager, reason="array offline")
    paged = set(
        Notification.objects.filter(incident=incident, template="page").values_list("recipient", flat=True)
    )
    assert "vendor@vendor.example" in paged  # no vendor rotation: the whole External Support group
    assert "External Support" in incident.timeline.get(kind="escalation", data__kind="emergency").note


def test_high_impact_security_incident_is_major(team, manager):
    incident = incident_in("logged", manager=manager)
    incident = classify(incident, manager, category="security", urgency="low", impact="high")
    incident.refresh_from_db()
    assert incident.severity == "S3" and incident.is_major


def test_s2_sends_the_incident_notification_but_is_not_major(team, manager):
    incident = incident_in(
        "logged", manager=manager, service=ServiceFactory(stakeholder_emails="a@lab.example")
    )
    incident = classify(incident, manager, category="application", urgency="high", impact="medium")
    incident.refresh_from_db()
    assert not incident.is_major
    assert Notification.objects.filter(incident=incident, template="incident_notification").count() == 1
    assert not Notification.objects.filter(incident=incident, template="page").exists()


def test_manual_declaration_needs_an_incident_manager(team, manager, service_desk):
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    with pytest.raises(PermissionDenied):
        services.declare_major(incident=incident, user=service_desk, reason="looks bad")
    incident = services.declare_major(incident=incident, user=manager, reason="observatory run at risk")
    assert incident.is_major
    incident = services.clear_major(incident=incident, user=manager, reason="contained")
    assert not incident.is_major
    assert incident.history.first().history_change_reason == "major status cleared: contained"


def test_a_finished_record_keeps_its_major_status(client, team, manager):
    incident = incident_in("cancelled", manager=manager, urgency="low", impact="low")
    Incident.objects.filter(pk=incident.pk).update(is_major=True)  # a major incident, since cancelled
    with pytest.raises(Conflict, match="read-only"):
        services.clear_major(incident=incident, user=manager, reason="tidy up the report")
    incident.refresh_from_db()
    assert incident.is_major
    client.force_login(manager)
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert "Clear major status" not in page


def test_major_reminders_every_30_minutes_until_resolved(team, manager):
    with time_machine.travel(T0, tick=False):
        incident = incident_in("investigating", manager=manager)  # S1 → major
    for minutes, expected in [(29, 0), (30, 1), (45, 0), (60, 1)]:
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            assert services.send_status_update_reminders() == expected
    reminders = Notification.objects.filter(incident=incident, template="major_reminder")
    assert set(reminders.values_list("recipient", flat=True)) == {"im-oncall@lab.example"}
    with time_machine.travel(T0 + timedelta(minutes=70), tick=False):
        incident_services.incident_resolve(
            incident=incident, user=manager, code="fixed", notes="ok", diagnosis="osd down", root_cause="disk"
        )
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        assert services.send_status_update_reminders() == 0


def test_functional_escalation_climbs_the_tiers_and_stops_at_external(team, manager, service_desk):
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    incident = services.escalate_tier(incident=incident, user=service_desk, reason="needs Ceph expertise")
    assert (incident.tier, incident.assignee) == ("tier2", team["tier2"])
    incident = services.escalate_tier(incident=incident, user=service_desk, reason="kernel bug")
    assert (incident.tier, incident.assignee.username) == ("tier3", "sme-oncall")
    incident = services.escalate_tier(incident=incident, user=service_desk, reason="vendor RMA")
    assert (incident.tier, incident.assignee) == ("external", None)  # no rotation: the group is told
    assert "Nobody is on call" in incident.timeline.filter(kind="escalation").last().note
    with pytest.raises(Conflict):
        services.escalate_tier(incident=incident, user=service_desk, reason="again")
    events = EscalationEvent.objects.filter(incident=incident, kind="functional").order_by("fired_at", "pk")
    assert [(e.from_tier, e.to_tier) for e in events] == [
        ("tier1", "tier2"),
        ("tier2", "tier3"),
        ("tier3", "external"),
    ]
    assert set(
        Notification.objects.filter(incident=incident, template="escalation").values_list(
            "recipient", flat=True
        )
    ) == {"sys-oncall@lab.example", "sme-oncall@lab.example", "vendor@vendor.example"}


def test_no_downward_escalation(team, manager):
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    incident = services.escalate_tier(incident=incident, user=manager, reason="x", tier="tier3")
    with pytest.raises(Conflict):
        services.escalate_tier(incident=incident, user=manager, reason="back", tier="tier2")


def test_management_cannot_escalate(team, manager, management):
    incident = incident_in("investigating", manager=manager, urgency="low", impact="low")
    with pytest.raises(PermissionDenied):
        services.escalate_tier(incident=incident, user=management, reason="x")


def test_resolution_notice_and_post_incident_summary(team, manager):
    reporter = make_user(username="astronomer", email="astronomer@lab.example", is_staff=False)
    service = ServiceFactory(stakeholder_emails="stake@lab.example")
    incident = incident_in("resolved", manager=manager, reporter=reporter, service=service)  # S1 → major
    notices = Notification.objects.filter(incident=incident, template="resolution_notice")
    assert not notices.exists()  # seed 5.2: "confirmation of incident closure", so at close
    incident_services.incident_close(incident=incident, user=manager, closure_notes="Verified with the user")
    # the reporter logged it themselves: they are the caller
    assert set(notices.values_list("recipient", flat=True)) == {"astronomer@lab.example", "stake@lab.example"}
    # The Post-Incident Summary waits for the review to be marked final (tests/reporting/test_review_final.py).
    summary = Notification.objects.filter(incident=incident, template="post_incident_summary")
    assert not summary.exists()
    review = incident.review
    review.lessons_learned = "Keep spare disks on site"
    review.save()
    review_finalize(review=review, user=manager)
    assert "stake@lab.example" in set(summary.values_list("recipient", flat=True))
    assert "POST-INCIDENT SUMMARY" in summary.first().body


def test_no_status_update_on_a_closed_incident(team, manager):
    incident = incident_in("closed", manager=manager, urgency="low", impact="low")
    with pytest.raises(Conflict):
        services.send_status_update(incident=incident, user=manager, message="still fine")
