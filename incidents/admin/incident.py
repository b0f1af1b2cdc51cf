"""The support tiers' workbench: the incident changelist and change form.

Every write goes through `incidents.services`: the add and change forms through `IncidentForm`, the
transition buttons through `TRANSITION_SERVICES`, checklist ticks and comments through their services. The
admin only decides what to show and turns domain errors into messages or field errors.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_fsm.admin import FSMAdminMixin

from .. import permissions as perms
from .. import selectors, services
from ..choices import Level, Severity
from ..exceptions import PermissionDenied, ValidationError
from ..formatting import human_duration, zoned_time
from ..forms import (
    TRANSITION_FORMS,
    ChecklistSkipForm,
    CommentForm,
    CorrectRecordForm,
    IncidentForm,
    IncidentLogForm,
    add_service_errors,
)
from ..models import Incident, SlaPolicy
from ..paginators import EstimatedCountPaginator
from ..rules import IMPACT_DESCRIPTIONS, SEVERITY_DEFINITIONS, URGENCY_DESCRIPTIONS, severity_for
from .alerts import ALERT_FIELDS, IncidentAlertFieldsMixin, alert_fieldset, alert_of
from .base import (
    DOMAIN_ERRORS,
    AuditedAdmin,
    ServiceFormAdminMixin,
    VisibleIncidentsMixin,
    breach_mark,
    due_times,
    humanize,
    message_error,
    severity_badge,
    sla_badge,
    state_badge,
)
from .filters import AssigneeFilter, BreachedFilter, StateFilter, TierFilter
from .inlines import CHECKLIST_FORM_ID, AttachmentInline, ChecklistInline, CommentInline, TimelineInline
from .next_steps import waiting_for
from .worklist import WorkListMixin

COMMENT_FORM_ID = "comment-form"


class VisibleRawIdWidget(ForeignKeyRawIdWidget):
    """The raw-id widget, naming only a related incident the user may see."""

    def __init__(self, rel, admin_site, *, visible, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.visible = visible

    def label_and_url_for_value(self, value):
        try:
            if not self.visible.filter(pk=value).exists():
                return "", ""
        except (ValueError, DjangoValidationError):
            return "", ""
        return super().label_and_url_for_value(value)


@admin.register(Incident)
class IncidentAdmin(
    WorkListMixin,
    VisibleIncidentsMixin,
    IncidentAlertFieldsMixin,
    ServiceFormAdminMixin,
    FSMAdminMixin,
    AuditedAdmin,
):
    form = IncidentForm
    change_form_template = "admin/incidents/incident/change_form.html"
    fsm_transition_form_template = "admin/incidents/incident/transition_form.html"
    fsm_fields = ["state"]
    fsm_forms = TRANSITION_FORMS
    incident_path = ""

    # The work list (`WorkListMixin`): open incidents by the next deadline, badges before the long columns.
    list_display = (  # the badges first, the long columns after (`worklist.css`)
        "number",
        "severity_display",
        "major_display",
        "state_display",
        "sla_display",
        "title_display",
        "service",
        "tier_display",
        "assignee_display",
    )
    list_filter = (
        StateFilter,
        AssigneeFilter,
        TierFilter,
        "severity",
        BreachedFilter,
        "is_major",
        "category",
        "service",
    )
    search_fields = ("number",)  # shows the search box; `WorkListMixin.get_search_results` searches
    search_help_text = (
        "Number, title, description, service, assignee or alert labels, in the states the filter shows "
        "(open ones unless you choose others; choose All under State for every incident)."
    )
    list_select_related = ("service", "assignee")
    # Filtered pages would otherwise add a second COUNT(*) over every incident (slow at a million rows), and
    # the count of what the page shows is exact only up to 10,000 (`incidents.paginators`).
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER  # facet counts are one COUNT per filter option
    raw_id_fields = ("parent",)
    inlines = (ChecklistInline, CommentInline, AttachmentInline, TimelineInline)

    add_form = IncidentLogForm  # *Log incident*: may classify in the same submit
    add_fieldsets = (
        (None, {"fields": IncidentForm.create_fields}),
        (
            "Caller: the person affected",
            {
                "fields": (IncidentForm.caller_fields[0], IncidentForm.caller_fields[1:]),
                "description": "Logging for someone else (a phoned-in report)? Name them: they are told about "
                "the fix and confirm it. Logging your own incident, leave this empty.",
            },
        ),
    )
    classify_fieldset_title = "Classify now (optional)"
    correct_form = CorrectRecordForm
    correct_template = "admin/incidents/incident/correct_record.html"
    fieldsets = (
        (None, {"fields": ("number", "title", "description", "service", ("incident_type", "source"))}),
        (
            "Classification and assignment",
            {
                "fields": (
                    ("state", "severity_display"),
                    ("category", "urgency", "impact"),
                    ("tier", "assignee"),
                    ("reporter", "is_major"),
                    "caller",
                    ("caller_name", "caller_email"),
                )
            },
        ),
        (
            "Service level",
            {
                "fields": (
                    ("detected_at", "created_at", "classified_at"),
                    ("response_due_at", "first_response_at", "response_breached_display"),
                    ("resolution_due_at", "sla_display", "resolution_breached_display"),
                    ("on_hold_reason", "on_hold_since", "on_hold_display"),
                )
            },
        ),
        (
            "Investigation",
            {
                "fields": ("diagnosis", "root_cause", "workaround"),
                "description": "What the investigation found. S1 and S2 incidents resolve only with a "
                "diagnosis and a root cause; they can also be given when resolving.",
            },
        ),
        (
            "Resolution",
            {
                "fields": (
                    ("resolution_code", "resolved_at"),
                    "resolution_notes",
                    ("closed_at", "closed_by", "reopen_count"),
                    "closure_notes",
                    "cancel_reason",
                )
            },
        ),
        ("Links", {"fields": ("problem", "change_ref", "parent")}),
    )
    # Everything but the descriptive fields changes through transitions (services.EDITABLE_FIELDS).
    readonly_fields = (
        "number",
        "state",
        "severity_display",
        "category",
        "urgency",
        "impact",
        "tier",
        "reporter",
        "is_major",
        "created_at",
        "classified_at",
        "response_due_at",
        "first_response_at",
        "response_breached_display",
        "resolution_due_at",
        "sla_display",
        "resolution_breached_display",
        "on_hold_reason",
        "on_hold_since",
        "on_hold_display",
        "resolution_code",
        "resolved_at",
        "resolution_notes",
        "closed_at",
        "closed_by",
        "closure_notes",
        "reopen_count",
        "cancel_reason",
        *ALERT_FIELDS,
    )

    class Media:
        css = {"all": ("incidents/admin.css", "incidents/worklist.css")}
        js = (
            "incidents/clocks.js",  # the SLA badges count down without reloading
            "incidents/unsaved_guard.js",  # warns before leaving the page with edits not saved
        )

    # --- columns and read-only fields ----------------------------------------------------------------------

    @admin.display(description="severity", ordering="severity")
    def severity_display(self, incident):
        return severity_badge(incident)

    @admin.display(description="state", ordering="state")
    def state_display(self, incident):
        return state_badge(incident)

    @admin.display(description="tier", ordering="tier")
    def tier_display(self, incident):
        return incident.get_tier_display().split(" (")[0]  # "Tier 2 (System Administrators)" → "Tier 2"

    @admin.display(description="SLA", ordering=selectors.next_due_expression())
    def sla_display(self, incident):
        return sla_badge(incident)

    @admin.display(description="response breached")
    def response_breached_display(self, incident):
        return breach_mark(incident.response_breached if incident.response_due_at else None)

    @admin.display(description="resolution breached")
    def resolution_breached_display(self, incident):
        return breach_mark(incident.resolution_breached if incident.resolution_due_at else None)

    @admin.display(description="time on hold")
    def on_hold_display(self, incident):
        total = incident.on_hold_seconds
        if incident.on_hold_since:
            total += max(0, int((timezone.now() - incident.on_hold_since).total_seconds()))
        return humanize(timedelta(seconds=total)) if total else "-"

    # --- permissions and form layout -----------------------------------------------------------------------

    def has_delete_permission(self, request, obj=None):
        return False  # incidents are the audit record; cancel one logged in error instead

    def has_change_permission(self, request, obj=None):
        """Resolved, closed and cancelled incidents are read-only (`services.is_editable`): their page shows
        every field read-only, comments still post, and an Incident Manager corrects the record with
        *Correct record* (`correct_view`)."""
        if obj is not None and not services.is_editable(obj):
            return False
        return super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs.setdefault("form", self.add_form)
        return super().get_form(request, obj, change=change, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, {"title": "Log incident", **(extra_context or {})})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name != "parent":
            return super().formfield_for_foreignkey(db_field, request, **kwargs)
        # A parent one may not see is neither accepted nor named (the widget would show its title).
        visible = selectors.visible_incidents(request.user)
        field = super().formfield_for_foreignkey(db_field, request, queryset=visible, **kwargs)
        field.widget = VisibleRawIdWidget(db_field.remote_field, self.admin_site, visible=visible)
        return field

    # The audit trail carries work notes: the same rule as the API's history.
    def history_view(self, request, object_id, extra_context=None):
        if not selectors.can_see_internal(request.user):
            raise DjangoPermissionDenied
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not selectors.can_see_internal(request.user):
            raise DjangoPermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self._log_fieldsets(request)
        fieldsets = super().get_fieldsets(request, obj)
        return (*fieldsets, alert_fieldset(request.user, obj)) if alert_of(obj) is not None else fieldsets

    def _log_fieldsets(self, request):
        """The *Log incident* form; those who may classify get category, urgency and impact with a preview
        of the severity and due times (`severity_preview_view`, `incidents/log_incident.js`) and the seed's
        severity definitions."""
        if not perms.can_classify(None, request.user):
            return self.add_fieldsets
        description = self._severity_guide()
        return (
            *self.add_fieldsets,
            (
                self.classify_fieldset_title,
                {"fields": IncidentLogForm.classify_fields, "description": description},
            ),
        )

    def _severity_guide(self):
        """The severity preview box (`severity_preview_view`, `incidents/log_incident.js`) and what the
        severities, urgency and impact mean (seed 3.1 and 3.2), for the forms that classify."""
        return format_html(
            '<div id="severity-preview" class="itsm-severity-preview" data-url="{}" aria-live="polite">'
            "{}</div>{}",
            self._admin_url("preview_severity"),
            "Choose urgency and impact to see the severity and when it is due.",
            severity_definitions(),
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return super().get_readonly_fields(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.changed_data and request.POST.get(self.fsm_post_param):
            fields = ", ".join(str(form.fields[name].label).lower() for name in form.changed_data)
            self.message_user(request, f"Your edits were saved first ({fields}).", messages.SUCCESS)

    def response_change(self, request, obj):
        if request.POST.get(self.fsm_post_param):
            # The transition buttons submit the change form: its edits were saved (through
            # `services.incident_update`) and the transition's input form comes next, on its own page.
            return HttpResponseRedirect(self._url("transition", obj, request.POST[self.fsm_post_param]))
        return super().response_change(request, obj)

    def response_post_save_add(self, request, obj):
        """After logging, stay on the incident: its next step (classify) is a button on that page."""
        return HttpResponseRedirect(self._change_url(obj))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            context[self.fsm_context_key] = list(context.get(self.fsm_context_key) or ())
            context["incident_sla"] = sla_badge(obj)
            context["incident_due_times"] = due_times(obj)
            # Transition buttons submit the change form (pending edits are saved first) where it is editable.
            context["transitions_save_edits"] = self.has_change_permission(request, obj)
            if not context[self.fsm_context_key]:
                steps = selectors.next_steps(incident=obj)
                context["waiting_for"] = waiting_for(steps, state_label=obj.get_state_display())
            if perms.is_incident_manager(request.user) and not services.is_editable(obj):
                context["correct_record_url"] = self._url("correct", obj)
            context["checklist_form_url"] = self._url("checklist_done", obj)
            context["checklist_form_id"] = CHECKLIST_FORM_ID
            if self._may_comment(request, obj):
                context["comment_form"] = CommentForm(html_form=COMMENT_FORM_ID)
                context["comment_form_id"] = COMMENT_FORM_ID
                context["comment_form_url"] = self._url("comment", obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_help_text(self, transition):
        form = TRANSITION_FORMS.get(transition.name)
        return transition.custom.get("help_text") or (form.help_text if form else None)

    # --- custom views --------------------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "preview-severity/",
                self.admin_site.admin_view(self.severity_preview_view),
                name="{}_{}_preview_severity".format(*info),
            ),
            path(
                "<path:object_id>/correct/",
                self.admin_site.admin_view(self.correct_view),
                name="{}_{}_correct".format(*info),
            ),
            path(
                "<path:object_id>/checklist/done/",
                self.admin_site.admin_view(self.checklist_done_view),
                name="{}_{}_checklist_done".format(*info),
            ),
            path(
                "<path:object_id>/checklist/<int:item_id>/skip/",
                self.admin_site.admin_view(self.checklist_skip_view),
                name="{}_{}_checklist_skip".format(*info),
            ),
            path(
                "<path:object_id>/comment/",
                self.admin_site.admin_view(self.comment_add_view),
                name="{}_{}_comment".format(*info),
            ),
            *super().get_urls(),
        ]

    def _url(self, name, incident, *args):
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=[quote(incident.pk), *args],
        )

    def _admin_url(self, name):
        return reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}")

    def _change_url(self, incident):
        return self._url("change", incident)

    def _may_comment(self, request, incident):
        concerned = request.user.pk in (incident.reporter_id, incident.caller_id)
        return request.user.has_perm("incidents.add_comment") or concerned

    def _viewable_incident(self, request, object_id):
        """The incident, after the permission check every custom view starts with."""
        incident = self.get_object(request, unquote(object_id))
        if incident is not None and not self.has_view_permission(request, incident):
            raise DjangoPermissionDenied
        return incident

    def fsm_transition_view(self, request, object_id, transition_name, **kwargs):
        """GET shows the transition's input form; POST runs the transition's service with it."""
        incident = self._viewable_incident(request, object_id)
        if incident is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        try:  # refuse before asking for input the user could not use
            services.check_transition(incident, request.user, transition_name)
        except PermissionDenied:
            raise  # not this user's to take (Management takes none): 403, before any form is shown
        except DOMAIN_ERRORS as exc:
            message_error(self, request, exc)
            return HttpResponseRedirect(self._change_url(incident))

        form_class = TRANSITION_FORMS[transition_name]
        form = form_class(
            request.POST if request.method == "POST" else None, incident=incident, user=request.user
        )
        if request.method == "POST" and form.is_valid():
            if self._apply_fsm_transition(
                obj=incident,
                transition_name=transition_name,
                request=request,
                kwargs=form.service_kwargs(),
                form=form,
            ):
                return HttpResponseRedirect(self._change_url(incident))
            if not form.errors:  # refused outright (state or permission): nothing to correct here
                return HttpResponseRedirect(self._change_url(incident))

        transition = self._fsm_transition(transition_name, incident.state)
        fieldset = {"fields": list(form.fields)}
        if transition_name == "classify":
            fieldset["description"] = self._severity_guide()
        adminform = admin.helpers.AdminForm(form, [(None, fieldset)], {})
        context = self._action_page_context(
            request,
            incident,
            form,
            adminform,
            page_title=self.get_fsm_label(transition),
            help_text=self.get_help_text(transition),
            transition_name=transition_name,
        )
        return render(request, self.fsm_transition_form_template, context)

    def _action_page_context(self, request, incident, form, adminform, *, page_title, help_text, **extra):
        """The context of a page with one form about one incident (a transition, skipping a step): the
        incident's badges above the form, the admin's chrome around it."""
        return {
            **self.admin_site.each_context(request),
            "title": f"{page_title}: {incident}",
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "original": incident,
            "has_view_permission": True,
            "page_title": page_title,
            "help_text": help_text,
            "adminform": adminform,
            "form": form,
            "errors": admin.helpers.AdminErrorList(form, []),
            "media": self.media + form.media,
            "incident_sla": sla_badge(incident),
            "severity": severity_badge(incident),
            "state": state_badge(incident),
            **extra,
        }

    @staticmethod
    def _fsm_transition(name, state):
        """The django-fsm transition `name` from `state` (classify reads "Reclassify" once classified)."""
        meta = getattr(Incident, name)._django_fsm
        return meta.get_transition(state) or next(iter(meta.transitions.values()))

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None, form=None):
        """Run the transition through its service, which locks the row, checks permission and state, saves,
        records the timeline event and the history reason. Refusals become messages, or field errors on
        `form` when the service names the field. Returns whether the transition happened."""
        service = services.TRANSITION_SERVICES.get(transition_name)
        if service is None:
            self.message_user(request, f"Unknown transition '{transition_name}'.", messages.ERROR)
            return False
        from_state = obj.get_state_display()
        try:
            incident = service(incident=obj, user=request.user, **(kwargs or {}))
        except DOMAIN_ERRORS as exc:
            if form is not None and isinstance(exc, ValidationError):
                add_service_errors(form, exc)
            else:
                message_error(self, request, exc)
            return False
        label = self.get_fsm_label(self._fsm_transition(transition_name, obj.state))
        self.message_user(
            request,
            f"{incident.number}: {label} done ({from_state} → {incident.get_state_display()}).",
            messages.SUCCESS,
        )
        return True

    def checklist_done_view(self, request, object_id):
        """Tick one checklist step (POST item=<id>) through `services.checklist_item_done`."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self._viewable_incident(request, object_id)
        if incident is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        item_id = request.POST.get("item", "")
        item = incident.checklist.filter(pk=item_id).first() if item_id.isdigit() else None
        if item is None:
            self.message_user(request, "No such checklist step on this incident.", messages.ERROR)
        else:
            try:
                services.checklist_item_done(item=item, user=request.user)
            except DOMAIN_ERRORS as exc:
                message_error(self, request, exc)
            else:
                self.message_user(request, f"Step done: {item.text}", messages.SUCCESS)
        return HttpResponseRedirect(self._change_url(incident) + "#checklist-group")

    def checklist_skip_view(self, request, object_id, item_id):
        """GET asks why the step is skipped; POST skips it through `services.checklist_item_skip`."""
        incident = self._viewable_incident(request, object_id)
        if incident is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not request.user.has_perm("incidents.change_checklistitem"):
            raise DjangoPermissionDenied
        item = incident.checklist.filter(pk=item_id).first()
        back = HttpResponseRedirect(self._change_url(incident) + "#checklist-group")
        if item is None:
            self.message_user(request, "No such checklist step on this incident.", messages.ERROR)
            return back
        form = ChecklistSkipForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.checklist_item_skip(item=item, user=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            except DOMAIN_ERRORS as exc:
                message_error(self, request, exc)
                return back
            else:
                self.message_user(request, f"Step skipped: {item.text}", messages.SUCCESS)
                return back
        context = self._action_page_context(
            request,
            incident,
            form,
            admin.helpers.AdminForm(form, [(None, {"fields": ["reason"]})], {}),
            page_title="Skip checklist step",
            help_text=format_html(
                "<strong>{}. {}</strong>{}",
                item.order,
                item.text,
                " (required: resolving waits for it)" if item.required else "",
            ),
        )
        return render(request, self.fsm_transition_form_template, context)

    def comment_add_view(self, request, object_id):
        """Add a work note or public update through `services.comment_add`."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self._viewable_incident(request, object_id)
        if incident is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self._may_comment(request, incident):
            raise DjangoPermissionDenied
        form = CommentForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items())
            self.message_user(request, f"Comment not added. {errors}", messages.ERROR)
        else:
            try:
                services.comment_add(incident=incident, user=request.user, **form.cleaned_data)
            except DOMAIN_ERRORS as exc:
                message_error(self, request, exc)
            else:
                self.message_user(request, "Comment added.", messages.SUCCESS)
        return HttpResponseRedirect(self._change_url(incident) + "#add-comment")

    def severity_preview_view(self, request):
        """GET ?urgency=&impact= → JSON: the severity and due times classifying now would give
        (`selectors.severity_preview`, the rule `incident_classify` applies), for the *Log incident* form."""
        if not self.has_add_permission(request):
            raise DjangoPermissionDenied
        try:
            preview = selectors.severity_preview(
                urgency=request.GET.get("urgency", ""), impact=request.GET.get("impact", "")
            )
        except ValueError:
            return JsonResponse({"error": "Give urgency and impact: high, medium or low."}, status=400)
        due = {
            f"{clock}_{key}": value
            for clock, target, due_at in (
                ("response", preview.response_target, preview.response_due_at),
                ("resolution", preview.resolution_target, preview.resolution_due_at),
            )
            for key, value in (
                ("target", human_duration(target) if target else None),
                ("due_at", due_at.isoformat() if due_at else None),
                ("due", zoned_time(due_at) if due_at else None),
            )
        }
        return JsonResponse(
            {
                "severity": preview.severity,
                "label": Severity(preview.severity).label,
                "definition": preview.definition,
                **due,
            }
        )

    def correct_view(self, request, object_id):
        """*Correct record*: an Incident Manager's audited edit of a resolved, closed or cancelled incident,
        with a reason (`services.incident_correct`). Anyone else gets 403 before the form."""
        incident = self._viewable_incident(request, object_id)
        if incident is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not perms.is_incident_manager(request.user):
            raise DjangoPermissionDenied
        if services.is_editable(incident):
            self.message_user(request, f"{incident.number} is open: edit it here.", messages.INFO)
            return HttpResponseRedirect(self._change_url(incident))
        form_class = self.get_form(
            request,
            incident,
            change=False,
            form=self.correct_form,
            fields=[*services.EDITABLE_FIELDS, "reason"],
        )
        form = form_class(request.POST if request.method == "POST" else None, instance=incident)
        if request.method == "POST" and form.is_valid():
            fields = ", ".join(str(form.fields[f].label).lower() for f in form.changed_data if f != "reason")
            self.message_user(request, f"{incident.number}: record corrected ({fields}).", messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(incident))
        fieldsets = [
            (
                None,
                {"fields": ["title", "description", "service", ("incident_type", "source"), "detected_at"]},
            ),
            (None, {"fields": ["assignee", "problem", "change_ref", "parent"]}),
            ("Caller", {"fields": ["caller", ("caller_name", "caller_email")]}),
            ("Investigation", {"fields": list(services.INVESTIGATION_FIELDS)}),
            ("Why", {"fields": ["reason"]}),
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Correct record: {incident}",
            "opts": self.opts,
            "original": incident,
            "has_view_permission": True,
            "page_title": "Correct record",
            "state_label": incident.get_state_display().lower(),
            "adminform": admin.helpers.AdminForm(form, fieldsets, {}, model_admin=self),
            "form": form,
            "errors": admin.helpers.AdminErrorList(form, []),
            "media": self.media + form.media,
            "incident_sla": sla_badge(incident),
            "severity": severity_badge(incident),
            "state": state_badge(incident),
        }
        return render(request, self.correct_template, context)


def severity_definitions():
    """Seed 3.1's severity definitions with each severity's SLA targets, and seed 3.2's urgency x impact
    matrix with what urgency and impact mean, folded under "What the severities mean"."""
    policies = {p.severity: p for p in SlaPolicy.objects.all()}
    definitions = format_html_join(
        "",
        "<li><strong>{}</strong>: {} {}</li>",
        (
            (severity.label, SEVERITY_DEFINITIONS[severity], _targets_text(policies.get(severity)))
            for severity in Severity
        ),
    )
    levels = list(Level)  # high, medium, low: the order of the seed's rows and columns
    matrix = format_html_join(
        "",
        '<tr><th scope="row">{}</th>{}</tr>',
        (
            (
                f"{urgency.label} urgency",
                format_html_join(
                    "", "<td>{}</td>", ((severity_for(urgency=urgency, impact=impact),) for impact in levels)
                ),
            )
            for urgency in levels
        ),
    )
    meanings = format_html_join(
        "",
        "<li><strong>{}</strong> {}</li>",
        [
            *((f"{level.label} urgency:", URGENCY_DESCRIPTIONS[level]) for level in levels),
            *((f"{level.label} impact:", IMPACT_DESCRIPTIONS[level]) for level in levels),
        ],
    )
    return format_html(
        '<details class="itsm-severity-definitions"><summary>{}</summary><ul class="itsm-links">{}</ul>'
        '<table class="itsm-severity-grid"><caption>{}</caption><thead><tr><td></td>{}</tr></thead>'
        '<tbody>{}</tbody></table><ul class="itsm-links">{}</ul></details>',
        "What the severities mean",
        definitions,
        "Urgency and impact give the severity",
        format_html_join("", '<th scope="col">{} impact</th>', ((level.label,) for level in levels)),
        matrix,
        meanings,
    )


def _targets_text(policy) -> str:
    if policy is None:
        return ""
    return (
        f"(respond within {human_duration(policy.response_target)}, "
        f"resolve within {human_duration(policy.resolution_target)})"
    )
