from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("incidents.api.urls")),
    path("api/v1/", include("reporting.api.urls")),
    path("api/v1/", include("escalation.api.urls")),
]

# JSON errors under /api/ for what Django answers itself (no route, a refused request, a crash).
handler400 = "incidents.api.errors.bad_request"
handler404 = "incidents.api.errors.not_found"
handler500 = "incidents.api.errors.server_error"
