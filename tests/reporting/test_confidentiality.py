"""Reports keep security incidents confidential: the weekly summary counts and lists them without their
titles, and a stored major-incident review of one is shown only to those who may see the incident."""

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.choices import Role
from reporting import selectors
from reporting import services as report_services
from reporting.models import StoredReport
from reporting.periods import parse_week
from tests.factories import ServiceFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def incidents(reference_data, manager):
    service = ServiceFactory(slug="login-node")
    made = {}
    for name, category, title in (
        ("ordinary", "infrastructure", "Login node slow"),
        ("security", "security", "Rootkit on the login node"),
    ):
        incident = services.incident_create(user=manager, title=title, service=service)
        made[name] = services.incident_classify(
            incident=incident, user=manager, category=category, urgency="high", impact="high"
        )
    return made


def this_week():
    year, week, _ = timezone.localdate().isocalendar()
    return parse_week(f"{year}-W{week:02d}")


def test_the_weekly_summary_lists_security_incidents_without_their_titles(incidents):
    rows = {row["number"]: row for row in selectors.weekly_summary(week=this_week())["incidents"]}
    assert rows[incidents["ordinary"].number]["title"] == "Login node slow"
    assert rows[incidents["security"].number]["title"] == selectors.RESTRICTED_TITLE
    for fmt in ("csv", "md", "html"):
        content = report_services.weekly_summary_report(week=this_week(), fmt=fmt, store=False).content
        text = content.decode() if isinstance(content, bytes) else content
        assert "Rootkit" not in text and incidents["security"].number in text, fmt


def test_a_stored_review_of_a_security_incident_is_hidden_from_management(incidents, manager, client):
    for incident in incidents.values():
        report_services.major_incident_review_report(incident=incident, fmt="md", user=manager)
    reviews = {r.period: r for r in StoredReport.objects.all()}
    client.force_login(make_user(Role.MANAGEMENT, username="boss"))
    listing = client.get(reverse("admin:reporting_storedreport_changelist")).content.decode()
    assert incidents["ordinary"].number in listing and incidents["security"].number not in listing
    hidden = reviews[incidents["security"].number]
    assert client.get(reverse("admin:reporting_storedreport_download", args=[hidden.pk])).status_code == 404

    client.force_login(manager)
    listing = client.get(reverse("admin:reporting_storedreport_changelist")).content.decode()
    assert incidents["security"].number in listing
