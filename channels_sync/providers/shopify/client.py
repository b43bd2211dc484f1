"""Shopify Admin REST API: the Provider class, its auth header, paging and the shared rate bucket.

Why REST and not GraphQL: the fixtures, the webhook bodies and the writeback flow of the issue are
the REST shapes; REST is "legacy" since 2024-10 but still served for every stable version.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from channels_sync.normalized import CommonStatus
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.http import ChannelHttpClient, iter_pages
from channels_sync.providers.shopify.normalize import common_status, normalize
from channels_sync.providers.shopify.webhooks import WebhooksMixin
from channels_sync.providers.shopify.writeback import WritebackMixin

DEFAULT_API_VERSION = "2024-10"
PAGE_LIMIT = 250  # Shopify's maximum for orders.json


# Shopify counts a call when it arrives, our bucket when it is reserved; between the two lie scheduling and the
# network, so a full bucket on our side could be one call over on Shopify's (measured by bench/chaos/
# writeback_outage.py: one 429 per run). A second's worth of calls of headroom absorbs that.
BUCKET_HEADROOM_SECONDS = 1.0


def shared_limiter(config: dict, name: str):
    """Shopify's REST bucket (40 calls, leaking 2/s per app and store) shared by every worker, kept a second's
    worth of calls below Shopify's size (38 of 40).

    Plus stores have 400 / 20 per s: set `rateLimitBurst` / `rateLimitPerSecond` in the config.
    A 429 (another app on the same store, a smaller plan) is still waited out by the client.
    """
    from channels_sync.providers.ratelimit import BucketSpec, TokenBucketLimiter

    rate = float(config.get("rateLimitPerSecond") or 2.0)
    size = int(config.get("rateLimitBurst") or 40)
    spec = BucketSpec(rate=rate, burst=max(1, size - math.ceil(rate * BUCKET_HEADROOM_SECONDS)))
    return TokenBucketLimiter(f"{name}:{config.get('shopDomain', '')}", {name: spec})


class Provider(WebhooksMixin, WritebackMixin, ChannelProvider):
    name = "shopify"

    label = "Shopify"
    webhook_path = "/upstream/webhooks/shopify/orders"

    default_poll_minutes = 15

    required_config = ("shopDomain", "accessToken")

    secret_config = ("accessToken",)

    webhook_identity_header = "X-Shopify-Shop-Domain"

    identity_config_key = "shopDomain"

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None):
        self.config = dict(config or {})
        if http is None:
            http = ChannelHttpClient(self.base_url, rate_limiter=shared_limiter(self.config, self.name))
        super().__init__(config, webhook_secret=webhook_secret, channel_id=channel_id, http=http)

    @property
    def base_url(self) -> str:
        explicit = self.config.get("baseUrl")
        if explicit:
            return explicit.rstrip("/")
        return f"https://{self.config.get('shopDomain', '').strip().rstrip('/')}"

    @property
    def api_version(self) -> str:
        return self.config.get("apiVersion") or DEFAULT_API_VERSION

    def _path(self, resource: str) -> str:
        return f"/admin/api/{self.api_version}/{resource}"

    def _headers(self) -> dict[str, str]:
        return {"X-Shopify-Access-Token": self.config.get("accessToken", ""), "Accept": "application/json"}

    def _get(self, path_or_url: str, params: dict | None = None):
        response = self.http.request("GET", path_or_url, params=params, headers=self._headers(), rate_key=self.name)
        return response, json.loads(response.content or b"{}")

    def _post(self, path: str, body: dict):
        response = self.http.request("POST", path, json=body, headers=self._headers(), rate_key=self.name)
        return response, json.loads(response.content or b"{}")

    def reported_identities(self) -> list[str]:
        """GET shop.json with this access token: the shop's `myshopify_domain` (what webhooks name it by)."""
        _, body = self._get(self._path("shop.json"))
        shop = body.get("shop") if isinstance(body, dict) else None
        domain = shop.get("myshopify_domain") if isinstance(shop, dict) else None
        return [str(domain)] if domain else []

    # --- reading -------------------------------------------------------------------------------
    @staticmethod
    def _status_params(status: str | None) -> dict[str, str]:
        """Narrow the query where Shopify's filters can; the exact match is done after normalizing."""
        return {
            "pending": {"financial_status": "unpaid"},
            "processing": {"financial_status": "paid", "fulfillment_status": "unshipped"},
            "shipped": {"fulfillment_status": "shipped"},
            "delivered": {"fulfillment_status": "shipped"},
            "cancelled": {"status": "cancelled"},
            "refunded": {"financial_status": "refunded"},
        }.get(status or "", {})

    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None) -> Iterator[dict]:
        params: dict[str, Any] = {"status": "any", "limit": PAGE_LIMIT}
        if since:
            params["updated_at_min"] = since.astimezone(UTC).isoformat()
        if until:
            params["updated_at_max"] = until.astimezone(UTC).isoformat()
        params.update(self._status_params(status))

        def fetch_page(next_url: str | None):
            # With page_info only limit/fields may be sent: the next link already carries both.
            response, data = self._get(next_url) if next_url else self._get(self._path("orders.json"), params)
            return data.get("orders") or [], (response.links.get("next") or {}).get("url")

        for raw in iter_pages(fetch_page):
            if status in CommonStatus._value2member_map_ and common_status(raw) != status:
                continue
            yield raw

    def fetch_order(self, channel_order_id: str) -> dict:
        _, data = self._get(self._path(f"orders/{channel_order_id}.json"))
        return data["order"]

    normalize = staticmethod(normalize)
