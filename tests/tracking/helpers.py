"""Shared by the tracking and pages tests: documented EasyPost payloads, signing, shipped orders."""

from __future__ import annotations

import copy
import email.utils
import json
from datetime import UTC, datetime
from pathlib import Path

from orders import services
from orders.models import Shipment
from tests.orders.factories import checkout, stock
from tracking.carriers.easypost import signature_for

FIXTURES = Path(__file__).parent / "fixtures" / "easypost"
SECRET = "whsec-test-sécret"  # non-ASCII on purpose: EasyPost NFKD-normalizes the secret
API = "https://api.easypost.test/v2"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def delivered_event(*, tracking_code: str, event_id: str | None = None, at: datetime | None = None,
                    status: str | None = None) -> dict:
    """The documented tracker.updated event for `tracking_code`, stamped `at` (default now)."""
    event = copy.deepcopy(fixture("event_tracker_updated_delivered.json"))
    stamp = iso(at or datetime.now(UTC))
    event["created_at"] = event["updated_at"] = stamp
    if event_id:
        event["id"] = event_id
    event["result"]["tracking_code"] = tracking_code
    if status:  # cut the history back to the last detail with that status
        details = event["result"]["tracking_details"]
        last = max(i for i, d in enumerate(details) if d["status"] == status)
        event["result"]["tracking_details"] = details[: last + 1]
        event["result"]["status"] = status
    return event


def sign(body: bytes, *, secret: str = SECRET, timestamp: datetime | None = None) -> dict:
    headers = {"HTTP_X_HMAC_SIGNATURE": signature_for(body, secret)}
    if timestamp is not None:
        headers["HTTP_X_TIMESTAMP"] = email.utils.format_datetime(timestamp.astimezone(UTC))
    return headers


def post_webhook(client, event: dict, *, headers: dict | None = None, secret: str = SECRET):
    body = json.dumps(event).encode()
    return client.post("/shipping/webhooks/easypost", data=body, content_type="application/json",
                       **(headers if headers is not None else sign(body, secret=secret)))


def shipped_order(org, *, parcels: list[tuple[str, dict | None]] | None = None, lines: dict | None = None,
                  email: str = "buyer@example.com", carrier: str = "usps"):
    """An order through the storefront services, shipped in `parcels` [(tracking, items or None)]."""
    lines = lines or {"A": 1}
    from orders.models import InventoryItem

    stock(org, **{sku: 50 for sku in lines if not InventoryItem.objects.filter(org=org, sku=sku).exists()})
    order = checkout(org, lines, email=email)
    services.order_process(org=org, order_number=order.order_number)
    for tracking, items in parcels or [("EZ4000000004", None)]:
        order, _ = services.order_ship(org=org, order_number=order.order_number, carrier=carrier,
                                       tracking_number=tracking, items=items)
    order.refresh_from_db()
    return order, list(Shipment.objects.filter(order=order).order_by("pk"))
