"""SP-API notifications as a relay POSTs them: unwrap the relay's envelope, find the order part (pure
helpers); the relay secret check, delivery id/topic and the ORDER_CHANGE subscription.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from channels_sync.normalized import WebhookEvent, WebhookRequest
from channels_sync.providers.errors import PermanentChannelError, WebhookRejected

DEFAULT_RELAY_SECRET_HEADER = "X-Relay-Secret"
ORDER_CHANGE_TYPES = ["OrderStatusChange", "BuyerRequestedChange"]


def unwrap_notifications(body: bytes) -> list[dict]:
    """The SP-API notifications in a relay's POST: the notification itself, or wrapped by the relay
    as an SQS record (`body`/`Body`), a Lambda SQS event (`Records`), an SNS message (`Message`),
    an EventBridge event (`detail`), or a list of any of these."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("notification body is not JSON") from None
    found: list[dict] = []

    def walk(node, depth: int = 0) -> None:
        if depth > 4:
            raise ValueError("notification wrapped too deeply")
        if isinstance(node, list):
            for element in node:
                walk(element, depth + 1)
            return
        if not isinstance(node, dict):
            raise ValueError("not an SP-API notification")
        if "NotificationType" in node and "Payload" in node:
            found.append(node)
            return
        for key in ("Records", "detail", "Message", "body", "Body"):
            if key in node:
                inner = node[key]
                if isinstance(inner, str):
                    try:
                        inner = json.loads(inner)
                    except ValueError:
                        raise ValueError(f"{key} is not JSON") from None
                walk(inner, depth + 1)
                return
        raise ValueError("not an SP-API notification")

    walk(document)
    if not found:
        raise ValueError("no notification in the body")
    return found


def order_notification(notification: dict) -> dict:
    """The order part of ORDER_CHANGE (or the retired ORDER_STATUS_CHANGE) notification payload."""
    payload = notification.get("Payload") or {}
    return payload.get("OrderChangeNotification") or payload.get("OrderStatusChangeNotification") or {}


class WebhooksMixin:
    """Provider's notification half (registration uses the client's `_call`)."""

    webhook_secret_headers = (DEFAULT_RELAY_SECRET_HEADER,)

    def webhook_secret_header_names(self) -> set[str]:
        """The relay's secret header, wherever this channel's relay puts it."""
        names = super().webhook_secret_header_names()
        if self.config.get("relaySecretHeader"):
            names.add(str(self.config["relaySecretHeader"]).lower())
        return names

    # --- notifications -----------------------------------------------------------------------
    @classmethod
    def webhook_identity(cls, request: WebhookRequest) -> str | None:
        """The seller id inside the notification (the relay adds no account header)."""
        try:
            notifications = unwrap_notifications(request.body)
        except ValueError:
            return None
        sellers = {order_notification(n).get("SellerId") for n in notifications}
        return sellers.pop() if len(sellers) == 1 else None

    def verify_webhook(self, request: WebhookRequest) -> None:
        """SQS messages carry no signature from Amazon; what reaches us is the relay's POST, so the
        relay's shared secret is what can be verified. Anything without it is refused."""
        if not self.webhook_secret:
            raise WebhookRejected("no relay secret configured for this Amazon channel")
        header = self.config.get("relaySecretHeader") or DEFAULT_RELAY_SECRET_HEADER
        supplied = request.header(header) or ""
        if not hmac.compare_digest(supplied.encode(), self.webhook_secret.encode()):
            raise WebhookRejected(f"missing or wrong {header}")
        try:
            notifications = unwrap_notifications(request.body)
        except ValueError as exc:
            raise WebhookRejected(str(exc)) from None
        seller = self.config.get("sellerId")
        for notification in notifications:
            if seller and order_notification(notification).get("SellerId") != seller:
                raise WebhookRejected("notification is for another seller")

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        notifications = unwrap_notifications(request.body)
        refs: list[str] = []
        for notification in notifications:
            order_id = order_notification(notification).get("AmazonOrderId")
            if order_id and order_id not in refs:
                refs.append(order_id)
        ids = sorted(str((n.get("NotificationMetadata") or {}).get("NotificationId") or "") for n in notifications)
        if len(ids) == 1 and ids[0]:
            delivery_id = ids[0]
        else:  # a relay batch (or ids missing): stable over the same content, so a replay dedupes
            delivery_id = "sha256:" + hashlib.sha256("|".join(ids).encode() if any(ids) else request.body).hexdigest()
        topic = notifications[0].get("NotificationType", "") if notifications else ""
        return WebhookEvent(delivery_id=delivery_id, topic=topic, order_refs=refs)

    def register_webhooks(self, callback_url: str) -> list[dict]:
        """Subscribe the seller to ORDER_CHANGE on the app's SQS destination (`notificationDestinationId`).

        Amazon delivers only to SQS; the relay that forwards the queue to `callback_url` is set up
        once per application, so without a destination id there is nothing to register."""
        destination_id = self.config.get("notificationDestinationId")
        if not destination_id:
            return []
        body = {
            "payloadVersion": "1.0",
            "destinationId": destination_id,
            "processingDirective": {"eventFilter": {"eventFilterType": "ORDER_CHANGE",
                                                    "orderChangeTypes": ORDER_CHANGE_TYPES}},
        }
        try:
            response = self._call("POST", "/notifications/v1/subscriptions/ORDER_CHANGE",
                                  rate_key="createSubscription", json=body)
        except PermanentChannelError as exc:
            if exc.status_code == 409:  # already subscribed: the existing subscription stands
                return [{"notificationType": "ORDER_CHANGE", "destinationId": destination_id, "existing": True}]
            raise
        payload = (response.json() or {}).get("payload") or {}
        return [{"notificationType": "ORDER_CHANGE", "destinationId": destination_id,
                 "subscriptionId": payload.get("subscriptionId")}]
