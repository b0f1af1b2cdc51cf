"""`/api/v1/`: KPIs and the monthly service-impact report."""

from django.urls import path

from . import views

urlpatterns = [
    path("kpis/", views.KpiView.as_view(), name="api-kpis"),
    path("reports/service-impact/", views.ServiceImpactView.as_view(), name="api-service-impact"),
]
