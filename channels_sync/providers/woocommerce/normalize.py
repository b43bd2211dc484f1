"""WooCommerce orders -> AggregatedOrderData. Pure: imports no Django (tested without it)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from channels_sync.normalized import Address, AggregatedOrderData, CommonStatus, OrderLineData

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
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
METADATA_KEYS = ("number", "order_key", "created_via", "version", "parent_id", "customer_id", "customer_note",
                 "payment_method", "payment_method_title", "transaction_id", "discount_total", "discount_tax",
                 "shipping_tax", "cart_tax", "prices_include_tax", "date_paid_gmt", "date_completed_gmt",
                 "date_created", "date_modified", "billing", "fee_lines", "coupon_lines", "tax_lines")
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
        discount=_money(raw.get("discount_total")),   # coupons, before tax: line subtotals less line totals
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
