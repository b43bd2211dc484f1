"""Amazon Selling Partner API (Orders API v0, Notifications API v1), bound to one seller account: the
Provider class, LWA token, paging, rate buckets.

Auth is a Login with Amazon refresh token exchanged for an hour-long access token (cached in the
Django cache, sent as `x-amz-access-token`; no AWS signature since SP-API dropped SigV4). Orders
come from getOrders, then getOrderItems per order; each raw order handed to `normalize` is the
v0 Order object plus an `OrderItems` list. Every call goes through a token bucket shared by all
workers at the rate Amazon documents for the operation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from channels_sync.normalized import CommonStatus
from channels_sync.providers.amazon.normalize import ORDER_STATUSES_FOR, iso, map_status, normalize
from channels_sync.providers.amazon.webhooks import WebhooksMixin
from channels_sync.providers.amazon.writeback import WritebackMixin
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.oauth import CachedToken, token_cache_key
from channels_sync.providers.ratelimit import BucketSpec, TokenBucketLimiter

DEFAULT_BASE_URL = "https://sellingpartnerapi-na.amazon.com"
DEFAULT_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
INITIAL_LOOKBACK_DAYS = 30
PAGE_SIZE = 100
SETTLE_LAG = timedelta(minutes=3)   # Amazon's two-minute horizon plus clock skew


# Orders API v0 usage plans (requests per second, burst) as the models repository publishes them.
RATE_LIMITS = {
    "getOrders": BucketSpec(rate=0.0167, burst=20),
    "getOrder": BucketSpec(rate=0.5, burst=30),
    "getOrderItems": BucketSpec(rate=0.5, burst=30),
    "confirmShipment": BucketSpec(rate=2.0, burst=10),
    "createSubscription": BucketSpec(rate=1.0, burst=5),
}


def rate_limits(overrides: dict | None) -> dict[str, BucketSpec]:
    """The documented limits, with per-operation overrides from config `rateLimits`
    ({"getOrderItems": {"rate": 1, "burst": 30}}): Amazon grants some sellers more (x-amzn-RateLimit-Limit)."""
    limits = dict(RATE_LIMITS)
    for operation, spec in (overrides or {}).items():
        if isinstance(spec, dict) and float(spec.get("rate") or 0) > 0 and int(spec.get("burst") or 0) > 0:
            limits[operation] = BucketSpec(rate=float(spec["rate"]), burst=int(spec["burst"]))
    return limits


def _is_unauthorized(exc: PermanentChannelError) -> bool:
    if exc.status_code not in (401, 403):
        return False
    try:
        errors = json.loads(exc.response_body or "{}").get("errors") or []
    except (ValueError, AttributeError):
        return False
    return any(isinstance(error, dict) and error.get("code") == "Unauthorized" for error in errors)


class Provider(WebhooksMixin, WritebackMixin, ChannelProvider):
    name = "amazon"

    label = "Amazon Selling Partner API"
    webhook_path = "/upstream/webhooks/amazon/notifications"

    default_base_url = DEFAULT_BASE_URL

    default_poll_minutes = 5

    required_config = ("clientId", "clientSecret", "refreshToken", "marketplaceIds", "sellerId")

    secret_config = ("clientSecret", "refreshToken")

    identity_config_key = "sellerId"

    # What each config key is and where a merchant finds it (for connect forms and the README).
    config_help = {
        "clientId": "LWA client identifier of your SP-API app (Seller Central > Apps and Services > Develop Apps).",
        "clientSecret": "LWA client secret of the same app.",
        "refreshToken": "The seller's LWA refresh token (Atzr|...), from authorizing the app.",
        "sellerId": "The seller's Merchant Token (Settings > Account Info); notifications are matched by it.",
        "marketplaceIds": "Marketplace ids to read, e.g. [\"ATVPDKIKX0DER\"] for amazon.com.",
        "baseUrl": "Optional: regional endpoint (default https://sellingpartnerapi-na.amazon.com; -eu, -fe).",
        "tokenUrl": "Optional: LWA token endpoint (default https://api.amazon.com/auth/o2/token).",
        "notificationDestinationId": "Optional: SP-API SQS destination to subscribe ORDER_CHANGE to on enable.",
        "relaySecretHeader": "Optional: header in which your SQS relay sends the webhook secret (X-Relay-Secret).",
        "rateLimits": "Optional: per-operation {rate, burst} overrides of Amazon's documented limits.",
    }

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None):
        super().__init__(config, webhook_secret=webhook_secret, channel_id=channel_id, http=http)
        account = self.config.get("sellerId") or hashlib.sha256(
            (self.config.get("refreshToken") or "").encode()).hexdigest()[:16]
        self.rate_limiter = TokenBucketLimiter(f"amazon:{self.config.get('clientId', '')}:{account}",
                                               rate_limits(self.config.get("rateLimits")), sleep=self.http.sleep)
        if self.http.rate_limiter is None:
            self.http.rate_limiter = self.rate_limiter
        self.token = CachedToken(
            token_cache_key("amazon", self.token_url, self.config.get("clientId"), self.config.get("refreshToken")),
            self._exchange_refresh_token)

    # --- auth --------------------------------------------------------------------------------
    @property
    def token_url(self) -> str:
        return self.config.get("tokenUrl") or DEFAULT_TOKEN_URL

    @property
    def marketplace_ids(self) -> list[str]:
        ids = self.config.get("marketplaceIds") or []
        if isinstance(ids, str):
            ids = [part.strip() for part in ids.split(",")]
        return [str(part) for part in ids if part]

    def _exchange_refresh_token(self) -> dict:
        response = self.http.request("POST", self.token_url, data={
            "grant_type": "refresh_token",
            "refresh_token": self.config.get("refreshToken", ""),
            "client_id": self.config.get("clientId", ""),
            "client_secret": self.config.get("clientSecret", ""),
        })
        return response.json()

    def _call(self, method: str, path: str, *, rate_key: str, **kwargs):
        """One SP-API call; an access token that expired mid-run (403 Unauthorized) is renewed once."""
        for attempt in (1, 2):
            headers = {"x-amz-access-token": self.token.get(), "Accept": "application/json"}
            try:
                return self.http.request(method, path, rate_key=rate_key, headers=headers, **kwargs)
            except PermanentChannelError as exc:
                if attempt == 1 and _is_unauthorized(exc):
                    self.token.invalidate()
                    continue
                raise
        raise AssertionError("unreachable")

    # --- reading -----------------------------------------------------------------------------
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None) -> Iterator[dict]:
        params = self._order_filters(since, until, status)
        wanted = CommonStatus(status) if status else None
        while True:
            response = self._call("GET", "/orders/v0/orders", rate_key="getOrders", params=params)
            payload = response.json().get("payload") or {}
            for order in payload.get("Orders") or []:
                if wanted is None or map_status(order) == wanted:   # shipped vs delivered share OrderStatuses
                    yield self._with_items(order)
            next_token = payload.get("NextToken")
            if not next_token:
                return
            # With NextToken Amazon ignores the filters; MarketplaceIds stays (the spec marks it required).
            params = {"MarketplaceIds": ",".join(self.marketplace_ids), "NextToken": next_token}

    def _order_filters(self, since: datetime | None, until: datetime | None, status: str | None) -> dict:
        now = datetime.now(UTC)
        page_size = max(1, min(int(self.config.get("pageSize") or PAGE_SIZE), PAGE_SIZE))
        params: dict = {"MarketplaceIds": ",".join(self.marketplace_ids), "MaxResultsPerPage": page_size}
        # Amazon answers only up to two minutes before the request (a later *Before is refused, an
        # absent one means exactly that), so a window ending now is asked open-ended, and its start is
        # moved back by the same lag so the next poll cannot miss what those minutes held.
        before = until if until and until < now - SETTLE_LAG else None
        if since:
            params["LastUpdatedAfter"] = iso(since - SETTLE_LAG)
            if before and before > since:
                params["LastUpdatedBefore"] = iso(before)
        else:
            after = now - timedelta(days=int(self.config.get("initialLookbackDays") or INITIAL_LOOKBACK_DAYS))
            params["CreatedAfter"] = iso(after)
            if before and before > after:
                params["CreatedBefore"] = iso(before)
        if status:
            try:
                params["OrderStatuses"] = ",".join(ORDER_STATUSES_FOR[CommonStatus(status)])
            except (KeyError, ValueError):
                raise PermanentChannelError(f"Amazon cannot filter orders by status {status!r}") from None
        return params

    def _with_items(self, order: dict) -> dict:
        order_id = order["AmazonOrderId"]
        items: list[dict] = []
        params: dict = {}
        while True:
            payload = self._call("GET", f"/orders/v0/orders/{order_id}/orderItems", rate_key="getOrderItems",
                                 params=params).json().get("payload") or {}
            items.extend(payload.get("OrderItems") or [])
            if not payload.get("NextToken"):
                break
            params = {"NextToken": payload["NextToken"]}
        return {**order, "OrderItems": items}

    def fetch_order(self, channel_order_id: str) -> dict:
        payload = self._call("GET", f"/orders/v0/orders/{channel_order_id}", rate_key="getOrder").json().get("payload")
        if not payload:
            raise PermanentChannelError(f"Amazon returned no order {channel_order_id}")
        return self._with_items(payload)

    normalize = staticmethod(normalize)
