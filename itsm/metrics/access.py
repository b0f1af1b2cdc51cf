"""Who may read /metrics: its numbers describe the lab's incidents, so it is closed unless configured.

- `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time), or
- a client address inside METRICS_ALLOWED_NETWORKS: REMOTE_ADDR as `itsm.client_address` resolved it
  through TRUSTED_PROXIES, never an X-Forwarded-For the client wrote.

Either one is enough. With neither configured /metrics answers 404, except that with DEBUG on a client on
the loopback address may read it (development)."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, JsonResponse


def _address(request: HttpRequest) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return None


def _in_allowed_networks(request: HttpRequest) -> bool:
    address = _address(request)
    return address is not None and any(
        address in ipaddress.ip_network(network.strip(), strict=False)  # validated by the settings
        for network in settings.METRICS_ALLOWED_NETWORKS
        if network.strip()
    )


def _bearer_token(request: HttpRequest) -> str | None:
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def _refuse(status: int, detail: str, **headers: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status, headers=headers)


def refusal(request: HttpRequest) -> JsonResponse | None:
    """None when the request may read /metrics, else the response that refuses it."""
    token = settings.METRICS_TOKEN
    networks = [network for network in settings.METRICS_ALLOWED_NETWORKS if network.strip()]
    if networks and _in_allowed_networks(request):
        return None
    if token:
        presented = _bearer_token(request)
        if presented is None:
            return _refuse(
                401, "Send Authorization: Bearer <token>.", **{"WWW-Authenticate": 'Bearer realm="metrics"'}
            )
        if hmac.compare_digest(presented.encode(), token.encode()):
            return None
        return _refuse(403, "Wrong token.")
    if networks:
        return _refuse(403, "Your address may not read /metrics.")
    address = _address(request)
    if settings.DEBUG and address is not None and address.is_loopback:
        return None
    return _refuse(404, "Not found: /metrics is off until METRICS_TOKEN or METRICS_ALLOWED_NETWORKS is set.")
