"""OAuth access tokens cached in the Django cache until shortly before they expire.

Every worker shares the cache (Redis in production), so a channel account's refresh token is
exchanged once an hour, not once per task. The key is a hash of everything that identifies the
grant (token URL, client id, refresh token or scope), so no secret is ever part of a cache key and
two channels never share a token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.core.cache import cache

from channels_sync.providers.errors import PermanentChannelError

EXPIRY_MARGIN_SECONDS = 60
CACHE_PREFIX = "ordershub:oauth:"


def token_cache_key(*parts: str | None) -> str:
    digest = hashlib.sha256("\x1f".join(part or "" for part in parts).encode()).hexdigest()
    return CACHE_PREFIX + digest


class CachedToken:
    """One grant's access token: `get()` answers from the cache or calls `fetch` for a new one.

    `fetch()` returns the token endpoint's JSON (`access_token`, `expires_in`); the token is kept
    for `expires_in` minus a minute. `invalidate()` drops it (a 401/403 saying it expired).
    """

    def __init__(self, key: str, fetch: Callable[[], dict], *, default_ttl: int = 3600):
        self.key = key
        self.fetch = fetch
        self.default_ttl = default_ttl

    def get(self) -> str:
        token = cache.get(self.key)
        if token:
            return token
        return self.refresh()

    def refresh(self) -> str:
        body = self.fetch()
        if not isinstance(body, dict) or not body.get("access_token"):
            raise PermanentChannelError("token endpoint answered without an access_token")
        try:
            ttl = int(body.get("expires_in") or self.default_ttl)
        except (TypeError, ValueError):
            ttl = self.default_ttl
        ttl = max(1, ttl - EXPIRY_MARGIN_SECONDS) if ttl > EXPIRY_MARGIN_SECONDS else max(1, ttl // 2)
        cache.set(self.key, body["access_token"], timeout=ttl)
        return body["access_token"]

    def invalidate(self) -> None:
        cache.delete(self.key)

