"""Shopify webhooks: HMAC verification, delivery id and topic from headers, one subscription per order topic."""

from __future__ import annotations

import json

from channels_sync.normalized import WebhookEvent, WebhookRequest
from channels_sync.providers.base import verify_base64_hmac_sha256

ORDER_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
                "orders/partially_fulfilled")


class WebhooksMixin:
    """Provider's webhook half (uses the client's `_get`, `_post`, `_path`)."""

    webhook_secret_headers = ("X-Shopify-Hmac-Sha256",)

    # --- webhooks ------------------------------------------------------------------------------
    def verify_webhook(self, request: WebhookRequest) -> None:
        """X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(secret, raw body)), compared in constant time."""
        verify_base64_hmac_sha256(request, header="X-Shopify-Hmac-Sha256", secret=self.webhook_secret)

    def webhook_delivery_identity(self, request: WebhookRequest) -> tuple[str, str] | None:
        # Without the id header the receiver dedupes on a hash of the body instead.
        delivery_id = request.header("X-Shopify-Webhook-Id") or request.header("X-Shopify-Event-Id") or ""
        return delivery_id, request.header("X-Shopify-Topic") or ""

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        delivery_id, topic = self.webhook_delivery_identity(request)
        body = json.loads(request.body) if request.body else {}
        # orders/delete carries only {"id": ...}: nothing to ingest (the order is gone on Shopify's side).
        if not topic.startswith("orders/") or topic == "orders/delete" or "line_items" not in body:
            return WebhookEvent(delivery_id=delivery_id, topic=topic)
        return WebhookEvent(delivery_id=delivery_id, topic=topic, orders=[body])

    def register_webhooks(self, callback_url: str) -> list[dict]:
        """One subscription per order topic, skipping the ones this address already has (idempotent)."""
        _, existing = self._get(self._path("webhooks.json"), {"address": callback_url, "limit": 250})
        have = {hook.get("topic"): hook for hook in existing.get("webhooks") or []
                if hook.get("address") == callback_url}
        registered = []
        for topic in ORDER_TOPICS:
            hook = have.get(topic)
            if hook is None:
                _, created = self._post(self._path("webhooks.json"),
                                        {"webhook": {"topic": topic, "address": callback_url, "format": "json"}})
                hook = created["webhook"]
            registered.append({"id": str(hook["id"]), "topic": topic, "address": callback_url})
        return registered

    def unregister_webhooks(self, callback_url: str) -> None:
        _, existing = self._get(self._path("webhooks.json"), {"address": callback_url, "limit": 250})
        for hook in existing.get("webhooks") or []:
            if hook.get("address") == callback_url:
                self.http.request("DELETE", self._path(f"webhooks/{hook['id']}.json"), headers=self._headers(),
                                  rate_key=self.name)
