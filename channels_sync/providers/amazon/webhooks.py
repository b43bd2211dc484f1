"""SP-API notifications, as a relay POSTs them or as the hub reads them from the app's SQS queue: unwrap the
relay's envelope, find the order part, check a notification's metadata (pure helpers); the relay secret check,
the queue's receive/delete calls (boto3), delivery id/topic and the ORDER_CHANGE subscription.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from channels_sync.normalized import WebhookEvent, WebhookRequest
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError, WebhookRejected

DEFAULT_RELAY_SECRET_HEADER = "X-Relay-Secret"
ORDER_CHANGE_TYPES = ["OrderStatusChange", "BuyerRequestedChange"]
SQS_MESSAGE_ID_HEADER = "X-Amz-Sqs-Message-Id"
# (NotificationType, NotificationVersion, PayloadVersion) the hub reads; ORDER_STATUS_CHANGE is retired but a
# queue may still hold one. schemas/notifications/OrderChangeNotification.json.
KNOWN_NOTIFICATIONS = {("ORDER_CHANGE", "1.0", "1.0"), ("ORDER_STATUS_CHANGE", "1.0", "1.0")}
SQS_MAX_MESSAGES = 10   # ReceiveMessage's maximum


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


def check_notification(notification: dict, *, seller_id: str | None, application_id: str | None = None) -> None:
    """WebhookRejected unless a queue message is an SP-API order notification this channel may take: a known
    NotificationType with the versions the hub reads, for this seller, and (when the channel names its app)
    published for that app. Amazon does not sign SQS notifications (unlike SNS), so this metadata is what
    can be checked; the queue itself is only readable with the app's AWS credentials."""
    kind = (notification.get("NotificationType"), str(notification.get("NotificationVersion") or ""),
            str(notification.get("PayloadVersion") or ""))
    if kind not in KNOWN_NOTIFICATIONS:
        raise WebhookRejected(f"not an order notification the hub reads: {kind}")
    order = order_notification(notification)
    if not order.get("AmazonOrderId"):
        raise WebhookRejected("notification names no order")
    if not seller_id or order.get("SellerId") != seller_id:
        raise WebhookRejected("notification is for another seller")
    metadata = notification.get("NotificationMetadata") or {}
    if application_id and metadata.get("ApplicationId") != application_id:
        raise WebhookRejected("notification was published for another application")
    if not metadata.get("NotificationId"):
        raise WebhookRejected("notification has no NotificationId")


def queue_key(config: dict) -> tuple | None:
    """What identifies one SQS queue and the credentials that read it; None when the channel names no queue."""
    url = (config.get("sqsQueueUrl") or "").strip()
    if not url:
        return None
    return (url, config.get("awsRegion") or "", config.get("awsAccessKeyId") or "", config.get("sqsEndpointUrl") or "")


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

    def verify_queue_message(self, request: WebhookRequest) -> None:
        """A message read from the app's SQS queue: one notification whose metadata is checked (no relay
        secret: the hub read it itself)."""
        try:
            notifications = unwrap_notifications(request.body)
        except ValueError as exc:
            raise WebhookRejected(str(exc)) from None
        if len(notifications) != 1:
            raise WebhookRejected("a queue message carries one notification")
        check_notification(notifications[0], seller_id=self.config.get("sellerId"),
                           application_id=self.config.get("applicationId"))

    # --- the app's SQS queue -----------------------------------------------------------------------
    def _sqs(self):
        import boto3  # only the queue consumer needs it

        return boto3.client(
            "sqs", region_name=self.config.get("awsRegion") or None,
            aws_access_key_id=self.config.get("awsAccessKeyId") or None,
            aws_secret_access_key=self.config.get("awsSecretAccessKey") or None,
            endpoint_url=self.config.get("sqsEndpointUrl") or None)

    def queue_receive(self, *, wait_seconds: int) -> list[tuple[str, WebhookRequest]]:
        """Up to ten messages from the queue (long polling `wait_seconds`), each as (receipt handle, the request
        the receiver would have built). A message stays on the queue until `queue_delete`."""
        from botocore.exceptions import BotoCoreError, ClientError

        url = self.config["sqsQueueUrl"]
        try:
            answer = self._sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=SQS_MAX_MESSAGES,
                                                 WaitTimeSeconds=max(0, min(int(wait_seconds), 20)),
                                                 MessageSystemAttributeNames=["ApproximateReceiveCount"])
        except (BotoCoreError, ClientError) as exc:
            raise RetryableChannelError(f"SQS ReceiveMessage on {url}: {exc}") from exc
        received = []
        for message in answer.get("Messages") or []:
            headers = {"Content-Type": "application/json", SQS_MESSAGE_ID_HEADER: message.get("MessageId", "")}
            received.append((message["ReceiptHandle"], WebhookRequest(
                headers=headers, body=(message.get("Body") or "").encode(), query={}, url=url)))
        return received

    def queue_delete(self, receipt_handle: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._sqs().delete_message(QueueUrl=self.config["sqsQueueUrl"], ReceiptHandle=receipt_handle)
        except (BotoCoreError, ClientError) as exc:   # the message comes back after its visibility timeout
            raise RetryableChannelError(f"SQS DeleteMessage: {exc}") from exc

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
