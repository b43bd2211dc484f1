"""Outbound HTTP guard: the hub never calls into private networks unless told to.

Channel base URLs, carrier URLs and workflow webhooks are typed in by merchants; without this
check any of them could aim the hub's workers at internal services (SSRF). Tests and the local
channel simulator set ALLOW_PRIVATE_OUTBOUND (on by default only while DEBUG is on).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from core.conf import core_settings


class OutboundURLRefused(ValueError):
    """The URL is not http(s) or resolves to a private, loopback, link-local or reserved address."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str) -> list[str]:
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
    except socket.gaierror as exc:
        raise OutboundURLRefused(f"cannot resolve host {host!r}") from exc


def check_outbound_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise OutboundURLRefused unless every address the URL's host resolves to is public."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise OutboundURLRefused(f"only http(s) URLs with a host are allowed: {url!r}")
    if allow_private is None:
        allow_private = core_settings.ALLOW_PRIVATE_OUTBOUND
    if allow_private:
        return
    blocked = [address for address in resolve(parts.hostname) if not _is_public(address)]
    if blocked:
        raise OutboundURLRefused(f"{parts.hostname} resolves to a non-public address ({', '.join(blocked)})")
