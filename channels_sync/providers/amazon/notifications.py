"""SP-API notifications as a relay POSTs them: unwrap the relay's envelope, find the order part. Pure."""

from __future__ import annotations

import json


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
