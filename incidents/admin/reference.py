"""Reference data: the service catalogue, support tiers, SLA policies, response plans and problems.
All keep history; Incident Managers edit them (see `incidents.reference_data.ROLE_PERMISSIONS`)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ..choices import Category, category_of
from ..formatting import exact_duration
from ..forms import ProblemForm, SlaPolicyForm
from ..models import Problem, ResponsePlan, ResponsePlanStep, Service, SlaPolicy, SupportTier
from ..selectors import visibility_q, visible_incidents
from .base import AuditedAdmin, ServiceFormAdminMixin


@admin.register(Service)
class ServiceAdmin(AuditedAdmin):
    list_display = ("name", "slug", "criticality", "owner_group", "in_service_since", "is_active")
    list_filter = ("criticality", "is_active")
    search_fields = ("name", "slug")
    list_select_related = ("owner_group",)
    prepopulated_fields = {"slug": ("name",)}
    fields = (
        "name",
        "slug",
        "description",
        "owner_group",
        "criticality",
        "stakeholder_emails",
        "in_service_since",
        "is_active",
    )


class FixedRowsAdmin(AuditedAdmin):
    """Rows the code relies on (one per tier, one per severity): edited, never added or deleted."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SupportTier)
class SupportTierAdmin(FixedRowsAdmin):
    list_display = ("code", "name", "rank", "group")
    list_select_related = ("group",)
    readonly_fields = ("code",)
    fields = ("code", "name", "rank", "group")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ServiceFormAdminMixin, FixedRowsAdmin):
    form = SlaPolicyForm
    list_display = ("severity", "response_target_display", "resolution_target_display")
    readonly_fields = ("severity",)
    fields = ("severity", "response_target", "resolution_target")

    @admin.display(description="response target", ordering="response_target")
    def response_target_display(self, policy):
        return exact_duration(policy.response_target)

    @admin.display(description="resolution target", ordering="resolution_target")
    def resolution_target_display(self, policy):
        return exact_duration(policy.resolution_target)


class ResponsePlanStepInline(admin.TabularInline):
    model = ResponsePlanStep
    fields = ("order", "text", "required")
    ordering = ("order", "pk")
    extra = 1
    formfield_overrides = {models.CharField: {"widget": forms.TextInput(attrs={"size": 100})}}


@admin.register(ResponsePlan)
class ResponsePlanAdmin(AuditedAdmin):
    list_display = ("incident_type", "category", "title", "step_count", "required_count")
    search_fields = ("title",)
    fields = ("incident_type", "title", "description")
    inlines = (ResponsePlanStepInline,)

    class Media:
        css = {"all": ("incidents/admin.css",)}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                step_count=Count("steps"), required_count=Count("steps", filter=Q(steps__required=True))
            )
        )

    @admin.display(description="category")
    def category(self, plan):
        category = category_of(plan.incident_type)
        return Category(category).label if category else "-"

    @admin.display(description="steps", ordering="step_count")
    def step_count(self, plan):
        return plan.step_count

    @admin.display(description="required", ordering="required_count")
    def required_count(self, plan):
        return plan.required_count


@admin.register(Problem)
class ProblemAdmin(ServiceFormAdminMixin, AuditedAdmin):
    form = ProblemForm
    list_display = ("number", "title", "status", "is_known_error", "incident_count", "created_at")
    list_filter = ("status", "is_known_error")
    search_fields = ("number", "title")
    ordering = ("-created_at",)
    add_fields = ("title", "description", "workaround")
    fields = (
        "number",
        "title",
        "description",
        "status",
        "root_cause",
        ("is_known_error", "workaround"),
        "created_at",
        "linked_incidents",
    )
    readonly_fields = ("number", "created_at", "linked_incidents")
    linked_incidents_shown = 50

    def get_queryset(self, request):
        # Counts and lists only the linked incidents the reader may see (`incidents.selectors`).
        visible = visibility_q(request.user, "incidents__")
        return super().get_queryset(request).annotate(incident_count=Count("incidents", filter=visible))

    def get_object(self, request, object_id, from_field=None):
        problem = super().get_object(request, object_id, from_field)
        if problem is not None:
            problem.reader = request.user  # for `linked_incidents`, which is given the object alone
        return problem

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else super().get_readonly_fields(request, obj)

    @admin.display(description="incidents", ordering="incident_count")
    def incident_count(self, problem):
        return problem.incident_count

    @admin.display(description="linked incidents")
    def linked_incidents(self, problem):
        reader = getattr(problem, "reader", None)
        incidents = list(
            visible_incidents(reader)
            .filter(problem=problem)
            .order_by("-created_at")[: self.linked_incidents_shown]
        )
        if not incidents:
            return "-"
        links = format_html_join(
            "",
            '<li><a href="{}">{}</a> {} ({})</li>',
            (
                (
                    reverse("admin:incidents_incident_change", args=[quote(i.pk)]),
                    i.number,
                    i.title,
                    i.get_state_display(),
                )
                for i in incidents
            ),
        )
        more = problem.incident_count - len(incidents) if hasattr(problem, "incident_count") else 0
        tail = format_html("<li>… and {} more</li>", more) if more > 0 else ""
        return format_html('<ul class="itsm-links">{}{}</ul>', links, tail)
