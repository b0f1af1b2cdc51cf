"""The errors every operation can give, added to the OpenAPI schema whatever its own `extend_schema` says:
401 where credentials are read, 403 where a browser session must send its CSRF token, 413 and 415 where DRF
parses a body (larger than `API_MAX_BODY_BYTES`, or of a Content-Type it does not read), 429 where a
throttle counts. Each view still declares the
errors of its own rules (400, 403, 404, 409, 413); a code it declares keeps its own description."""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework.authentication import SessionAuthentication

from .serializers import ErrorSerializer

E401 = OpenApiResponse(ErrorSerializer, description="Missing, unknown, expired or revoked credentials.")
E403_CSRF = OpenApiResponse(
    ErrorSerializer, description="Your role may not do this, or a browser session sent no CSRF token."
)
E413 = OpenApiResponse(
    ErrorSerializer, description="The body is larger than the API accepts (1 MiB by default)."
)
E415 = OpenApiResponse(ErrorSerializer, description="The body's Content-Type is not one listed here.")
E429 = OpenApiResponse(ErrorSerializer, description="Too many requests; retry after `Retry-After` seconds.")

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_METHODS = {"POST", "PUT", "PATCH"}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        authenticators = self.view.get_authenticators()
        common = {}
        if authenticators:
            common["401"] = E401
        if self.method in UNSAFE_METHODS and any(
            isinstance(a, SessionAuthentication) for a in authenticators
        ):
            common["403"] = E403_CSRF
        # Views that read the raw body themselves (alert intake) parse whatever they are sent.
        reads_body = self.method in BODY_METHODS and self.get_request_serializer() is not None
        if reads_body and not getattr(self.view, "reads_raw_body", False):
            common["413"] = E413
            common["415"] = E415
        if self.view.get_throttles():
            common["429"] = E429
        for code, response in common.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return dict(sorted(responses.items()))
