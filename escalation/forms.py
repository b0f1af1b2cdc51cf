"""Admin forms. They parse what a person types; the rules are the services' (the step formset checks each
step with `services.step_errors`, the same function `policy_replace_steps` applies)."""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError

from incidents.choices import Severity, Tier
from incidents.forms import HumanDurationField, ServiceModelForm

from . import services
from .choices import Audience, WebhookEvent
from .models import EscalationStep, MessageRule, Rotation, Webhook
from .services.message_rules import RULE_FIELDS
from .services.policies import STEP_FIELDS, steps_count_errors


class EscalationStepFormSet(forms.BaseInlineFormSet):
    """The policy page's steps. Saving replaces the policy's steps through `services.policy_replace_steps`
    (history, rescheduling of open incidents, a step with an unchanged threshold never firing twice), not
    row by row."""

    user = None  # the acting user; the admin sets it on the per-request formset class

    def clean(self):
        super().clean()
        if not any(self.errors):
            messages = steps_count_errors(sum(1 for _ in self._kept_forms()))
            if messages:
                raise ValidationError(messages)

    def _kept_forms(self):
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            if form.instance._state.adding and not form.has_changed():
                continue  # an extra row left empty
            yield form

    def save(self, commit=True):
        steps = [{name: form.cleaned_data.get(name) for name in STEP_FIELDS} for form in self._kept_forms()]
        services.policy_replace_steps(policy=self.instance, user=self.user, steps=steps)
        # The admin's change message reads these; the policy's history records the replacement itself.
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        return []


class EscalationStepForm(forms.ModelForm):
    class Meta:
        model = EscalationStep
        fields = STEP_FIELDS
        field_classes = {"offset": HumanDurationField}  # "30 min", "2 h"

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            for message in services.step_errors(cleaned):
                self.add_error(None, message)
        return cleaned


class RotationForm(forms.ModelForm):
    class Meta:
        model = Rotation
        fields = ("name", "kind", "shift_length", "handoff_time", "time_zone", "start_date")
        field_classes = {"shift_length": HumanDurationField}  # "7 days", "12 h"

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        if name not in available_timezones():
            raise ValidationError(f"'{name}' is not an IANA time zone (for example Europe/Madrid or UTC).")
        return name


# --- escalation actions on an incident ------------------------------------------------------------------


class EscalateForm(forms.Form):
    tier = forms.ChoiceField(
        required=False, help_text="Leave empty for the next tier up; escalation never goes downward."
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))

    def __init__(self, *args, incident, **kwargs):
        super().__init__(*args, **kwargs)
        order = list(Tier.values)
        higher = order[order.index(incident.tier) + 1 :] if incident.tier in order else order
        self.fields["tier"].choices = [("", "Next tier up"), *[(t, Tier(t).label) for t in higher]]

    def service_kwargs(self) -> dict:
        return {"reason": self.cleaned_data["reason"], "tier": self.cleaned_data["tier"] or None}


class MajorForm(forms.Form):
    """`major` carries what the page offered (declare or clear), so a page opened before someone else
    changed the status cannot flip it back."""

    major = forms.BooleanField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))


class StatusUpdateForm(forms.Form):
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="Sent to the service's stakeholders and the caller as a Status Update.",
    )


class WebhookForm(forms.ModelForm):
    """Events and severities as checkboxes instead of raw JSON; the URL must be one delivery would send
    to (http or https, no loopback, private or link-local address unless settings allow it). The secret is
    not a field: it is made when the hook is created and shown once (`WebhookAdmin.response_add`), and
    changed only by rotating it."""

    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple, initial=[WebhookEvent.NOTIFICATION]
    )
    severities = forms.MultipleChoiceField(
        choices=Severity.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every severity.",
    )

    class Meta:
        model = Webhook
        fields = ("name", "url", "events", "services", "severities", "timeout_seconds", "is_active")

    def clean_url(self):
        url = self.cleaned_data["url"]
        services.check_webhook_url(url)
        return url


class MessageRuleForm(ServiceModelForm):
    """A message rule, saved by `services.message_rule_save`; what is wrong with a combination is said on the
    field concerned, in the words of `services.rule_errors`."""

    audiences = forms.MultipleChoiceField(
        choices=Audience.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Stakeholders, the caller and the reporter never read internal notes or admin links.",
    )

    class Meta:
        model = MessageRule
        fields = RULE_FIELDS
        field_classes = {"interval": HumanDurationField}  # "30 min", "1 h"

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            rule = None if self.instance._state.adding else self.instance
            for field, messages in services.rule_errors(cleaned, rule=rule).items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned

    def save_through_service(self):
        values = {name: self.cleaned_data[name] for name in RULE_FIELDS}
        rule = None if self.instance._state.adding else MessageRule.objects.get(pk=self.instance.pk)
        return services.message_rule_save(user=self.user, rule=rule, **values)
