"""Alert intake: monitoring posts alerts with its `AlertSource`'s token, never a person's session or API
token. Thin like the other views: read the body (bounded), call `incidents.alerts.alert_receive`, render.
Errors become HTTP in `incidents.api.errors` (400 malformed, 403 wrong endpoint, 413 too large); a missing,
unknown or revoked token is a 401 that says no more than that."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import alerts
from incidents.choices import AlertSourceKind
from incidents.exceptions import PermissionDenied
from incidents.limits import MAX_ALERT_BODY_BYTES
from incidents.models import AlertSource

from . import serializers as s
from .throttling import SimpleRateThrottle

TOKEN_QUERY_PARAMETER = "token"
CREDENTIALS_REFUSED = "Invalid or missing alert source token."


class AlertSourceAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`, or `?token=<token>` for tools that cannot set headers (the URL
    may then appear in access logs: prefer the header). Authenticates the source (`request.auth`), not
    a user."""

    def authenticate(self, request):
        source = alerts.alert_source_authenticate(self._token(request))
        if source is None:
            # One answer for missing, unknown and revoked tokens.
            raise exceptions.AuthenticationFailed(CREDENTIALS_REFUSED, code="not_authenticated")
        return AnonymousUser(), source

    def authenticate_header(self, request):
        return 'Bearer realm="alerts"'

    @staticmethod
    def _token(request) -> str:
        parts = get_authorization_header(request).split()
        if len(parts) == 2 and parts[0].lower() == b"bearer":
            return parts[1].decode("latin-1")
        return request.query_params.get(TOKEN_QUERY_PARAMETER, "")


class AlertSourceAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = AlertSourceAuthentication
    name = ["alertSourceToken", "alertSourceQueryToken"]

    def get_security_requirement(self, auto_schema):
        return [{"alertSourceToken": []}, {"alertSourceQueryToken": []}]  # either one

    def get_security_definition(self, auto_schema):
        return [
            build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer"),
            {"type": "apiKey", "in": "query", "name": TOKEN_QUERY_PARAMETER},
        ]


class IsAlertSource(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, AlertSource)


class AlertSourceRateThrottle(SimpleRateThrottle):
    """Counted per alert source (the `alert_source` rate), not per address: one Alertmanager speaks for a
    whole lab, and its storms are what deduplication is for."""

    scope = "alert_source"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, AlertSource):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


E400 = OpenApiResponse(
    s.ErrorSerializer,
    description="Malformed payload: `errors` names each problem by its path (e.g. `alerts[0].status`). "
    "The payload is stored as rejected.",
)
E401 = OpenApiResponse(s.ErrorSerializer, description="Missing, unknown or revoked alert source token.")
E403 = OpenApiResponse(s.ErrorSerializer, description="The token's source posts to the other endpoint.")
E413 = OpenApiResponse(
    s.ErrorSerializer, description="The body is larger than 10 MiB, or holds more than 5,000 alerts."
)
E429 = OpenApiResponse(s.ErrorSerializer, description="Over the source's rate; retry after `Retry-After`.")
RESPONSES = {200: s.AlertIntakeResultSerializer, 400: E400, 401: E401, 403: E403, 413: E413, 429: E429}

INTAKE_DESCRIPTION = (
    "Authenticate with the alert source's token (`Authorization: Bearer <token>` or `?token=`). "
    "Alerts are correlated per source by Alertmanager group (`groupKey`) or by fingerprint: the first "
    "firing alert of a group raises a classified incident (source monitoring), later ones join it or are "
    "counted on it; firing again within the source's reopen window after the resolution reopens it, "
    "later it raises a new incident linked to the previous one. A resolved alert records the recovery "
    "(and resolves the incident once all its alerts recovered, when the source auto-resolves). Bodies up "
    "to 10 MiB and 5,000 alerts; kept 30 days."
)


class AlertIntakeView(APIView):
    authentication_classes = [AlertSourceAuthentication]
    permission_classes = [IsAlertSource]
    throttle_classes = [AlertSourceRateThrottle]
    parser_classes = [JSONParser]  # for the schema: the body is read raw, bounded, and parsed by the service
    reads_raw_body = True  # so whatever the Content-Type, never a 415 (incidents.api.schema)
    kind: str = ""

    def post(self, request):
        source = request.auth
        if source.kind != self.kind:
            endpoint = reverse(ENDPOINT_NAMES[source.kind])
            raise PermissionDenied(f"This token's source posts {source.get_kind_display()} to {endpoint}.")
        declared = _content_length(request)
        result = alerts.alert_receive(
            source=source,
            # Past the limit the body is not read at all; otherwise one byte more than allowed, to tell.
            payload_bytes=b""
            if declared > MAX_ALERT_BODY_BYTES
            else _read(request, MAX_ALERT_BODY_BYTES + 1),
            declared_size=declared,
            remote_addr=request.META.get("REMOTE_ADDR"),
        )
        return Response(s.AlertIntakeResultSerializer(result).data)


@extend_schema_view(
    post=extend_schema(
        summary="Receive a Prometheus Alertmanager webhook (version 4)",
        description=INTAKE_DESCRIPTION,
        request=s.AlertmanagerWebhookSerializer,
        responses=RESPONSES,
    )
)
@extend_schema(tags=["alerts"])
class AlertmanagerIntakeView(AlertIntakeView):
    kind = AlertSourceKind.ALERTMANAGER


@extend_schema_view(
    post=extend_schema(
        summary="Receive one alert as generic JSON",
        description=INTAKE_DESCRIPTION,
        request=s.GenericAlertSerializer,
        responses=RESPONSES,
    )
)
@extend_schema(tags=["alerts"])
class GenericAlertIntakeView(AlertIntakeView):
    kind = AlertSourceKind.GENERIC


ENDPOINT_NAMES = {
    AlertSourceKind.ALERTMANAGER: "alert-intake-alertmanager",
    AlertSourceKind.GENERIC: "alert-intake-generic",
}


def _content_length(request) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _read(request, limit: int) -> bytes:
    stream = request.stream  # None when there is no body
    return stream.read(limit) if stream is not None else b""
