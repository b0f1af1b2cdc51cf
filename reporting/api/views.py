"""Thin views: validate the query with a serializer, call one selector, return its dict as JSON. Errors take
the project's shape (`incidents.api.errors`): 400 for bad dates, 403 without the right to see all
incidents."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.serializers import ErrorSerializer
from incidents.selectors import VIEW_ALL_PERMISSION
from reporting import selectors

from . import serializers as s

E400 = OpenApiResponse(ErrorSerializer, description="Invalid dates: field errors in `errors`.")
E403 = OpenApiResponse(
    ErrorSerializer, description="Reports cover every incident: support roles and management."
)


class CanSeeAllIncidents(permissions.BasePermission):
    """Reports aggregate every incident, so they are for those who may see every incident."""

    message = (
        "Reports cover every incident: only support roles, Incident Managers and Management may read them."
    )

    def has_permission(self, request, view):
        return bool(
            request.user and request.user.is_authenticated and request.user.has_perm(VIEW_ALL_PERMISSION)
        )


class ReportView(APIView):
    permission_classes = [permissions.IsAuthenticated, CanSeeAllIncidents]

    def query(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema(
    tags=["reports"],
    summary="KPIs of a period, per severity, against the seed's targets",
    description=(
        "MTTR (last resolution), first response (mean and p90), reopen rate, SLA compliance and counts over "
        "[start, end) — the end is exclusive; days start at midnight in the server's TIME_ZONE. Cancelled "
        "incidents are excluded; numbers without data are null. Self-healed incidents (resolved by "
        "monitoring's recovery before any person responded) are counted apart (`counts.self_healed`), left "
        "out of first response and SLA compliance, and have their own `self_healed_sla_compliance`; each "
        "field's description gives its exact definition."
    ),
    parameters=[
        OpenApiParameter("start", str, required=True, description="YYYY-MM-DD"),
        OpenApiParameter("end", str, required=True, description="YYYY-MM-DD (exclusive)"),
    ],
    responses={200: s.KpiSerializer, 400: E400, 403: E403},
)
class KpiView(ReportView):
    def get(self, request):
        query = self.query(s.KpiQuerySerializer)
        return Response(selectors.period_kpis(period=query["period"]))


@extend_schema(
    tags=["reports"],
    summary="Monthly service-impact report",
    description=(
        "Per service: incidents by severity, outage (S1) and degraded (S2) minutes as the union of "
        "detected → resolved intervals in the month, availability, MTTR, SLA compliance, reopen rate; totals, "
        "a six-month trend and rule-based recommendations."
    ),
    parameters=[OpenApiParameter("month", str, required=True, description="YYYY-MM")],
    responses={200: s.ServiceImpactSerializer, 400: E400, 403: E403},
)
class ServiceImpactView(ReportView):
    def get(self, request):
        query = self.query(s.MonthQuerySerializer)
        return Response(selectors.service_impact(month=query["month"]))
