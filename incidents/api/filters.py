"""Query parameters of the API's lists. The filter sets parse and validate them (a bad value is a 400 with a
field error); the filtering itself is `incidents.selectors.filter_incidents`, shared with other readers."""

from django_filters import rest_framework as filters

from incidents import selectors
from incidents.choices import Category, Criticality, Severity, Source, State, Tier
from incidents.models import Incident, Service


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
    created_after = filters.IsoDateTimeFilter(help_text="Logged at or after this time (ISO 8601).")
    created_before = filters.IsoDateTimeFilter(help_text="Logged before this time (ISO 8601).")
    resolved_after = filters.IsoDateTimeFilter(help_text="Resolved at or after this time (ISO 8601).")
    resolved_before = filters.IsoDateTimeFilter(help_text="Resolved before this time (ISO 8601).")
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
