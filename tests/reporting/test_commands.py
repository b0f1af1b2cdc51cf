"""The report commands: every format to a file, the report stored, and clear CommandErrors."""

import io
import json
import sys

import pytest
from django.core.management import CommandError, call_command

from reporting.models import StoredReport

from .stories import at, t

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with at(t(11, 20)):
        call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("fmt", ["html", "pdf", "md", "csv", "json"])
def test_service_impact_report_in_every_format(october, tmp_path, fmt):
    target = tmp_path / f"report.{fmt}"
    _, err = run("service_impact_report", "--month", "2026-10", "--format", fmt, "--output", str(target))
    content = target.read_bytes()
    assert f"Wrote {target}" in err
    stored = StoredReport.objects.get()
    assert (stored.kind, stored.period, stored.format, stored.size) == (
        "service_impact",
        "2026-10",
        fmt,
        len(content),
    )
    assert stored.file.read() == content
    if fmt == "html":
        text = content.decode()
        assert text.count("data:image/svg+xml;base64,") == 3  # by severity, availability, trend
        assert "<h1>Service impact 2026-10</h1>" in text
    elif fmt == "pdf":
        assert content.startswith(b"%PDF")
    elif fmt == "json":
        assert json.loads(content)["services"][0]["service"] == "alpha"
    elif fmt == "csv":
        lines = content.decode().splitlines()
        assert lines[0].startswith("service,S1,S2,S3,S4,unclassified,total,outage_minutes")
        assert lines[-1].startswith("TOTAL,")
    else:
        assert content.decode().startswith("# Service impact 2026-10")


def test_standard_output_when_no_file_and_no_store(october):
    out, _ = run("service_impact_report", "--month", "2026-10", "--format", "md", "--no-store")
    assert out.startswith("# Service impact 2026-10")
    assert not StoredReport.objects.exists()


@pytest.mark.parametrize("fmt", ["html", "md", "csv", "json"])
def test_incident_summary(october, tmp_path, fmt):
    target = tmp_path / f"week.{fmt}"
    run("incident_summary", "--week", "2026-W44", "--format", fmt, "--output", str(target))
    text = target.read_text()
    assert october[9].number in text
    assert StoredReport.objects.get().period == "2026-W44"


def test_major_incident_review(october, manager, tmp_path):
    major = october[1]  # an S1: declared major on classification, closed on 3 October
    for fmt in ("html", "pdf", "md", "csv", "json"):
        target = tmp_path / f"review.{fmt}"
        run("major_incident_review", major.number.lower(), "--format", fmt, "--output", str(target))
        assert target.stat().st_size > 0
    assert json.loads((tmp_path / "review.json").read_text())["review"]["status"] == "draft"
    assert StoredReport.objects.filter(kind="major_incident_review", period=major.number).count() == 5


def test_kpis_command(october):
    out, _ = run("kpis", "--start", "2026-10-01", "--end", "2026-11-01")
    assert out.startswith("# KPIs 2026-10-01 to 2026-11-01 (end exclusive)")
    assert "| MTTR | 3 h 30 min | 9 h | 1 day | 6 h | 9 h 12 min |" in out
    out, _ = run("kpis", "--start", "2026-10-01", "--end", "2026-11-01", "--format", "json")
    assert json.loads(out)["mttr_seconds"]["all"] == 33120
    assert not StoredReport.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["service_impact_report", "--month", "2026-13"], "the month must be 01 to 12"),
        (["service_impact_report", "--month", "2026-10", "--format", "docx"], "Unknown format 'docx'"),
        (["incident_summary", "--week", "2026-W60"], "2026 has weeks 01 to 53"),
        (["incident_summary", "--week", "2026-W47", "--format", "pdf"], "Unknown format 'pdf'"),
        (["major_incident_review", "INC-999999"], "No incident 'INC-999999'"),
        (["kpis", "--start", "2026-11-01", "--end", "2026-10-01"], "must be after the start"),
        (["kpis", "--start", "2026-10-32", "--end", "2026-11-01"], "Invalid --start"),
        (["service_impact_report", "--month", "2026-10", "--format", "pdf"], "PDF is binary: give --output"),
        (["service_impact_report", "--month", "2026-10", "--user", "nobody"], "No user named 'nobody'"),
    ],
)
def test_bad_arguments_are_command_errors(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_only_major_incidents_have_a_review(october):
    with pytest.raises(CommandError, match="not a major incident"):
        run("major_incident_review", october[3].number)


def test_a_missing_pdf_backend_is_a_clear_error(october, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "xhtml2pdf", None)  # import xhtml2pdf now raises ImportError
    with pytest.raises(CommandError, match="PDF output needs the xhtml2pdf package"):
        run(
            "service_impact_report",
            "--month",
            "2026-10",
            "--format",
            "pdf",
            "--output",
            str(tmp_path / "r.pdf"),
        )
    assert not (tmp_path / "r.pdf").exists()


def test_unwritable_output(october, tmp_path):
    with pytest.raises(CommandError, match="Cannot write"):
        run(
            "kpis",
            "--start",
            "2026-10-01",
            "--end",
            "2026-11-01",
            "--output",
            str(tmp_path / "missing" / "k.md"),
        )


def test_the_stored_copy_says_who_generated_it(october, manager, tmp_path):
    target = tmp_path / "r.md"
    run(
        "service_impact_report",
        "--month",
        "2026-10",
        "--format",
        "md",
        "--output",
        str(target),
        "--user",
        "manager",
    )
    assert StoredReport.objects.get().generated_by == manager
