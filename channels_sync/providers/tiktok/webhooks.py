"""TikTok Shop webhooks: the Authorization signature and its signed timestamp's window, shop id identity,
notification id and type, registration."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from channels_sync.conf import tiktok_webhook_window_seconds
from channels_sync.normalized import WebhookEvent, WebhookRequest
from channels_sync.providers.errors import WebhookRejected
from channels_sync.providers.tiktok.normalize import API_VERSION
from core.freshness import within_window

WEBHOOKS_PATH = f"/event/{API_VERSION}/webhooks"
WEBHOOK_TYPES = {
    1: "ORDER_STATUS_CHANGE", 2: "REVERSE_STATUS_UPDATE", 3: "RECIPIENT_ADDRESS_UPDATE", 4: "PACKAGE_UPDATE",
    5: "PRODUCT_STATUS_CHANGE", 6: "SELLER_DEAUTHORIZATION", 7: "UPCOMING_AUTHORIZATION_EXPIRATION",
    11: "CANCELLATION_STATUS_CHANGE", 12: "RETURN_STATUS_CHANGE",
}


# Notification types whose `data.order_id` names an order whose detail may have changed.
ORDER_WEBHOOK_TYPES = {1, 2, 3, 4, 11, 12}


def webhook_signature(app_key: str, app_secret: str, body: bytes) -> str:
    """The `Authorization` header TikTok puts on a push: hex HMAC-SHA256(app_secret, app_key + raw body)."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


class WebhooksMixin:
    """Provider's webhook half (registration uses the client's signed `call`)."""

    webhook_secret_headers = ("Authorization",)  # TikTok signs a push in its Authorization header

    # --- webhooks --------------------------------------------------------------------------------
    @classmethod
    def webhook_identity(cls, request: WebhookRequest) -> str | None:
        try:
            shop_id = json.loads(request.body).get("shop_id")
        except (ValueError, AttributeError):
            return None
        return str(shop_id) if shop_id not in (None, "") else None

    def verify_webhook(self, request: WebhookRequest) -> None:
        received = (request.header("Authorization") or "").strip()
        app_key, app_secret = self.config.get("appKey"), self.config.get("appSecret")
        if not received or not app_key or not app_secret:
            raise WebhookRejected("missing TikTok signature or app credentials")
        expected = webhook_signature(app_key, app_secret, request.body)
        if not hmac.compare_digest(expected.encode(), received.lower().encode()):
            raise WebhookRejected("TikTok signature mismatch")
        self._require_fresh(request.body)

    def _require_fresh(self, body: bytes) -> None:
        """The push's `timestamp` (Unix seconds, inside the signed body) must be within the window of now
        (issue 15, item 10): the signature covers the body only, so without it a captured push replays for
        ever. Read after the signature check, so only TikTok's own bytes are parsed here."""
        try:
            stamp = json.loads(body).get("timestamp")
        except (ValueError, AttributeError, RecursionError) as exc:
            raise WebhookRejected("TikTok push is not a JSON object") from exc
        if isinstance(stamp, bool) or not isinstance(stamp, int | float | str):
            raise WebhookRejected("TikTok push has no timestamp")
        try:
            sent_at = datetime.fromtimestamp(float(stamp), tz=UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise WebhookRejected("TikTok push timestamp is unreadable") from exc
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        if not within_window(sent_at, seconds=tiktok_webhook_window_seconds(), now=now):
            raise WebhookRejected("stale: the TikTok push timestamp is outside the replay window")

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        payload = json.loads(request.body)
        type_code = int(payload.get("type") or 0)
        # tts_notification_id is the documented dedupe key; older pushes lack it, so a redelivery of
        # the same bytes is recognised by their digest instead.
        delivery_id = str(payload.get("tts_notification_id") or "") or (
            "sha256:" + hashlib.sha256(request.body).hexdigest())
        data = payload.get("data") or {}
        refs = [str(data["order_id"])] if type_code in ORDER_WEBHOOK_TYPES and data.get("order_id") else []
        return WebhookEvent(delivery_id=delivery_id, topic=WEBHOOK_TYPES.get(type_code, f"TYPE_{type_code}"),
                            order_refs=refs)

    def register_webhooks(self, callback_url: str) -> list[dict]:
        body = {"event_type": "ORDER_STATUS_CHANGE", "address": callback_url}
        self.call("PUT", WEBHOOKS_PATH, body=body)
        return [body]

    def unregister_webhooks(self, callback_url: str) -> None:
        self.call("DELETE", WEBHOOKS_PATH, body={"event_type": "ORDER_STATUS_CHANGE"})
