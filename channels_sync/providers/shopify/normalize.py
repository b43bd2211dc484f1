"""Shopify REST orders -> AggregatedOrderData. Pure: imports no Django (tested without it)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from channels_sync.normalized import Address, AggregatedOrderData, CommonStatus, OrderLineData

PENDING_FINANCIAL = {"pending", "authorized", "partially_paid", "expired"}
PAID_FINANCIAL = {"paid", "partially_refunded"}
FAILED_FULFILLMENT = {"cancelled", "error", "failure"}


# Raw order fields worth keeping beside the common shape (the whole raw order is stored separately).
METADATA_KEYS = ("admin_graphql_api_id", "financial_status", "fulfillment_status", "cancelled_at", "cancel_reason",
                 "closed_at", "processed_at", "tags", "note", "note_attributes", "discount_codes", "total_discounts",
                 "total_line_items_price", "current_total_price", "current_subtotal_price", "current_total_tax",
                 "total_outstanding", "taxes_included", "presentment_currency", "test", "source_name",
                 "payment_gateway_names", "phone", "po_number", "order_status_url", "confirmation_number",
                 "billing_address", "tax_lines")
ZERO = Decimal("0.00")


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
