from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect


class CheckedSelectionMixin:
    """A changelist action on rows named by ids that are not ids (a forged or mangled POST) is a message,
    not a 500 from the query that would have used them."""

    def response_action(self, request, queryset):
        pk = self.model._meta.pk
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                pk.run_validators(pk.to_python(value))  # an id, and within the column's range
            except ValidationError:
                self.message_user(request, f"No such row: {value[:40]!r}.", messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


class ItsmAdminSite(admin.AdminSite):
    site_header = "itsm — incident management"
    site_title = "itsm"
    index_title = "Service desk"
    index_template = "admin/itsm_index.html"

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every model admin, the project's and the libraries', checks an action's selection first."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, CheckedSelectionMixin):
            admin_class = type(admin_class.__name__, (CheckedSelectionMixin, admin_class), {})
        return super().register(model_or_iterable, admin_class, **options)

    def has_permission(self, request):
        """Staff accounts get in only with a process role (a group) or as superuser."""
        user = request.user
        return bool(user.is_active and user.is_staff and (user.is_superuser or user.groups.exists()))

    def each_context(self, request):
        """Every admin page carries the major-incident banner (`templates/admin/base_site.html`): the open
        major incidents the user may see, queried only when the page renders the banner; none for someone the
        admin does not let in (the login page)."""
        from incidents.admin.queues import major_banner  # this module loads before the apps' models

        context = super().each_context(request)
        banner = major_banner(request, site_name=self.name) if context["has_permission"] else None
        return {**context, "major_banner": banner}

    def index(self, request, extra_context=None):
        """The home page: the support roles' work queues (`incidents.admin.queues`), and a warning when the
        escalation sweep has stopped (the Celery worker or beat is down): the worker's own watchdog cannot
        say so."""
        from escalation.selectors import sweep_health  # this module loads before the apps' models
        from incidents.admin.queues import home_queues, log_incident_url

        context = {
            "sweep_health": sweep_health(),
            "work_queues": home_queues(request, site_name=self.name),
            "log_incident_url": log_incident_url(request, site_name=self.name),
            **(extra_context or {}),
        }
        return super().index(request, context)


class ItsmAdminConfig(AdminConfig):
    default_site = "itsm.admin_site.ItsmAdminSite"
