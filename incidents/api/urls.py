"""`/api/v1/`: incidents, reference data, alert intake, the token endpoint and the OpenAPI schema with its
Swagger UI and ReDoc pages."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from . import alerts, docs, views

router = DefaultRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("services", views.ServiceViewSet, basename="service")
router.register("sla-policies", views.SlaPolicyViewSet, basename="sla-policy")

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="api-token"),
    path("alerts/alertmanager/", alerts.AlertmanagerIntakeView.as_view(), name="alert-intake-alertmanager"),
    path("alerts/", alerts.GenericAlertIntakeView.as_view(), name="alert-intake-generic"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs.SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", docs.RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    *router.urls,
]
