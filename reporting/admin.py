"""Reports in the admin: the monthly service-impact report for any month with its charts, stored reports to
download, scheduled deliveries, and the major-incident reviews with their action items.

Custom pages are added with `get_urls()` + `admin_site.admin_view` and check their permission first.
Generating a file goes through `reporting.services`, like the commands and the tasks.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from incidents import selectors as incident_selectors
from incidents.admin.base import DOMAIN_ERRORS, AuditedAdmin, VisibleIncidentsMixin, error_text

from . import charts, selectors, services
from .choices import CONTENT_TYPES, FORMATS, ReportKind, ReviewStatus
from .models import ActionItem, MajorIncidentReview, ReportDelivery, StoredReport
from .pdf import PdfUnavailable, pdf_available
from .periods import month as calendar_month
from .periods import parse_month, previous_month

VIEW_REPORTS = "reporting.view_storedreport"
GENERATE_REPORTS = "reporting.add_storedreport"


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _file_response(content: bytes, *, filename: str, fmt: str, inline: bool = False) -> HttpResponse:
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@admin.register(StoredReport)
class StoredReportAdmin(admin.ModelAdmin):
    """Generated reports, read-only; the service-impact report page is reached from its list."""

    change_list_template = "admin/reporting/storedreport/change_list.html"
    list_display = ("__str__", "kind", "period", "format", "generated_at", "generated_by", "size", "download")
    list_filter = ("kind", "format")
    search_fields = ("period",)
    list_select_related = ("generated_by",)
    date_hierarchy = "generated_at"
    readonly_fields = (
        "kind",
        "period",
        "format",
        "size",
        "generated_at",
        "generated_by",
        "delivery",
        "download",
    )
    fields = readonly_fields

    def get_queryset(self, request):
        # A stored major-incident review names its incident in `period`: shown to those who may see it.
        visible = incident_selectors.visible_incidents(request.user).values("number")
        return (
            super()
            .get_queryset(request)
            .filter(~Q(kind=ReportKind.MAJOR_INCIDENT_REVIEW) | Q(period__in=visible))
        )

    def has_add_permission(self, request):
        return False  # reports are generated from the report page, the commands or the schedule

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="file")
    def download(self, obj):
        if not obj.pk or not obj.file:
            return "—"
        url = reverse("admin:reporting_storedreport_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.filename)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/download/", view(self.download_view), name="reporting_storedreport_download"),
            path("service-impact/", view(self.service_impact_view), name="reporting_service_impact"),
            *super().get_urls(),
        ]

    def download_view(self, request, pk):
        _require(request, VIEW_REPORTS)
        report = get_object_or_404(self.get_queryset(request), pk=pk)
        try:
            handle = report.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404("The report's file is missing from MEDIA_ROOT.") from exc
        return FileResponse(
            handle,
            as_attachment=report.format != "html",
            filename=report.filename,
            content_type=CONTENT_TYPES[report.format],
        )

    def service_impact_view(self, request):
        """The monthly service-impact report of any month (?month=YYYY-MM, the previous month by default),
        with its charts; POST a format to generate, store and download it."""
        _require(request, VIEW_REPORTS)
        raw = request.POST.get("month") or request.GET.get("month")
        try:
            month = parse_month(raw) if raw else previous_month()
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            month = previous_month()
        if request.method == "POST":
            _require(request, GENERATE_REPORTS)
            fmt = request.POST.get("format", "")
            if fmt not in FORMATS[ReportKind.SERVICE_IMPACT]:
                self.message_user(request, f"Unknown format {fmt!r}.", messages.ERROR)
            else:
                try:
                    report = services.service_impact_report(month=month, fmt=fmt, user=request.user)
                except PdfUnavailable as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                else:
                    return HttpResponseRedirect(
                        reverse("admin:reporting_storedreport_download", args=[report.stored.pk])
                    )
            return HttpResponseRedirect(f"{reverse('admin:reporting_service_impact')}?month={month.label}")

        report = selectors.service_impact(month=month)
        today = timezone.localdate(timezone=timezone.get_default_timezone())  # months are TIME_ZONE's
        recent = [
            calendar_month(today.year + (today.month - 1 - i) // 12, (today.month - 1 - i) % 12 + 1)
            for i in range(12)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Service impact {month.label}",
            "report": report,
            "charts": charts.service_impact_charts(report),
            "severities": selectors.SEVERITIES,
            "month": month,
            "recent_months": [m.label for m in recent],
            "formats": FORMATS[ReportKind.SERVICE_IMPACT],
            "pdf_available": pdf_available(),
            "can_generate": request.user.has_perm(GENERATE_REPORTS),
            "embedded": True,
        }
        return TemplateResponse(request, "admin/reporting/service_impact.html", context)


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(admin.ModelAdmin):
    """Scheduled sendings, read-only: what went to whom and when (the schedule itself is in Periodic tasks)."""

    list_display = ("kind", "period", "group", "created_at", "sent_at", "recipient_count")
    list_filter = ("kind", "group")
    search_fields = ("period", "recipients")
    readonly_fields = ("kind", "period", "group", "recipients", "created_at", "sent_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="recipients")
    def recipient_count(self, obj):
        return len([line for line in obj.recipients.splitlines() if line.strip()])


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 1
    fields = ("order", "description", "owner", "due_date", "done_at")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            kwargs["queryset"] = (
                get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MajorIncidentReviewForm(forms.ModelForm):
    """Choosing *Final* marks the review final through `services.review_finalize` once the action items
    are saved too; what keeps it from being final is said on the fields (`services.review_final_errors`)."""

    class Meta:
        model = MajorIncidentReview
        fields = ("status", "summary", "root_cause", "lessons_learned", "what_went_well", "what_went_badly")
        help_texts = {
            "status": "Final sends the Post-Incident Summary (summary, root cause, lessons learned, action "
            "items) to the stakeholders of the affected services and the Operations Team. A final review "
            "stays final.",
        }

    @property
    def finalizing(self) -> bool:
        return (
            self.instance.pk is not None
            and self.initial.get("status") == ReviewStatus.DRAFT
            and self.cleaned_data.get("status") == ReviewStatus.FINAL
        )

    def clean(self):
        cleaned = super().clean()
        if self.finalizing:
            values = {name: cleaned.get(name, "") for name in services.FINAL_REVIEW_FIELDS}
            for field, messages in services.review_final_errors(review=self.instance, values=values).items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned


@admin.register(MajorIncidentReview)
class MajorIncidentReviewAdmin(VisibleIncidentsMixin, AuditedAdmin):
    """Drafted when a major incident is resolved; the Incident Managers complete it here and mark it final,
    which sends the Post-Incident Summary. The document (the Post-Incident Summary template with the
    reconstructed timeline) opens from the object tools."""

    change_form_template = "admin/reporting/majorincidentreview/change_form.html"
    form = MajorIncidentReviewForm
    inlines = [ActionItemInline]
    list_display = ("incident", "incident_title", "status", "drafted_at", "finalized_at", "open_actions")
    list_filter = ("status",)
    search_fields = ("incident__number", "incident__title")
    list_select_related = ("incident",)
    readonly_fields = (
        "incident_link",
        "drafted_at",
        "drafted_by",
        "finalized_at",
        "finalized_by",
        "updated_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "incident_link",
                    "status",
                    ("drafted_at", "drafted_by"),
                    ("finalized_at", "finalized_by"),
                    "updated_at",
                )
            },
        ),
        (
            "Review",
            {"fields": ("summary", "root_cause", "lessons_learned", "what_went_well", "what_went_badly")},
        ),
    )

    def has_add_permission(self, request):
        return False  # drafted automatically when a major incident is resolved

    def get_readonly_fields(self, request, obj=None):
        """A final review's summary went out: it stays final. Asked of the stored row, since a form that
        failed to mark it final has already changed the object in memory."""
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and type(obj).objects.filter(pk=obj.pk, status=ReviewStatus.FINAL).exists():
            return (*fields, "status")
        return fields

    def save_model(self, request, obj, form, change):
        if getattr(form, "finalizing", False):
            obj.status = ReviewStatus.DRAFT  # `review_finalize` marks it, after the action items are saved
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if getattr(form, "finalizing", False):
            try:
                services.review_finalize(review=form.instance, user=request.user)
            except DOMAIN_ERRORS as exc:  # changed meanwhile (reopened): nothing of this save is kept
                transaction.set_rollback(True)
                self.message_user(request, error_text(exc), messages.ERROR)
            else:
                self.message_user(request, "Marked final: the Post-Incident Summary is on its way.")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("action_items")

    @admin.display(description="title", ordering="incident__title")
    def incident_title(self, obj):
        return obj.incident.title

    @admin.display(description="open actions")
    def open_actions(self, obj):
        return sum(1 for item in obj.action_items.all() if item.done_at is None)

    @admin.display(description="incident")
    def incident_link(self, obj):
        url = reverse("admin:incidents_incident_change", args=[obj.incident_id])
        return format_html('<a href="{}">{}</a> {}', url, obj.incident.number, obj.incident.title)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/document/<str:fmt>/", view(self.document_view), name="reporting_review_document"),
            *super().get_urls(),
        ]

    def document_view(self, request, pk, fmt):
        """The review as a document: HTML opens in the browser; the other formats are stored and downloaded."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        review = get_object_or_404(self.get_queryset(request).select_related("incident"), pk=pk)
        if fmt not in FORMATS[ReportKind.MAJOR_INCIDENT_REVIEW]:
            raise Http404(f"Unknown format {fmt!r}.")
        try:
            report = services.major_incident_review_report(
                incident=review.incident, fmt=fmt, user=request.user, store=fmt != "html"
            )
        except PdfUnavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:reporting_majorincidentreview_change", args=[pk]))
        return _file_response(report.content, filename=report.filename, fmt=fmt, inline=fmt == "html")
