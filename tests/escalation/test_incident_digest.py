"""The Incident Notification reaches the service's stakeholders for every severity when it is classified:
S1/S2 at once, S3/S4 collected in an hourly digest, one message per recipient listing their incidents. The
digest is sent by a beat task that is safe to run twice, and a worker that was down loses nothing."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation import services, tasks
from escalation.models import DigestItem, MessageRule, Notification
from incidents import services as incident_services
from tests.factories import ServiceFactory, incident_in

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)

# severity: (urgency, impact) of the priority matrix, and whether the notification waits for the digest.
SEVERITIES = {
    "S1": ("high", "high", False),
    "S2": ("high", "medium", False),
    "S3": ("medium", "medium", True),
    "S4": ("low", "low", True),
}


@pytest.fixture
def ceph():
    return ServiceFactory(
        slug="ceph", name="Ceph storage", stakeholder_emails="astro@lab.example, ops@lab.example"
    )


@pytest.fixture
def radio():
    return ServiceFactory(slug="radio", name="Radio telescope", stakeholder_emails="astro@lab.example")


def classified(manager, service, severity, **kwargs):
    urgency, impact, _ = SEVERITIES[severity]
    return incident_in(
        "classified", manager=manager, service=service, urgency=urgency, impact=impact, **kwargs
    )


def notifications(incident):
    return Notification.objects.filter(incident=incident, template="incident_notification")


@pytest.mark.parametrize("severity", SEVERITIES)
def test_every_severity_tells_the_stakeholders_when_classified(manager, ceph, severity):
    with time_machine.travel(T0, tick=False):
        incident = classified(manager, ceph, severity)
    assert incident.severity == severity
    waits = SEVERITIES[severity][2]
    assert notifications(incident).exists() is not waits
    queued = DigestItem.objects.filter(incident=incident, settled_at__isnull=True)
    assert set(queued.values_list("recipient", flat=True)) == (
        {"astro@lab.example", "ops@lab.example"} if waits else set()
    )
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        services.send_incident_digests()
    recipients = set(
        Notification.objects.filter(
            template="incident_digest" if waits else "incident_notification"
        ).values_list("recipient", flat=True)
    )
    assert recipients == {"astro@lab.example", "ops@lab.example"}


def test_one_digest_per_recipient_lists_their_incidents(manager, ceph, radio):
    with time_machine.travel(T0, tick=False):
        first = classified(manager, ceph, "S3", title="Ceph slow requests")
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        second = classified(manager, radio, "S4", title="Feed dashboard stale")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert tasks.incident_digest() == 2
        assert tasks.incident_digest() == 0  # safe to run twice
    digests = {n.recipient: n for n in Notification.objects.filter(template="incident_digest")}
    assert set(digests) == {"astro@lab.example", "ops@lab.example"}
    astro = digests["astro@lab.example"]
    assert astro.incident is None and astro.status == "pending"
    assert astro.subject == f"Incident digest: 2 incidents ({first.number}, {second.number})"
    assert astro.body.index("Ceph slow requests") < astro.body.index("Feed dashboard stale")
    assert "Feed dashboard stale" not in digests["ops@lab.example"].body
    assert not DigestItem.objects.filter(settled_at__isnull=True).exists()
    note = first.timeline.filter(kind="notification", visibility="public").last().note
    assert note == "Incident Notification sent in the hourly digest to 2 recipients"  # public: no addresses


def test_cancelled_and_closed_incidents_are_no_news(manager, ceph, radio):
    with time_machine.travel(T0, tick=False):
        mistake = classified(manager, ceph, "S3", title="Logged twice by mistake")
        incident_services.incident_cancel(incident=mistake, user=manager, reason="duplicate")
        kept = classified(manager, radio, "S4", title="Feed dashboard stale")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        services.send_incident_digests()
    bodies = " ".join(Notification.objects.filter(template="incident_digest").values_list("body", flat=True))
    assert kept.number in bodies and mistake.number not in bodies
    assert not DigestItem.objects.filter(settled_at__isnull=True).exists()  # settled, never sent later


def test_a_worker_that_was_down_loses_nothing(manager, ceph):
    """The rows wait in the database: the first run after five hours without one sends them all."""
    with time_machine.travel(T0, tick=False):
        incident = classified(manager, ceph, "S4")
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        assert services.send_incident_digests() == 2
    assert DigestItem.objects.filter(incident=incident, notification__isnull=False).count() == 2


def test_a_digest_row_waits_for_the_run_after_it_was_queued(manager, ceph):
    with time_machine.travel(T0, tick=False):
        incident = classified(manager, ceph, "S3")
        incident_services.incident_classify(  # reclassified S4 while it waits: queued once
            incident=incident, user=manager, category="infrastructure", urgency="low", impact="low"
        )
    assert incident.timeline.filter(kind="notification", data__digest=True).count() == 1
    with time_machine.travel(T0 - timedelta(minutes=1), tick=False):
        assert services.send_incident_digests() == 0
    assert DigestItem.objects.filter(incident=incident, settled_at__isnull=True).count() == 2


def test_reclassified_to_s2_before_the_digest_it_goes_at_once_and_only_once(manager, ceph):
    with time_machine.travel(T0, tick=False):
        incident = classified(manager, ceph, "S3")
        incident_services.incident_classify(
            incident=incident, user=manager, category="infrastructure", urgency="high", impact="medium"
        )
    assert notifications(incident).count() == 2
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert services.send_incident_digests() == 0
    # Back to S3: it was told already, nothing waits again.
    incident_services.incident_classify(
        incident=incident, user=manager, category="infrastructure", urgency="medium", impact="medium"
    )
    assert not DigestItem.objects.filter(incident=incident, settled_at__isnull=True).exists()


def test_a_major_incident_never_waits_for_the_digest(manager, ceph):
    """Declared major at S3, its stakeholders are told at once."""
    incident = classified(manager, ceph, "S3")
    services.declare_major(incident=incident, user=manager, reason="observatory run at risk")
    assert set(notifications(incident).values_list("recipient", flat=True)) == {
        "astro@lab.example",
        "ops@lab.example",
    }
    assert not DigestItem.objects.filter(incident=incident, settled_at__isnull=True).exists()


def test_security_incidents_reach_no_stakeholder_address(manager, ceph):
    incident = incident_in("logged", manager=manager, service=ceph)
    incident_services.incident_classify(
        incident=incident, user=manager, category="security", urgency="low", impact="low"
    )
    assert not DigestItem.objects.filter(incident=incident).exists()
    assert not notifications(incident).exists()


def test_a_queued_incident_that_becomes_confidential_is_left_out(manager, ceph):
    services.message_rule_save(
        user=manager,
        rule=MessageRule.objects.get(severity="S4", moment="classified"),
        audiences=["stakeholders", "incident_managers"],
    )
    with time_machine.travel(T0, tick=False):
        incident = classified(manager, ceph, "S4")
    assert DigestItem.objects.filter(incident=incident).count() == 3  # two stakeholders and the manager
    incident_services.incident_classify(
        incident=incident, user=manager, category="security", urgency="low", impact="low"
    )
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert services.send_incident_digests() == 1
    sent = Notification.objects.filter(template="incident_digest").values_list("recipient", flat=True)
    assert list(sent) == [manager.email]  # an Incident Manager may see it; the stakeholder addresses not
    assert not DigestItem.objects.filter(settled_at__isnull=True).exists()


def test_the_digest_shows_no_monitoring_labels_and_no_admin_link(manager, ceph, settings):
    settings.SITE_URL = "https://itsm.lab.example"
    description = (
        "The OSDs on pve-03 report slow requests.\n\nLabels: alertname=CephSlowOps, instance=pve-03:9283"
    )
    with time_machine.travel(T0, tick=False):
        classified(manager, ceph, "S3", description=description)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        services.send_incident_digests()
    digest = Notification.objects.filter(template="incident_digest").first()
    for part in (digest.body, digest.html_body):
        assert "slow requests" in part
        assert "alertname" not in part and "instance=" not in part
        assert "/admin/" not in part
