"""`/api/v1/`: escalation policies, who is on call, and the escalation actions on an incident."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

# A SimpleRouter: the API root view belongs to incidents.api.urls.
router = SimpleRouter()
router.register("escalation-policies", views.EscalationPolicyViewSet, basename="escalation-policy")
router.register("incidents", views.IncidentEscalationViewSet, basename="incident-escalation")

urlpatterns = [
    path("oncall/", views.OnCallView.as_view(), name="oncall"),
    *router.urls,
]
