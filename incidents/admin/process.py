"""The process settings: one row an Incident Manager edits (the provisional severity logging gives, how long
a resolved incident waits for its caller), through `services.process_settings_update`."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse

from .. import permissions as perms
from ..formatting import exact_duration
from ..forms import ProcessSettingsForm
from ..models import ProcessSettings
from .base import ServiceFormAdminMixin


@admin.register(ProcessSettings)
class ProcessSettingsAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    """The single row: the list opens it, nothing is added or deleted. Incident Managers only."""

    form = ProcessSettingsForm
    fields = ("provisional_severity", "auto_close_after")
    list_display = ("__str__", "provisional_severity", "auto_close_after_display")

    @admin.display(description="auto-close after", ordering="auto_close_after")
    def auto_close_after_display(self, settings):
        return exact_duration(settings.auto_close_after)

    def has_module_permission(self, request):
        return perms.is_incident_manager(request.user)

    def has_view_permission(self, request, obj=None):
        return perms.is_incident_manager(request.user)

    def has_change_permission(self, request, obj=None):
        return perms.is_incident_manager(request.user)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)  # the admin's own 403
        row = ProcessSettings.current()
        return HttpResponseRedirect(reverse("admin:incidents_processsettings_change", args=[row.pk]))
