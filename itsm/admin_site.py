from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class ItsmAdminSite(admin.AdminSite):
    site_header = "itsm — incident management"
    site_title = "itsm"
    index_title = "Service desk"

    def has_permission(self, request):
        """Staff accounts get in only with a process role (a group) or as superuser."""
        user = request.user
        return bool(user.is_active and user.is_staff and (user.is_superuser or user.groups.exists()))


class ItsmAdminConfig(AdminConfig):
    default_site = "itsm.admin_site.ItsmAdminSite"
