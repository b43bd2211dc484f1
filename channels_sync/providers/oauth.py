"""The one cached-token helper: every OAuth-style access token (Amazon LWA, eBay user and app grants, TikTok's
renewed seller token, Walmart's client-credentials token) is kept in the Django cache until shortly before it
expires.

Every worker shares the cache (Redis in production), so a channel account's refresh token is
exchanged once per token lifetime, not once per task. The key is a hash of everything that identifies
the grant (token URL, client id, refresh token or scope), so no secret is ever part of a cache key and
two channels never share a token. What is stored is {"access_token": ..., plus the fields named in
`keep`} (TikTok keeps the rotated refresh token beside its access token).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from django.core.cache import cache

from channels_sync.providers.errors import PermanentChannelError

EXPIRY_MARGIN_SECONDS = 60
CACHE_PREFIX = "ordershub:oauth:"


def token_cache_key(*parts: str | None) -> str:
    digest = hashlib.sha256("\x1f".join(part or "" for part in parts).encode()).hexdigest()
    return CACHE_PREFIX + digest


def expires_in_ttl(body: dict, *, default_ttl: int, margin: int = EXPIRY_MARGIN_SECONDS) -> int:
    """Seconds to keep a token whose answer says `expires_in`: that minus `margin` (half of it when shorter)."""
    try:
        ttl = int(body.get("expires_in") or default_ttl)
    except (TypeError, ValueError):
        ttl = default_ttl
    return max(1, ttl - margin) if ttl > margin else max(1, ttl // 2)


class CachedToken:
    """One grant's access token: `get()` answers from the cache or calls `fetch` for a new one.

    `fetch()` returns the token endpoint's answer as a dict with `access_token` (it raises the channel's
    own errors for answers it cannot use). The token is kept for `ttl(body)` seconds: by default
    `expires_in` minus a minute. `invalidate()` drops it (a 401/403 saying it expired); `refresh()` fetches
    a new one now; `cached()` is what is stored, without fetching.
    """

    def __init__(self, key: str, fetch: Callable[[], dict], *, default_ttl: int = 3600,
                 ttl: Callable[[dict], int] | None = None, keep: Iterable[str] = ()):
        self.key = key
        self.fetch = fetch
        self.default_ttl = default_ttl
        self.ttl = ttl or (lambda body: expires_in_ttl(body, default_ttl=self.default_ttl))
        self.keep = tuple(keep)

    def cached(self) -> dict | None:
        stored = cache.get(self.key)
        if isinstance(stored, str):  # the shape stored before `keep` existed
            return {"access_token": stored}
        return stored or None

    def get(self) -> str:
        stored = self.cached()
        if stored and stored.get("access_token"):
            return stored["access_token"]
        return self.refresh()

    def refresh(self) -> str:
        body = self.fetch()
        if not isinstance(body, dict) or not body.get("access_token"):
            raise PermanentChannelError("token endpoint answered without an access_token")
        stored = {"access_token": body["access_token"], **{key: body.get(key) for key in self.keep}}
        cache.set(self.key, stored, timeout=max(1, int(self.ttl(body))))
        return body["access_token"]

    def invalidate(self) -> None:
        cache.delete(self.key)
