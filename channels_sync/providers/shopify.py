"""Shopify Admin REST API (orders, fulfillment orders, fulfillments, webhooks).

Why REST and not GraphQL: the fixtures, the webhook bodies and the writeback flow of the issue are
the REST shapes; REST is "legacy" since 2024-10 but still served for every stable version.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

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
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.http import ChannelHttpClient, iter_pages

DEFAULT_API_VERSION = "2024-10"
PAGE_LIMIT = 250  # Shopify's maximum for orders.json
ORDER_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
                "orders/partially_fulfilled")
PENDING_FINANCIAL = {"pending", "authorized", "partially_paid", "expired"}
PAID_FINANCIAL = {"paid", "partially_refunded"}
FAILED_FULFILLMENT = {"cancelled", "error", "failure"}
# Our carrier codes -> the tracking company names Shopify recognises (anything else is sent as given).
SHOPIFY_CARRIERS = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL Express", "dhl_express": "DHL Express",
                    "canada_post": "Canada Post", "royal_mail": "Royal Mail", "dpd": "DPD", "gls": "GLS",
                    "australia_post": "Australia Post", "ontrac": "OnTrac", "purolator": "Purolator"}
# Raw order fields worth keeping beside the common shape (the whole raw order is stored separately).
METADATA_KEYS = ("admin_graphql_api_id", "financial_status", "fulfillment_status", "cancelled_at", "cancel_reason",
                 "closed_at", "processed_at", "tags", "note", "note_attributes", "discount_codes", "total_discounts",
                 "total_line_items_price", "current_total_price", "current_subtotal_price", "current_total_tax",
                 "total_outstanding", "taxes_included", "presentment_currency", "test", "source_name",
                 "payment_gateway_names", "phone", "po_number", "order_status_url", "confirmation_number",
                 "billing_address", "tax_lines")
ZERO = Decimal("0.00")


# Shopify counts a call when it arrives, our bucket when it is reserved; between the two lie scheduling and the
# network, so a full bucket on our side could be one call over on Shopify's (measured by bench/chaos/
# writeback_outage.py: one 429 per run). A second's worth of calls of headroom absorbs that.
BUCKET_HEADROOM_SECONDS = 1.0


def shared_limiter(config: dict, name: str):
    """Shopify's REST bucket (40 calls, leaking 2/s per app and store) shared by every worker, kept a second's
    worth of calls below Shopify's size (38 of 40).

    Plus stores have 400 / 20 per s: set `rateLimitBurst` / `rateLimitPerSecond` in the config.
    A 429 (another app on the same store, a smaller plan) is still waited out by the client.
    """
    from channels_sync.providers.ratelimit import BucketSpec, TokenBucketLimiter

    rate = float(config.get("rateLimitPerSecond") or 2.0)
    size = int(config.get("rateLimitBurst") or 40)
    spec = BucketSpec(rate=rate, burst=max(1, size - math.ceil(rate * BUCKET_HEADROOM_SECONDS)))
    return TokenBucketLimiter(f"{name}:{config.get('shopDomain', '')}", {name: spec})


def _money(value: Any) -> Decimal:
    if value in (None, ""):
        return ZERO
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _set_amount(raw: dict, key: str) -> Decimal | None:
    money_set = raw.get(key) or {}
    shop_money = money_set.get("shop_money") or {}
    return _money(shop_money["amount"]) if shop_money.get("amount") is not None else None


def parse_time(value: str | None) -> datetime | None:
    """Shopify times carry the shop's offset ("2008-01-10T11:00:00-05:00"); we keep UTC."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _blank_to_none(value: Any) -> Any:
    return None if value in ("", None) else value


def _text(value: Any) -> str | None:
    value = _blank_to_none(value)
    return None if value is None else str(value)


def _full_name(first: Any, last: Any) -> str | None:
    name = " ".join(part.strip() for part in (first, last) if isinstance(part, str) and part.strip())
    return name or None


def common_status(raw: dict) -> CommonStatus:
    """financial_status + fulfillment_status + cancelled_at -> one of the six common statuses.

    Order of precedence: money fully returned (refunded) wins over cancelled; a cancelled or voided
    order is cancelled; goods sent are shipped (delivered once every live fulfillment says so);
    otherwise paid means processing and anything not yet captured is pending.
    """
    financial = (raw.get("financial_status") or "").lower()
    fulfillment = (raw.get("fulfillment_status") or "").lower()
    if financial == "refunded":
        return CommonStatus.REFUNDED
    if raw.get("cancelled_at") or financial == "voided":
        return CommonStatus.CANCELLED
    if fulfillment == "fulfilled":
        live = [f for f in raw.get("fulfillments") or [] if (f.get("status") or "") not in FAILED_FULFILLMENT]
        if live and all((f.get("shipment_status") or "") == "delivered" for f in live):
            return CommonStatus.DELIVERED
        return CommonStatus.SHIPPED
    if financial in PAID_FINANCIAL:
        return CommonStatus.PROCESSING
    return CommonStatus.PENDING


def raw_status(raw: dict) -> str:
    parts = [raw.get("financial_status") or "unknown", raw.get("fulfillment_status") or "unfulfilled"]
    if raw.get("cancelled_at"):
        parts.append("cancelled")
    return "/".join(parts)


def _address(data: dict | None) -> Address | None:
    if not data or not any(_blank_to_none(data.get(key)) for key in ("address1", "city", "zip", "country_code")):
        return None
    return Address(
        name=_text(data.get("name")) or _full_name(data.get("first_name"), data.get("last_name")),
        company=_text(data.get("company")), line1=_text(data.get("address1")), line2=_text(data.get("address2")),
        city=_text(data.get("city")), region=_text(data.get("province_code")) or _text(data.get("province")),
        postal_code=_text(data.get("zip")), country=_text(data.get("country_code")), phone=_text(data.get("phone")),
    )


def _tracking(raw: dict) -> tuple[str | None, dict | None]:
    """The newest fulfillment that did not fail and carries a tracking number."""
    candidates = [f for f in raw.get("fulfillments") or []
                  if (f.get("status") or "") not in FAILED_FULFILLMENT
                  and (f.get("tracking_number") or f.get("tracking_numbers"))]
    if not candidates:
        return None, None
    latest = max(candidates, key=lambda f: (f.get("created_at") or "", f.get("id") or 0))
    number = latest.get("tracking_number") or (latest.get("tracking_numbers") or [None])[0]
    return _text(number), latest


class Provider(ChannelProvider):
    name = "shopify"
    label = "Shopify"
    default_poll_minutes = 15
    required_config = ("shopDomain", "accessToken")
    secret_config = ("accessToken",)
    webhook_identity_header = "X-Shopify-Shop-Domain"
    identity_config_key = "shopDomain"

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None):
        self.config = dict(config or {})
        if http is None:
            http = ChannelHttpClient(self.base_url, rate_limiter=shared_limiter(self.config, self.name))
        super().__init__(config, webhook_secret=webhook_secret, channel_id=channel_id, http=http)

    @property
    def base_url(self) -> str:
        explicit = self.config.get("baseUrl")
        if explicit:
            return explicit.rstrip("/")
        return f"https://{self.config.get('shopDomain', '').strip().rstrip('/')}"

    @property
    def api_version(self) -> str:
        return self.config.get("apiVersion") or DEFAULT_API_VERSION

    def _path(self, resource: str) -> str:
        return f"/admin/api/{self.api_version}/{resource}"

    def _headers(self) -> dict[str, str]:
        return {"X-Shopify-Access-Token": self.config.get("accessToken", ""), "Accept": "application/json"}

    def _get(self, path_or_url: str, params: dict | None = None):
        response = self.http.request("GET", path_or_url, params=params, headers=self._headers(), rate_key=self.name)
        return response, json.loads(response.content or b"{}")

    def _post(self, path: str, body: dict):
        response = self.http.request("POST", path, json=body, headers=self._headers(), rate_key=self.name)
        return response, json.loads(response.content or b"{}")

    # --- reading -------------------------------------------------------------------------------
    @staticmethod
    def _status_params(status: str | None) -> dict[str, str]:
        """Narrow the query where Shopify's filters can; the exact match is done after normalizing."""
        return {
            "pending": {"financial_status": "unpaid"},
            "processing": {"financial_status": "paid", "fulfillment_status": "unshipped"},
            "shipped": {"fulfillment_status": "shipped"},
            "delivered": {"fulfillment_status": "shipped"},
            "cancelled": {"status": "cancelled"},
            "refunded": {"financial_status": "refunded"},
        }.get(status or "", {})

    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None) -> Iterator[dict]:
        params: dict[str, Any] = {"status": "any", "limit": PAGE_LIMIT}
        if since:
            params["updated_at_min"] = since.astimezone(UTC).isoformat()
        if until:
            params["updated_at_max"] = until.astimezone(UTC).isoformat()
        params.update(self._status_params(status))

        def fetch_page(next_url: str | None):
            # With page_info only limit/fields may be sent: the next link already carries both.
            response, data = self._get(next_url) if next_url else self._get(self._path("orders.json"), params)
            return data.get("orders") or [], (response.links.get("next") or {}).get("url")

        for raw in iter_pages(fetch_page):
            if status in CommonStatus._value2member_map_ and common_status(raw) != status:
                continue
            yield raw

    def fetch_order(self, channel_order_id: str) -> dict:
        _, data = self._get(self._path(f"orders/{channel_order_id}.json"))
        return data["order"]

    @staticmethod
    def normalize(raw: dict) -> AggregatedOrderData:
        if "order" in raw and isinstance(raw["order"], dict) and "id" not in raw:
            raw = raw["order"]  # a GET /orders/{id}.json body, wrapper included
        created_at = parse_time(raw.get("created_at") or raw.get("processed_at"))
        if created_at is None:
            raise ValueError(f"Shopify order {raw.get('id')} has no created_at")
        shipping = _set_amount(raw, "total_shipping_price_set")
        if shipping is None:  # older API versions: only the shipping lines
            shipping = sum((_money(line.get("price")) for line in raw.get("shipping_lines") or []), ZERO)
        customer = raw.get("customer") or {}
        address = _address(raw.get("shipping_address"))
        billing = raw.get("billing_address") or {}
        tracking_number, fulfillment = _tracking(raw)
        lines = [
            OrderLineData(
                sku=_text(item.get("sku")),
                channel_sku=_text(item.get("variant_id")) or _text(item.get("product_id")),
                quantity=int(item.get("quantity") or 0),
                unit_price=_money(item.get("price")),
                name=_text(item.get("name")) or _text(item.get("title")),
                channel_line_id=_text(item.get("id")),
            )
            for item in raw.get("line_items") or []
        ]
        metadata = {key: raw[key] for key in METADATA_KEYS if key in raw and raw[key] not in (None, "", [], {})}
        if customer.get("id") is not None:
            metadata["customer_id"] = str(customer["id"])
        if fulfillment:
            metadata["tracking_company"] = fulfillment.get("tracking_company")
            metadata["tracking_url"] = fulfillment.get("tracking_url")
        if raw.get("fulfillments"):
            metadata["fulfillments"] = [
                {"id": str(f.get("id")), "status": f.get("status"), "shipment_status": f.get("shipment_status"),
                 "tracking_company": f.get("tracking_company"), "tracking_number": f.get("tracking_number")}
                for f in raw["fulfillments"]]
        if raw.get("refunds"):
            metadata["refunds"] = [{"id": str(r.get("id")), "created_at": r.get("created_at")} for r in raw["refunds"]]
        if raw.get("shipping_lines"):
            metadata["shipping_lines"] = [{"title": s.get("title"), "code": s.get("code"), "price": s.get("price")}
                                          for s in raw["shipping_lines"]]
        return AggregatedOrderData(
            channel_order_id=str(raw["id"]),
            channel_order_number=_text(raw.get("name")) or _text(raw.get("order_number")),
            status=common_status(raw),
            raw_status=raw_status(raw),
            currency=(raw.get("currency") or "").upper(),
            created_at=created_at,
            updated_at=parse_time(raw.get("updated_at")) or created_at,
            subtotal=_money(raw.get("subtotal_price")),
            tax=_money(raw.get("total_tax")),
            shipping=shipping,
            grand_total=_money(raw.get("total_price")),
            lines=lines,
            customer_email=_text(raw.get("email")) or _text(raw.get("contact_email")) or _text(customer.get("email")),
            customer_name=(_full_name(customer.get("first_name"), customer.get("last_name"))
                           or (address.name if address else None)
                           or _text(billing.get("name"))),
            shipping_address=address,
            tracking_number=tracking_number,
            channel_metadata=metadata,
        )

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
        # orders/delete carries only {"id": ...}: nothing to ingest (the order is gone on Shopify's side).
        if not topic.startswith("orders/") or topic == "orders/delete" or "line_items" not in body:
            return WebhookEvent(delivery_id=delivery_id, topic=topic)
        return WebhookEvent(delivery_id=delivery_id, topic=topic, orders=[body])

    def register_webhooks(self, callback_url: str) -> list[dict]:
        """One subscription per order topic, skipping the ones this address already has (idempotent)."""
        _, existing = self._get(self._path("webhooks.json"), {"address": callback_url, "limit": 250})
        have = {hook.get("topic"): hook for hook in existing.get("webhooks") or []
                if hook.get("address") == callback_url}
        registered = []
        for topic in ORDER_TOPICS:
            hook = have.get(topic)
            if hook is None:
                _, created = self._post(self._path("webhooks.json"),
                                        {"webhook": {"topic": topic, "address": callback_url, "format": "json"}})
                hook = created["webhook"]
            registered.append({"id": str(hook["id"]), "topic": topic, "address": callback_url})
        return registered

    def unregister_webhooks(self, callback_url: str) -> None:
        _, existing = self._get(self._path("webhooks.json"), {"address": callback_url, "limit": 250})
        for hook in existing.get("webhooks") or []:
            if hook.get("address") == callback_url:
                self.http.request("DELETE", self._path(f"webhooks/{hook['id']}.json"), headers=self._headers(),
                                  rate_key=self.name)

    # --- writing -------------------------------------------------------------------------------
    def _tracking_info(self, request: WritebackRequest) -> dict:
        info: dict[str, str] = {}
        if request.tracking_number:
            info["number"] = request.tracking_number
        if request.carrier:
            info["company"] = SHOPIFY_CARRIERS.get(request.carrier.strip().lower(), request.carrier)
        if request.tracking_url:
            info["url"] = request.tracking_url
        return info

    def _fulfil(self, request: WritebackRequest) -> WritebackResult:
        order_id = request.channel_order_id
        _, data = self._get(self._path(f"orders/{order_id}/fulfillment_orders.json"))
        open_orders = [fo for fo in data.get("fulfillment_orders") or []
                       if fo.get("status") in ("open", "in_progress")
                       and any((line.get("fulfillable_quantity") or 0) > 0 for line in fo.get("line_items") or [])]
        tracking_info = self._tracking_info(request)
        if not open_orders:
            return self._update_existing_tracking(order_id, tracking_info)
        body = {"fulfillment": {
            "notify_customer": bool(self.config.get("notifyCustomer", True)),
            "tracking_info": tracking_info,
            "line_items_by_fulfillment_order": [
                {"fulfillment_order_id": fo["id"],
                 "fulfillment_order_line_items": [{"id": line["id"], "quantity": line["fulfillable_quantity"]}
                                                  for line in fo.get("line_items") or []
                                                  if (line.get("fulfillable_quantity") or 0) > 0]}
                for fo in open_orders],
        }}
        response, created = self._post(self._path("fulfillments.json"), body)
        fulfillment = created.get("fulfillment") or {}
        return WritebackResult(
            channel_reference=_text(fulfillment.get("id")), response_code=response.status_code,
            request_summary=(f"POST fulfillments.json fulfillment_orders={[fo['id'] for fo in open_orders]} "
                             f"tracking={tracking_info}"))

    def _update_existing_tracking(self, order_id: str, tracking_info: dict) -> WritebackResult:
        """Already fulfilled (e.g. a retry after a lost answer): move the tracking onto the newest fulfillment."""
        _, data = self._get(self._path(f"orders/{order_id}/fulfillments.json"))
        live = [f for f in data.get("fulfillments") or [] if f.get("status") not in FAILED_FULFILLMENT]
        if not live:
            raise PermanentChannelError(f"Shopify order {order_id} has no open fulfillment order and no fulfillment")
        latest = max(live, key=lambda f: (f.get("created_at") or "", f.get("id") or 0))
        if not tracking_info or latest.get("tracking_number") == tracking_info.get("number"):
            return WritebackResult(channel_reference=_text(latest.get("id")), response_code=200,
                                   request_summary=f"already fulfilled by {latest.get('id')}; nothing to change")
        response, _ = self._post(self._path(f"fulfillments/{latest['id']}/update_tracking.json"),
                                 {"fulfillment": {"tracking_info": tracking_info, "notify_customer": False}})
        return WritebackResult(channel_reference=_text(latest.get("id")), response_code=response.status_code,
                               request_summary=f"POST fulfillments/{latest['id']}/update_tracking.json {tracking_info}")

    def write_back(self, request: WritebackRequest) -> WritebackResult:
        status = CommonStatus(request.status)
        if status in (CommonStatus.SHIPPED, CommonStatus.DELIVERED):
            result = self._fulfil(request)
            if status is CommonStatus.DELIVERED and result.channel_reference:
                fulfillment_path = f"orders/{request.channel_order_id}/fulfillments/{result.channel_reference}"
                path = self._path(f"{fulfillment_path}/events.json")
                self._post(path, {"event": {"status": "delivered"}})
                result = WritebackResult(result.channel_reference, result.response_code,
                                         result.request_summary + f"; POST {path} delivered")
            return result
        if status is CommonStatus.CANCELLED:
            path = self._path(f"orders/{request.channel_order_id}/cancel.json")
            response, _ = self._post(path, {"reason": "other", "email": False})
            return WritebackResult(channel_reference=request.channel_order_id, response_code=response.status_code,
                                   request_summary=f"POST {path}")
        if status is CommonStatus.REFUNDED:
            raise PermanentChannelError("Shopify refunds need amounts and a payment transaction: refund in Shopify "
                                        "admin; the refund then arrives here by webhook")
        # pending / processing: Shopify derives these from payment and fulfillment; there is nothing to set.
        return WritebackResult(channel_reference=None, response_code=None,
                               request_summary=f"nothing sent: Shopify has no writable '{status.value}' status")
