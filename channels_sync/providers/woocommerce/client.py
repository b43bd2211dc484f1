"""WooCommerce REST API v3 (`/wp-json/wc/v3`): the Provider class, auth, order and webhook paging.

The store's own URL is the channel's `baseUrl` (there is no central host), and it is also the
identity WooCommerce puts in `X-WC-Webhook-Source`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.http import ChannelHttpClient, iter_pages
from channels_sync.providers.woocommerce.normalize import common_status, normalize
from channels_sync.providers.woocommerce.webhooks import WebhooksMixin
from channels_sync.providers.woocommerce.writeback import WritebackMixin

API_PREFIX = "/wp-json/wc/v3"
PER_PAGE = 100  # WordPress REST caps per_page at 100


def _gmt(moment: datetime) -> str:
    """A `dates_are_gmt` bound: UTC, to the second, without an offset."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _second_before(date_modified_gmt: str) -> str | None:
    try:
        moment = datetime.fromisoformat(str(date_modified_gmt).replace("Z", ""))
    except ValueError:
        return None
    return (moment.replace(tzinfo=None, microsecond=0) - timedelta(seconds=1)).isoformat(timespec="seconds")


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

    def _call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
              prefix: str = API_PREFIX):
        auth = self._auth()
        merged = {**(params or {}), **auth.pop("params", {})}
        response = self.http.request(method, f"{prefix}{path}", params=merged or None, json=body,
                                     headers={"Accept": "application/json"}, rate_key=self.name, **auth)
        return response, json.loads(response.content or b"null")

    # --- reading -------------------------------------------------------------------------------
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None) -> Iterator[dict]:
        """Every order modified in (since, until), oldest modification first, each version once.

        Page numbers over a window that orders leave when they change (their modification jumps past `until`)
        would shift every later order one place up and skip one for good. So after each full page the window
        restarts from the last modification read (one second earlier: WordPress compares whole seconds,
        exclusively), and what was already read with that same modification is dropped; only a page whose
        orders all share one second steps to the next page number of the same window.
        """
        params: dict[str, Any] = {"per_page": PER_PAGE, "orderby": "modified", "order": "asc", "dates_are_gmt": "true"}
        if until:
            params["modified_before"] = _gmt(until)
        if status in STATUS_FILTER:
            params["status"] = STATUS_FILTER[status]
        elif status:
            params["status"] = status  # a raw Woo status passes through
        after, page = (_gmt(since) if since else None), 1
        read: dict[Any, str] = {}   # order id -> date_modified_gmt already yielded
        while True:
            query = {**params, "page": page, **({"modified_after": after} if after else {})}
            response, items = self._call("GET", "/orders", params=query)
            items = items or []
            fresh = [raw for raw in items
                     if raw.get("id") not in read or read[raw.get("id")] != raw.get("date_modified_gmt")]
            for raw in fresh:
                read[raw.get("id")] = raw.get("date_modified_gmt")
                if status in ("shipped", "delivered") and common_status(raw).value != status:
                    continue
                yield raw
            total_pages = response.headers.get("X-WP-TotalPages")
            more = page < int(total_pages) if total_pages is not None else len(items) == PER_PAGE
            if not items or not more:
                return
            last = items[-1].get("date_modified_gmt")
            restart = _second_before(last) if last else None
            if fresh and restart and (after is None or restart > after):
                after, page = restart, 1     # the cursor moves past what was read
            else:
                page += 1                    # a full page within one second: the next page of the same window

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
