"""Query parameters of the API's lists. The filter sets parse and validate them (a bad value is a 400 with a
field error); the filtering itself is `incidents.selectors.filter_incidents`, shared with other readers."""

from datetime import UTC

from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from incidents import selectors
from incidents.choices import Category, Criticality, Severity, Source, State, Tier
from incidents.models import Incident, Service


class TimeField(IsoDateTimeField):
    """An ISO 8601 time that exists in UTC too: 9999-12-31T23:59-14:00 does not (the database stores UTC),
    and is a field error rather than an overflow in the query."""

    def clean(self, value):
        value = super().clean(value)
        if value is not None:
            try:
                value.astimezone(UTC)
            except OverflowError:
                raise ValidationError("Out of range.", code="invalid") from None
        return value


class TimeFilter(filters.IsoDateTimeFilter):
    field_class = TimeField


class IncidentFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=State.choices, help_text="Repeat for several states.")
    severity = filters.MultipleChoiceFilter(choices=Severity.choices, help_text="Repeat for several.")
    category = filters.ChoiceFilter(choices=Category.choices)
    service = filters.CharFilter(help_text="Service slug.")
    tier = filters.ChoiceFilter(choices=Tier.choices)
    assignee = filters.CharFilter(help_text="Username of the assignee.")
    source = filters.ChoiceFilter(
        choices=Source.choices, help_text="Who raised it: monitoring, a user, operations."
    )
    is_major = filters.BooleanFilter()
    created_after = TimeFilter(help_text="Logged at or after this time (ISO 8601).")
    created_before = TimeFilter(help_text="Logged before this time (ISO 8601).")
    resolved_after = TimeFilter(help_text="Resolved at or after this time (ISO 8601).")
    resolved_before = TimeFilter(help_text="Resolved before this time (ISO 8601).")
    breached = filters.BooleanFilter(
        help_text="true: past the response or resolution due time; false: within both."
    )
    search = filters.CharFilter(help_text="Words that must all occur in the number or the title.")

    class Meta:
        model = Incident
        fields = [
            "state",
            "severity",
            "category",
            "service",
            "tier",
            "assignee",
            "source",
            "is_major",
            "breached",
            "created_after",
            "created_before",
            "resolved_after",
            "resolved_before",
        ]

    def filter_queryset(self, queryset):
        return selectors.filter_incidents(queryset, self.form.cleaned_data)


class ServiceFilter(filters.FilterSet):
    is_active = filters.BooleanFilter()
    criticality = filters.ChoiceFilter(choices=Criticality.choices)

    class Meta:
        model = Service
        fields = ["is_active", "criticality"]
