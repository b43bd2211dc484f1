"""Walmart Marketplace (US, Orders API v3): the Provider class, client-credentials token, order windows, acknowledge.

Polled every 5 minutes by default; where the channel has a webhook secret, enabling it also subscribes Walmart's
order notifications (.webhooks), so a new purchase order arrives within seconds and polling is the backstop. An
order has no status of its own: each line carries its statuses, and the order's status is derived from them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from channels_sync.normalized import CommonStatus
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.oauth import CachedToken, token_cache_key
from channels_sync.providers.ratelimit import configured_limiter
from channels_sync.providers.walmart.normalize import ORDERS_PATH, _list, needs_acknowledgement, normalize
from channels_sync.providers.walmart.webhooks import WebhooksMixin
from channels_sync.providers.walmart.writeback import WritebackMixin

SERVICE_NAME = "Walmart Marketplace"
PAGE_LIMIT_MAX = 200          # GET /v3/orders: limit default 100, at most 200
HISTORY_DAYS = 180            # only the last 180 days of orders are available
TOKEN_SAFETY_SECONDS = 60     # renew a little before Walmart's 15-minute expiry
RATE_KEY = "api"              # one shared bucket per seller account; Walmart answers 429 past its own limits
DEFAULT_RATE_PER_SECOND = 5
DEFAULT_RATE_BURST = 10


def _token_ttl(payload: dict) -> int:
    """Walmart's tokens live 15 minutes (`expires_in` 900): kept until a minute before."""
    return max(1, int(payload.get("expires_in") or 900) - TOKEN_SAFETY_SECONDS)


def _shared_rate_limiter(config: dict, namespace: str):
    return configured_limiter(config, namespace, rate_key=RATE_KEY, default_rate=DEFAULT_RATE_PER_SECOND,
                              default_burst=DEFAULT_RATE_BURST)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Provider(WebhooksMixin, WritebackMixin, ChannelProvider):
    name = "walmart"

    label = "Walmart Marketplace"
    webhook_path = "/upstream/webhooks/walmart/orders"

    default_base_url = "https://marketplace.walmartapis.com"

    default_poll_minutes = 5

    supports_webhooks = True

    required_config = ("clientId", "clientSecret")

    secret_config = ("clientSecret",)

    wants_tracking_url = True  # otherCarrier is taken only with a trackingURL

    # What each config key is and where a merchant finds it (for connect forms and the README).
    config_help = {
        "clientId": "Client ID: Seller Center > API Integration > API Key Management (your personal key).",
        "clientSecret": "Client secret shown with that client ID.",
        "baseUrl": "Optional: API host (default https://marketplace.walmartapis.com; sandbox "
                   "https://sandbox.walmartapis.com).",
        "tokenUrl": "Optional: token endpoint (default <baseUrl>/v3/token).",
        "shipNodeType": "Optional: SellerFulfilled (Walmart's default), WFSFulfilled or 3PLFulfilled.",
        "consumerChannelType": "Optional: the WM_CONSUMER.CHANNEL.TYPE Walmart gave a solution provider.",
        "cancellationReason": "Optional: reason sent when cancelling lines (default "
                              "CUSTOMER_REQUESTED_SELLER_TO_CANCEL).",
    }

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None, clock=time.time):
        config = dict(config or {})
        if http is None:
            base = (config.get("baseUrl") or self.default_base_url).rstrip("/")
            limiter = _shared_rate_limiter(config, f"walmart:{config.get('clientId', '')}")
            http = ChannelHttpClient(base, rate_limiter=limiter)
        super().__init__(config, webhook_secret=webhook_secret, channel_id=channel_id, http=http)
        self.clock = clock
        self.token = CachedToken(self.token_cache_key, self._fetch_token, ttl=_token_ttl)

    # --- auth ------------------------------------------------------------------------------------
    @property
    def token_url(self) -> str:
        return self.config.get("tokenUrl") or f"{self.base_url}/v3/token"

    @property
    def token_cache_key(self) -> str:
        """Shared by every worker (the Django cache is Redis in production); no secret in the key itself."""
        return token_cache_key("walmart", self.token_url, str(self.config.get("clientId", "")),
                               str(self.config.get("clientSecret", "")))

    def access_token(self, *, force: bool = False) -> str:
        """The cached client-credentials token, renewed shortly before it expires (or when rejected)."""
        return self.token.refresh() if force else self.token.get()

    def _fetch_token(self) -> dict:
        """POST the client credentials to the token endpoint; its answer ({access_token, expires_in})."""
        response = self.http.request(
            "POST", self.token_url, auth=(self.config.get("clientId", ""), self.config.get("clientSecret", "")),
            data={"grant_type": "client_credentials"},
            headers={**self._base_headers(), "Content-Type": "application/x-www-form-urlencoded"},
            rate_key=None)
        try:
            payload = response.json()
        except ValueError:
            raise RetryableChannelError("Walmart token answer is not JSON", status_code=response.status_code)
        if not payload.get("access_token"):
            raise PermanentChannelError("Walmart token answer has no access_token", status_code=response.status_code,
                                        response_body=response.text[:2000])
        return payload

    def _base_headers(self) -> dict[str, str]:
        headers = {"WM_SVC.NAME": self.config.get("serviceName") or SERVICE_NAME,
                   "WM_QOS.CORRELATION_ID": str(uuid.uuid4()), "Accept": "application/json"}
        if self.config.get("consumerChannelType"):
            headers["WM_CONSUMER.CHANNEL.TYPE"] = self.config["consumerChannelType"]
        return headers

    def call(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
             not_found_ok: bool = False) -> Any:
        """One authenticated call (fresh correlation id each try); a 401 renews the token once."""
        for attempt in (0, 1):
            headers = {**self._base_headers(), "WM_SEC.ACCESS_TOKEN": self.access_token(force=attempt == 1)}
            if json_body is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = self.http.request(method, path, params=params, json=json_body, headers=headers,
                                             rate_key=RATE_KEY)
            except PermanentChannelError as exc:
                if exc.status_code == 401 and attempt == 0:
                    continue
                if exc.status_code == 404 and not_found_ok:
                    return None
                raise
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    # --- reading ---------------------------------------------------------------------------------
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None
                     ) -> Iterator[dict]:
        """GET /v3/orders by last-modified window, following `nextCursor` (a ready-made query string)."""
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        # Walmart defaults createdStartDate to 7 days ago; an older order modified now must still come back.
        params: dict[str, Any] = {
            "createdStartDate": _iso(now - timedelta(days=HISTORY_DAYS - 1)),
            "limit": max(1, min(int(self.config.get("pageSize") or PAGE_LIMIT_MAX), PAGE_LIMIT_MAX)),
        }
        if since is not None:
            params["lastModifiedStartDate"] = _iso(since)
        # No lastModifiedEndDate: Walmart pages newest order date first by position (nextCursor), so an order
        # modified mid-poll would leave a closed window and move every later order up one place, skipping one.
        # Open-ended, it keeps its place; one pushed in twice by a new order is dropped by its PO number.
        raw_filter, common_filter = self._status_filter(status)
        if raw_filter:
            params["status"] = raw_filter
        if self.config.get("shipNodeType"):
            params["shipNodeType"] = self.config["shipNodeType"]
        path, query, seen = ORDERS_PATH, params, set()
        while True:
            # A 404 on the first page means no order matches; on a later page it is an error (an expired
            # cursor must fail the poll, not end it early and move the cursor past unread orders).
            payload = self.call("GET", path, params=query, not_found_ok=query is not None)
            listing = (payload or {}).get("list") or {}
            for order in _list(listing.get("elements"), "order"):
                if order.get("purchaseOrderId") in seen:
                    continue
                seen.add(order.get("purchaseOrderId"))
                if common_filter is None or self.normalize(order).status == common_filter:
                    yield order
            cursor = (listing.get("meta") or {}).get("nextCursor")
            if not cursor:
                return
            path, query = ORDERS_PATH + (cursor if cursor.startswith("?") else "?" + cursor), None

    @staticmethod
    def _status_filter(status: str | None) -> tuple[str | None, CommonStatus | None]:
        if not status:
            return None, None
        raw = {"created": "Created", "acknowledged": "Acknowledged", "shipped": "Shipped",
               "delivered": "Delivered", "cancelled": "Cancelled"}
        if status in raw.values():
            return status, None
        try:
            return None, CommonStatus(status.lower())
        except ValueError:
            raise PermanentChannelError(f"unknown status filter {status!r}")

    def fetch_order(self, channel_order_id: str) -> dict:
        payload = self.call("GET", f"{ORDERS_PATH}/{channel_order_id}")
        return (payload or {}).get("order") or {}

    def acknowledge(self, purchase_order_ids: list[str]) -> dict[str, str]:
        """POST .../acknowledge for each purchase order; returns {id: "acknowledged" | error text}.

        Meant for the core to call after ingest with the ids whose raw order `needs_acknowledgement`;
        one failing id does not stop the others (the next poll sees it still Created and tries again).
        """
        results: dict[str, str] = {}
        for purchase_order_id in purchase_order_ids:
            try:
                self.call("POST", f"{ORDERS_PATH}/{purchase_order_id}/acknowledge")
                results[str(purchase_order_id)] = "acknowledged"
            except RetryableChannelError as exc:
                results[str(purchase_order_id)] = f"retryable: {exc}"
            except PermanentChannelError as exc:
                results[str(purchase_order_id)] = f"failed: {exc}"
        return results

    @staticmethod
    def acknowledgement_id(raw: dict) -> str | None:
        """The purchase order id to acknowledge after this raw order is ingested, or None (hook for the core)."""
        return str(raw["purchaseOrderId"]) if raw.get("purchaseOrderId") and needs_acknowledgement(raw) else None

    def acknowledge_new(self, raw_orders: list[dict]) -> dict[str, str]:
        """Acknowledge the purchase orders among `raw_orders` that still have Created lines."""
        return self.acknowledge([po for po in map(self.acknowledgement_id, raw_orders) if po])

    normalize = staticmethod(normalize)
