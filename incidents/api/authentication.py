"""`Authorization: Token <key>` with an expiry (incidents.tokens): an expired token answers 401.

drf-spectacular's token scheme matches subclasses, so the schema still names it `tokenAuth`."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from incidents.tokens import token_is_expired

TOKEN_EXPIRED = "Token expired; request a new one."


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)  # unknown key or inactive user: 401 already
        if token_is_expired(token):
            raise exceptions.AuthenticationFailed(TOKEN_EXPIRED, code="token_expired")
        return user, token
