"""Scheduled delivery: the celery beat entries made by migration, and the tasks that generate, store and
e-mail the reports, at most once per period."""

import sys

import pytest
from django.core import mail
from django_celery_beat.models import PeriodicTask

from incidents.choices import Role
from reporting import tasks
from reporting.models import ReportDelivery, StoredReport
from tests.factories import make_user

from .stories import at, t

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_the_schedule_is_created_by_migration():
    weekly = PeriodicTask.objects.get(task="reporting.tasks.send_weekly_summary")
    assert weekly.name == "Weekly incident summary to the Operations Team (Monday 08:00)"
    assert (weekly.crontab.minute, weekly.crontab.hour, weekly.crontab.day_of_week) == ("0", "8", "1")
    assert weekly.crontab.day_of_month == "*"
    monthly = PeriodicTask.objects.get(task="reporting.tasks.send_service_impact_report")
    assert (monthly.crontab.minute, monthly.crontab.hour, monthly.crontab.day_of_month) == ("0", "8", "1")
    assert monthly.crontab.day_of_week == "*"
    assert weekly.enabled and monthly.enabled


def test_weekly_summary_goes_to_the_operations_team_once_with_a_copy_to_the_incident_managers(
    october, manager, management
):
    """Seed 6.2: "Incident Summary, weekly, Operations Team"; the Incident Managers get a copy."""
    other = make_user(Role.INCIDENT_MANAGERS, username="im2")
    ops = make_user(Role.OPERATIONS, username="ops-lead")
    with at(t(11, 2, 8)):  # Monday 08:00: last week is 2026-W44
        result = tasks.send_weekly_summary()
        tasks.send_weekly_summary()  # a rerun (retry, duplicate beat) sends nothing
    assert result["period"] == "2026-W44"
    assert result["recipients"] == 4
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Weekly incident summary 2026-W44"
    assert message.to == [ops.email]
    # Every Incident Manager (the KPI examples' own manager too) in copy, nobody else.
    assert sorted(message.cc) == sorted([manager.email, other.email, "report-manager@lab.example"])
    assert management.email not in message.to + message.cc
    assert message.body.startswith("# Weekly incident summary 2026-W44")
    html, mime = message.alternatives[0]
    assert mime == "text/html" and october[9].number in html
    delivery = ReportDelivery.objects.get()
    assert delivery.sent_at == t(11, 2, 8)
    assert delivery.group == "Operations Team (copy: Incident Managers)"
    stored = StoredReport.objects.get()
    assert (stored.kind, stored.period, stored.format, stored.delivery) == (
        "weekly_summary",
        "2026-W44",
        "html",
        delivery,
    )


def test_monthly_report_goes_to_management_with_the_pdf(october, management):
    with at(t(11, 1, 8)):
        tasks.send_service_impact_report()
    message = mail.outbox[0]
    assert message.subject == "Service impact report 2026-10"
    assert message.to == [management.email]
    html, _ = message.alternatives[0]
    assert "data:image/svg+xml;base64," in html
    [(filename, content, mime)] = message.attachments
    assert (filename, mime) == ("service-impact-2026-10.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    assert sorted(StoredReport.objects.values_list("format", flat=True)) == ["html", "pdf"]


def test_without_the_pdf_backend_the_monthly_report_is_sent_without_attachment(
    october, management, monkeypatch
):
    monkeypatch.setitem(sys.modules, "xhtml2pdf", None)
    tasks.send_service_impact_report("2026-10")
    assert mail.outbox[0].attachments == []
    assert list(StoredReport.objects.values_list("format", flat=True)) == ["html"]


def test_an_empty_group_still_stores_the_report(october):
    tasks.send_service_impact_report("2026-09")
    assert mail.outbox == []
    assert ReportDelivery.objects.get().sent_at is not None
    assert StoredReport.objects.filter(period="2026-09").exists()


def test_without_an_operations_team_the_incident_managers_receive_it(october, manager):
    with at(t(11, 2, 8)):
        tasks.send_weekly_summary()
    [message] = mail.outbox
    assert sorted(message.to) == sorted([manager.email, "report-manager@lab.example"])
    assert message.cc == []
