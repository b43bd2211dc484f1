"""WooCommerce REST API v3 (`/wp-json/wc/v3`): the Provider class, auth, order and webhook paging.

The store's own URL is the channel's `baseUrl` (there is no central host), and it is also the
identity WooCommerce puts in `X-WC-Webhook-Source`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.http import ChannelHttpClient, iter_pages
from channels_sync.providers.woocommerce.normalize import common_status, normalize
from channels_sync.providers.woocommerce.webhooks import WebhooksMixin
from channels_sync.providers.woocommerce.writeback import WritebackMixin

API_PREFIX = "/wp-json/wc/v3"
PER_PAGE = 100  # WordPress REST caps per_page at 100


# Common status -> the Woo statuses a `status` filter asks for, and what writeback sets.
STATUS_FILTER = {
    "pending": "pending,on-hold", "processing": "processing", "shipped": "completed", "delivered": "completed",
    "cancelled": "cancelled,failed", "refunded": "refunded",
}


class Provider(WebhooksMixin, WritebackMixin, ChannelProvider):
    name = "woocommerce"

    label = "WooCommerce"
    webhook_path = "/upstream/webhooks/woocommerce/orders"

    default_poll_minutes = 15

    required_config = ("baseUrl", "consumerKey", "consumerSecret")

    secret_config = ("consumerSecret",)

    webhook_identity_header = "X-WC-Webhook-Source"

    identity_config_key = "baseUrl"

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None):
        if http is None and (config or {}).get("rateLimitPerSecond"):
            # WooCommerce core has no REST limit; a host that has one is configured per channel.
            from channels_sync.providers.ratelimit import BucketSpec, TokenBucketLimiter

            spec = BucketSpec(rate=float(config["rateLimitPerSecond"]), burst=int(config.get("rateLimitBurst") or 10))
            limiter = TokenBucketLimiter(f"{self.name}:{config.get('baseUrl', '')}", {self.name: spec})
            http = ChannelHttpClient((config.get("baseUrl") or "").rstrip("/"), rate_limiter=limiter)
        super().__init__(config, webhook_secret=webhook_secret, channel_id=channel_id, http=http)

    def _auth(self) -> dict[str, Any]:
        """Basic auth with the consumer key/secret; `queryStringAuth` for hosts that strip Authorization."""
        key, secret = self.config.get("consumerKey", ""), self.config.get("consumerSecret", "")
        if self.config.get("queryStringAuth"):
            return {"params": {"consumer_key": key, "consumer_secret": secret}}
        return {"auth": (key, secret)}

    def _call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None):
        auth = self._auth()
        merged = {**(params or {}), **auth.pop("params", {})}
        response = self.http.request(method, f"{API_PREFIX}{path}", params=merged or None, json=body,
                                     headers={"Accept": "application/json"}, rate_key=self.name, **auth)
        return response, json.loads(response.content or b"null")

    # --- reading -------------------------------------------------------------------------------
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None) -> Iterator[dict]:
        params: dict[str, Any] = {"per_page": PER_PAGE, "orderby": "id", "order": "asc", "dates_are_gmt": "true"}
        if since:
            params["modified_after"] = since.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        if until:
            params["modified_before"] = until.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        if status in STATUS_FILTER:
            params["status"] = STATUS_FILTER[status]
        elif status:
            params["status"] = status  # a raw Woo status passes through

        def fetch_page(page: int | None):
            page = page or 1
            response, items = self._call("GET", "/orders", params={**params, "page": page})
            items = items or []
            total_pages = response.headers.get("X-WP-TotalPages")
            if total_pages is not None:
                more = page < int(total_pages)
            else:  # header stripped by a proxy: a short page is the last one
                more = len(items) == PER_PAGE
            return items, (page + 1 if more and items else None)

        for raw in iter_pages(fetch_page, 1):
            if status in ("shipped", "delivered") and common_status(raw).value != status:
                continue
            yield raw

    def fetch_order(self, channel_order_id: str) -> dict:
        return self._call("GET", f"/orders/{channel_order_id}")[1]

    def _existing_webhooks(self, callback_url: str) -> list[dict]:
        """Our webhooks among all the store's (other plugins have theirs): every page is read."""
        def fetch_page(page: int | None):
            page = page or 1
            response, hooks = self._call("GET", "/webhooks", params={"per_page": PER_PAGE, "page": page})
            total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
            return hooks or [], (page + 1 if page < total_pages and hooks else None)

        return [hook for hook in iter_pages(fetch_page, 1) if hook.get("delivery_url") == callback_url]

    normalize = staticmethod(normalize)
