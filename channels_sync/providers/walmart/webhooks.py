"""Walmart order notifications (Notifications API v3): subscription with HMAC auth, verification, event id and type.

Walmart pushes order events to a subscribed URL: ORDER_UPDATES (V1, resource ORDER; sub-events PO_CREATED,
PO_LINE_AUTOCANCELLED, INTENT_TO_CANCEL, FRAUD_CANCEL), which replaces the standalone PO_CREATED /
PO_LINE_AUTOCANCELLED / INTENT_TO_CANCEL events (deprecated 15 December 2026; still read here, for subscriptions a
seller made in Seller Center). A notification only names the purchase order: the worker reads it with GET
/v3/orders/{purchaseOrderId}, and polling stays the backstop for anything missed.

Proof: with authMethod HMAC, Walmart sends `authHeaderName: HMAC-SHA256(clientSecret, whole body)`; the
clientSecret is the channel's webhook secret, given to Walmart when subscribing (never the API client secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from channels_sync.normalized import WebhookEvent, WebhookRequest
from channels_sync.providers.errors import ChannelError, WebhookRejected

SUBSCRIPTIONS_PATH = "/v3/webhooks/subscriptions"
# The header Walmart is told to put its HMAC in (authDetails.authHeaderName): hyphens only, since proxies and
# WSGI servers drop header names with underscores.
SIGNATURE_HEADER = "WM-SEC-SIGNATURE"
SUBSCRIBED_EVENT = {"eventType": "ORDER_UPDATES", "eventVersion": "V1", "resourceName": "ORDER"}
# Topics whose purchase order may have changed (ORDER_UPDATES sub-events and the legacy standalone events).
ORDER_TOPICS = {"PO_CREATED", "PO_LINE_AUTOCANCELLED", "INTENT_TO_CANCEL", "FRAUD_CANCEL", "ORDER_UPDATES"}


def webhook_signatures(secret: str, body: bytes) -> tuple[str, str]:
    """HMAC-SHA256(secret, body) as hex and as base64: Walmart's docs do not name the encoding, both are taken."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return digest.hex(), base64.b64encode(digest).decode()


def _event(payload: dict) -> tuple[str, str, str | None]:
    """(event id, topic, purchase order id) of a notification, legacy or ORDER_UPDATES."""
    source = payload.get("source") if isinstance(payload.get("source"), dict) else {}
    inner = payload.get("payload") if isinstance(payload.get("payload"), dict) else {}
    meta = inner.get("meta") if isinstance(inner.get("meta"), dict) else {}
    topic = str(inner.get("subEventType") or meta.get("subEventType") or source.get("eventType") or "")
    order = inner.get("order") if isinstance(inner.get("order"), dict) else inner
    purchase_order = order.get("purchaseOrderId") or inner.get("purchaseOrderId")
    return str(source.get("eventId") or ""), topic, str(purchase_order) if purchase_order else None


class WebhooksMixin:
    """Provider's webhook half (subscription uses the client's authenticated `call`)."""

    webhook_secret_headers = (SIGNATURE_HEADER,)

    def verify_webhook(self, request: WebhookRequest) -> None:
        received = (request.header(SIGNATURE_HEADER) or "").strip()
        if not received:
            raise WebhookRejected(f"missing {SIGNATURE_HEADER}")
        if not self.webhook_secret:
            raise WebhookRejected("channel has no webhook secret")
        hex_digest, b64_digest = webhook_signatures(self.webhook_secret, request.body)
        as_hex = hmac.compare_digest(hex_digest.encode(), received.lower().encode())
        as_b64 = hmac.compare_digest(b64_digest.encode(), received.encode())
        if not (as_hex or as_b64):
            raise WebhookRejected(f"bad {SIGNATURE_HEADER}")

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        payload = json.loads(request.body)
        if not isinstance(payload, dict):
            payload = {}
        event_id, topic, purchase_order = _event(payload)
        # eventId is Walmart's idempotency key; without one, a redelivery of the same bytes has the same digest.
        delivery_id = event_id or "sha256:" + hashlib.sha256(request.body).hexdigest()
        refs = [purchase_order] if purchase_order and topic in ORDER_TOPICS else []
        return WebhookEvent(delivery_id=delivery_id, topic=topic or "UNKNOWN", order_refs=refs)

    def register_webhooks(self, callback_url: str) -> list[dict]:
        """Subscribe ORDER_UPDATES at our URL with HMAC auth keyed by the channel's webhook secret. Without a
        webhook secret nothing is subscribed: the channel is polled only."""
        if not self.webhook_secret:
            return []
        body = {"events": [{**SUBSCRIBED_EVENT, "eventUrl": callback_url, "status": "ACTIVE",
                            "headers": {"content-type": "application/json"},
                            "authDetails": {"authMethod": "HMAC", "authHeaderName": SIGNATURE_HEADER,
                                            "clientSecret": self.webhook_secret}}]}
        answer = self.call("POST", SUBSCRIPTIONS_PATH, json_body=body) or {}
        return [{key: event.get(key) for key in ("eventType", "eventVersion", "resourceName", "subscriptionId",
                                                 "status")}
                for event in answer.get("events") or [] if isinstance(event, dict)] or [
            {**SUBSCRIBED_EVENT, "eventUrl": callback_url}]

    def unregister_webhooks(self, callback_url: str) -> None:
        """Delete the subscriptions that deliver to our URL (others the seller made are left alone)."""
        listing = self.call("GET", SUBSCRIPTIONS_PATH) or {}
        for event in listing.get("events") or []:
            if isinstance(event, dict) and event.get("eventUrl") == callback_url and event.get("subscriptionId"):
                try:
                    self.call("DELETE", f"{SUBSCRIPTIONS_PATH}/{event['subscriptionId']}")
                except ChannelError:
                    continue   # best effort: a delivery still arriving is refused once the channel is disabled
