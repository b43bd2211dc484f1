"""WooCommerce REST API v3 (`/wp-json/wc/v3`): orders, order notes, webhooks.

The store's own URL is the channel's `baseUrl` (there is no central host), and it is also the
identity WooCommerce puts in `X-WC-Webhook-Source`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs

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
from channels_sync.providers.base import ChannelProvider, verify_base64_hmac_sha256
from channels_sync.providers.http import ChannelHttpClient, iter_pages

API_PREFIX = "/wp-json/wc/v3"
PER_PAGE = 100  # WordPress REST caps per_page at 100
ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
PING_BODY = re.compile(rb"^webhook_id=\d+$")

STATUS_MAP = {
    "pending": CommonStatus.PENDING,          # awaiting payment
    "on-hold": CommonStatus.PENDING,          # awaiting payment confirmation (e.g. bank transfer)
    "checkout-draft": CommonStatus.PENDING,
    "auto-draft": CommonStatus.PENDING,
    "processing": CommonStatus.PROCESSING,    # paid, to be fulfilled
    "completed": CommonStatus.SHIPPED,        # fulfilled: what our `shipped` writeback sets
    "shipped": CommonStatus.SHIPPED,          # common custom status (shipment plugins)
    "delivered": CommonStatus.DELIVERED,      # common custom status (shipment plugins)
    "cancelled": CommonStatus.CANCELLED,
    "failed": CommonStatus.CANCELLED,         # payment failed or declined: will not be fulfilled
    "trash": CommonStatus.CANCELLED,
    "refunded": CommonStatus.REFUNDED,
}
# Common status -> the Woo statuses a `status` filter asks for, and what writeback sets.
STATUS_FILTER = {
    "pending": "pending,on-hold", "processing": "processing", "shipped": "completed", "delivered": "completed",
    "cancelled": "cancelled,failed", "refunded": "refunded",
}
WRITEBACK_STATUS = {
    CommonStatus.PENDING: "pending", CommonStatus.PROCESSING: "processing", CommonStatus.SHIPPED: "completed",
    CommonStatus.DELIVERED: "completed", CommonStatus.CANCELLED: "cancelled", CommonStatus.REFUNDED: "refunded",
}
METADATA_KEYS = ("number", "order_key", "created_via", "version", "parent_id", "customer_id", "customer_note",
                 "payment_method", "payment_method_title", "transaction_id", "discount_total", "discount_tax",
                 "shipping_tax", "cart_tax", "prices_include_tax", "date_paid_gmt", "date_completed_gmt",
                 "date_created", "date_modified", "billing", "fee_lines", "coupon_lines", "tax_lines")
CARRIER_NAMES = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL", "dpd": "DPD", "gls": "GLS",
                 "royal_mail": "Royal Mail", "canada_post": "Canada Post", "australia_post": "Australia Post"}
TRACKING_META_KEY = "_wc_shipment_tracking_items"  # WooCommerce Shipment Tracking extension


def _money(value: Any) -> Decimal:
    if value in (None, ""):
        return ZERO
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _full_name(first: Any, last: Any) -> str | None:
    return " ".join(part for part in (_text(first), _text(last)) if part) or None


def parse_gmt(value: Any) -> datetime | None:
    """Woo's `*_gmt` fields are UTC without a zone suffix; None for missing or unparsable values."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def common_status(raw: dict) -> CommonStatus:
    return STATUS_MAP.get((raw.get("status") or "").lower(), CommonStatus.PENDING)


def _address(shipping: dict | None, billing: dict | None) -> Address | None:
    if not shipping or not any(_text(shipping.get(key)) for key in ("address_1", "city", "postcode")):
        return None
    return Address(
        name=_full_name(shipping.get("first_name"), shipping.get("last_name")),
        company=_text(shipping.get("company")), line1=_text(shipping.get("address_1")),
        line2=_text(shipping.get("address_2")), city=_text(shipping.get("city")), region=_text(shipping.get("state")),
        postal_code=_text(shipping.get("postcode")), country=_text(shipping.get("country")),
        phone=_text(shipping.get("phone")),  # shipping phone exists since WooCommerce 5.6
    )


def _unit_price(item: dict) -> Decimal:
    """Before-discount unit price: line subtotal / quantity (Woo's `price` is a float and after discounts)."""
    quantity = int(item.get("quantity") or 0)
    if quantity:
        return (_money(item.get("subtotal")) / quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    return _money(item.get("price"))


def _tracking(raw: dict) -> dict | None:
    for meta in raw.get("meta_data") or []:
        if meta.get("key") == TRACKING_META_KEY and isinstance(meta.get("value"), list) and meta["value"]:
            return meta["value"][-1]
    return None


class Provider(ChannelProvider):
    name = "woocommerce"
    label = "WooCommerce"
    default_poll_minutes = 15
    required_config = ("baseUrl", "consumerKey", "consumerSecret")
    secret_config = ("consumerSecret",)
    webhook_identity_header = "X-WC-Webhook-Source"
    identity_config_key = "baseUrl"

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None):
        if http is None and (config or {}).get("rateLimitPerSecond"):
            # WooCommerce core has no REST limit; a host that has one is configured per channel.
            from channels_sync.providers.ratelimit import BucketSpec, TokenBucketLimiter

            spec = BucketSpec(rate=float(config["rateLimitPerSecond"]), burst=int(config.get("rateLimitBurst") or 10))
            limiter = TokenBucketLimiter(f"{self.name}:{config.get('baseUrl', '')}", {self.name: spec})
            http = ChannelHttpClient((config.get("baseUrl") or "").rstrip("/"), rate_limiter=limiter)
        super().__init__(config, webhook_secret=webhook_secret, channel_id=channel_id, http=http)

    def _auth(self) -> dict[str, Any]:
        """Basic auth with the consumer key/secret; `queryStringAuth` for hosts that strip Authorization."""
        key, secret = self.config.get("consumerKey", ""), self.config.get("consumerSecret", "")
        if self.config.get("queryStringAuth"):
            return {"params": {"consumer_key": key, "consumer_secret": secret}}
        return {"auth": (key, secret)}

    def _call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None):
        auth = self._auth()
        merged = {**(params or {}), **auth.pop("params", {})}
        response = self.http.request(method, f"{API_PREFIX}{path}", params=merged or None, json=body,
                                     headers={"Accept": "application/json"}, rate_key=self.name, **auth)
        return response, json.loads(response.content or b"null")

    # --- reading -------------------------------------------------------------------------------
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None) -> Iterator[dict]:
        params: dict[str, Any] = {"per_page": PER_PAGE, "orderby": "id", "order": "asc", "dates_are_gmt": "true"}
        if since:
            params["modified_after"] = since.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        if until:
            params["modified_before"] = until.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        if status in STATUS_FILTER:
            params["status"] = STATUS_FILTER[status]
        elif status:
            params["status"] = status  # a raw Woo status passes through

        def fetch_page(page: int | None):
            page = page or 1
            response, items = self._call("GET", "/orders", params={**params, "page": page})
            items = items or []
            total_pages = response.headers.get("X-WP-TotalPages")
            if total_pages is not None:
                more = page < int(total_pages)
            else:  # header stripped by a proxy: a short page is the last one
                more = len(items) == PER_PAGE
            return items, (page + 1 if more and items else None)

        for raw in iter_pages(fetch_page, 1):
            if status in ("shipped", "delivered") and common_status(raw).value != status:
                continue
            yield raw

    def fetch_order(self, channel_order_id: str) -> dict:
        return self._call("GET", f"/orders/{channel_order_id}")[1]

    @staticmethod
    def normalize(raw: dict) -> AggregatedOrderData:
        created_at = parse_gmt(raw.get("date_created_gmt")) or parse_gmt(raw.get("date_created"))
        updated_at = parse_gmt(raw.get("date_modified_gmt")) or parse_gmt(raw.get("date_modified"))
        metadata = {key: raw[key] for key in METADATA_KEYS if key in raw and raw[key] not in (None, "", [], {})}
        unparsable = {key: raw[key] for key in ("date_created_gmt", "date_modified_gmt")
                      if raw.get(key) and parse_gmt(raw[key]) is None}
        if unparsable:
            metadata["unparsable_dates"] = unparsable
        created_at = created_at or updated_at or EPOCH  # an order with no readable date sorts oldest, never fails
        billing = raw.get("billing") or {}
        shipping = raw.get("shipping") or {}
        lines = [
            OrderLineData(
                sku=_text(item.get("sku")),
                channel_sku=_text(item.get("variation_id") or item.get("product_id") or None),
                quantity=int(item.get("quantity") or 0),
                unit_price=_unit_price(item),
                name=html.unescape(item["name"]) if item.get("name") else None,
                channel_line_id=_text(item.get("id")),
            )
            for item in raw.get("line_items") or []
        ]
        refunds = raw.get("refunds") or []
        if refunds:
            metadata["refunds"] = refunds
            metadata["refunded_total"] = str(sum((-_money(r.get("total")) for r in refunds), ZERO))
        if raw.get("shipping_lines"):
            metadata["shipping_lines"] = [{"method_id": s.get("method_id"), "method_title": s.get("method_title"),
                                           "total": s.get("total")} for s in raw["shipping_lines"]]
        tracking = _tracking(raw)
        if tracking:
            provider_name = tracking.get("tracking_provider") or tracking.get("custom_tracking_provider")
            metadata["tracking_provider"] = provider_name
        public_meta = {m.get("key"): m.get("value") for m in raw.get("meta_data") or []
                       if isinstance(m.get("key"), str) and not m["key"].startswith("_")}
        if public_meta:
            metadata["meta_data"] = public_meta
        return AggregatedOrderData(
            channel_order_id=str(raw["id"]),
            channel_order_number=_text(raw.get("number")) or str(raw["id"]),
            status=common_status(raw),
            raw_status=raw.get("status") or "",
            currency=(raw.get("currency") or "").upper(),
            created_at=created_at,
            updated_at=updated_at or created_at,
            subtotal=sum((_money(item.get("subtotal")) for item in raw.get("line_items") or []), ZERO),
            tax=_money(raw.get("total_tax")),
            shipping=_money(raw.get("shipping_total")),
            grand_total=_money(raw.get("total")),
            lines=lines,
            customer_email=_text(billing.get("email")),
            customer_name=_full_name(billing.get("first_name"), billing.get("last_name"))
            or _full_name(shipping.get("first_name"), shipping.get("last_name")),
            shipping_address=_address(shipping, billing),
            tracking_number=_text(tracking.get("tracking_number")) if tracking else None,
            channel_metadata=metadata,
        )

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

    def _existing_webhooks(self, callback_url: str) -> list[dict]:
        """Our webhooks among all the store's (other plugins have theirs): every page is read."""
        def fetch_page(page: int | None):
            page = page or 1
            response, hooks = self._call("GET", "/webhooks", params={"per_page": PER_PAGE, "page": page})
            total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
            return hooks or [], (page + 1 if page < total_pages and hooks else None)

        return [hook for hook in iter_pages(fetch_page, 1) if hook.get("delivery_url") == callback_url]

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

    # --- writing -------------------------------------------------------------------------------
    @staticmethod
    def tracking_note(request: WritebackRequest) -> str | None:
        if not request.tracking_number:
            return None
        carrier = CARRIER_NAMES.get((request.carrier or "").strip().lower(), request.carrier)
        parts = [f"Shipped via {carrier}" if carrier else "Shipped",
                 f"tracking number {request.tracking_number}"]
        note = ", ".join(parts) + "."
        if request.tracking_url:
            note += f" Track it at {request.tracking_url}"
        return note

    def write_back(self, request: WritebackRequest) -> WritebackResult:
        """Set the Woo status first (idempotent), then add the tracking note, so a retry never
        leaves a note on an order whose status did not change."""
        woo_status = WRITEBACK_STATUS[CommonStatus(request.status)]
        order_id = request.channel_order_id
        response, _ = self._call("PUT", f"/orders/{order_id}", body={"status": woo_status})
        summary = f"PUT orders/{order_id} status={woo_status}"
        reference, code = order_id, response.status_code
        note = self.tracking_note(request)
        if note:
            note_response, created = self._call("POST", f"/orders/{order_id}/notes",
                                                 body={"note": note, "customer_note": True})
            reference, code = _text((created or {}).get("id")) or order_id, note_response.status_code
            summary += f"; POST orders/{order_id}/notes {note!r}"
        return WritebackResult(channel_reference=reference, response_code=code, request_summary=summary)
