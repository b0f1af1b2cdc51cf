"""Thin views over the escalation services and selectors: policies, who is on call, and the escalation
actions on an incident. Incidents are looked up through `incidents.selectors.visible_incidents`; errors
become HTTP in `incidents.api.errors`."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import permissions as incident_permissions
from incidents import selectors as incident_selectors
from incidents.api.query_params import RejectUnknownParameters
from incidents.api.serializers import ErrorSerializer, IncidentSerializer
from incidents.api.views import E400, E403, E404, LOOKUP_VALUE_REGEX

from .. import selectors, services
from . import serializers as s

E404_POLICY = OpenApiResponse(ErrorSerializer, description="No such severity.")
E409 = OpenApiResponse(
    ErrorSerializer, description="Clashes with the incident's situation (closed, no higher tier, downward)."
)


@extend_schema_view(
    list=extend_schema(summary="Escalation policies of every severity, with their ordered steps"),
    retrieve=extend_schema(
        summary="Escalation policy of one severity",
        responses={200: s.EscalationPolicySerializer, 404: E404_POLICY},
    ),
    update=extend_schema(
        summary="Replace a severity's escalation steps (Incident Managers)",
        description=(
            "Each step fires at a `percent` of its clock's SLA target or at an `offset` after logging (one of "
            "the two), at level 1 (team lead), 2 (incident manager on duty) or 3 (management), and notifies "
            "at least one target. Open incidents of the severity are rescheduled at once; a step whose "
            "threshold is unchanged keeps its record, so it never fires twice."
        ),
        request=s.EscalationPolicyUpdateSerializer,
        responses={200: s.EscalationPolicySerializer, 400: E400, 403: E403, 404: E404_POLICY},
    ),
)
@extend_schema(tags=["escalation"])
class EscalationPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.EscalationPolicySerializer
    lookup_field = "severity"
    lookup_value_regex = LOOKUP_VALUE_REGEX
    filter_backends = [RejectUnknownParameters]
    pagination_class = None

    def get_queryset(self):
        return selectors.escalation_policies()

    def update(self, request, *args, **kwargs):
        policy = self.get_object()
        serializer = s.EscalationPolicyUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.policy_replace_steps(
            policy=policy, user=request.user, steps=serializer.validated_data["steps"]
        )
        return Response(self.get_serializer(self.get_object()).data)


@extend_schema(
    tags=["escalation"],
    summary="Who is on call: each rotation's current person",
    description="An override covering the moment wins over the regular shift; `user` is null when nobody is. "
    "`email` is given to support roles (the tiers, Security Team) and Incident Managers only.",
    parameters=[
        OpenApiParameter(
            "at",
            OpenApiTypes.DATETIME,
            OpenApiParameter.QUERY,
            description="ISO 8601 moment; defaults to now.",
        )
    ],
    responses={200: s.OnCallSerializer(many=True), 400: E400},
)
class OnCallView(APIView):
    def get(self, request):
        query = s.OnCallQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        at = query.validated_data.get("at") or timezone.now()
        include_email = incident_permissions.is_support_role(request.user)
        return Response(
            s.OnCallSerializer(
                selectors.on_call_now(at=at), many=True, context={"include_email": include_email}
            ).data
        )


@extend_schema(tags=["escalation"])
class IncidentEscalationViewSet(viewsets.GenericViewSet):
    """Escalation actions on one incident: functional escalation, major status, status updates."""

    lookup_field = "number"
    lookup_value_regex = LOOKUP_VALUE_REGEX
    serializer_class = IncidentSerializer
    filter_backends = []
    pagination_class = None

    def get_queryset(self):
        return incident_selectors.visible_incidents(self.request.user).select_related(
            *incident_selectors.INCIDENT_RELATED
        )

    @extend_schema(
        summary="Escalate to a higher tier (tier1 → tier2 → tier3 → external)",
        description="Assigns the tier's on-call person (or nobody, notifying the whole group). Never downward; "
        "past External Support is a 409.",
        request=s.EscalateInputSerializer,
        responses={200: IncidentSerializer, 400: E400, 403: E403, 404: E404, 409: E409},
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request, number=None):
        incident = self.get_object()
        serializer = s.EscalateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = services.escalate_tier(incident=incident, user=request.user, **serializer.validated_data)
        return self._render(incident)

    @extend_schema(
        summary="Declare (or clear) major-incident status (Incident Managers)",
        description="Declaring pages the emergency response team and notifies the service's stakeholders.",
        request=s.DeclareMajorInputSerializer,
        responses={200: IncidentSerializer, 400: E400, 403: E403, 404: E404, 409: E409},
    )
    @action(detail=True, methods=["post"], url_path="declare-major", url_name="declare-major")
    def declare_major(self, request, number=None):
        incident = self.get_object()
        serializer = s.DeclareMajorInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service = services.declare_major if serializer.validated_data["major"] else services.clear_major
        incident = service(incident=incident, user=request.user, reason=serializer.validated_data["reason"])
        return self._render(incident)

    @extend_schema(
        summary="Send a status update to the service's stakeholders",
        request=s.StatusUpdateInputSerializer,
        responses={200: IncidentSerializer, 400: E400, 403: E403, 404: E404, 409: E409},
    )
    @action(detail=True, methods=["post"], url_path="status-update", url_name="status-update")
    def status_update(self, request, number=None):
        incident = self.get_object()
        serializer = s.StatusUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = services.send_status_update(
            incident=incident, user=request.user, **serializer.validated_data
        )
        return self._render(incident)

    @extend_schema(
        summary="The incident's escalations: hierarchical, functional and emergency",
        responses={200: s.EscalationEventSerializer(many=True), 403: E403, 404: E404},
    )
    @action(detail=True, methods=["get"])
    def escalations(self, request, number=None):
        events = selectors.incident_escalations(incident=self.get_object(), user=request.user)
        return Response(s.EscalationEventSerializer(events, many=True).data)

    def _render(self, incident) -> Response:
        return Response(IncidentSerializer(incident, context=self.get_serializer_context()).data)
