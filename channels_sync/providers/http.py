"""The shared outbound client (core.http) bound to the channel error classes every provider and service catches."""

from __future__ import annotations

from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError
from core.http import DEFAULT_TIMEOUT, HttpClient, RateLimiter, iter_pages, parse_retry_after

__all__ = ["DEFAULT_TIMEOUT", "ChannelHttpClient", "RateLimiter", "iter_pages", "parse_retry_after"]


class ChannelHttpClient(HttpClient):
    """core.http.HttpClient raising RetryableChannelError / PermanentChannelError."""

    retryable_error = RetryableChannelError
    permanent_error = PermanentChannelError
