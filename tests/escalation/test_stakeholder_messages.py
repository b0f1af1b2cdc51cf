"""What goes beyond the support roles (the service's stakeholders, the caller, the reporter) never shows raw
monitoring labels and never links into the admin, which they cannot open; staff messages keep the admin
link. Every communication template is checked."""

from datetime import UTC, datetime

import pytest
import time_machine

from escalation import services
from escalation.choices import Template
from escalation.models import Notification
from escalation.services.notifications import COMMUNICATION_TEMPLATES, OUTSIDE_TEMPLATES, stakeholder_link
from incidents.models import Incident
from tests.factories import ServiceFactory
from tests.incidents.alerting import ALERTMANAGER_URL, alertmanager_payload, make_source, post

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 4, 9, 15, tzinfo=UTC)
SITE = "https://itsm.lab.example"
RAW = ("alertname=", "instance=", "ceph_daemon=", "job=ceph")
# What each sender supplies besides the incident (as the admin's preview does).
EXTRA = {
    "message": "We are replacing the disk.",
    "reason": "the reason given",
    "level": 1,
    "confirm_url": "https://itsm.lab.example/caller/confirm/x",
    "not_fixed_url": "https://itsm.lab.example/caller/not-fixed/x",
    "review": {"summary": "s", "root_cause": "r", "lessons_learned": "l", "action_items": []},
}


@pytest.fixture
def alerted(settings):
    """An S1 raised by Alertmanager on a service with stakeholders: declared major, so they are told at once."""
    settings.SITE_URL = SITE
    ServiceFactory(name="Ceph storage", slug="ceph", stakeholder_emails="astro@lab.example")
    _, token = make_source("Prometheus")
    with time_machine.travel(NOW, tick=False):
        response = post(ALERTMANAGER_URL, alertmanager_payload("firing"), token)
    assert response.status_code == 200, response.data
    incident = Incident.objects.get(number=response.data["incidents"][0])
    assert "alertname=CephOSDDown" in incident.description  # the intake keeps the labels for staff
    return incident


def test_the_incident_notification_to_stakeholders_has_no_labels_and_no_admin_link(alerted):
    [notification] = Notification.objects.filter(incident=alerted, template="incident_notification")
    assert notification.recipient == "astro@lab.example"
    for part in (notification.subject, notification.body, notification.html_body):
        assert not any(raw in part for raw in RAW), part
        assert "/admin/" not in part
    assert "marked down for more than 5 minutes" in notification.body  # the human description stays


@pytest.mark.parametrize("template", COMMUNICATION_TEMPLATES)
def test_every_template_links_by_its_audience(alerted, template):
    subject, text, html = services.render(template=template, incident=alerted, extra=dict(EXTRA))
    admin_url = f"{SITE}/admin/incidents/incident/{alerted.pk}/change/"
    if template in OUTSIDE_TEMPLATES:
        for part in (subject, text, html):
            assert "/admin/" not in part
            assert not any(raw in part for raw in RAW), (template, part)
    else:
        assert admin_url in text and admin_url in html


def test_the_stakeholder_link_is_one_place_and_empty_until_there_is_a_status_page(alerted, monkeypatch):
    assert stakeholder_link(alerted) == ""
    monkeypatch.setattr(
        "escalation.services.notifications.stakeholder_link",
        lambda incident: f"https://status.lab/{incident.number}",
    )
    _, text, html = services.render(template=Template.INCIDENT_NOTIFICATION, incident=alerted)
    assert f"https://status.lab/{alerted.number}" in text and f"https://status.lab/{alerted.number}" in html
