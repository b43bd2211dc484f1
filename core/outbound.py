"""Outbound HTTP guard: the hub never calls into private networks unless told to.

Channel base URLs, carrier URLs and workflow webhooks are typed in by merchants; without this
check any of them could aim the hub's workers at internal services (SSRF). Tests and the local
channel simulator set ALLOW_PRIVATE_OUTBOUND (on by default only while DEBUG is on).

The guard judges the URL the way the client will connect: a URL that parsers could read two ways
(backslashes, userinfo, whitespace or control characters, a port that is not a plain number) is
refused outright, and `resolve_outbound_url` resolves the host once and hands back the checked
address, which core.http's pinned adapter connects to (so a second DNS answer cannot differ).
"""

import ipaddress
import re
import socket
from typing import NamedTuple
from urllib.parse import urlsplit

from urllib3.util import parse_url

from core.conf import core_settings

# Anything a second parser might read differently: backslash, whitespace, control characters.
_AMBIGUOUS = re.compile(r"[\\\s\x00-\x1f\x7f]")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class OutboundURLRefused(ValueError):
    """The URL is not http(s) or resolves to a private, loopback, link-local or reserved address."""


class OutboundTarget(NamedTuple):
    scheme: str
    host: str          # as in the URL, without brackets (what TLS SNI and the certificate check use)
    port: int
    netloc: str        # the Host header
    address: str | None  # the checked address to connect to; None when private targets are allowed


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: mapped, compatible (::a.b.c.d), NAT64, 6to4 or Teredo."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if any(ip in network for network in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:   # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return embedded.is_global and not embedded.is_multicast
    return ip.is_global and not ip.is_multicast


def resolve(host: str) -> list[str]:
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundURLRefused(f"cannot resolve host {host!r}") from exc


def parse_outbound_url(url: str) -> OutboundTarget:
    """Scheme, host, port and Host header of an http(s) URL both urllib.parse and urllib3 read alike."""
    if not isinstance(url, str) or _AMBIGUOUS.search(url):
        raise OutboundURLRefused(f"URL has a backslash, whitespace or control characters: {url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
        theirs = parse_url(url)
    except ValueError as exc:
        raise OutboundURLRefused(f"URL cannot be parsed: {url!r}") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise OutboundURLRefused(f"only http(s) URLs with a host are allowed: {url!r}")
    if "@" in parts.netloc:
        raise OutboundURLRefused(f"URL has userinfo (user@host): {url!r}")
    if parts.netloc.endswith(":") or (port is not None and not 0 < port < 65536):
        raise OutboundURLRefused(f"URL has an empty or invalid port: {url!r}")
    host = parts.hostname
    if (theirs.scheme or "").lower() != parts.scheme or (theirs.host or "").strip("[]").lower() != host.lower() \
            or theirs.port != port or theirs.auth:
        raise OutboundURLRefused(f"URL reads differently to the HTTP client: {url!r}")
    return OutboundTarget(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), parts.netloc, None)


def resolve_outbound_url(url: str, *, allow_private: bool | None = None) -> OutboundTarget:
    """Parse, resolve the host once and check every address; the target names the first one to connect to."""
    target = parse_outbound_url(url)
    if allow_private is None:
        allow_private = core_settings.ALLOW_PRIVATE_OUTBOUND
    if allow_private:
        return target
    addresses = resolve(target.host)
    if not addresses:
        raise OutboundURLRefused(f"cannot resolve host {target.host!r}")
    blocked = [address for address in addresses if not _is_public(address)]
    if blocked:
        raise OutboundURLRefused(f"{target.host} resolves to a non-public address ({', '.join(blocked)})")
    return target._replace(address=addresses[0].split("%", 1)[0])


def check_outbound_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise OutboundURLRefused unless the URL is unambiguous and every address its host resolves to is public."""
    resolve_outbound_url(url, allow_private=allow_private)
