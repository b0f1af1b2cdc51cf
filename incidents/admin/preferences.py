"""The signed-in user's own preferences: one page (linked from the user tools on every admin page), always
the viewer's own row, whoever they are; nobody sees or changes another user's. Saving goes through
`services.user_preference_set`."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from .. import services
from ..forms import PreferenceForm
from ..models import UserPreference
from .base import DOMAIN_ERRORS, message_error


@admin.register(UserPreference)
class UserPreferenceAdmin(admin.ModelAdmin):
    # Anyone who may enter the admin (`ItsmAdminSite.has_permission`) has preferences of their own.
    def has_module_permission(self, request):
        return True

    def has_view_permission(self, request, obj=None):
        return obj is None or obj.user_id == request.user.pk

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.user_id == request.user.pk

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        # One page in place of the list; no add, change, delete or history pages that could name a row.
        info = self.opts.app_label, self.opts.model_name
        return [
            path("", self.admin_site.admin_view(self.preferences_view), name="{}_{}_changelist".format(*info))
        ]

    def preferences_view(self, request):
        url = reverse(f"{self.admin_site.name}:incidents_userpreference_changelist")
        current = UserPreference.objects.filter(user=request.user.pk).first()
        form = PreferenceForm(
            request.POST if request.method == "POST" else None,
            initial={"time_zone": current.time_zone if current else ""},
        )
        if request.method == "POST" and form.is_valid():
            try:
                preference = services.user_preference_set(
                    user=request.user, time_zone=form.cleaned_data["time_zone"]
                )
            except DOMAIN_ERRORS as exc:
                message_error(self, request, exc)
            else:
                zone = (
                    preference.time_zone or f"the site's time zone ({timezone.get_default_timezone_name()})"
                )
                self.message_user(request, f"Preferences saved: times show in {zone}.", messages.SUCCESS)
                return HttpResponseRedirect(url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Your preferences",
            "form": form,
            "current_zone": timezone.get_current_timezone_name(),
            "now": timezone.now(),
        }
        return TemplateResponse(request, "admin/incidents/userpreference/preferences.html", context)
