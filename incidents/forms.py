"""Forms of the admin workbench: the input of each transition (named as in the API), comments, and the model
forms that log and edit incidents and problems.

Forms check the shape of the input only. The rules live in `incidents.services`; when a service refuses
the input, its `ValidationError` is put back on these forms' fields (`add_service_errors`).
"""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AdminRadioSelect
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from . import hooks, limits, selectors, services
from . import permissions as perms
from .choices import (
    TIER_GROUPS,
    Category,
    HoldReason,
    IncidentType,
    Level,
    ResolutionCode,
    Role,
    Severity,
    Tier,
    Visibility,
    types_by_category,
    types_of,
)
from .exceptions import PermissionDenied, ValidationError
from .formatting import exact_duration, parse_human_duration
from .models import AlertSource, Incident, Problem, ProcessSettings, Service, SlaPolicy
from .rules import IMPACT_DESCRIPTIONS, URGENCY_DESCRIPTIONS

User = get_user_model()


def _text(rows: int = 3, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "cols": 60, **attrs})


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the field it names, else above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        if field in form.fields:
            form.add_error(field, messages)
        else:
            form.add_error(None, [f"{field.replace('_', ' ').capitalize()}: {m}" for m in messages])


def active_services(current: Service | None = None):
    """Retired services are not offered, except the one an incident already has."""
    return Service.objects.filter(Q(is_active=True) | Q(pk=getattr(current, "pk", None)))


# Short names of the roles a picker shows beside a person: "Tier 2", "Security Team", "Incident Managers".
_ROLE_SHORT_NAMES = {
    **{group: Tier(tier).label.split(" (")[0] for tier, group in TIER_GROUPS.items()},
    Role.SECURITY_TEAM: Role.SECURITY_TEAM,
    Role.INCIDENT_MANAGERS: Role.INCIDENT_MANAGERS,
}


class AssigneeChoiceField(forms.ModelChoiceField):
    """Names people as colleagues know them: "Sam Mills (sysadmin) · Tier 2 · on call". Who is on call
    comes from the sources registered with `hooks.register_on_call_source` (escalation's rotations), asked
    once per form."""

    def __init__(self, queryset, **kwargs):
        super().__init__(queryset, **kwargs)
        self._on_call: set[int] | None = None

    def _set_queryset(self, queryset):
        super()._set_queryset(None if queryset is None else queryset.prefetch_related("groups"))

    queryset = property(forms.ModelChoiceField._get_queryset, _set_queryset)

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result._on_call = None
        return result

    def label_from_instance(self, user):
        if self._on_call is None:
            self._on_call = hooks.on_call_user_ids()
        name = user.get_full_name()
        parts = [f"{name} ({user.get_username()})" if name else user.get_username()]
        roles = {group.name for group in user.groups.all()}
        parts += [short for group, short in _ROLE_SHORT_NAMES.items() if group in roles]
        if user.pk in self._on_call:
            parts.append("on call")
        return " · ".join(parts)


def group_types(field: forms.ChoiceField, *, blank: str) -> None:
    """Offer the incident types grouped by category (seed 2.2), and tell `incidents/type_by_category.js`
    which belong to which, so that choosing a category narrows the list."""
    field.choices = [("", blank), *types_by_category()]
    field.widget.attrs["data-types-by-category"] = json.dumps(
        {category.value: [t.value for t in types_of(category)] for category in Category}
    )


def _described(descriptions: dict) -> list[tuple[str, str]]:
    return [(level.value, f"{level.label}: {descriptions[level]}") for level in Level]


class UrgencyField(forms.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "How soon must it be fixed? With the impact, it sets the severity.")
        super().__init__(
            choices=_described(URGENCY_DESCRIPTIONS),
            widget=AdminRadioSelect(attrs={"class": "radiolist"}),
            **kwargs,
        )


class ImpactField(forms.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "How much of the service and its users is affected? With the urgency, it sets the severity.",
        )
        super().__init__(
            choices=_described(IMPACT_DESCRIPTIONS),
            widget=AdminRadioSelect(attrs={"class": "radiolist"}),
            **kwargs,
        )


class CallerChoiceField(forms.ModelChoiceField):
    """A caller with an account: "Ana Ruiz (ana, ana@lab.example)"."""

    def label_from_instance(self, user):
        name = user.get_full_name()
        detail = ", ".join(part for part in (user.get_username(), user.email) if part)
        return f"{name} ({detail})" if name else detail


def callers(*, user=None, current=None):
    """Accounts `user` may name as an incident's caller: active people, not alert sources' system accounts,
    and the current caller whatever they are now. Someone who does not see every tier's incidents (a
    reporter, External Support) is offered only themselves: the lab's directory is not theirs to read."""
    people = User.objects.filter(is_active=True).exclude(
        pk__in=AlertSource.objects.exclude(account=None).values("account")
    )
    if user is not None and not user.has_perm("incidents.view_all_incidents"):
        people = people.filter(pk=user.pk)
    return User.objects.filter(Q(pk__in=people.values("pk")) | Q(pk=current)).order_by(
        "first_name", "last_name", "username"
    )


# --- transitions -----------------------------------------------------------------------------------------


class TransitionForm(forms.Form):
    """Input of one transition; `service_kwargs()` is what `services.TRANSITION_SERVICES[name]` receives."""

    help_text = ""

    def __init__(self, *args, incident: Incident, user, **kwargs):
        self.incident, self.user = incident, user
        kwargs["initial"] = {**self.initial_for(incident, user), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)

    def initial_for(self, incident: Incident, user) -> dict:
        return {}

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class ClassifyForm(TransitionForm):
    help_text = (
        "Urgency and impact set the severity, and the severity the response and resolution due times; the "
        "first classification adds the incident type's response plan as a checklist. Each type belongs to "
        "one category."
    )

    # Nothing pre-selected: a hurried click must not classify as the first category.
    category = forms.ChoiceField(choices=[("", "Choose a category"), *Category.choices])
    urgency = UrgencyField()
    impact = ImpactField()
    service = forms.ModelChoiceField(queryset=Service.objects.none(), required=False)
    incident_type = forms.ChoiceField(
        choices=IncidentType.choices,
        required=False,
        help_text="One of the category's types; picks the response plan copied onto the incident as its "
        "checklist. Left empty: the type logged, else the category's other.",
    )
    severity = forms.ChoiceField(
        label="Severity override",
        choices=[("", "As the matrix says"), *Severity.choices],
        required=False,
        help_text="Incident Managers only; needs a reason.",
    )
    severity_reason = forms.CharField(label="Reason for the override", widget=_text(2), required=False)
    note = forms.CharField(widget=_text(2), required=False)

    class Media:
        # the severity preview of the *Log incident* form, and the types of the category chosen
        js = ("incidents/log_incident.js", "incidents/type_by_category.js")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = active_services(self.incident.service)
        group_types(self.fields["incident_type"], blank="As logged, else the category's other")
        if not perms.can_override_severity(self.user):
            del self.fields["severity"], self.fields["severity_reason"]

    def initial_for(self, incident, user):
        return {
            "category": incident.category,
            "urgency": incident.urgency,
            "impact": incident.impact,
            "service": incident.service_id,
            "incident_type": incident.incident_type,
        }


class InvestigateForm(TransitionForm):
    help_text = (
        "Hand the incident to an investigator. The first move into investigation is the first response."
    )

    assignee = AssigneeChoiceField(queryset=User.objects.none(), help_text="Defaults to you.")
    note = forms.CharField(widget=_text(2), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = selectors.support_staff(user=self.user)

    def initial_for(self, incident, user):
        return {"assignee": user.pk}


class HoldForm(TransitionForm):
    help_text = "Pause work while waiting on someone else; the resolution clock stops until it resumes."

    reason = forms.ChoiceField(choices=HoldReason.choices)
    note = forms.CharField(widget=_text(), help_text="What are we waiting for?")


class ResumeForm(TransitionForm):
    help_text = "Back to work; the time on hold moves the resolution due time later."

    note = forms.CharField(widget=_text())


class ResolveForm(TransitionForm):
    help_text = (
        "Record the fix or workaround; the reporter sees these notes. The investigation goes on record too: "
        "S1 and S2 incidents need a diagnosis and a root cause, and required runbook steps must be done or "
        "skipped with a reason first."
    )

    resolution_code = forms.ChoiceField(choices=ResolutionCode.choices)
    resolution_notes = forms.CharField(widget=_text(4))
    diagnosis = forms.CharField(widget=_text(3), required=False, help_text="What the investigation found.")
    root_cause = forms.CharField(widget=_text(3), required=False, help_text="Why it happened.")
    workaround = forms.CharField(
        widget=_text(2), required=False, help_text="How users get by, if the fix is not final."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.incident.severity in services.INVESTIGATION_REQUIRED_FOR:
            for name in ("diagnosis", "root_cause"):
                self.fields[name].help_text += f" Required for {self.incident.severity}."

    def initial_for(self, incident, user):
        return {field: getattr(incident, field) for field in services.INVESTIGATION_FIELDS}

    def service_kwargs(self):
        return {
            "code": self.cleaned_data["resolution_code"],
            "notes": self.cleaned_data["resolution_notes"],
            **{field: self.cleaned_data[field] for field in services.INVESTIGATION_FIELDS},
        }


class CloseForm(TransitionForm):
    help_text = (
        "Staff: finalise the record; the closure notes are its final documentation. The caller: confirm that "
        "the fix works. The caller and the stakeholders then get the Resolution Notice."
    )

    closure_notes = forms.CharField(
        widget=_text(4), help_text="What was verified and what the record should keep (final documentation)."
    )
    note = forms.CharField(widget=_text(2), required=False, help_text="Optional; shown on the timeline.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not perms.is_staff_closer(self.user):  # the caller or reporter confirming the fix
            del self.fields["closure_notes"]
            self.fields["note"].label = "Anything to add?"


class ReopenForm(TransitionForm):
    help_text = "The fix did not hold: back to investigating (counts towards the reopen rate)."

    reason = forms.CharField(widget=_text())


class CancelForm(TransitionForm):
    help_text = "Withdraw an incident logged in error, before work starts."

    reason = forms.CharField(widget=_text(2), help_text="For example: duplicate of INC-000123, false alarm.")


TRANSITION_FORMS: dict[str, type[TransitionForm]] = {
    "classify": ClassifyForm,
    "investigate": InvestigateForm,
    "hold": HoldForm,
    "resume": ResumeForm,
    "resolve": ResolveForm,
    "close": CloseForm,
    "reopen": ReopenForm,
    "cancel": CancelForm,
}


class ChecklistSkipForm(forms.Form):
    """Why a runbook step is skipped (`services.checklist_item_skip`)."""

    reason = forms.CharField(
        widget=_text(3), help_text="Why the step does not apply here; kept on the step and the timeline."
    )


class CommentForm(forms.Form):
    """A comment posted from the incident page; `html_form` ties the widgets to a form outside the main one."""

    body = forms.CharField(label="Comment", widget=_text(3))
    visibility = forms.ChoiceField(
        choices=Visibility.choices,
        initial=Visibility.INTERNAL,
        widget=AdminRadioSelect(attrs={"class": "radiolist inline"}),
        help_text="Public updates are what the reporter sees.",
    )

    def __init__(self, *args, html_form: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if html_form:
            for field in self.fields.values():
                field.widget.attrs["form"] = html_form


# --- model forms that save through a service -------------------------------------------------------------


class ServiceModelForm(forms.ModelForm):
    """A ModelForm whose save is a service call.

    The service runs at the end of validation so that its domain errors land on this form's fields like any
    other validation error. The admin wraps the request in a transaction and rolls it back if the page is
    shown again with errors, so nothing is kept unless the whole page was valid.
    """

    user = None  # the acting user; the admin sets it on the per-request form class
    saved = None  # what the service returned

    def save_through_service(self):
        """Call the service and return the saved instance, or None to save this form the ordinary way."""
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            self.saved = self.save_through_service()
        except ValidationError as exc:
            add_service_errors(self, exc)
        except PermissionDenied as exc:
            self.add_error(None, str(exc) or "You may not do this.")

    def save(self, commit=True):
        if self.saved is None:
            return super().save(commit)
        self.save_m2m = lambda: None
        return self.saved


class IncidentForm(ServiceModelForm):
    """Logs an incident (`incident_create`) or edits its descriptive fields (`incident_update`)."""

    create_fields = ("title", "description", "service", "incident_type", "source", "detected_at")
    caller_fields = services.CALLER_FIELDS

    class Meta:
        model = Incident
        fields = services.EDITABLE_FIELDS
        field_classes = {"assignee": AssigneeChoiceField, "caller": CallerChoiceField}
        help_texts = {
            "caller": "The person affected, when they have an account. For someone without one give a name "
            "and e-mail instead. Logging your own incident, leave all three empty: you are the caller.",
            "caller_email": "An account's address names that account.",
        }

    class Media:
        js = ("incidents/type_by_category.js",)  # the types of the category chosen

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        adding = self.instance._state.adding
        if "service" in self.fields:
            self.fields["service"].queryset = active_services(None if adding else self.instance.service)
        if "assignee" in self.fields:
            # The support staff as the user may know them (`selectors.support_staff`: not monitoring or
            # administrator accounts; a vendor only themselves), and whoever has it now, by name.
            staff = selectors.support_staff(user=self.user).values("pk")
            self.fields["assignee"].queryset = User.objects.filter(
                Q(pk__in=staff) | Q(pk=self.instance.assignee_id)
            ).order_by("first_name", "last_name", User.USERNAME_FIELD)
        if adding and "detected_at" in self.fields:
            self.fields["detected_at"].required = False
            self.fields["detected_at"].help_text = "When the fault was first noticed. Leave empty for now."
        if "detected_at" in self.fields:  # typed in the user's own zone (`incidents.middleware`)
            zone = timezone.get_current_timezone_name()
            self.fields[
                "detected_at"
            ].help_text = f"{self.fields['detected_at'].help_text} Time zone: {zone}."
        if "caller" in self.fields:
            self.fields["caller"].queryset = callers(user=self.user, current=self.instance.caller_id)
        if "incident_type" in self.fields:
            blank = "Not known yet" if adding or not self.instance.category else "---------"
            group_types(self.fields["incident_type"], blank=blank)

    def save_through_service(self):
        if self.instance._state.adding:
            logged = (*self.create_fields, *self.caller_fields)
            return services.incident_create(
                user=self.user, **{f: v for f, v in self.cleaned_data.items() if f in logged}
            )
        changed = {f: self.cleaned_data[f] for f in self.changed_data if f in services.EDITABLE_FIELDS}
        if not changed:
            return self.instance
        return services.incident_update(incident=self.instance, user=self.user, data=changed)


class IncidentLogForm(IncidentForm):
    """The *Log incident* form: what `incident_create` takes and, for those who may classify, category,
    urgency and impact to classify in the same submit (`services.incident_log`). Nothing is pre-selected:
    left empty, the incident waits to be classified with the default provisional severity; urgency and
    impact without a category give it the provisional severity they mean instead."""

    classify_fields = services.CLASSIFICATION_FIELDS

    category = forms.ChoiceField(
        choices=[("", "Not yet: classify later"), *Category.choices],
        required=False,
        help_text="Which part of the lab is affected. Give urgency and impact too to classify now; urgency "
        "and impact alone set a provisional severity until someone classifies it.",
    )
    urgency = UrgencyField(required=False)
    impact = ImpactField(required=False)

    class Media:
        js = ("incidents/log_incident.js",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not perms.can_classify(None, self.user):
            for name in self.classify_fields:
                self.fields.pop(name, None)

    def save_through_service(self):
        data = self.cleaned_data
        classification = {f: data[f] for f in self.classify_fields if data.get(f)}
        levels = {}
        if not data.get("category"):  # urgency and impact alone: the provisional severity, classified later
            levels, classification = classification, {}
        return services.incident_log(
            user=self.user,
            **{f: v for f, v in data.items() if f in (*self.create_fields, *self.caller_fields)},
            **levels,
            classification=classification or None,
        )


class CorrectRecordForm(IncidentForm):
    """*Correct record*: an Incident Manager's audited edit of a resolved, closed or cancelled incident
    (`services.incident_correct`), the fields of an edit plus the reason the history keeps."""

    reason = forms.CharField(
        widget=_text(2),
        help_text="Why the record was wrong; kept in the history and on the timeline.",
    )

    def save_through_service(self):
        changed = {f: self.cleaned_data[f] for f in self.changed_data if f in services.EDITABLE_FIELDS}
        return services.incident_correct(
            incident=self.instance, user=self.user, data=changed, reason=self.cleaned_data["reason"]
        )


class ProblemForm(ServiceModelForm):
    """New problem records get their number from `problem_create`; edits go through `problem_update`, so
    both keep the same limits (one-line title, bounded text)."""

    class Meta:
        model = Problem
        fields = services.PROBLEM_EDITABLE_FIELDS

    def save_through_service(self):
        if not self.instance._state.adding:
            changed = {
                f: self.cleaned_data[f] for f in self.changed_data if f in services.PROBLEM_EDITABLE_FIELDS
            }
            if not changed:
                return self.instance
            return services.problem_update(problem=self.instance, user=self.user, data=changed)
        return services.problem_create(
            user=self.user,
            title=self.cleaned_data["title"],
            description=self.cleaned_data.get("description", ""),
            workaround=self.cleaned_data.get("workaround", ""),
        )


class HumanDurationField(forms.DurationField):
    """A duration written as people write it ("15 min", "4 h", "1 day", "3 days 2 h") or as Django does
    ("04:00:00", "1 00:00:00"), and shown the first way (`incidents.formatting`)."""

    default_help_text = 'For example "15 min", "4 h", "1 day" or "3 days 2 h".'

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", self.default_help_text)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return exact_duration(value) if isinstance(value, timedelta) else value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, timedelta):
            return value
        parsed = parse_human_duration(str(value))
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class SlaPolicyForm(ServiceModelForm):
    """SLA targets change through `sla_policy_update`, the rule the API's PUT uses too."""

    response_target = HumanDurationField()
    resolution_target = HumanDurationField()

    class Meta:
        model = SlaPolicy
        fields = ("response_target", "resolution_target")

    def save_through_service(self):
        return services.sla_policy_update(
            policy=self.instance,
            user=self.user,
            response_target=self.cleaned_data["response_target"],
            resolution_target=self.cleaned_data["resolution_target"],
        )


class ProcessSettingsForm(ServiceModelForm):
    """The process's adjustable defaults, changed through `process_settings_update`."""

    auto_close_after = HumanDurationField(
        help_text="A resolved incident closes itself when the caller has not answered within this time, "
        'for example "5 days".'
    )

    class Meta:
        model = ProcessSettings
        fields = ("provisional_severity", "auto_close_after")

    def save_through_service(self):
        return services.process_settings_update(
            user=self.user,
            provisional_severity=self.cleaned_data["provisional_severity"],
            auto_close_after=self.cleaned_data["auto_close_after"],
        )


class PreferenceForm(forms.Form):
    """A user's own preferences (`services.user_preference_set`): the time zone times show in."""

    time_zone = forms.ChoiceField(
        required=False,
        help_text="Every time in the admin shows in this zone, with its abbreviation (CET, UTC, ...).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        site = settings.TIME_ZONE
        self.fields["time_zone"].choices = [
            ("", f"The site's time zone ({site})"),
            *((name, name.replace("_", " ")) for name in sorted(limits.time_zone_names())),
        ]
