"""Rate limits, per client address, in the shared cache; one rule says what the client address is.

X-Forwarded-For is written by whoever sends the request, so it is believed only as far as the deployment
declares proxies (`NUM_PROXIES` or `TRUSTED_PROXIES`, core/conf.py): otherwise a rotated header would give an
attacker a fresh bucket per request (DRF's own `get_ident` reads it whenever present)."""

import ipaddress
import math
from dataclasses import dataclass

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


# --- RateLimit headers (issue 18) ---------------------------------------------------------------
# Every throttled answer tells the client its budget, in the IETF httpapi RateLimit header fields
# (draft-ietf-httpapi-ratelimit-headers): RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset (seconds until
# the sliding window frees a request), and a 429 carries Retry-After (the same seconds). The throttle records
# its state on the request; core.middleware.RateLimitHeadersMiddleware writes the headers on the answer.
RATE_LIMIT_ATTRIBUTE = "_ordershub_rate_limit"


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # seconds

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset)}


def record_rate_limit(request, state: RateLimitState) -> None:
    """Keep the tightest budget of the request's throttles (the one that runs out first), on the Django request
    (a DRF Request hands attribute writes to itself, not to the request the middleware sees)."""
    target = getattr(request, "_request", request)
    current = getattr(target, RATE_LIMIT_ATTRIBUTE, None)
    if current is None or (state.remaining, -state.reset) < (current.remaining, -current.reset):
        setattr(target, RATE_LIMIT_ATTRIBUTE, state)


def rate_limit_of(request) -> RateLimitState | None:
    return getattr(getattr(request, "_request", request), RATE_LIMIT_ATTRIBUTE, None)


class RateLimitHeadersMixin:
    """For SimpleRateThrottle subclasses: after deciding, record limit, remaining and reset for the headers."""

    def allow_request(self, request, view) -> bool:
        allowed = super().allow_request(request, view)
        history = getattr(self, "history", None)
        if getattr(self, "rate", None) is not None and history is not None:
            # A sliding window: a slot frees when the oldest request counted against it leaves the window.
            if allowed:
                oldest = history[-1] if history else self.now
            else:  # the window is full: the next request fits once the num_requests-th newest one has left it
                oldest = history[min(self.num_requests, len(history)) - 1] if history else self.now
            reset = self.duration - (self.now - oldest)
            record_rate_limit(request, RateLimitState(limit=self.num_requests,
                                                      remaining=max(0, self.num_requests - len(history)),
                                                      reset=max(1, math.ceil(reset))))
        return allowed


class ClientAddressThrottle(RateLimitHeadersMixin, SimpleRateThrottle):
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


class ScopedClientThrottle(RateLimitHeadersMixin, ScopedRateThrottle):
    """DRF's per-view scopes (login, refresh) with the same client-address rule for anonymous callers."""

    def get_ident(self, request) -> str:
        return client_address(request)
