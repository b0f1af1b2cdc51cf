"""Stored reports, scheduled deliveries and major-incident reviews."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from incidents.models import Incident

from .choices import ReportFormat, ReportKind, ReviewStatus


def report_upload_to(report: StoredReport, filename: str) -> str:
    stamp = timezone.now()
    return f"reports/{report.kind}/{stamp:%Y/%m}/{PurePosixPath(filename).name}"


class ReportDelivery(models.Model):
    """One scheduled sending of a report (the weekly summary of a week, the service-impact report of a
    month). The unique (kind, period) row is what makes a rerun of the task send nothing twice."""

    kind = models.CharField(max_length=24, choices=ReportKind.choices)
    period = models.CharField(max_length=32, help_text="2026-10, 2026-W47, ...")
    group = models.CharField(max_length=150, help_text="The group whose members receive it.")
    recipients = models.TextField(blank=True, help_text="The addresses it went to, one per line.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "report deliveries"
        constraints = [models.UniqueConstraint(fields=["kind", "period"], name="report_delivery_once")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.period} → {self.group}"


class StoredReport(models.Model):
    """A generated report file, kept so it can be downloaded again as it was sent."""

    kind = models.CharField(max_length=24, choices=ReportKind.choices, db_index=True)
    period = models.CharField(max_length=32, help_text="2026-10, 2026-W47, INC-000123, ...")
    format = models.CharField(max_length=4, choices=ReportFormat.choices)
    file = models.FileField(upload_to=report_upload_to, max_length=255)
    size = models.PositiveIntegerField(default=0, help_text="Bytes.")
    generated_at = models.DateTimeField(default=timezone.now, db_index=True)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for scheduled and command-line reports.",
    )
    delivery = models.ForeignKey(
        ReportDelivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )

    class Meta:
        ordering = ["-generated_at", "-pk"]
        indexes = [models.Index(fields=["kind", "period"], name="stored_report_period")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.period} ({self.get_format_display()})"

    @property
    def filename(self) -> str:
        return PurePosixPath(self.file.name).name if self.file else ""


class MajorIncidentReview(models.Model):
    """The review held after a major incident: drafted when it is resolved, then edited by the Incident
    Managers and marked final, which sends the Post-Incident Summary (`reporting.services.review_finalize`).
    Its facts (timeline, durations, SLA outcome, escalations, communications) are read from the record by
    `reporting.selectors.major_incident_review`, never copied here."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="review")
    status = models.CharField(max_length=8, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT)
    summary = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    what_went_well = models.TextField(blank=True)
    what_went_badly = models.TextField(blank=True)
    lessons_learned = models.TextField(blank=True)
    drafted_at = models.DateTimeField(default=timezone.now)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finalized_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was marked final and its summary went to the stakeholders."
    )
    finalized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-drafted_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=ReviewStatus.DRAFT) | Q(finalized_at__isnull=False),
                name="review_final_has_finalized_at",
            )
        ]

    def __str__(self):
        return f"Review of {self.incident.number}"


class ActionItem(models.Model):
    """Something the review decided to do, with an owner and a due date."""

    review = models.ForeignKey(MajorIncidentReview, on_delete=models.CASCADE, related_name="action_items")
    order = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=500)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review", "order", "pk"]

    def __str__(self):
        return self.description
