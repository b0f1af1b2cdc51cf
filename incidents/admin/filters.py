"""Changelist filters of the incident workbench."""

from django.contrib import admin
from django.utils import timezone

from ..models import resolution_breached_q, response_breached_q


class BreachedFilter(admin.SimpleListFilter):
    """Response or resolution SLA breached, with the same rule as `Incident.objects.breached()`."""

    title = "SLA breached"
    parameter_name = "breached"

    def lookups(self, request, model_admin):
        return [("yes", "Breached"), ("no", "Not breached")]

    def queryset(self, request, queryset):
        now = timezone.now()
        breached = response_breached_q(now) | resolution_breached_q(now)
        if self.value() == "yes":
            return queryset.filter(breached)
        if self.value() == "no":
            return queryset.exclude(breached)
        return queryset
