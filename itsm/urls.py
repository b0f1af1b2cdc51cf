from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView

from escalation import views as escalation_views
from incidents import views as incident_views
from incidents.api.errors import not_found
from itsm.health import healthz
from itsm.metrics.views import metrics

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # The caller's answer to "is it fixed?": signed links, no sign-in (`incidents.views`).
    path("confirm/<str:token>/", incident_views.CallerConfirmView.as_view(), name="caller-confirm"),
    path("not-fixed/<str:token>/", incident_views.CallerNotFixedView.as_view(), name="caller-not-fixed"),
    path("attachments/<int:pk>/<str:name>", incident_views.attachment_download, name="attachment-download"),
    # On-call shifts for calendar applications: the secret address is the credential (`escalation.views`).
    # Tokens are URL-safe base64 (`escalation.models.new_calendar_token`): anything else is a 404 before any
    # lookup (a NUL character would be a database error on PostgreSQL).
    re_path(
        r"^calendars/(?P<token>[A-Za-z0-9_-]{1,64})\.ics$",
        escalation_views.oncall_calendar,
        name="oncall-calendar",
    ),
    path("api/v1/", include("incidents.api.urls")),
    path("api/v1/", include("reporting.api.urls")),
    path("api/v1/", include("escalation.api.urls")),
    # Last: any other /api/ path is a JSON 404, in development too (handler404 only acts without DEBUG);
    # paths without the final slash still get APPEND_SLASH redirects.
    re_path(r"^api/.*/$", csrf_exempt(not_found)),
]

# JSON errors under /api/ for what Django answers itself (no route, a refused request, a crash).
handler400 = "incidents.api.errors.bad_request"
handler404 = "incidents.api.errors.not_found"
handler500 = "incidents.api.errors.server_error"
