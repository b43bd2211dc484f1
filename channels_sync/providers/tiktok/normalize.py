"""TikTok Shop orders (Get Order Detail) -> AggregatedOrderData. Pure: imports no Django (tested without it)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from channels_sync.normalized import Address, AggregatedOrderData, CommonStatus, OrderLineData

API_VERSION = "202309"  # the Partner API version whose order shapes these are; every path uses it
STATUS_MAP = {
    "UNPAID": CommonStatus.PENDING,
    # Paid but still in the buyer's free-cancel window: not yet shippable, so not "processing".
    "ON_HOLD": CommonStatus.PENDING,
    "AWAITING_SHIPMENT": CommonStatus.PROCESSING,
    "PARTIALLY_SHIPPING": CommonStatus.PROCESSING,
    # The seller has shipped (tracking exists); only the carrier pickup is pending.
    "AWAITING_COLLECTION": CommonStatus.SHIPPED,
    "IN_TRANSIT": CommonStatus.SHIPPED,
    "DELIVERED": CommonStatus.DELIVERED,
    "COMPLETED": CommonStatus.DELIVERED,
    "CANCELLED": CommonStatus.CANCELLED,
    "CANCEL": CommonStatus.CANCELLED,   # the type-1 webhook doc spells it so
}


# Order fields that do not map onto AggregatedOrderData but matter to a merchant (kept raw).
METADATA_KEYS = (
    "delivery_option_id", "delivery_option_name", "delivery_type", "delivery_option_required_delivery_time",
    "fulfillment_type", "shipping_type", "shipping_provider", "shipping_provider_id", "warehouse_id",
    "payment_method_name", "payment_method_code", "is_cod", "is_on_hold_order", "is_sample_order",
    "is_replacement_order", "replaced_order_id", "is_exchange_order", "is_buyer_request_cancel",
    "buyer_message", "seller_note", "cancel_reason", "cancellation_initiator", "cancel_time", "user_id",
    "order_type", "paid_time", "rts_time", "rts_sla_time", "tts_sla_time", "shipping_due_time",
    "delivery_due_time", "delivery_sla_time", "collection_due_time", "split_or_combine_tag",
    "commerce_platform", "fast_delivery_program", "need_upload_invoice", "has_updated_recipient_address",
)


def _decimal(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return Decimal("0")


def _ts(value: Any) -> datetime | None:
    if value in (None, "", 0):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def _text(value: Any) -> str | None:
    """A string field as given, with TikTok's empty placeholders (blank, literal `""`) treated as absent."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", '""') else text


def _district(address: dict, *levels: str) -> str | None:
    for level in levels:
        for entry in address.get("district_info") or []:
            if entry.get("address_level") == level and _text(entry.get("address_name")):
                return _text(entry.get("address_name"))
    return None


def _line_key(item: dict) -> tuple:
    return (item.get("sku_id"), _text(item.get("seller_sku")), item.get("sale_price"), item.get("product_name"))


def _address(recipient: dict) -> Address:
    """Only what TikTok gives (masked values stay masked); region/city from district levels L1 / L3-L2."""
    extra_lines = [_text(recipient.get(key)) for key in ("address_line2", "address_line3", "address_line4")]
    return Address(
        name=_text(recipient.get("name")),
        line1=_text(recipient.get("address_line1")) or _text(recipient.get("address_detail")),
        line2=", ".join(line for line in extra_lines if line) or None,
        city=_text(recipient.get("post_town")) or _district(recipient, "L3", "L2"),
        region=_district(recipient, "L1"),
        postal_code=_text(recipient.get("postal_code")),
        country=_text(recipient.get("region_code")),
        phone=_text(recipient.get("phone_number")),
    )


def package_ids(raw: dict) -> list[str]:
    """The order's packages (order level first; line items name theirs once shipped)."""
    ids = [str(package["id"]) for package in raw.get("packages") or [] if package.get("id")]
    if not ids:
        for item in raw.get("line_items") or []:
            if item.get("package_id") and str(item["package_id"]) not in ids:
                ids.append(str(item["package_id"]))
    return ids


def normalize(raw: dict) -> AggregatedOrderData:
    payment = raw.get("payment") or {}
    raw_status = str(raw.get("status") or "")
    tax = payment.get("tax")
    if tax in (None, ""):
        tax = _decimal(payment.get("product_tax")) + _decimal(payment.get("shipping_fee_tax"))
    items = raw.get("line_items") or []
    grouped: dict[tuple, list[dict]] = {}
    for item in items:  # TikTok sends one line item per unit: count them back into quantities
        grouped.setdefault(_line_key(item), []).append(item)
    lines = [
        OrderLineData(
            sku=_text(group[0].get("seller_sku")),
            channel_sku=_text(group[0].get("sku_id")),
            quantity=len(group),
            unit_price=_decimal(group[0].get("sale_price", group[0].get("original_price"))),
            name=_text(group[0].get("product_name")),
            channel_line_id=",".join(str(item.get("id")) for item in group if item.get("id")) or None,
        )
        for group in grouped.values()
    ]
    tracking = _text(raw.get("tracking_number")) or next(
        (_text(item.get("tracking_number")) for item in items if _text(item.get("tracking_number"))), None)
    created = _ts(raw.get("create_time")) or datetime.fromtimestamp(0, tz=UTC)
    metadata = {key: raw[key] for key in METADATA_KEYS if key in raw}
    metadata["package_ids"] = package_ids(raw)
    metadata["line_item_statuses"] = {str(item.get("id")): item.get("display_status") for item in items}
    metadata["payment"] = {key: value for key, value in payment.items()
                           if key not in ("currency", "sub_total", "shipping_fee", "tax", "total_amount")}
    recipient = raw.get("recipient_address") or None
    # The one money model: TikTok's sub_total is after the seller's and platform's discounts; the subtotal is
    # the products' original price and the difference the discount, so subtotal - discount is still sub_total.
    subtotal = _decimal(payment.get("sub_total"))
    original = payment.get("original_total_product_price")
    discount = max(_decimal(original) - subtotal, Decimal("0")) if original not in (None, "") else Decimal("0")
    subtotal += discount
    return AggregatedOrderData(
        channel_order_id=str(raw["id"]),
        status=STATUS_MAP.get(raw_status, CommonStatus.PENDING),
        raw_status=raw_status,
        currency=str(payment.get("currency") or (items[0].get("currency") if items else "") or ""),
        created_at=created,
        updated_at=_ts(raw.get("update_time")) or created,
        subtotal=subtotal,
        discount=discount,
        tax=_decimal(tax),
        shipping=_decimal(payment.get("shipping_fee")),
        grand_total=_decimal(payment.get("total_amount")),
        lines=lines,
        customer_email=_text(raw.get("buyer_email")),
        customer_name=_text(recipient.get("name")) if recipient else None,
        shipping_address=_address(recipient) if recipient else None,
        tracking_number=tracking,
        channel_order_number=str(raw["id"]),
        channel_metadata=metadata,
    )
