"""Amazon Selling Partner API (Orders API 2026-01-01 reads, Orders API v0 confirmShipment, Tokens API
2021-03-01, Notifications API v1), bound to one seller account: the Provider class, LWA token, restricted
data token, paging, rate buckets.

Auth is a Login with Amazon refresh token exchanged for an hour-long access token (cached in the
Django cache, sent as `x-amz-access-token`; no AWS signature since SP-API dropped SigV4). Orders come from
searchOrders (getOrder for one), items, buyer and recipient included (`includedData`), so there is no call
per order. Buyer and address are read with a Restricted Data Token when Amazon grants one (one per token
lifetime, shared by every worker); Amazon documents role-based PII access for 2026-01-01, so when the
Tokens API refuses, the plain access token is used. Every call goes through a token bucket shared by all
workers at the rate Amazon documents for the operation.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.core.cache import cache

from channels_sync.normalized import CommonStatus
from channels_sync.providers.amazon.normalize import FULFILLMENT_STATUSES_FOR, iso, map_status, normalize
from channels_sync.providers.amazon.webhooks import WebhooksMixin
from channels_sync.providers.amazon.writeback import WritebackMixin
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.oauth import CachedToken, token_cache_key
from channels_sync.providers.ratelimit import BucketSpec, TokenBucketLimiter

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://sellingpartnerapi-na.amazon.com"
DEFAULT_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
INITIAL_LOOKBACK_DAYS = 30
PAGE_SIZE = 100
SETTLE_LAG = timedelta(minutes=3)   # Amazon's two-minute horizon plus clock skew


ORDERS_PATH = "/orders/2026-01-01/orders"
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
# What searchOrders / getOrder are asked to include: items always come; buyer and recipient are the PII.
INCLUDED_DATA = ["BUYER", "RECIPIENT", "PROCEEDS", "PROMOTION", "FULFILLMENT", "PACKAGES"]
PII_ELEMENTS = ["buyerInfo", "shippingAddress"]
RDT_REFUSED_SECONDS = 3600   # after the Tokens API refused an RDT, read with the access token this long

# Usage plans (requests per second, burst) as the models repository publishes them: searchOrders and getOrder
# of Orders API 2026-01-01, confirmShipment of v0, createRestrictedDataToken of Tokens API 2021-03-01.
RATE_LIMITS = {
    "searchOrders": BucketSpec(rate=0.0056, burst=20),
    "getOrder": BucketSpec(rate=0.5, burst=30),
    "confirmShipment": BucketSpec(rate=2.0, burst=10),
    "createRestrictedDataToken": BucketSpec(rate=1.0, burst=10),
    "createSubscription": BucketSpec(rate=1.0, burst=5),
}


def rate_limits(overrides: dict | None) -> dict[str, BucketSpec]:
    """The documented limits, with per-operation overrides from config `rateLimits`
    ({"getOrder": {"rate": 1, "burst": 30}}): Amazon grants some sellers more (x-amzn-RateLimit-Limit)."""
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

    secret_config = ("clientSecret", "refreshToken", "awsSecretAccessKey")

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
        "sqsQueueUrl": "Optional: the app's SQS queue (ORDER_CHANGE's destination) the hub reads itself.",
        "awsRegion": "With sqsQueueUrl: the queue's AWS region, e.g. us-east-1.",
        "awsAccessKeyId": "With sqsQueueUrl: an IAM key allowed sqs:ReceiveMessage and sqs:DeleteMessage on it.",
        "awsSecretAccessKey": "With sqsQueueUrl: that key's secret (encrypted at rest like every credential).",
        "applicationId": "Optional: your SP-API app id (amzn1.sellerapps.app...); queue messages for others refused.",
        "relaySecretHeader": "Optional: header in which your SQS relay sends the webhook secret (X-Relay-Secret).",
        "rateLimits": "Optional: per-operation {rate, burst} overrides of Amazon's documented limits.",
    }

    @classmethod
    def validate_config(cls, config: dict) -> dict[str, str]:
        errors = super().validate_config(config)
        if config.get("sqsQueueUrl"):
            if not config.get("awsRegion"):
                errors["awsRegion"] = "Required with sqsQueueUrl."
            if bool(config.get("awsAccessKeyId")) != bool(config.get("awsSecretAccessKey")):
                errors["awsSecretAccessKey" if config.get("awsAccessKeyId") else "awsAccessKeyId"] = (
                    "awsAccessKeyId and awsSecretAccessKey go together.")
        return errors

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
        self.rdt = CachedToken(
            token_cache_key("amazon-rdt", self.base_url, self.config.get("clientId"), self.config.get("refreshToken")),
            self._create_restricted_data_token)
        self._rdt_refused_key = token_cache_key("amazon-rdt-refused", self.base_url, self.config.get("clientId"),
                                                self.config.get("refreshToken"))

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

    def _call(self, method: str, path: str, *, rate_key: str, restricted: bool = False, **kwargs):
        """One SP-API call; an access token that expired mid-run (403 Unauthorized) is renewed once.
        `restricted`: the call returns buyer PII, so it carries the restricted data token when there is one."""
        for attempt in (1, 2):
            rdt = self._restricted_token() if restricted else None
            headers = {"x-amz-access-token": rdt or self.token.get(), "Accept": "application/json"}
            try:
                return self.http.request(method, path, rate_key=rate_key, headers=headers, **kwargs)
            except PermanentChannelError as exc:
                if attempt == 1 and _is_unauthorized(exc):
                    (self.rdt if rdt else self.token).invalidate()
                    continue
                raise
        raise AssertionError("unreachable")

    # --- restricted data token ---------------------------------------------------------------
    def _create_restricted_data_token(self) -> dict:
        """createRestrictedDataToken for the two reads that return buyer and address: one RDT covers every
        order of a poll (the generic `{orderId}` path for getOrder), kept for its `expiresIn`."""
        resources = [{"method": "GET", "path": ORDERS_PATH, "dataElements": PII_ELEMENTS},
                     {"method": "GET", "path": f"{ORDERS_PATH}/{{orderId}}", "dataElements": PII_ELEMENTS}]
        body = self._call("POST", RDT_PATH, rate_key="createRestrictedDataToken",
                          json={"restrictedResources": resources}).json() or {}
        return {"access_token": body.get("restrictedDataToken"), "expires_in": body.get("expiresIn")}

    def _restricted_token(self) -> str | None:
        """The cached RDT, or a new one; None when the Tokens API refuses this app one (no restricted role,
        or Amazon grants the PII by role alone, as it documents for 2026-01-01): then the access token reads."""
        if cache.get(self._rdt_refused_key):
            return None
        try:
            return self.rdt.get()
        except PermanentChannelError as exc:
            if exc.status_code not in (400, 401, 403, 404):
                raise
            logger.warning("amazon channel %s: no restricted data token (%s); reading with the access token",
                           self.channel_id, exc.status_code)
            cache.set(self._rdt_refused_key, True, timeout=RDT_REFUSED_SECONDS)
            return None

    # --- reading -----------------------------------------------------------------------------
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None) -> Iterator[dict]:
        """searchOrders, every page. The next page is asked with `paginationToken` and the same filters (as
        Amazon's sandbox example does); orders arrive with their items, so nothing is fetched per order."""
        params = self._order_filters(since, until, status)
        wanted = CommonStatus(status) if status else None
        while True:
            response = self._call("GET", ORDERS_PATH, rate_key="searchOrders", restricted=True, params=params)
            body = response.json() or {}
            for order in body.get("orders") or []:
                if wanted is None or map_status(order) == wanted:   # shipped vs delivered share SHIPPED
                    yield order
            next_token = (body.get("pagination") or {}).get("nextToken")
            if not next_token:
                return
            params = {**params, "paginationToken": next_token}

    def _order_filters(self, since: datetime | None, until: datetime | None, status: str | None) -> dict:
        now = datetime.now(UTC)
        page_size = max(1, min(int(self.config.get("pageSize") or PAGE_SIZE), PAGE_SIZE))
        params: dict = {"maxResultsPerPage": page_size, "includedData": ",".join(INCLUDED_DATA)}
        if self.marketplace_ids:
            params["marketplaceIds"] = ",".join(self.marketplace_ids)
        # Amazon answers only up to two minutes before the request (a later *Before is refused, an
        # absent one means exactly that), so a window ending now is asked open-ended, and its start is
        # moved back by the same lag so the next poll cannot miss what those minutes held.
        before = until if until and until < now - SETTLE_LAG else None
        if since:
            params["lastUpdatedAfter"] = iso(since - SETTLE_LAG)
            if before and before > since:
                params["lastUpdatedBefore"] = iso(before)
        else:
            after = now - timedelta(days=int(self.config.get("initialLookbackDays") or INITIAL_LOOKBACK_DAYS))
            params["createdAfter"] = iso(after)
            if before and before > after:
                params["createdBefore"] = iso(before)
        if status:
            try:
                params["fulfillmentStatuses"] = ",".join(FULFILLMENT_STATUSES_FOR[CommonStatus(status)])
            except (KeyError, ValueError):
                raise PermanentChannelError(f"Amazon cannot filter orders by status {status!r}") from None
        return params

    def fetch_order(self, channel_order_id: str) -> dict:
        response = self._call("GET", f"{ORDERS_PATH}/{channel_order_id}", rate_key="getOrder", restricted=True,
                              params={"includedData": ",".join(INCLUDED_DATA)})
        order = (response.json() or {}).get("order")
        if not order:
            raise PermanentChannelError(f"Amazon returned no order {channel_order_id}")
        return order

    normalize = staticmethod(normalize)
