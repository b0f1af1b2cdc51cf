"""The headers of a webhook delivery, per the Standard Webhooks specification: `webhook-id` (the message's
id, the same on every attempt), `webhook-timestamp` (this attempt, Unix seconds) and `webhook-signature`
(`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`), made with the `standardwebhooks` library receivers
use to check them.

`X-Itsm-Signature` (`sha256=` + hex HMAC of the body alone) is still sent for receivers written against
it; it carries no id or time, so it cannot stop a replay. It goes in the next release."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook as StandardWebhook

from ..models import Webhook

LEGACY_SIGNATURE_HEADER = "X-Itsm-Signature"
SECRET_PREFIX = "whsec_"


def legacy_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signer(secret: str) -> StandardWebhook:
    """The library's signer for a hook's secret. A `whsec_` secret is base64 (the library decodes it); a
    secret made before this scheme signs with its characters as they are, so its receivers check with
    `Webhook(secret.encode())` until they rotate it."""
    return StandardWebhook(secret if secret.startswith(SECRET_PREFIX) else secret.encode())


def signing_secrets(hook: Webhook, *, now: datetime) -> list[str]:
    """The current secret, and the previous one while its grace after a rotation lasts."""
    secrets = [hook.secret]
    if hook.previous_secret and hook.previous_secret_expires_at and hook.previous_secret_expires_at > now:
        secrets.append(hook.previous_secret)
    return secrets


def signed_headers(hook: Webhook, *, message_id: str, body: bytes, now: datetime) -> dict[str, str]:
    """The headers of one attempt to send `body`, signed at `now` (an aware datetime)."""
    now = now.astimezone(UTC)  # the library reads the clock fields as UTC
    signatures = [
        signer(secret).sign(msg_id=message_id, timestamp=now, data=body.decode())
        for secret in signing_secrets(hook, now=now)
    ]
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
        LEGACY_SIGNATURE_HEADER: legacy_signature(hook.secret, body),
    }
