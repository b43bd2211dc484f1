"""Rate limits, per client address, in the shared cache; one rule says what the client address is.

X-Forwarded-For is written by whoever sends the request, so it is believed only as far as the deployment
declares proxies (`NUM_PROXIES` or `TRUSTED_PROXIES`, core/conf.py): otherwise a rotated header would give an
attacker a fresh bucket per request (DRF's own `get_ident` reads it whenever present)."""

import ipaddress

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from core.conf import core_settings


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request) -> str:
    """The client's address: the peer, or behind declared proxies the right-most X-Forwarded-For entry the
    proxies appended (never an entry the client could have written itself)."""
    peer = request.META.get("REMOTE_ADDR", "")
    num_proxies = core_settings.NUM_PROXIES or 0
    trusted = [ipaddress.ip_network(item, strict=False) for item in core_settings.TRUSTED_PROXIES or []]
    if not num_proxies and not trusted:
        return peer
    forwarded = [item.strip() for item in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if item.strip()]
    chain = forwarded + [peer]  # nearest hop last
    if trusted:
        # walk from the hub outwards while the hop is a trusted proxy; the first other hop is the client
        for index in range(len(chain) - 1, -1, -1):
            address = _ip(chain[index])
            if not _trusted(address, trusted):
                return str(address) if address is not None else chain[min(index + 1, len(chain) - 1)]
        return chain[0]
    index = max(len(chain) - 1 - num_proxies, 0)
    address = _ip(chain[index])
    # not an address (a proxy passing garbage through): count it on the hop that reported it
    return str(address) if address is not None else chain[min(index + 1, len(chain) - 1)]


class ClientAddressThrottle(SimpleRateThrottle):
    """Requests per client address, counted in the Django cache (Redis when REDIS_URL is set, so every
    web process shares the count). Subclasses name the `scope` and the setting holding the rate, read on
    each request so a deployment (or a test) can change it."""

    rate_setting = ""

    def get_rate(self) -> str:
        return getattr(settings, self.rate_setting)

    def get_ident(self, request) -> str:
        return client_address(request)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ScopedClientThrottle(ScopedRateThrottle):
    """DRF's per-view scopes (login, refresh) with the same client-address rule for anonymous callers."""

    def get_ident(self, request) -> str:
        return client_address(request)
