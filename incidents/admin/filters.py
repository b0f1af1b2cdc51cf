"""Changelist filters of the incident workbench."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils import timezone

from ..choices import Role
from ..models import resolution_breached_q, response_breached_q
from ..selectors import VIEW_ALL_PERMISSION

ASSIGNEE_ROLES = (*Role.SUPPORT_TIERS, Role.SECURITY_TEAM, Role.INCIDENT_MANAGERS)


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


class AssigneeFilter(admin.SimpleListFilter):
    """The people incidents are assigned to: the support roles' members, not every account (reporters and
    monitoring accounts are never assignees, and a vendor need not learn the lab's staff list)."""

    title = "assignee"
    parameter_name = "assignee__id__exact"

    def lookups(self, request, model_admin):
        if not request.user.has_perm(VIEW_ALL_PERMISSION):
            return [(request.user.pk, request.user.get_username())]
        people = (
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=ASSIGNEE_ROLES)
            .distinct()
            .order_by("username")
        )
        return [(user.pk, user.get_username()) for user in people]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset
