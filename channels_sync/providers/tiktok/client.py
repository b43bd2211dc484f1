"""TikTok Shop (Partner API, version 202309): the Provider class, signed calls, token renewal, order search + detail.

Every shop-scoped call carries `app_key`, `timestamp`, `shop_cipher` and `sign` in the query and
the seller's token in `x-tts-access-token`; answers are HTTP 200 envelopes `{code, message, data}`
where `code` 0 is success, so failures are classified from `code` as well as from the HTTP status.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from channels_sync.normalized import CommonStatus
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.oauth import CachedToken, token_cache_key
from channels_sync.providers.ratelimit import configured_limiter
from channels_sync.providers.tiktok.normalize import API_VERSION, STATUS_MAP, normalize, package_ids
from channels_sync.providers.tiktok.webhooks import WebhooksMixin
from channels_sync.providers.tiktok.writeback import WritebackMixin

logger = logging.getLogger(__name__)
SEARCH_PATH = f"/order/{API_VERSION}/orders/search"
DETAIL_PATH = f"/order/{API_VERSION}/orders"
DEFAULT_AUTH_URL = "https://auth.tiktok-shops.com"
SANDBOX_AUTH_URL = "https://auth-sandbox.tiktok-shops.com"
PAGE_SIZE_MAX = 100          # Get Order List: page_size 1-100
DETAIL_IDS_MAX = 50          # Get Order Detail: ids max count 50
RATE_KEY = "api"             # one shared bucket per shop (TikTok publishes no per-call numbers we rely on)
DEFAULT_RATE_PER_SECOND = 10
DEFAULT_RATE_BURST = 20


# `code` values documented as transient ("Internal error. Please try again", "System process error,
# please try again later", "System timeout") plus the gateway's throttling answer.
RETRYABLE_CODES = {36009003, 11001031, 21001003, 21001008, 21001011, 21022029, 21042001, 21042076, 36009004}
TOKEN_EXPIRED_CODES = {105002}


def sign_request(app_secret: str, path: str, params: dict[str, Any], body: bytes | str = b"") -> str:
    """TikTok's request signature: hex HMAC-SHA256 (key app_secret) over
    app_secret + path + sorted(key+value, without sign/access_token) + body + app_secret."""
    joined = "".join(f"{key}{params[key]}" for key in sorted(params) if key not in ("sign", "access_token"))
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    message = f"{app_secret}{path}{joined}{body or ''}{app_secret}"
    return hmac.new(app_secret.encode(), message.encode("utf-8"), hashlib.sha256).hexdigest()


def _shared_rate_limiter(config: dict, namespace: str):
    return configured_limiter(config, namespace, rate_key=RATE_KEY, default_rate=DEFAULT_RATE_PER_SECOND,
                              default_burst=DEFAULT_RATE_BURST)


def _envelope_code(text: str | None) -> int | None:
    try:
        code = json.loads(text or "").get("code")
        return int(code) if code not in (None, "") else None
    except (ValueError, TypeError, AttributeError):
        return None


class Provider(WebhooksMixin, WritebackMixin, ChannelProvider):
    name = "tiktok"

    label = "TikTok Shop"
    webhook_path = "/upstream/webhooks/tiktok/orders"

    default_base_url = "https://open-api.tiktokglobalshop.com"

    default_poll_minutes = 5

    supports_webhooks = True

    required_config = ("appKey", "appSecret", "accessToken", "shopCipher", "shopId")

    secret_config = ("appSecret", "accessToken", "refreshToken")

    identity_config_key = "shopId"

    # What each config key is and where a merchant finds it (for connect forms and the README).
    config_help = {
        "appKey": "App key of your TikTok Shop app (Partner Center > App & Service > your app).",
        "appSecret": "App secret of the same app; also signs TikTok's webhooks to us.",
        "accessToken": "Seller access token from the authorization (GET /api/v2/token/get with the auth code).",
        "refreshToken": "Optional: the refresh token from the same call, so an expired access token is renewed.",
        "shopCipher": "The shop's `cipher` from GET /authorization/202309/shops.",
        "shopId": "The shop's `id` from the same call; webhooks are matched to the channel by it.",
        "shippingProviderIds": "Optional: {carrier name: TikTok shipping_provider_id} for self-shipped packages.",
        "baseUrl": "Optional: API host (default https://open-api.tiktokglobalshop.com).",
        "authUrl": "Optional: token host (default https://auth.tiktok-shops.com, or baseUrl for a stand-in).",
    }

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None, clock=time.time):
        config = dict(config or {})
        if http is None:
            base = (config.get("baseUrl") or self.default_base_url).rstrip("/")
            namespace = f"tiktok:{config.get('appKey', '')}:{config.get('shopCipher', '')}"
            http = ChannelHttpClient(base, rate_limiter=_shared_rate_limiter(config, namespace))
        super().__init__(config, webhook_secret=webhook_secret, channel_id=channel_id, http=http)
        self.clock = clock
        self.token = CachedToken(self.token_cache_key, self._fetch_renewed_token, ttl=self._renewed_token_ttl,
                                 keep=("refresh_token",))
        renewed = self.token.cached() or {}
        self._access_token = renewed.get("access_token") or self.config.get("accessToken") or ""
        if renewed.get("refresh_token"):
            self.config["refreshToken"] = renewed["refresh_token"]

    @property
    def token_cache_key(self) -> str:
        """Where a renewed token is shared by every worker (keyed by the configured grant, no secret in clear)."""
        return token_cache_key("tiktok", self.base_url,
                               *(str(self.config.get(key, "")) for key in ("appKey", "shopCipher", "accessToken")))

    @property
    def auth_url(self) -> str:
        """Token host: `authUrl`, else TikTok's (sandbox) auth host for TikTok's (sandbox) API host, else the
        configured baseUrl (a stand-in server serves both)."""
        if self.config.get("authUrl"):
            return self.config["authUrl"].rstrip("/")
        host = urlsplit(self.base_url).hostname or ""
        if host.endswith("tiktokglobalshop.com"):
            return SANDBOX_AUTH_URL if "sandbox" in host else DEFAULT_AUTH_URL
        return self.base_url

    # --- signed calls ----------------------------------------------------------------------------
    def signed_params(self, path: str, query: dict[str, Any] | None, body: bytes) -> dict[str, Any]:
        params = {key: value for key, value in (query or {}).items() if value is not None}
        params.update({"app_key": self.config.get("appKey", ""), "timestamp": int(self.clock())})
        if self.config.get("shopCipher"):
            params["shop_cipher"] = self.config["shopCipher"]
        # The path as it goes on the wire: the same as `path` on TikTok's host, and still right when a
        # stand-in server is mounted below a prefix (its baseUrl has a path).
        wire_path = urlsplit(self.http.url(path)).path
        params["sign"] = sign_request(self.config.get("appSecret", ""), wire_path, params, body)
        return params

    def call(self, method: str, path: str, *, query: dict | None = None, body: Any = None,
             _refreshed: bool = False) -> dict:
        """One signed call; returns `data`. Raises Retryable/PermanentChannelError from HTTP or `code`."""
        raw_body = b"" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        params = self.signed_params(path, query, raw_body)
        headers = {"x-tts-access-token": self._access_token, "content-type": "application/json"}
        try:
            response = self.http.request(method, path, params=params, data=raw_body or None, headers=headers,
                                         rate_key=RATE_KEY)
        except PermanentChannelError as exc:
            # TikTok also answers some refusals with an HTTP 401 carrying its envelope: only an expired
            # token is worth a refresh; a bad signature or app key is not.
            code = _envelope_code(exc.response_body)
            if code in TOKEN_EXPIRED_CODES and not _refreshed and self._refresh_access_token():
                return self.call(method, path, query=query, body=body, _refreshed=True)
            if code is not None:
                exc.channel_code = code
                exc.args = (f"{exc.args[0]} (TikTok code {code})",)
            raise
        try:
            envelope = response.json()
        except ValueError:
            raise RetryableChannelError(f"{method} {path}: answer is not JSON", status_code=response.status_code,
                                        response_body=response.text[:2000])
        code = envelope.get("code", 0)
        if code in (0, "0", None):
            return envelope.get("data") or {}
        code = int(code)
        if code in TOKEN_EXPIRED_CODES and not _refreshed and self._refresh_access_token():
            return self.call(method, path, query=query, body=body, _refreshed=True)
        message = f"{method} {path}: TikTok code {code}: {envelope.get('message', '')}"
        error_cls = RetryableChannelError if code in RETRYABLE_CODES else PermanentChannelError
        error = error_cls(message, status_code=response.status_code, response_body=response.text[:2000])
        error.channel_code = code
        raise error

    def _refresh_access_token(self) -> bool:
        """Renew the access token now, shared through the cache (False: no refreshToken to renew it with)."""
        if not self.config.get("refreshToken"):
            return False
        self._access_token = self.token.refresh()
        return True

    def _fetch_renewed_token(self) -> dict:
        """Trade the configured refreshToken for a new access token (unsigned GET on the auth host)."""
        refresh_token = self.config.get("refreshToken")
        auth_url = self.auth_url
        response = self.http.request("GET", f"{auth_url}/api/v2/token/refresh", params={
            "app_key": self.config.get("appKey", ""), "app_secret": self.config.get("appSecret", ""),
            "refresh_token": refresh_token, "grant_type": "refresh_token"}, rate_key=None)
        envelope = response.json()
        token = (envelope.get("data") or {}).get("access_token")
        if envelope.get("code") not in (0, None) or not token:
            raise PermanentChannelError(f"TikTok token refresh failed: {envelope.get('message', '')}",
                                        status_code=response.status_code, response_body=response.text[:2000])
        data = envelope["data"]
        if data.get("refresh_token"):
            self.config["refreshToken"] = data["refresh_token"]
        return {**data, "refresh_token": self.config.get("refreshToken")}

    def _renewed_token_ttl(self, data: dict) -> int:
        # `access_token_expire_in` is a Unix time; keep the renewal until shortly before it.
        try:
            ttl = int(data.get("access_token_expire_in") or 0) - int(self.clock()) - 300
        except (TypeError, ValueError):
            ttl = 0
        return ttl if ttl > 0 else 6 * 24 * 3600

    def reported_identities(self) -> list[str]:
        """GET /authorization/202309/shops with this app and access token: the ids of the shops the seller
        authorized for the app."""
        data = self.call("GET", "/authorization/202309/shops") or {}
        shops = data.get("shops") if isinstance(data, dict) else None
        return [str(shop["id"]) for shop in shops or [] if isinstance(shop, dict) and shop.get("id")]

    # --- reading ---------------------------------------------------------------------------------
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None
                     ) -> Iterator[dict]:
        """Order search by update time (oldest first), then detail in batches of 50.

        An order updated mid-poll leaves the window (update_time_lt); were the page_token a position, every later
        order would move up one place and one would be skipped. So after each page the search restarts from the
        last update_time read (update_time_ge is inclusive) and what was read at that same time is dropped; the
        page_token is followed only when a whole page shares one second."""
        body: dict[str, Any] = {}
        if since is not None:
            body["update_time_ge"] = int(since.timestamp())
        if until is not None:
            body["update_time_lt"] = int(until.timestamp())
        raw_filter, common_filter = self._status_filter(status)
        if raw_filter:
            body["order_status"] = raw_filter
        page_size = max(1, min(int(self.config.get("pageSize") or PAGE_SIZE_MAX), PAGE_SIZE_MAX))
        page_token: str | None = None
        read: dict[str, Any] = {}   # order id -> update_time already read
        while True:
            query = {"page_size": page_size, "sort_field": "update_time", "sort_order": "ASC"}
            if page_token:
                query["page_token"] = page_token
            data = self.call("POST", SEARCH_PATH, query=query, body=body)
            summaries = data.get("orders") or []
            fresh = [summary for summary in summaries
                     if summary.get("id") not in read or read[summary.get("id")] != summary.get("update_time")]
            read.update((summary.get("id"), summary.get("update_time")) for summary in fresh)
            for order in self._with_details(fresh):
                if common_filter is None or STATUS_MAP.get(order.get("status")) == common_filter:
                    yield order
            page_token = data.get("next_page_token") or None
            if not page_token or not summaries:
                return
            last = summaries[-1].get("update_time")
            if fresh and isinstance(last, int) and last > body.get("update_time_ge", -1):
                body, page_token = {**body, "update_time_ge": last}, None   # the window moves past what was read

    @staticmethod
    def _status_filter(status: str | None) -> tuple[str | None, CommonStatus | None]:
        if not status:
            return None, None
        if status.upper() in STATUS_MAP:
            return status.upper(), None
        try:
            return None, CommonStatus(status.lower())
        except ValueError:
            raise PermanentChannelError(f"unknown status filter {status!r}")

    def _with_details(self, summaries: list[dict]) -> list[dict]:
        if not summaries or self.config.get("fetchDetails") is False:
            return summaries
        ids = [str(order["id"]) for order in summaries if order.get("id")]
        details: dict[str, dict] = {}
        try:
            for start in range(0, len(ids), DETAIL_IDS_MAX):
                for order in self.fetch_details(ids[start:start + DETAIL_IDS_MAX]):
                    details[str(order.get("id"))] = order
        except PermanentChannelError as exc:
            # A server without the detail route (HTTP 404/405, never a TikTok `code`) whose search already
            # returns whole orders, as TikTok's does: keep those rather than fail the whole sync.
            complete = all(order.get("line_items") is not None and order.get("payment") for order in summaries)
            if exc.status_code not in (404, 405) or getattr(exc, "channel_code", None) or not complete:
                raise
            logger.warning("TikTok order detail unavailable (%s); using the search results", exc)
            return summaries
        return [details.get(str(order.get("id")), order) for order in summaries]

    def fetch_details(self, order_ids: list[str]) -> list[dict]:
        data = self.call("GET", DETAIL_PATH, query={"ids": ",".join(order_ids)})
        return data.get("orders") or []

    def fetch_order(self, channel_order_id: str) -> dict:
        orders = self.fetch_details([str(channel_order_id)])
        if not orders:
            raise PermanentChannelError(f"TikTok order {channel_order_id} not found", status_code=404)
        return orders[0]

    package_ids = staticmethod(package_ids)

    normalize = staticmethod(normalize)
