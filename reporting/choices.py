"""Vocabulary of reports, as TextChoices used by models, commands, the API and the admin."""

from django.db import models


class ReportKind(models.TextChoices):
    SERVICE_IMPACT = "service_impact", "Monthly service-impact report"
    WEEKLY_SUMMARY = "weekly_summary", "Weekly incident summary"
    MAJOR_INCIDENT_REVIEW = "major_incident_review", "Major-incident review"
    KPIS = "kpis", "KPIs"


class ReportFormat(models.TextChoices):
    JSON = "json", "JSON"
    CSV = "csv", "CSV"
    MARKDOWN = "md", "Markdown"
    HTML = "html", "HTML"
    PDF = "pdf", "PDF"


# What each report can be rendered as (the weekly summary and the KPIs have no PDF: nobody prints them).
FORMATS = {
    ReportKind.SERVICE_IMPACT: ("html", "pdf", "md", "csv", "json"),
    ReportKind.WEEKLY_SUMMARY: ("html", "md", "csv", "json"),
    ReportKind.MAJOR_INCIDENT_REVIEW: ("html", "pdf", "md", "csv", "json"),
    ReportKind.KPIS: ("md", "csv", "json"),
}

CONTENT_TYPES = {
    ReportFormat.JSON: "application/json",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.MARKDOWN: "text/markdown; charset=utf-8",
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.PDF: "application/pdf",
}


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    FINAL = "final", "Final"
