"""A small channel used by the core's tests, so they do not depend on any real provider's module.

Wire format (deliberately simple, Shopify-like): orders at GET /orders.json?updated_min=&status=&page=,
`{"orders": [...], "next_page": n|null}`; webhook body is one order, signed with base64 HMAC-SHA256 in
`X-Fake-Hmac`, delivery id in `X-Fake-Delivery`, shop in `X-Fake-Shop`; writeback POSTs
/orders/<id>/fulfillments.json.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from decimal import Decimal

from channels_sync.normalized import (
    Address,
    AggregatedOrderData,
    CommonStatus,
    OrderLineData,
    WebhookEvent,
    WebhookRequest,
    WritebackRequest,
    WritebackResult,
)
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.errors import WebhookRejected
from channels_sync.providers.http import iter_pages

BASE_URL = "https://fake.example"
STATUS_MAP = {"open": CommonStatus.PENDING, "paid": CommonStatus.PROCESSING, "fulfilled": CommonStatus.SHIPPED,
              "cancelled": CommonStatus.CANCELLED}


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def raw_order(order_id, *, updated="2026-01-01T10:00:00Z", status="paid", total="10.00", currency="USD",
              created="2026-01-01T09:00:00Z", tracking=None) -> dict:
    return {"id": order_id, "status": status, "total": total, "currency": currency, "created_at": created,
            "updated_at": updated, "email": f"buyer{order_id}@example.com", "name": "Ann Buyer",
            "tracking": tracking, "gift": True,
            "lines": [{"id": f"L{order_id}", "sku": "SKU-1", "variant_id": 77, "qty": 2, "price": "5.00"}]}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Provider(ChannelProvider):
    name = "fakeshop"
    label = "Fake shop"
    default_base_url = BASE_URL
    default_poll_minutes = 15
    required_config = ("shopDomain", "accessToken")
    secret_config = ("accessToken",)
    webhook_identity_header = "X-Fake-Shop"
    identity_config_key = "shopDomain"

    def fetch_orders(self, since, until, status=None):
        def page(cursor):
            params = {"page": cursor or 1}
            if since:
                params["updated_min"] = since.isoformat()
            if until:
                params["updated_max"] = until.isoformat()
            if status:
                params["status"] = status
            body = self.http.get_json("/orders.json", params=params,
                                      headers={"X-Token": self.config.get("accessToken", "")})
            return body["orders"], body.get("next_page")

        return iter_pages(page)

    def fetch_order(self, channel_order_id):
        return self.http.get_json(f"/orders/{channel_order_id}.json")["order"]

    @staticmethod
    def normalize(raw: dict) -> AggregatedOrderData:
        lines = [OrderLineData(sku=li["sku"], channel_sku=str(li["variant_id"]), quantity=li["qty"],
                               unit_price=Decimal(li["price"]), channel_line_id=li["id"]) for li in raw["lines"]]
        total = Decimal(raw["total"])
        return AggregatedOrderData(
            channel_order_id=str(raw["id"]), status=STATUS_MAP[raw["status"]], raw_status=raw["status"],
            currency=raw["currency"], created_at=_time(raw["created_at"]), updated_at=_time(raw["updated_at"]),
            subtotal=total, tax=Decimal("0"), shipping=Decimal("0"), grand_total=total, lines=lines,
            customer_email=raw.get("email"), customer_name=raw.get("name"),
            shipping_address=Address(name=raw.get("name"), country="US"), tracking_number=raw.get("tracking"),
            channel_order_number=f"#{raw['id']}", channel_metadata={"gift": raw.get("gift")},
        )

    def verify_webhook(self, request: WebhookRequest) -> None:
        given = request.header("X-Fake-Hmac") or ""
        expected = sign(request.body, self.webhook_secret or "")
        if not self.webhook_secret or not hmac.compare_digest(given, expected):
            raise WebhookRejected("bad signature")

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        body = json.loads(request.body)
        delivery_id = request.header("X-Fake-Delivery") or ""
        if "ref" in body:
            return WebhookEvent(delivery_id=delivery_id, topic="orders/ref", order_refs=[str(body["ref"])])
        return WebhookEvent(delivery_id=delivery_id, topic="orders/updated", orders=[body])

    def register_webhooks(self, callback_url):
        created = self.http.post_json("/webhooks.json", {"address": callback_url, "topic": "orders/updated"})
        return [created]

    def write_back(self, request: WritebackRequest) -> WritebackResult:
        response = self.http.request("POST", f"/orders/{request.channel_order_id}/fulfillments.json",
                                     json={"status": request.status.value, "tracking": request.tracking_number,
                                           "carrier": request.carrier})
        return WritebackResult(channel_reference=str(response.json().get("id")), response_code=response.status_code,
                               request_summary=f"fulfillment for {request.channel_order_id}")
