"""Shopify webhooks: HMAC verification, delivery id and topic from headers, the order topics registered through
GraphQL `webhookSubscriptionCreate`, and the three mandatory compliance topics (customers/data_request,
customers/redact, shop/redact), which arrive on the same receiver and are handed to the compliance service."""

from __future__ import annotations

import json

import channels_sync.providers.shopify.queries as queries
from channels_sync.normalized import WebhookEvent, WebhookRequest
from channels_sync.providers.base import verify_base64_hmac_sha256
from channels_sync.providers.errors import PermanentChannelError

ORDER_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
                "orders/partially_fulfilled")
# Set in the app's configuration (shopify.app.toml `compliance_topics`, or the Dev Dashboard), not through the API.
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


def topic_enum(topic: str) -> str:
    """"orders/partially_fulfilled" -> "ORDERS_PARTIALLY_FULFILLED" (WebhookSubscriptionTopic)."""
    return topic.replace("/", "_").upper()


def compliance_request(topic: str, body: dict) -> dict:
    """What a compliance delivery asks, in our words: the kind, the shop, the customer and the orders named."""
    customer = body.get("customer") or {}
    orders = body.get("orders_to_redact") or body.get("orders_requested") or []
    return {
        "kind": {"customers/data_request": "data_request", "customers/redact": "customer_redact",
                 "shop/redact": "shop_redact"}[topic],
        "shop_domain": body.get("shop_domain") or "", "shop_id": str(body.get("shop_id") or ""),
        "customer_id": str(customer["id"]) if customer.get("id") is not None else "",
        "customer_email": customer.get("email") or "", "customer_phone": customer.get("phone") or "",
        "order_ids": [str(order_id) for order_id in orders],
        "data_request_id": str((body.get("data_request") or {}).get("id") or ""),
    }


class WebhooksMixin:
    """Provider's webhook half (uses the client's `graphql`)."""

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
        if topic in COMPLIANCE_TOPICS:
            return WebhookEvent(delivery_id=delivery_id, topic=topic, compliance=compliance_request(topic, body))
        # orders/delete carries only {"id": ...}: nothing to ingest (the order is gone on Shopify's side).
        if not topic.startswith("orders/") or topic == "orders/delete" or "line_items" not in body:
            return WebhookEvent(delivery_id=delivery_id, topic=topic)
        return WebhookEvent(delivery_id=delivery_id, topic=topic, orders=[body])

    def _subscriptions(self) -> list[dict]:
        found, after = [], None
        while True:
            data = self.graphql(queries.WEBHOOK_SUBSCRIPTIONS, {"first": 100, "after": after})
            connection = data.get("webhookSubscriptions") or {}
            found.extend(connection.get("nodes") or [])
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return found
            after = page.get("endCursor")

    def register_webhooks(self, callback_url: str) -> list[dict]:
        """One subscription per order topic, skipping the ones this address already has (idempotent)."""
        have = {hook.get("topic"): hook for hook in self._subscriptions() if hook.get("uri") == callback_url}
        registered = []
        for topic in ORDER_TOPICS:
            hook = have.get(topic_enum(topic))
            if hook is None:
                payload = self.graphql(queries.WEBHOOK_SUBSCRIPTION_CREATE, {
                    "topic": topic_enum(topic), "webhookSubscription": {"uri": callback_url, "format": "JSON"},
                }).get("webhookSubscriptionCreate") or {}
                if payload.get("userErrors"):
                    raise PermanentChannelError(f"Shopify refused the {topic} subscription: {payload['userErrors']}",
                                                status_code=422)
                hook = payload.get("webhookSubscription") or {}
            registered.append({"id": str(hook.get("id")), "topic": topic, "address": callback_url})
        return registered

    def unregister_webhooks(self, callback_url: str) -> None:
        for hook in self._subscriptions():
            if hook.get("uri") == callback_url:
                self.graphql(queries.WEBHOOK_SUBSCRIPTION_DELETE, {"id": hook["id"]})
