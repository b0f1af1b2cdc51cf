"""Escalation in the admin: policies (with their history), the escalation record and the notification outbox
(read-only), webhooks, and the escalation buttons on the incident page. Rotations, the on-call schedule and
the calendar feeds are in `rotations`.

Every write goes through `escalation.services`; the admin decides what to show and turns the services'
domain errors into messages.
"""

from __future__ import annotations

import re

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html

import incidents.admin  # noqa: F401  (registers the Incident admin this module extends)
from incidents import permissions as incident_perms
from incidents import selectors as incident_selectors
from incidents.admin.base import (
    DOMAIN_ERRORS,
    AuditedAdmin,
    ServiceFormAdminMixin,
    VisibleIncidentsMixin,
    error_text,
    severity_badge,
    sla_badge,
    state_badge,
)
from incidents.admin.worklist import BulkReasonForm
from incidents.formatting import exact_duration, zoned_time
from incidents.models import Incident

from .. import selectors, services
from ..choices import Audience, DeliveryStatus, Template
from ..forms import (
    EscalateForm,
    EscalationStepForm,
    EscalationStepFormSet,
    MajorForm,
    MessageRuleForm,
    StatusUpdateForm,
    WebhookForm,
)
from ..models import (
    DigestItem,
    EscalationEvent,
    EscalationPolicy,
    EscalationStep,
    IncidentEscalation,
    MessageRule,
    Notification,
    Webhook,
)
from ..services.notifications import COMMUNICATION_TEMPLATES, OUTSIDE_TEMPLATES
from ..services.policies import MAX_STEPS
from . import rotations  # noqa: F401  (registers the rotation and calendar feed admins)


def _describe_step(step: EscalationStep) -> str:
    when = f"{step.percent}%" if step.percent is not None else f"+{exact_duration(step.offset)}"
    return f"{step.get_clock_display().split()[0].lower()} {when} → L{step.level}"


# --- policies -------------------------------------------------------------------------------------------


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    form = EscalationStepForm
    formset = EscalationStepFormSet
    fields = EscalationStepForm.Meta.fields
    ordering = ("order", "pk")
    extra = 1
    max_num = MAX_STEPS  # no "Add another" past it; the formset's clean says why (`steps_count_errors`)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.user = request.user  # inlineformset_factory built this class for this request alone
        return formset


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(AuditedAdmin):
    """Exactly one policy per severity (the data migration creates them): edited, never added or deleted."""

    list_display = ("severity", "steps_display")
    readonly_fields = ("severity",)
    fields = ("severity",)
    inlines = (EscalationStepInline,)

    class Media:
        css = {"all": ("escalation/policy.css",)}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Without the models' sidebar: the steps table needs the width at 1440 px."""
        context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("steps")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="steps")
    def steps_display(self, policy):
        steps = sorted(policy.steps.all(), key=lambda s: (s.order, s.pk))
        return ", ".join(_describe_step(s) for s in steps) or "—"

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"changed": {"fields": ["steps"]}}]


# --- message rules --------------------------------------------------------------------------------------


@admin.register(MessageRule)
class MessageRuleAdmin(ServiceFormAdminMixin, AuditedAdmin):
    """Who gets which communication when, per severity. Saved and deleted through the services, which say
    what is wrong with a combination on the field concerned."""

    form = MessageRuleForm
    list_display = (
        "severity",
        "moment",
        "template",
        "audiences_display",
        "delivery",
        "interval_display",
        "is_active",
    )
    list_filter = ("severity", "moment", "template", "is_active")
    ordering = ("severity", "moment", "template")
    fieldsets = (
        (None, {"fields": ("severity", "moment", "template", "is_active")}),
        ("To whom and how", {"fields": ("audiences", "delivery", "interval")}),
    )

    @admin.display(description="audiences")
    def audiences_display(self, rule):
        return ", ".join(Audience(a).label for a in rule.audiences if a in Audience.values) or "—"

    @admin.display(description="every", ordering="interval")
    def interval_display(self, rule):
        return exact_duration(rule.interval) if rule.interval else "—"

    def delete_model(self, request, obj):
        services.message_rule_delete(user=request.user, rule=obj)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            services.message_rule_delete(user=request.user, rule=rule)


# --- rotations and calendar feeds: `rotations` -----------------------------------------------------------


# --- the record: escalations and notifications ----------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: readable, never added, edited or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _incident_link(incident):
    if incident is None:
        return "—"
    url = reverse("admin:incidents_incident_change", args=[quote(incident.pk)])
    return format_html('<a href="{}">{}</a>', url, incident.number)


@admin.register(EscalationEvent)
class EscalationEventAdmin(VisibleIncidentsMixin, ReadOnlyAdmin):
    list_display = (
        "fired_at",
        "incident_display",
        "kind",
        "level",
        "from_tier",
        "to_tier",
        "due_at",
        "actor",
    )
    list_filter = ("kind", "level")
    search_fields = ("incident__number",)
    search_help_text = "Search by incident number."
    list_select_related = ("incident", "actor")
    ordering = ("-fired_at", "-pk")
    show_full_result_count = False

    @admin.display(description="incident", ordering="incident__number")
    def incident_display(self, event):
        return _incident_link(event.incident)


@admin.register(IncidentEscalation)
class IncidentEscalationAdmin(VisibleIncidentsMixin, ReadOnlyAdmin):
    """The escalation schedule: what the sweep and the watchdog look at."""

    list_display = (
        "incident_display",
        "next_escalation_at",
        "next_step",
        "incident_manager",
        "last_reminder_at",
    )
    search_fields = ("incident__number",)
    list_select_related = ("incident", "next_step__policy", "incident_manager")
    ordering = ("next_escalation_at",)
    show_full_result_count = False

    @admin.display(description="incident", ordering="incident__number")
    def incident_display(self, record):
        return _incident_link(record.incident)


# The token of a caller's answer link (`incidents.caller_links`), as it appears in a message.
CALLER_LINK = re.compile(r"(/(?:confirm|not-fixed)/)[^/\s\"'<>]+/")


@admin.register(Notification)
class NotificationAdmin(VisibleIncidentsMixin, ReadOnlyAdmin):
    incident_optional = True  # webhook test pings and report deliveries
    list_display = (
        "created_at",
        "status",
        "channel",
        "template",
        "recipient",
        "incident_display",
        "attempts",
        "sent_at",
    )
    list_filter = ("status", "channel", "template", "webhook")
    search_fields = ("recipient", "incident__number", "subject", "=message_id")
    search_help_text = "Search by recipient, incident number, subject or webhook-id."
    list_select_related = ("incident",)
    ordering = ("-created_at", "-pk")
    show_full_result_count = False
    actions = ("retry_delivery", "redeliver")
    readonly_fields = ("message_id", "retry_until")  # not form fields, so listed to be shown

    @admin.display(description="incident", ordering="incident__number")
    def incident_display(self, notification):
        return _incident_link(notification.incident)

    def get_fields(self, request, obj=None):
        """A Fix confirmation request's links act for the caller without signing in: staff read the
        message here with its links cut short, so nobody confirms a fix on the caller's behalf."""
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.template == Template.CLOSURE_REQUEST:
            fields = [f for f in fields if f not in ("body", "html_body")] + ["body_without_links"]
        return fields

    @admin.display(description="body")
    def body_without_links(self, notification):
        return CALLER_LINK.sub(r"\1…/", notification.body)

    def has_retry_permission(self, request):
        return incident_perms.is_incident_manager(request.user)

    @admin.action(
        description="Redeliver the selected webhook deliveries (same webhook-id)", permissions=["retry"]
    )
    def redeliver(self, request, queryset):
        redelivered, refused = 0, []
        for notification in queryset.order_by("pk"):  # in the order they were raised
            try:
                services.webhook_redeliver(notification=notification, user=request.user)
            except DOMAIN_ERRORS as exc:
                refused.append(error_text(exc))
            else:
                redelivered += 1
        if redelivered:
            self.message_user(request, f"{redelivered} delivery(ies) queued again.", messages.SUCCESS)
        for text in dict.fromkeys(refused):
            self.message_user(request, text, messages.ERROR)

    @admin.action(description="Retry delivery of the selected failed notifications", permissions=["retry"])
    def retry_delivery(self, request, queryset):
        retried, refused = 0, []
        skipped = queryset.exclude(status=DeliveryStatus.FAILED).count()
        for notification in queryset.filter(status=DeliveryStatus.FAILED):
            try:
                services.notification_retry(notification=notification, user=request.user)
            except DOMAIN_ERRORS as exc:
                refused.append(error_text(exc))
            else:
                retried += 1
        if retried:
            self.message_user(
                request, f"{retried} notification(s) queued for delivery again.", messages.SUCCESS
            )
        if skipped:
            self.message_user(
                request,
                f"{skipped} notification(s) skipped: only failed deliveries are retried.",
                messages.WARNING,
            )
        for text in dict.fromkeys(refused):
            self.message_user(request, text, messages.ERROR)


@admin.register(DigestItem)
class DigestItemAdmin(VisibleIncidentsMixin, ReadOnlyAdmin):
    """Incident Notifications waiting for (or sent in) the hourly digest."""

    list_display = ("queued_at", "incident_display", "recipient", "template", "settled_at", "notification")
    list_filter = (("settled_at", admin.EmptyFieldListFilter), "template")
    search_fields = ("recipient", "incident__number")
    search_help_text = "Search by recipient or incident number."
    list_select_related = ("incident", "notification")
    ordering = ("-queued_at", "-pk")
    show_full_result_count = False

    @admin.display(description="incident", ordering="incident__number")
    def incident_display(self, item):
        return _incident_link(item.incident)


class WebhookDeliveryInline(admin.TabularInline):
    """The delivery log: the latest messages to this hook (*Redeliver* is on the notification list)."""

    model = Notification
    fk_name = "webhook"
    fields = (
        "created_at",
        "message_id",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "sent_at",
    )
    readonly_fields = fields
    ordering = ("-created_at", "-pk")
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "deliveries (latest first)"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at", "-pk")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Webhook)
class WebhookAdmin(AuditedAdmin):
    """Webhooks. The secret is shown once, on the page after creating the hook or rotating its secret, and
    masked everywhere else; rotating and resuming go through `escalation.services`."""

    form = WebhookForm
    list_display = ("name", "url", "events_display", "secret_display", "is_active", "health_display")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    fieldsets = (
        (None, {"fields": ("name", "url", "secret_display", "timeout_seconds", "is_active")}),
        ("Subscriptions", {"fields": ("events", "services", "severities")}),
        (
            "Health",
            {
                "fields": (
                    "consecutive_failures",
                    "failing_since",
                    "paused_at",
                    "paused_reason",
                    "deliveries_link",
                )
            },
        ),
    )
    readonly_fields = (
        "deliveries_link",
        "secret_display",
        "consecutive_failures",
        "failing_since",
        "paused_at",
        "paused_reason",
    )
    filter_horizontal = ("services",)
    inlines = (WebhookDeliveryInline,)
    actions = ("rotate_secret", "resume_deliveries")
    secret_template = "admin/escalation/webhook/secret.html"

    @admin.display(description="events")
    def events_display(self, hook):
        return ", ".join(hook.events or []) or "—"

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="secret")
    def secret_display(self, hook):
        """Masked: enough to tell two secrets apart, not to sign with."""
        if not hook.secret:
            return "— (shown once when the webhook is created)"
        prefix = "whsec_" if hook.secret.startswith("whsec_") else ""
        return f"{prefix}{hook.secret[len(prefix) : len(prefix) + 4]}…"

    @admin.display(description="all deliveries")
    def deliveries_link(self, hook):
        """The notification list shows every delivery of the hook, with the *Redeliver* action."""
        if hook.pk is None:
            return "—"
        url = reverse("admin:escalation_notification_changelist") + f"?webhook__id__exact={hook.pk}"
        return format_html('<a href="{}">Deliveries of this webhook (redeliver from there)</a>', url)

    @admin.display(description="health")
    def health_display(self, hook):
        if hook.paused_at:
            return format_html("<strong>paused</strong> since {}", zoned_time(hook.paused_at))
        if hook.failing_since:
            return f"failing since {zoned_time(hook.failing_since)} ({hook.consecutive_failures} attempts)"
        return "ok"

    def _show_secrets(self, request, secrets, *, rotated):
        from ..services.webhook_endpoints import PREVIOUS_SECRET_GRACE

        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Webhook secret rotated" if rotated else "Webhook created",
            "secrets": secrets,
            "rotated": rotated,
            "grace_until": timezone.now() + PREVIOUS_SECRET_GRACE,
        }
        response = render(request, self.secret_template, context)
        add_never_cache_headers(response)  # the secret stays out of every cache, the browser's included
        return response

    def response_add(self, request, obj, post_url_continue=None):
        """The new hook's secret, this once, instead of the usual redirect."""
        super().response_add(request, obj, post_url_continue)  # its success message
        return self._show_secrets(request, [(obj, obj.secret)], rotated=False)

    @admin.action(
        description="Rotate the secret of the selected webhooks (shown once)", permissions=["change"]
    )
    def rotate_secret(self, request, queryset):
        secrets, refused = [], []
        for hook in queryset.order_by("name"):
            try:
                secrets.append((hook, services.webhook_rotate_secret(webhook=hook, user=request.user)))
            except DOMAIN_ERRORS as exc:
                refused.append(error_text(exc))
        for text in dict.fromkeys(refused):
            self.message_user(request, text, messages.ERROR)
        return self._show_secrets(request, secrets, rotated=True) if secrets else None

    @admin.action(description="Resume deliveries to the selected paused webhooks", permissions=["change"])
    def resume_deliveries(self, request, queryset):
        for hook in queryset.order_by("name"):
            try:
                waiting = services.webhook_resume(webhook=hook, user=request.user)
            except DOMAIN_ERRORS as exc:
                self.message_user(request, error_text(exc), messages.WARNING)
            else:
                self.message_user(
                    request,
                    f"Webhook '{hook.name}' resumed: {waiting} waiting deliveries go out in order.",
                    messages.SUCCESS,
                )


# --- the incident page: escalation buttons --------------------------------------------------------------

IncidentAdminBase = admin.site.get_model_admin(Incident).__class__


class EscalationIncidentAdmin(IncidentAdminBase):
    """The incidents app's admin, plus escalate, declare/clear major, status update and message preview,
    and the work list's *Escalate to the next tier*. Defined here so `incidents` knows nothing of
    escalation."""

    change_form_template = "admin/escalation/incident/change_form.html"
    base_change_form_template = IncidentAdminBase.change_form_template or "admin/change_form.html"
    action_form_template = "admin/escalation/incident/action_form.html"
    preview_template = "admin/escalation/incident/preview.html"
    actions = (*IncidentAdminBase.actions, "escalate_to_next_tier")

    def has_escalate_permission(self, request):
        return request.user.has_perm("incidents.investigate_incident")

    @admin.action(description="Escalate to the next tier…", permissions=["escalate"])
    def escalate_to_next_tier(self, request, queryset):
        """`services.escalate_tier` on each selected incident, with one reason for all (asked first)."""
        form = BulkReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self.bulk_action_page(
                request,
                queryset,
                action="escalate_to_next_tier",
                title="Escalate to the next tier",
                form=form,
            )
        reason = form.cleaned_data["reason"]
        self.run_for_each(
            request,
            queryset,
            done="Escalated to the next tier",
            run=lambda incident: services.escalate_tier(incident=incident, user=request.user, reason=reason),
        )
        return None

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        views = [
            ("escalate/", self.escalate_view, "escalate"),
            ("major/", self.major_view, "major"),
            ("status-update/", self.status_update_view, "status_update"),
            ("preview/", self.preview_view, "preview"),
        ]
        return [
            *(
                path(
                    f"<path:object_id>/{route}",
                    self.admin_site.admin_view(view),
                    name="{}_{}_{}".format(*info, name),
                )
                for route, view, name in views
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["escalation_base_template"] = self.base_change_form_template
        if obj is not None and not add:
            context["escalation_actions"] = self._escalation_actions(request, obj)
            context["major_paging"] = self._major_paging(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _major_paging(self, request, incident) -> dict | None:
        """The page that went out when the incident became major (its emergency escalation), linked from
        the header beside the MAJOR badge, for those who may read escalation records."""
        if not incident.is_major or not request.user.has_perm("escalation.view_escalationevent"):
            return None
        event = selectors.emergency_paging(incident=incident)
        if event is None:
            return None
        return {
            "url": reverse(
                f"{self.admin_site.name}:escalation_escalationevent_change", args=[quote(event.pk)]
            ),
            "when": zoned_time(event.fired_at),
        }

    def _escalation_actions(self, request, incident) -> list[dict]:
        """Buttons for what the user's role allows (the services check again, under their row lock)."""
        user, actions = request.user, []
        if incident.is_open and incident.tier != "external" and incident_perms.is_support_role(user):
            actions.append({"label": "Escalate", "url": self._escalation_url("escalate", incident)})
        if incident_perms.is_incident_manager(user) and incident.is_open:
            label = "Clear major status" if incident.is_major else "Declare major incident"
            actions.append({"label": label, "url": self._escalation_url("major", incident)})
        if incident_perms.can_send_status_update(user):
            actions.append(
                {"label": "Send status update", "url": self._escalation_url("status_update", incident)}
            )
        actions.append({"label": "Preview messages", "url": self._escalation_url("preview", incident)})
        return actions

    def _escalation_url(self, name, incident):
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=[quote(incident.pk)],
        )

    def _incident_or_denied(self, request, object_id):
        """The permission check every escalation view starts with: the user may see this incident."""
        incident = self.get_object(request, unquote(object_id))
        if incident is not None and not self.has_view_permission(request, incident):
            raise DjangoPermissionDenied
        return incident

    def _action_view(
        self, request, object_id, *, title, form_class, allowed, form_kwargs=None, initial=None, run
    ):
        """GET shows the form; POST calls the service through `run(incident, form)` and goes back to the
        incident, with the service's refusal (conflict, permission, validation) as a message. A user whose
        role may not take the action (`allowed(user)` false, the service's own first check) gets 403
        before the form."""
        incident = self._incident_or_denied(request, object_id)
        if incident is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not allowed(request.user):
            raise DjangoPermissionDenied
        form_kwargs = form_kwargs(incident) if form_kwargs else {}
        if request.method == "POST":
            form = form_class(request.POST, **form_kwargs)
            if form.is_valid():
                try:
                    message = run(incident, form)
                except DOMAIN_ERRORS as exc:
                    self.message_user(request, error_text(exc), messages.ERROR)
                else:
                    self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(self._escalation_url("change", incident))
        else:
            form = form_class(initial=initial(incident) if initial else None, **form_kwargs)
        visible = [name for name, field in form.fields.items() if not field.widget.is_hidden]
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {incident.number}",
            "page_title": title,
            "opts": self.opts,
            "original": incident,
            "form": form,
            "adminform": admin.helpers.AdminForm(form, [(None, {"fields": visible})], {}),
            "errors": admin.helpers.AdminErrorList(form, []),
            "media": self.media + form.media,
            "severity": severity_badge(incident),
            "state": state_badge(incident),
            "incident_sla": sla_badge(incident),
        }
        return render(request, self.action_form_template, context)

    def escalate_view(self, request, object_id):
        def run(incident, form):
            incident = services.escalate_tier(incident=incident, user=request.user, **form.service_kwargs())
            who = incident.assignee.get_username() if incident.assignee else "nobody on call: the whole group"
            return f"{incident.number} escalated to {incident.get_tier_display()} ({who} notified)."

        return self._action_view(
            request,
            object_id,
            title="Escalate",
            form_class=EscalateForm,
            allowed=incident_perms.is_support_role,
            form_kwargs=lambda incident: {"incident": incident},
            run=run,
        )

    def major_view(self, request, object_id):
        def run(incident, form):
            if form.cleaned_data["major"]:
                incident = services.declare_major(
                    incident=incident, user=request.user, reason=form.cleaned_data["reason"]
                )
                return f"{incident.number} is a major incident: the emergency response team has been paged."
            incident = services.clear_major(
                incident=incident, user=request.user, reason=form.cleaned_data["reason"]
            )
            return f"{incident.number} is no longer a major incident."

        incident = self.get_object(request, unquote(object_id))
        title = (
            "Clear major status" if incident is not None and incident.is_major else "Declare major incident"
        )
        return self._action_view(
            request,
            object_id,
            title=title,
            form_class=MajorForm,
            allowed=incident_perms.is_incident_manager,
            initial=lambda incident: {"major": not incident.is_major},
            run=run,
        )

    def status_update_view(self, request, object_id):
        def run(incident, form):
            services.send_status_update(
                incident=incident, user=request.user, message=form.cleaned_data["message"]
            )
            return f"Status update on {incident.number} sent."

        return self._action_view(
            request,
            object_id,
            title="Send status update",
            form_class=StatusUpdateForm,
            allowed=incident_perms.can_send_status_update,
            run=run,
        )

    def preview_view(self, request, object_id):
        """Any communication template rendered for this incident (?template=...), as it would be sent."""
        incident = self._incident_or_denied(request, object_id)
        if incident is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        chosen = request.GET.get("template") or Template.INCIDENT_NOTIFICATION
        if chosen not in COMMUNICATION_TEMPLATES:
            self.message_user(request, f"No communication template '{chosen}'.", messages.ERROR)
            chosen = Template.INCIDENT_NOTIFICATION
        # Sample values for what the sender would supply (a status update's message, a step's level).
        step = (
            EscalationStep.objects.filter(policy__severity=incident.severity).order_by("order", "pk").first()
        )
        extra = {
            "message": "(the status update you write)",
            "author": request.user,
            "reason": "(the reason given)",
            "level": step.level if step else 1,
            "step": step,
            # the caller's links are made when the request is sent; a preview never holds a working one
            "confirm_url": "(the caller's signed Confirm it's fixed link)",
            "not_fixed_url": "(the caller's signed It's not fixed link)",
        }
        # As its readers would get it: internal work notes only in staff templates, and only for a user
        # who may read them.
        internal = chosen not in OUTSIDE_TEMPLATES and incident_selectors.can_see_internal(request.user)
        subject, text, html = services.render(
            template=chosen, incident=incident, extra=extra, internal=internal
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {Template(chosen).label} for {incident.number}",
            "opts": self.opts,
            "original": incident,
            "templates": [(t.value, t.label, t == chosen) for t in COMMUNICATION_TEMPLATES],
            "subject": subject,
            "text": text,
            "html": html,
        }
        return render(request, self.preview_template, context)


admin.site.unregister(Incident)
admin.site.register(Incident, EscalationIncidentAdmin)
