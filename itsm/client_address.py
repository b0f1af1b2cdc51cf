"""The client's address, the one thing sign-in lockout and the API's per-address throttle count by.

Without reverse proxies (TRUSTED_PROXIES empty, the default) it is the connecting address, REMOTE_ADDR, and
X-Forwarded-For is never read: a client can write anything there. Behind proxies, REMOTE_ADDR is the
nearest proxy's address; each proxy appends the address it was connected from to X-Forwarded-For, so the
client is the right-most address there that is not itself a trusted proxy. What lies further left was
written by the client and is ignored.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(proxies: list[str]) -> list[Network]:
    try:
        return [ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip()]
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc


def from_trusted_proxy(remote_addr: str, trusted: list[Network]) -> bool:
    """Whether the connecting address is one of the trusted proxies: only then are X-Forwarded-* headers
    and X-Request-ID believed."""
    try:
        ip = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def resolve(remote_addr: str, forwarded_for: str, trusted: list[Network]) -> str:
    """The client's address given the connecting address and the X-Forwarded-For header."""
    address = remote_addr
    for hop in [remote_addr, *reversed(forwarded_for.split(","))]:
        try:
            ip = ipaddress.ip_address(hop.strip())
        except ValueError:
            # Not an address a proxy writes ("unknown", a port): stop at the last proxy we can vouch for.
            return address
        address = str(ip)
        if not any(ip in network for network in trusted):
            return address
    return address


class ClientAddressMiddleware:
    """Sets REMOTE_ADDR to the client's address when the request came through a trusted proxy, so Django,
    DRF's throttles (NUM_PROXIES 0), Axes and the logs all see the same one. X-Forwarded-Proto, which marks a
    request as HTTPS (SECURE_PROXY_SSL_HEADER), counts only from a trusted proxy too: from anyone else it is
    dropped, so a client reaching the web server directly cannot pass plain HTTP off as HTTPS."""

    def __init__(self, get_response):
        self.trusted = trusted_networks(settings.TRUSTED_PROXIES)
        self.get_response = get_response

    def __call__(self, request):
        remote_addr = request.META.get("REMOTE_ADDR", "")
        if not from_trusted_proxy(remote_addr, self.trusted):
            request.META.pop("HTTP_X_FORWARDED_PROTO", None)
            return self.get_response(request)
        forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded_for:
            request.META["REMOTE_ADDR"] = resolve(remote_addr, forwarded_for, self.trusted)
        return self.get_response(request)


def client_address(request) -> str | None:
    """Axes' AXES_CLIENT_IP_CALLABLE: the address the middleware settled on."""
    return request.META.get("REMOTE_ADDR")
