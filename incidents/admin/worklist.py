"""The incident list as a work list: ordered by the next deadline, searched across what people remember of
an incident, compact columns, and bulk actions that report on every incident they were asked to act on.

Bulk actions call the same services as the incident page, one incident at a time: each service locks the
row and checks the user's permission and the incident's state, so an action refused on one incident (not
resolved, not the user's to close) is reported with its reason and does not undo the others. They act only
on incidents the user may see: the changelist's queryset already applies the visibility rule.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.html import format_html

from .. import selectors, services
from ..exceptions import ValidationError
from ..forms import AssigneeChoiceField
from ..models import Incident
from .base import DOMAIN_ERRORS, badge, error_text
from .filters import person_name

# Incident numbers a success message names before it says "and N more".
NAMED_IN_MESSAGE = 20
# Incidents the confirmation page of an action with input (assign to…, escalate) lists.
LISTED_ON_PAGE = 50
CANCEL_DUPLICATE_REASON = "duplicate"


def major_badge():
    return badge("MAJOR", "major", "Major incident")


class AssignForm(forms.Form):
    """*Assign to…*: one of the people incidents are assigned to, as the user may know them."""

    assignee = AssigneeChoiceField(queryset=None, label="Assign to")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = selectors.support_staff(user=user)


class BulkClosureForm(forms.Form):
    """*Close the selected resolved incidents*: the closure notes (final documentation) every incident closed
    keeps, as one closing from its page would."""

    closure_notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="What was verified and what the records should keep; recorded on each incident closed.",
    )


class DuplicateOfForm(forms.Form):
    """*Cancel as duplicates of…*: the incident the selected ones duplicate, by number."""

    original = forms.CharField(
        label="Duplicates of", max_length=16, help_text="The number of the incident that stays open."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_original(self):
        number = self.cleaned_data["original"].strip().upper()
        original = selectors.visible_incidents(self.user).filter(number=number).first()
        if original is None:
            raise forms.ValidationError(f"No incident {number} that you may see.")
        return original


class BulkReasonForm(forms.Form):
    """A reason the history and the timeline keep for every incident acted on (escalation)."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class WorkListMixin:
    """Columns, ordering, search and bulk actions of the incident changelist (`IncidentAdmin`). Apps that
    extend the incident admin by subclassing it add their own actions (escalation: escalate to the next
    tier) with `run_for_each` and `bulk_action_page`."""

    actions = ("assign_to_me", "assign_to", "close_resolved", "cancel_duplicates")
    bulk_action_template = "admin/incidents/incident/bulk_action.html"

    def changelist_view(self, request, extra_context=None):
        """Without the models' sidebar: at 1440 px the work list needs the width for one line per incident
        (the breadcrumbs and the home page lead to the other models)."""
        context = {"is_nav_sidebar_enabled": False, "title": "Incidents", **(extra_context or {})}
        return super().changelist_view(request, context)

    # --- ordering and search -------------------------------------------------------------------------------

    def get_ordering(self, request):
        """The next deadline first (`selectors.next_deadline_ordering`); on hold after every running clock."""
        return selectors.next_deadline_ordering()

    def get_search_results(self, request, queryset, search_term):
        """`selectors.search_incidents`: number, title, description, service, assignee and alert labels, in
        one query and without duplicates."""
        return selectors.search_incidents(queryset, search_term), False

    # --- columns -------------------------------------------------------------------------------------------

    @admin.display(description="", ordering="-is_major")
    def major_display(self, incident):
        return major_badge() if incident.is_major else ""

    @admin.display(description="title", ordering="title")
    def title_display(self, incident):
        """One line: a long title ends in an ellipsis (CSS) and shows whole on hover."""
        return format_html('<span class="itsm-title" title="{}">{}</span>', incident.title, incident.title)

    @admin.display(description="assignee", ordering="assignee__first_name")
    def assignee_display(self, incident):
        return person_name(incident.assignee) if incident.assignee_id else None

    # --- bulk actions --------------------------------------------------------------------------------------

    def has_assign_permission(self, request):
        return request.user.has_perm("incidents.change_incident")

    def has_close_incidents_permission(self, request):
        return request.user.has_perm("incidents.close_incident")

    def has_cancel_incidents_permission(self, request):
        return request.user.has_perm("incidents.cancel_incident")

    @admin.action(description="Assign to me", permissions=["assign"])
    def assign_to_me(self, request, queryset):
        self.run_for_each(
            request,
            queryset,
            done="Assigned to you",
            run=lambda incident: services.incident_update(
                incident=incident, user=request.user, data={"assignee": request.user}
            ),
        )

    @admin.action(description="Assign to…", permissions=["assign"])
    def assign_to(self, request, queryset):
        form = AssignForm(request.POST if "apply" in request.POST else None, user=request.user)
        if not form.is_valid():
            return self.bulk_action_page(request, queryset, action="assign_to", title="Assign to…", form=form)
        assignee = form.cleaned_data["assignee"]
        self.run_for_each(
            request,
            queryset,
            done=f"Assigned to {person_name(assignee)}",
            run=lambda incident: services.incident_update(
                incident=incident, user=request.user, data={"assignee": assignee}
            ),
        )
        return None

    @admin.action(description="Close the selected resolved incidents…", permissions=["close_incidents"])
    def close_resolved(self, request, queryset):
        form = BulkClosureForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self.bulk_action_page(
                request,
                queryset,
                action="close_resolved",
                title="Close the selected resolved incidents",
                form=form,
            )
        notes = form.cleaned_data["closure_notes"]
        self.run_for_each(
            request,
            queryset,
            done="Closed",
            run=lambda incident: services.incident_close(
                incident=incident, user=request.user, closure_notes=notes
            ),
        )
        return None

    @admin.action(description="Cancel as duplicates of…", permissions=["cancel_incidents"])
    def cancel_duplicates(self, request, queryset):
        """Each selected incident is linked to the original (its parent) and cancelled with the reason
        "duplicate of <number>"; the original itself, if selected, is left alone."""
        form = DuplicateOfForm(request.POST if "apply" in request.POST else None, user=request.user)
        if not form.is_valid():
            return self.bulk_action_page(
                request, queryset, action="cancel_duplicates", title="Cancel as duplicates of…", form=form
            )
        original = form.cleaned_data["original"]

        def cancel(incident):
            if incident.pk == original.pk:
                raise ValidationError(["It is the original: it stays open."])
            with transaction.atomic():  # linked and cancelled, or neither
                services.incident_update(incident=incident, user=request.user, data={"parent": original})
                services.incident_cancel(
                    incident=incident,
                    user=request.user,
                    reason=f"{CANCEL_DUPLICATE_REASON} of {original.number}",
                )

        self.run_for_each(request, queryset, done=f"Cancelled as duplicates of {original.number}", run=cancel)
        return None

    def run_for_each(self, request, queryset, *, done: str, run: Callable[[Incident], object]) -> None:
        """Call `run(incident)` (one service call) for each selected incident, in number order, and report:
        one message naming the incidents it was done to, one error per incident refused, with the reason
        the service gave, and how many selected ids matched no incident the user may see."""
        succeeded, found = [], set()
        for incident in queryset.order_by("number"):
            found.add(str(incident.pk))
            try:
                run(incident)
            except DOMAIN_ERRORS as exc:
                self.message_user(request, f"{incident.number}: {error_text(exc)}", messages.ERROR)
            else:
                succeeded.append(incident.number)
        if succeeded:
            named = ", ".join(succeeded[:NAMED_IN_MESSAGE])
            more = len(succeeded) - NAMED_IN_MESSAGE
            self.message_user(
                request, f"{done}: {named}{f' and {more} more' if more > 0 else ''}.", messages.SUCCESS
            )
        if request.POST.get("select_across") != "1":
            missing = set(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)) - found
            if missing:
                self.message_user(
                    request, f"{len(missing)} selected incident(s) not found: nothing done.", messages.WARNING
                )

    def bulk_action_page(self, request, queryset, *, action: str, title: str, form: forms.Form):
        """The page between choosing an action that needs input and running it: the incidents selected
        (the first `LISTED_ON_PAGE`), the form, and the changelist's own selection fields, posted back to
        the changelist with `apply`."""
        listed = list(queryset.order_by("number")[: LISTED_ON_PAGE + 1])
        more = queryset.count() - LISTED_ON_PAGE if len(listed) > LISTED_ON_PAGE else 0
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "form": form,
            "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
            "errors": helpers.AdminErrorList(form, []) if form.is_bound else [],
            "media": self.media + form.media,
            "action": action,
            "incidents": listed[:LISTED_ON_PAGE],
            "more": more,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across") == "1",
            "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "back_url": request.get_full_path(),
        }
        return TemplateResponse(request, self.bulk_action_template, context)
