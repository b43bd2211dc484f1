"""WooCommerce webhooks: the unsigned save-time ping, HMAC verification, delivery id/topic, registration."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

from channels_sync.normalized import WebhookEvent, WebhookRequest
from channels_sync.providers.base import verify_base64_hmac_sha256

ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
PING_BODY = re.compile(rb"^webhook_id=\d+$")


class WebhooksMixin:
    """Provider's webhook half (uses the client's `_call` and `_existing_webhooks`)."""

    webhook_secret_headers = ("X-WC-Webhook-Signature",)

    # --- webhooks ------------------------------------------------------------------------------
    @staticmethod
    def is_ping(request: WebhookRequest) -> bool:
        """WooCommerce's reachability test on webhook save: form body `webhook_id=N`, no signature."""
        return bool(PING_BODY.match(request.body.strip())) and not request.header("X-WC-Webhook-Signature")

    def webhook_body_readable(self, request: WebhookRequest) -> bool:
        return self.is_ping(request) or super().webhook_body_readable(request)

    def webhook_challenge(self, request: WebhookRequest) -> dict | None:
        """Answer the ping 200 with nothing stored (a failed ping makes Woo re-ping on every delivery)."""
        if self.is_ping(request):
            return {"ok": True, "webhookId": parse_qs(request.body.decode())["webhook_id"][0]}
        return None

    def webhook_ping(self, request: WebhookRequest) -> dict | None:
        """The POSTed ping is answered like the challenge and not stored (it carries no data)."""
        return self.webhook_challenge(request)

    def verify_webhook(self, request: WebhookRequest) -> None:
        """X-WC-Webhook-Signature = base64(HMAC-SHA256(webhook secret, raw body)), constant-time compare.

        The unsigned creation ping (`webhook_id=N` and nothing else) passes: it carries no data, and a
        refused ping leaves the webhook "pending delivery", so WooCommerce re-pings on every delivery.
        """
        if self.is_ping(request):
            return
        verify_base64_hmac_sha256(request, header="X-WC-Webhook-Signature", secret=self.webhook_secret)

    def webhook_delivery_identity(self, request: WebhookRequest) -> tuple[str, str] | None:
        if self.is_ping(request):
            return None  # its id is in the form body
        # No id header: the receiver hashes the body.
        return request.header("X-WC-Webhook-Delivery-ID") or "", request.header("X-WC-Webhook-Topic") or ""

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        if self.is_ping(request):
            webhook_id = parse_qs(request.body.decode())["webhook_id"][0]
            return WebhookEvent(delivery_id=f"ping-{webhook_id}", topic="ping")
        delivery_id, topic = self.webhook_delivery_identity(request)
        body = json.loads(request.body) if request.body else {}
        if not topic.startswith("order.") or not isinstance(body, dict) or "id" not in body:
            return WebhookEvent(delivery_id=delivery_id, topic=topic)
        if "line_items" not in body:  # order.deleted carries only {"id": N}: fetch it (trashed -> cancelled)
            return WebhookEvent(delivery_id=delivery_id, topic=topic, order_refs=[str(body["id"])])
        return WebhookEvent(delivery_id=delivery_id, topic=topic, orders=[body])

    def register_webhooks(self, callback_url: str) -> list[dict]:
        """One webhook per order topic with our secret, skipping topics this URL already has."""
        have = {hook.get("topic"): hook for hook in self._existing_webhooks(callback_url)}
        registered = []
        for topic in ORDER_TOPICS:
            hook = have.get(topic)
            if hook is None:
                _, hook = self._call("POST", "/webhooks", body={
                    "name": f"Order hub {topic}", "topic": topic, "delivery_url": callback_url,
                    "secret": self.webhook_secret or "", "status": "active"})
            registered.append({"id": str(hook["id"]), "topic": topic, "address": callback_url})
        return registered

    def unregister_webhooks(self, callback_url: str) -> None:
        for hook in self._existing_webhooks(callback_url):
            self._call("DELETE", f"/webhooks/{hook['id']}", params={"force": "true"})
