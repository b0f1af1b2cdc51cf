"""API tokens (DRF's authtoken, one per user): their lifetime, issue and revocation.

A token works for API_TOKEN_TTL from its creation (30 days unless configured); after that it answers 401
and `POST /api/v1/auth/token/` issues a new one. Changing the password revokes it at once (incidents.
receivers), and so does deleting it in the admin. A deactivated user's token is refused by DRF itself.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token


def token_expires_at(token: Token) -> datetime:
    return token.created + settings.API_TOKEN_TTL


def token_is_expired(token: Token, *, now: datetime | None = None) -> bool:
    return (now or timezone.now()) >= token_expires_at(token)


@transaction.atomic
def api_token_issue(*, user: AbstractBaseUser) -> Token:
    """The user's token while it is valid; once it has expired, a new one replacing it."""
    # Locks the current token, so two sign-ins racing past its expiry replace it once.
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and token_is_expired(token):
        token.delete()
    token, _ = Token.objects.get_or_create(user=user)
    return token


def api_tokens_revoke(*, user: AbstractBaseUser) -> int:
    """Delete the user's token: requests with it answer 401 and the user must sign in again."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
