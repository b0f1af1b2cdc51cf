from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class ItsmAdminSite(admin.AdminSite):
    site_header = "itsm — incident management"
    site_title = "itsm"
    index_title = "Service desk"
    index_template = "admin/itsm_index.html"

    def has_permission(self, request):
        """Staff accounts get in only with a process role (a group) or as superuser."""
        user = request.user
        return bool(user.is_active and user.is_staff and (user.is_superuser or user.groups.exists()))

    def index(self, request, extra_context=None):
        """The home page warns when the escalation sweep has stopped (the Celery worker or beat is down):
        the worker's own watchdog cannot say so."""
        from escalation.selectors import sweep_health  # this module loads before the apps' models

        return super().index(request, {"sweep_health": sweep_health(), **(extra_context or {})})


class ItsmAdminConfig(AdminConfig):
    default_site = "itsm.admin_site.ItsmAdminSite"
