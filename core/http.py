"""The one outbound HTTP client: timeouts, 429 / Retry-After, paging, error kinds, the private-address guard.

Channel providers (channels_sync.providers.http binds it to their error classes) and carrier providers
(tracking.carriers.easypost) both call out through it. It imports no app: only core.outbound.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter

from core.outbound import OutboundURLRefused, parse_outbound_url, resolve_outbound_url

DEFAULT_TIMEOUT = (5, 30)  # connect, read (seconds)


class OutboundError(Exception):
    """A failed outbound call; `status_code`, `retry_after` and `response_body` say what the other side said."""

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None,
                 response_body: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after
        self.response_body = response_body


class RetryableOutboundError(OutboundError):
    """Timeouts, connection errors, 408, 429 and 5xx: the same call may work later (after `retry_after`)."""


class PermanentOutboundError(OutboundError):
    """4xx other than 408 and 429 (bad credentials, unknown resource, invalid body) or a refused URL: retrying will not
    help."""


class RateLimiter(Protocol):
    def acquire(self, key: str) -> None: ...


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class HttpClient:
    """A requests session bound to one base URL.

    A 429 is waited out in place when the channel asks for a short pause (`max_inline_wait`),
    up to `max_429_retries` times; a longer pause, a 5xx or a network error raises
    `retryable_error` (carrying `retry_after`) so the task retries later; any other 4xx
    raises `permanent_error`. So does a URL, or a redirect, to a private, loopback or
    link-local address unless ALLOW_PRIVATE_OUTBOUND is on (core.outbound): base URLs are typed
    in by merchants and must not aim the workers at internal services. A subclass names its own
    error classes (subclasses of the two below) so its callers catch what they always caught.
    """

    retryable_error: type[RetryableOutboundError] = RetryableOutboundError
    permanent_error: type[PermanentOutboundError] = PermanentOutboundError

    def __init__(self, base_url: str, *, timeout=DEFAULT_TIMEOUT, session: requests.Session | None = None,
                 max_429_retries: int = 3, max_inline_wait: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep,
                 rate_limiter: RateLimiter | None = None, user_agent: str = "ordershub/1.0"):
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.user_agent = user_agent
        self._session = self._configured(session) if session is not None else None
        self.max_429_retries = max_429_retries
        self.max_inline_wait = max_inline_wait
        self.sleep = sleep
        self.rate_limiter = rate_limiter

    @property
    def session(self) -> requests.Session:
        """Made on first use: webhook receivers build a provider per delivery and never call out."""
        if self._session is None:
            self._session = self._configured(requests.Session())
        return self._session

    def _configured(self, session: requests.Session) -> requests.Session:
        session.headers.setdefault("User-Agent", self.user_agent)
        return guard_session(session)

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.base_url, path_or_url.lstrip("/"))

    def request(self, method: str, path_or_url: str, *, rate_key: str | None = None,
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        url = self.url(path_or_url)
        try:
            parse_outbound_url(url)   # fail early on an ambiguous URL; the adapter resolves, checks and pins per hop
        except OutboundURLRefused as exc:
            raise self.permanent_error(f"{method} {url}: refused: {exc}") from exc
        for attempt in range(self.max_429_retries + 1):
            if self.rate_limiter is not None and rate_key:
                self.rate_limiter.acquire(rate_key)
            try:
                response = self.session.request(method, url, **kwargs)
            except OutboundURLRefused as exc:  # a redirect (or a new DNS answer) towards a private address
                raise self.permanent_error(f"{method} {url}: redirect refused (or address private): {exc}") from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise self.retryable_error(f"{method} {url}: {type(exc).__name__}") from exc
            if response.status_code == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                wait = 1.0 * (2 ** attempt) if retry_after is None else retry_after
                if attempt < self.max_429_retries and wait <= self.max_inline_wait:
                    self.sleep(wait)
                    continue
                raise self.retryable_error(f"{method} {url}: 429 rate limited", status_code=429,
                                            retry_after=wait, response_body=response.text[:2000])
            # 408 Request Timeout: the server gave up waiting for the request, so the same request may work later.
            if response.status_code >= 500 or response.status_code == 408:
                raise self.retryable_error(f"{method} {url}: {response.status_code}", status_code=response.status_code,
                                            retry_after=parse_retry_after(response.headers.get("Retry-After")),
                                            response_body=response.text[:2000])
            if response.status_code >= 400:
                raise self.permanent_error(f"{method} {url}: {response.status_code}", status_code=response.status_code,
                                            response_body=response.text[:2000])
            return response
        raise AssertionError("unreachable")  # the loop either returns or raises

    def get_json(self, path_or_url: str, **kwargs: Any) -> Any:
        return self.request("GET", path_or_url, **kwargs).json()

    def post_json(self, path_or_url: str, body: Any, **kwargs: Any) -> Any:
        response = self.request("POST", path_or_url, json=body, **kwargs)
        return response.json() if response.content else None


class PinnedAddressAdapter(HTTPAdapter):
    """Checks every request it sends (so every redirect hop too) and connects to the address it checked.

    The host is resolved once (core.outbound.resolve_outbound_url); the connection pool is opened on that
    address while the Host header, TLS SNI and the certificate check keep the URL's name, so a DNS answer
    that changes between check and connect (rebinding) cannot reach a private address. A checked request
    goes direct, never through an environment proxy (which would resolve the name itself). With
    ALLOW_PRIVATE_OUTBOUND on (tests, the simulator) nothing is resolved and requests connects as usual.
    """

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        target = resolve_outbound_url(request.url)
        if target.address is None:
            return super().send(request, *args, **kwargs)
        pinned = request.copy()
        pinned.headers["Host"] = target.netloc
        pinned._pinned_target = target  # read by build_connection_pool_key_attributes
        kwargs["proxies"] = {}
        response = super().send(pinned, *args, **kwargs)
        response.request = request
        return response

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        target = getattr(request, "_pinned_target", None)
        if target is not None:
            host_params = {**host_params, "host": target.address}
            if target.scheme == "https":
                pool_kwargs = {**pool_kwargs, "server_hostname": target.host, "assert_hostname": target.host}
        return host_params, pool_kwargs


def guard_session(session: requests.Session | None = None) -> requests.Session:
    """A requests session whose http(s) calls all go through PinnedAddressAdapter (every outbound caller)."""
    session = session if session is not None else requests.Session()
    if not isinstance(session.get_adapter("https://x/"), PinnedAddressAdapter):
        session.mount("https://", PinnedAddressAdapter())
        session.mount("http://", PinnedAddressAdapter())
    return session


def iter_pages(fetch_page: Callable[[Any], tuple[list, Any]], first_cursor: Any = None) -> Iterator[Any]:
    """Yield items page by page: `fetch_page(cursor)` returns (items, next_cursor or None)."""
    cursor = first_cursor
    while True:
        items, cursor = fetch_page(cursor)
        yield from items
        if not cursor:
            return
