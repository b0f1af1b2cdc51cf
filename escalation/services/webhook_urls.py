"""Where a webhook may deliver. A hook's URL is typed by an administrator but the request comes from the
server, from inside the lab's network: pointed at loopback, a private range or the cloud metadata service
(169.254.169.254) it would make the server a proxy into places nobody outside may reach (SSRF).

So only http and https URLs are accepted, and every address the host name resolves to must be public,
unless settings allow it: `WEBHOOK_ALLOWED_NETWORKS` (CIDR networks, e.g. a chat server at 10.20.0.0/16)
or `WEBHOOK_ALLOWED_HOSTS` (exact host names). The check runs when a hook is saved and again right before
each delivery, which then connects to the very addresses it checked, so a name that resolves elsewhere
later (DNS rebinding) gains nothing. Delivery never follows redirects.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from incidents.exceptions import ValidationError

DEFAULT_PORTS = {"http": 80, "https": 443}
# Addresses that carry an IPv4 address inside an IPv6 one; the IPv4 address is what gets reached.
NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationRefused(ValueError):
    """A webhook URL the server must not send to; the message says why and how to allow it."""


class Unresolved(DestinationRefused):
    """The host name does not resolve (yet)."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # as the Host header and the TLS certificate name it (IDNA, lower case, no brackets)
    port: int
    target: str  # path and query, as the request line carries them
    addresses: tuple[str, ...]  # checked: delivery connects to these and to nothing else

    def connect(self, timeout: float) -> socket.socket:
        """A TCP connection to the first checked address that answers."""
        error: OSError | None = None
        for address in self.addresses:
            try:
                return socket.create_connection((address, self.port), timeout=timeout)
            except OSError as exc:
                error = exc
        raise error or OSError(f"{self.host} has no address to connect to")


def webhook_destination(url: str) -> Destination:
    """Parse `url` and resolve its host now, refusing (DestinationRefused) any scheme but http and https,
    credentials in the URL, and any host with an address that is loopback, private, link-local, shared,
    multicast, reserved or unspecified and not allowed by settings. Unresolved if the name does not
    resolve."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise DestinationRefused(f"Webhook URLs must use http or https, not {scheme or 'no scheme'}.")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused(
            "Webhook URLs may not carry a user name or password; the secret signs bodies."
        )
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as exc:
        raise DestinationRefused(f"The webhook URL's host or port is not valid ({exc}).") from exc
    if not host:
        raise DestinationRefused("The webhook URL names no host.")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Unresolved(f"The webhook host {host} does not resolve ({exc}).") from exc
    addresses = tuple(dict.fromkeys(info[4][0] for info in found))
    if host.rstrip(".") not in _allowed_hosts():
        networks = _allowed_networks()
        for address in addresses:
            if not _address_allowed(ipaddress.ip_address(address.split("%")[0]), networks):
                named = "" if address == host else f" (resolves to {address})"
                raise DestinationRefused(
                    f"The webhook host {host}{named} is a loopback, private, link-local or reserved address. "
                    "If it is meant, list it in WEBHOOK_ALLOWED_NETWORKS or WEBHOOK_ALLOWED_HOSTS."
                )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme=scheme, host=host, port=port, target=target, addresses=addresses)


def check_webhook_url(url: str) -> None:
    """For whatever saves a hook (the admin form, a service): ValidationError for a URL delivery would
    refuse. A host name that does not resolve yet is accepted: delivery resolves and checks it again."""
    try:
        webhook_destination(url)
    except Unresolved:
        return
    except DestinationRefused as exc:
        raise ValidationError(str(exc), code="webhook_destination") from exc


def _address_allowed(address: Address, networks: list) -> bool:
    if any(address in network for network in networks if network.version == address.version):
        return True
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return _address_allowed(embedded, networks)
    return address.is_global and not address.is_multicast


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _allowed_networks() -> list:
    try:
        return [ipaddress.ip_network(n, strict=False) for n in settings.WEBHOOK_ALLOWED_NETWORKS]
    except ValueError as exc:
        raise ImproperlyConfigured(f"WEBHOOK_ALLOWED_NETWORKS: {exc}") from exc


def _allowed_hosts() -> set[str]:
    return {h.strip().lower().rstrip(".") for h in settings.WEBHOOK_ALLOWED_HOSTS if h.strip()}
