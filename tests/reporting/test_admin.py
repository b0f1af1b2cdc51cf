"""The reporting admin: the service-impact page for any month with its charts, stored reports to download,
and the editable major-incident review with its action items."""

import sys

import pytest
from django.urls import reverse

from incidents.choices import Role
from reporting.models import ActionItem, MajorIncidentReview, StoredReport
from tests.factories import make_user

from .stories import at, t

pytestmark = pytest.mark.django_db

PAGE = "/admin/reporting/storedreport/service-impact/"


@pytest.fixture
def browser(client, manager):
    client.force_login(manager)
    return client


def test_the_report_page_shows_any_month_with_its_charts(october, browser):
    with at(t(11, 20)):
        response = browser.get(PAGE, {"month": "2026-10"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Service impact 2026-10</h1>" in html
    assert html.count("data:image/svg+xml;base64,") == 3
    assert 'value="2026-10"' in html


def test_a_bad_month_falls_back_with_a_message(browser):
    with at(t(11, 20)):
        response = browser.get(PAGE, {"month": "2026-13"}, follow=True)
    assert "the month must be 01 to 12" in response.content.decode()
    assert "Service impact 2026-10" in response.content.decode()  # the previous month


def test_the_page_is_linked_from_the_stored_reports(browser):
    response = browser.get(reverse("admin:reporting_storedreport_changelist"))
    assert PAGE in response.content.decode()


def test_roles_without_reports_are_refused(client):
    client.force_login(make_user(Role.SERVICE_DESK, username="desk"))
    assert client.get(PAGE).status_code == 403


def test_generate_store_and_download(october, browser):
    with at(t(11, 20)):
        response = browser.post(PAGE, {"month": "2026-10", "format": "csv"})
    stored = StoredReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:reporting_storedreport_download", args=[stored.pk])
    assert stored.generated_by.username == "manager"
    download = browser.get(response["Location"])
    assert download["Content-Disposition"] == 'attachment; filename="service-impact-2026-10.csv"'
    assert b"".join(download.streaming_content).startswith(b"service,S1")
    listing = browser.get(reverse("admin:reporting_storedreport_changelist")).content.decode()
    assert "service-impact-2026-10.csv" in listing


def test_management_may_read_but_not_generate(client, management):
    client.force_login(management)
    assert client.get(PAGE, {"month": "2026-10"}).status_code == 200
    assert client.post(PAGE, {"month": "2026-10", "format": "csv"}).status_code == 403  # read-only role
    assert not StoredReport.objects.exists()


def test_pdf_without_backend_is_an_admin_message(browser, monkeypatch):
    monkeypatch.setitem(sys.modules, "xhtml2pdf", None)
    response = browser.post(PAGE, {"month": "2026-10", "format": "pdf"}, follow=True)
    assert "PDF output needs the xhtml2pdf package" in response.content.decode()
    assert not StoredReport.objects.exists()


def test_the_review_is_edited_with_its_action_items(october, browser, manager):
    review = MajorIncidentReview.objects.get(incident=october[1])
    url = reverse("admin:reporting_majorincidentreview_change", args=[review.pk])
    page = browser.get(url)
    assert page.status_code == 200
    assert "Open the review document" in page.content.decode()
    data = {
        "status": "final",
        "summary": "Disk controller firmware bug",
        "root_cause": "Firmware 1.2 drops the cache under load",
        "lessons_learned": "Keep a spare controller on site",
        "what_went_well": "Fast response",
        "what_went_badly": "No spare controller",
        "action_items-TOTAL_FORMS": "1",
        "action_items-INITIAL_FORMS": "0",
        "action_items-MIN_NUM_FORMS": "0",
        "action_items-MAX_NUM_FORMS": "1000",
        "action_items-0-order": "1",
        "action_items-0-description": "Buy a spare controller",
        "action_items-0-owner": str(manager.pk),
        "action_items-0-due_date": "2026-12-01",
        "action_items-0-done_at_0": "",
        "action_items-0-done_at_1": "",
    }
    response = browser.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    review.refresh_from_db()
    assert (review.status, review.root_cause) == ("final", "Firmware 1.2 drops the cache under load")
    item = ActionItem.objects.get()
    assert (item.description, item.owner, str(item.due_date)) == (
        "Buy a spare controller",
        manager,
        "2026-12-01",
    )

    document = browser.get(reverse("admin:reporting_review_document", args=[review.pk, "html"]))
    html = document.content.decode()
    assert "Major-incident review (final)" in html
    assert "Buy a spare controller" in html and "Firmware 1.2 drops the cache" in html
    pdf = browser.get(reverse("admin:reporting_review_document", args=[review.pk, "pdf"]))
    assert pdf.content.startswith(b"%PDF")
    assert StoredReport.objects.filter(kind="major_incident_review", format="pdf").exists()


def test_management_reads_reviews_without_editing_them(october, client, management):
    review = MajorIncidentReview.objects.get(incident=october[1])
    client.force_login(management)
    url = reverse("admin:reporting_majorincidentreview_change", args=[review.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"status": "final", "summary": "changed"})
    review.refresh_from_db()
    assert review.summary != "changed"
