"""Thin views: parse with a serializer, call one service or selector, render. Visibility comes from
`incidents.selectors`, every rule from `incidents.services`; errors become HTTP in `incidents.api.errors`."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings

from incidents import selectors, services, tokens
from incidents.models import Service, SlaPolicy
from incidents.sign_in import SignInLocked

from . import serializers as s
from .filters import IncidentFilter, ServiceFilter
from .query_params import RejectUnknownParameters
from .throttling import AnonRateThrottle

# A key in a URL (number, slug, severity) never holds a NUL character, which PostgreSQL refuses in a query:
# such a URL matches no route and is a 404. Otherwise DRF's default: anything but "/" and ".".
LOOKUP_VALUE_REGEX = r"[^/.\x00]+"

E400 = OpenApiResponse(s.ErrorSerializer, description="Invalid input: field errors in `errors`.")
E403 = OpenApiResponse(s.ErrorSerializer, description="Your role may not do this.")
E404 = OpenApiResponse(s.ErrorSerializer, description="No such incident, or not visible to you.")
E400_QUERY = OpenApiResponse(s.ErrorSerializer, description="Invalid filter: field errors in `errors`.")
E404_PAGE = OpenApiResponse(s.ErrorSerializer, description="No such page.")
E429_SIGN_IN = OpenApiResponse(
    s.ErrorSerializer,
    description="Too many requests (`throttled`), or too many failed sign-ins for the account or from the "
    "address (`locked_out`); retry after `Retry-After` seconds.",
)
E409 = OpenApiResponse(
    s.TransitionErrorSerializer, description="Not allowed from the current state; lists what is allowed."
)
E409_READ_ONLY = OpenApiResponse(
    s.ErrorSerializer, description="Resolved, closed or cancelled: the record is read-only (code `conflict`)."
)


def _transition_schema(name: str, summary: str):
    return extend_schema(
        summary=summary,
        request=s.TRANSITION_INPUTS[name],
        responses={200: s.IncidentSerializer, 400: E400, 403: E403, 404: E404, 409: E409},
        filters=False,
    )


@extend_schema_view(
    list=extend_schema(
        summary="List the incidents you may see",
        responses={200: s.IncidentSerializer(many=True), 400: E400_QUERY, 404: E404_PAGE},
    ),
    retrieve=extend_schema(summary="One incident", responses={200: s.IncidentSerializer, 404: E404}),
    create=extend_schema(
        summary="Log an incident (you are the reporter; name the caller when logging on someone's behalf)",
        request=s.IncidentCreateSerializer,
        responses={201: s.IncidentSerializer, 400: E400},
    ),
    partial_update=extend_schema(
        summary="Edit descriptive fields",
        description=(
            "State, severity and the clocks are read-only: they change only through transitions. Resolved, "
            "closed and cancelled incidents are read-only altogether (409); comments are still possible."
        ),
        request=s.IncidentUpdateSerializer,
        responses={200: s.IncidentSerializer, 400: E400, 403: E403, 404: E404, 409: E409_READ_ONLY},
    ),
)
@extend_schema(tags=["incidents"])
class IncidentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Incidents, their lifecycle transitions and their record (timeline, history, checklist)."""

    lookup_field = "number"
    lookup_value_regex = LOOKUP_VALUE_REGEX
    serializer_class = s.IncidentSerializer
    filter_backends = [RejectUnknownParameters, DjangoFilterBackend, OrderingFilter]
    filterset_class = IncidentFilter
    ordering_fields = [
        "created_at",
        "detected_at",
        "severity",
        "number",
        "state",
        "response_due_at",
        "resolution_due_at",
        "resolved_at",
    ]

    def get_queryset(self):
        # The list and the record render what each incident names (`selectors.incident_list`); the other
        # actions need the row alone: a write renders the row its service locked and returns.
        if self.action in ("list", "retrieve"):
            return selectors.incident_list(user=self.request.user)
        return selectors.visible_incidents(self.request.user)

    def filter_queryset(self, queryset):
        # Query parameters narrow the list; a detail URL names one incident whatever they say.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    # Writes run in one transaction with their answer, rendered before the commit: a database connection lost
    # at any point is a 503 with nothing saved (incidents.api.errors), never a 503 for a saved change.
    @transaction.atomic
    def create(self, request, *args, **kwargs):
        serializer = s.IncidentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        category = fields.pop("category", "")
        if category:  # log and classify in one call, or neither (`services.incident_log`)
            classification = {
                "category": category,
                "urgency": fields.pop("urgency", ""),
                "impact": fields.pop("impact", ""),
            }
            incident = services.incident_log(user=request.user, classification=classification, **fields)
        else:
            incident = services.incident_create(user=request.user, **fields)
        return Response(self._render(incident), status=status.HTTP_201_CREATED)

    @transaction.atomic  # answered before the commit, as create
    def partial_update(self, request, *args, **kwargs):
        incident = self.get_object()
        serializer = s.IncidentUpdateSerializer(data=request.data, partial=True, user=request.user)
        serializer.is_valid(raise_exception=True)
        incident = services.incident_update(
            incident=incident, user=request.user, data=serializer.validated_data
        )
        return Response(self._render(incident))

    # --- transitions ----------------------------------------------------------------------------------

    @_transition_schema("classify", "Classify (or reclassify): category, urgency x impact → severity")
    @action(detail=True, methods=["post"])
    def classify(self, request, number=None):
        return self._transition(request, "classify")

    @_transition_schema("investigate", "Start investigating (assignee defaults to you)")
    @action(detail=True, methods=["post"])
    def investigate(self, request, number=None):
        return self._transition(request, "investigate")

    @_transition_schema("hold", "Put on hold (pauses the resolution clock)")
    @action(detail=True, methods=["post"])
    def hold(self, request, number=None):
        return self._transition(request, "hold")

    @_transition_schema("resume", "Resume work after a hold")
    @action(detail=True, methods=["post"])
    def resume(self, request, number=None):
        return self._transition(request, "resume")

    @_transition_schema(
        "resolve",
        "Resolve with a resolution code and notes (S1/S2: diagnosis and root cause; required steps done or "
        "skipped)",
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, number=None):
        return self._transition(request, "resolve")

    @_transition_schema(
        "close", "Close a resolved incident (Incident Managers, with closure notes; or the caller confirming)"
    )
    @action(detail=True, methods=["post"])
    def close(self, request, number=None):
        return self._transition(request, "close")

    @_transition_schema("reopen", "Reopen a resolved incident")
    @action(detail=True, methods=["post"])
    def reopen(self, request, number=None):
        return self._transition(request, "reopen")

    @_transition_schema("cancel", "Cancel an incident logged in error")
    @action(detail=True, methods=["post"])
    def cancel(self, request, number=None):
        return self._transition(request, "cancel")

    @transaction.atomic  # answered before the commit, as create
    def _transition(self, request, name: str) -> Response:
        """403/409 before the input is looked at, then 400 for the input; the service checks again under
        its row lock, so a racing request still cannot slip through."""
        incident = self.get_object()
        services.check_transition(incident, request.user, name)
        serializer = s.TRANSITION_INPUTS[name](data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = services.TRANSITION_SERVICES[name](
            incident=incident, user=request.user, **serializer.validated_data
        )
        return Response(self._render(incident))

    # --- the incident's record ------------------------------------------------------------------------

    @extend_schema(
        summary="Transitions you may take now, with their inputs",
        responses={200: s.TransitionOptionSerializer(many=True), 404: E404},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def transitions(self, request, number=None):
        incident = self.get_object()
        options = [
            {**option, "inputs": s.transition_inputs(option["name"])}
            for option in selectors.incident_transition_options(incident=incident, user=request.user)
        ]
        return Response(s.TransitionOptionSerializer(options, many=True).data)

    @extend_schema(
        summary="Timeline: transitions, assignments, ticks and comments in time order",
        description="Users without a support role see only public entries.",
        responses={200: s.TimelineEventSerializer(many=True), 404: E404},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, number=None):
        events = selectors.incident_timeline(incident=self.get_object(), user=request.user)
        return Response(s.TimelineEventSerializer(events, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Audit history: who changed what, when and why",
        responses={200: s.HistoryRecordSerializer(many=True), 403: E403, 404: E404},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request, number=None):
        records = selectors.incident_history(incident=self.get_object(), user=request.user)
        return Response(s.HistoryRecordSerializer(records, many=True).data)

    @extend_schema(
        summary="Add a comment (internal work note or public update)",
        request=s.CommentInputSerializer,
        responses={201: s.TimelineEventSerializer, 400: E400, 403: E403, 404: E404},
        filters=False,
    )
    @action(detail=True, methods=["post"])
    @transaction.atomic  # answered before the commit, as create
    def comments(self, request, number=None):
        incident = self.get_object()
        serializer = s.CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_add(incident=incident, user=request.user, **serializer.validated_data)
        return Response(
            s.TimelineEventSerializer(comment, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="The runbook checklist copied on classification",
        responses={200: s.ChecklistItemSerializer(many=True), 404: E404},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def checklist(self, request, number=None):
        items = selectors.incident_checklist(incident=self.get_object())
        return Response(s.ChecklistItemSerializer(items, many=True).data)

    @extend_schema(
        summary="Tick a checklist step (records who and when)",
        request=None,
        parameters=[OpenApiParameter("step_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: s.ChecklistItemSerializer, 403: E403, 404: E404, 409: E409},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path=r"checklist/(?P<step_id>\d+)/done", url_name="step-done")
    @transaction.atomic  # answered before the commit, as create
    def checklist_step_done(self, request, number=None, step_id=None):
        incident = self.get_object()
        item = get_object_or_404(selectors.incident_checklist(incident=incident), pk=step_id)
        item = services.checklist_item_done(item=item, user=request.user)
        return Response(s.ChecklistItemSerializer(item).data)

    @extend_schema(
        summary="Skip a checklist step that does not apply, with a reason",
        description="A required step holds up resolving (409 `required_steps_open`) until done or skipped.",
        request=s.ChecklistSkipInputSerializer,
        parameters=[OpenApiParameter("step_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: s.ChecklistItemSerializer, 400: E400, 403: E403, 404: E404, 409: E409},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path=r"checklist/(?P<step_id>\d+)/skip", url_name="step-skip")
    @transaction.atomic  # answered before the commit, as create
    def checklist_step_skip(self, request, number=None, step_id=None):
        incident = self.get_object()
        item = get_object_or_404(selectors.incident_checklist(incident=incident), pk=step_id)
        serializer = s.ChecklistSkipInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.checklist_item_skip(item=item, user=request.user, **serializer.validated_data)
        return Response(s.ChecklistItemSerializer(item).data)

    def _render(self, incident) -> dict:
        return s.IncidentSerializer(incident, context=self.get_serializer_context()).data


@extend_schema_view(
    list=extend_schema(
        summary="The service catalogue",
        responses={200: s.ServiceSerializer(many=True), 400: E400_QUERY, 404: E404_PAGE},
    ),
    retrieve=extend_schema(summary="One service", responses={200: s.ServiceSerializer, 404: E404}),
)
@extend_schema(tags=["reference data"])
class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Service.objects.select_related("owner_group").order_by("name")
    serializer_class = s.ServiceSerializer
    lookup_field = "slug"
    lookup_value_regex = LOOKUP_VALUE_REGEX
    filter_backends = [RejectUnknownParameters, DjangoFilterBackend, SearchFilter]
    filterset_class = ServiceFilter
    search_fields = ["name", "slug"]


@extend_schema_view(
    list=extend_schema(summary="SLA targets of every severity"),
    retrieve=extend_schema(
        summary="SLA targets of one severity", responses={200: s.SlaPolicySerializer, 404: E404}
    ),
    update=extend_schema(
        summary="Change a severity's SLA targets (Incident Managers)",
        description="Both targets positive; the resolution target no shorter than the response target.",
        responses={200: s.SlaPolicySerializer, 400: E400, 403: E403, 404: E404},
    ),
)
@extend_schema(tags=["reference data"])
class SlaPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = SlaPolicy.objects.order_by("severity")
    serializer_class = s.SlaPolicySerializer
    lookup_field = "severity"
    lookup_value_regex = LOOKUP_VALUE_REGEX
    filter_backends = [RejectUnknownParameters]
    pagination_class = None

    def update(self, request, *args, **kwargs):
        policy = self.get_object()
        serializer = self.get_serializer(policy, data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.sla_policy_update(policy=policy, user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(policy).data)


@extend_schema(
    tags=["auth"],
    summary="Exchange a username and password for an API token",
    description=(
        "Send the token as `Authorization: Token <key>`. It works for `API_TOKEN_TTL` (30 days unless "
        "configured), then answers 401 `token_expired`: ask here again for a new one. Changing your password "
        "revokes it. After `LOGIN_FAILURE_LIMIT` failed attempts (5) for an account or from an address, "
        "sign-in is refused with 429 `locked_out` for `LOGIN_LOCKOUT_TIME` (15 minutes)."
    ),
    responses={200: s.TokenSerializer, 400: E400, 429: E429_SIGN_IN},
)
@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class TokenObtainView(ObtainAuthToken):
    # Open: the body's username and password are the credentials. No header is read, so a client still
    # sending its expired token gets a new one rather than a 401, and the schema declares no security.
    authentication_classes = []
    permission_classes = [AllowAny]
    # DRF leaves this view unthrottled; a password endpoint must not allow unlimited guessing.
    throttle_classes = [AnonRateThrottle]
    # DRF's view names its own, unbounded parsers: use the API's (size and nesting limits).
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)  # authenticate(request=...): Axes counts and locks
        except ValidationError:
            if getattr(request, "axes_locked_out", False):
                raise SignInLocked() from None
            raise
        token = tokens.api_token_issue(user=serializer.validated_data["user"])
        return Response({"token": token.key})
