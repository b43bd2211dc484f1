"""Shopify orders -> AggregatedOrderData. Pure: imports no Django (tested without it).

Two shapes arrive: the GraphQL Admin API's Order node (every poll and every fetch by id) and the REST-shaped JSON
that Shopify's `orders/*` webhooks still deliver. A GraphQL node is first rewritten into the REST field names
(`from_graphql`), so one mapping decides status, money and lines for both, and an order read either way gets the
same row (its numeric id: the node's `legacyResourceId`, the webhook's `id`).
"""

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
    if is_graphql(raw):
        raw = from_graphql(raw)
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


def legacy_id(value: Any) -> str | None:
    """"gid://shopify/Order/450789469" -> "450789469"; a plain id is kept as it is."""
    text = _text(value)
    return text.rsplit("/", 1)[-1] if text and text.startswith("gid://") else text


def is_graphql(raw: dict) -> bool:
    return "legacyResourceId" in raw or str(raw.get("id") or "").startswith("gid://")


def _gql_money(raw: dict, key: str) -> str | None:
    shop_money = (raw.get(key) or {}).get("shopMoney") or {}
    return shop_money.get("amount")


def _gql_money_set(raw: dict, key: str) -> dict | None:
    amount = _gql_money(raw, key)
    return None if amount is None else {"shop_money": {"amount": amount}}


def _gql_address(data: dict | None) -> dict | None:
    if not data:
        return None
    return {"name": data.get("name"), "first_name": data.get("firstName"), "last_name": data.get("lastName"),
            "company": data.get("company"), "address1": data.get("address1"), "address2": data.get("address2"),
            "city": data.get("city"), "province": data.get("province"), "province_code": data.get("provinceCode"),
            "zip": data.get("zip"), "country": data.get("country"), "country_code": data.get("countryCodeV2"),
            "phone": data.get("phone")}


def _nodes(connection: Any) -> list[dict]:
    if isinstance(connection, list):
        return connection
    if not isinstance(connection, dict):
        return []
    if "nodes" in connection:
        return connection.get("nodes") or []
    return [edge.get("node") or {} for edge in connection.get("edges") or []]


GQL_FULFILLMENT_STATUS = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "RESTOCKED": "restocked"}


def from_graphql(node: dict) -> dict:
    """A GraphQL Admin Order node in the REST field names the mapping below reads (money from `shopMoney`)."""
    customer = node.get("customer") or None
    fulfillments = []
    for fulfillment in _nodes(node.get("fulfillments")):
        tracking = (fulfillment.get("trackingInfo") or [{}])[0] if fulfillment.get("trackingInfo") else {}
        fulfillments.append({
            "id": legacy_id(fulfillment.get("id")), "admin_graphql_api_id": fulfillment.get("id"),
            "status": (fulfillment.get("status") or "").lower(), "created_at": fulfillment.get("createdAt"),
            "shipment_status": "delivered" if fulfillment.get("displayStatus") == "DELIVERED" else None,
            "tracking_number": tracking.get("number"), "tracking_company": tracking.get("company"),
            "tracking_url": tracking.get("url")})
    line_items = []
    for item in _nodes(node.get("lineItems")):
        line_items.append({
            "id": legacy_id(item.get("id")), "admin_graphql_api_id": item.get("id"), "sku": item.get("sku"),
            "name": item.get("name"), "title": item.get("title"), "quantity": item.get("quantity"),
            "current_quantity": item.get("currentQuantity"),
            "price": _gql_money(item, "originalUnitPriceSet"),
            "variant_id": legacy_id((item.get("variant") or {}).get("id")),
            "product_id": legacy_id((item.get("product") or {}).get("id")),
            "requires_shipping": item.get("requiresShipping")})
    shipping_lines = [{"title": line.get("title"), "code": line.get("code"),
                       "price": _gql_money(line, "discountedPriceSet") or _gql_money(line, "originalPriceSet")}
                      for line in _nodes(node.get("shippingLines"))]
    tags = node.get("tags")
    return {
        "id": node.get("legacyResourceId") or legacy_id(node.get("id")), "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"), "created_at": node.get("createdAt"), "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"), "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": (node.get("cancelReason") or "").lower() or None, "closed_at": node.get("closedAt"),
        "financial_status": (node.get("displayFinancialStatus") or "").lower() or None,
        "fulfillment_status": GQL_FULFILLMENT_STATUS.get(node.get("displayFulfillmentStatus") or ""),
        "email": node.get("email"), "phone": node.get("phone"), "currency": node.get("currencyCode"),
        "presentment_currency": node.get("presentmentCurrencyCode"), "test": node.get("test"),
        "tags": ", ".join(tags) if isinstance(tags, list) else tags, "note": node.get("note"),
        "taxes_included": node.get("taxesIncluded"), "source_name": node.get("sourceName"),
        "confirmation_number": node.get("confirmationNumber"),
        "current_subtotal_price": _gql_money(node, "currentSubtotalPriceSet"),
        "current_total_discounts": _gql_money(node, "currentTotalDiscountsSet"),
        "current_shipping_price_set": _gql_money_set(node, "currentShippingPriceSet"),
        "current_total_tax": _gql_money(node, "currentTotalTaxSet"),
        "current_total_price": _gql_money(node, "currentTotalPriceSet"),
        "subtotal_price": _gql_money(node, "subtotalPriceSet"),
        "total_discounts": _gql_money(node, "totalDiscountsSet"),
        "total_shipping_price_set": _gql_money_set(node, "totalShippingPriceSet"),
        "total_tax": _gql_money(node, "totalTaxSet"), "total_price": _gql_money(node, "totalPriceSet"),
        "total_refunded": _gql_money(node, "totalRefundedSet"),
        "customer": None if customer is None else {
            "id": legacy_id(customer.get("id")), "email": customer.get("email"),
            "first_name": customer.get("firstName"), "last_name": customer.get("lastName"),
            "phone": customer.get("phone")},
        "shipping_address": _gql_address(node.get("shippingAddress")),
        "billing_address": _gql_address(node.get("billingAddress")),
        "shipping_lines": shipping_lines, "line_items": line_items, "fulfillments": fulfillments,
    }


def _first_money(raw: dict, *keys: str) -> Decimal | None:
    """The first of these fields the order carries: a plain amount, or a `*_set`'s shop money."""
    for key in keys:
        value = raw.get(key)
        if isinstance(value, dict):
            amount = ((value.get("shop_money") or {}).get("amount"))
            if amount is not None:
                return _money(amount)
        elif value not in (None, ""):
            return _money(value)
    return None


def _current_quantity(item: dict) -> int:
    current = item.get("current_quantity")
    return int(item.get("quantity") or 0) if current is None else int(current or 0)


def money_figures(raw: dict) -> dict[str, Decimal]:
    """The one money model (docs/channels.md) from the order's current figures, after refunds and edits.

    subtotal: the current line items at their unit price (a removed or refunded unit no longer counts);
    discount: what separates that from Shopify's current subtotal (order- and line-level discounts alike);
    shipping, tax, grandTotal: Shopify's current shipping, tax and total. Older payloads without the `current_*`
    fields fall back to the original ones.
    """
    current_subtotal = _first_money(raw, "current_subtotal_price", "current_subtotal_price_set", "subtotal_price")
    items = raw.get("line_items") or []
    if items:
        subtotal = sum((_money(item.get("price")) * _current_quantity(item) for item in items), ZERO)
    else:
        subtotal = (current_subtotal or ZERO) + (_first_money(raw, "current_total_discounts", "total_discounts")
                                                 or ZERO)
    discount = max(ZERO, subtotal - current_subtotal) if current_subtotal is not None else ZERO
    shipping = _first_money(raw, "current_shipping_price_set", "total_shipping_price_set")
    if shipping is None:  # older API versions: only the shipping lines
        shipping = sum((_money(line.get("price")) for line in raw.get("shipping_lines") or []), ZERO)
    return {
        "subtotal": subtotal.quantize(Decimal("0.01")), "discount": discount.quantize(Decimal("0.01")),
        "shipping": shipping,
        "tax": _first_money(raw, "current_total_tax", "current_total_tax_set", "total_tax") or ZERO,
        "grand_total": _first_money(raw, "current_total_price", "current_total_price_set", "total_price") or ZERO,
    }


ORIGINAL_MONEY_KEYS = {"subtotal": ("subtotal_price",), "discounts": ("total_discounts",),
                       "shipping": ("total_shipping_price_set",), "tax": ("total_tax",), "total": ("total_price",),
                       "line_items": ("total_line_items_price",), "refunded": ("total_refunded",)}


def normalize(raw: dict) -> AggregatedOrderData:
    if "order" in raw and isinstance(raw["order"], dict) and "id" not in raw:
        raw = raw["order"]  # a GET /orders/{id}.json body, or a GraphQL {"order": node}, wrapper included
    if is_graphql(raw):
        raw = from_graphql(raw)
    created_at = parse_time(raw.get("created_at") or raw.get("processed_at"))
    if created_at is None:
        raise ValueError(f"Shopify order {raw.get('id')} has no created_at")
    money = money_figures(raw)
    customer = raw.get("customer") or {}
    address = _address(raw.get("shipping_address"))
    billing = raw.get("billing_address") or {}
    tracking_number, fulfillment = _tracking(raw)
    lines = [
        OrderLineData(
            sku=_text(item.get("sku")),
            channel_sku=_text(item.get("variant_id")) or _text(item.get("product_id")),
            quantity=_current_quantity(item),
            unit_price=_money(item.get("price")),
            name=_text(item.get("name")) or _text(item.get("title")),
            channel_line_id=_text(item.get("id")),
        )
        for item in raw.get("line_items") or [] if _current_quantity(item) > 0
    ]
    metadata = {key: raw[key] for key in METADATA_KEYS if key in raw and raw[key] not in (None, "", [], {})}
    original = {name: amount for name, keys in ORIGINAL_MONEY_KEYS.items()
                if (amount := _first_money(raw, *keys)) is not None}
    if original:
        metadata["original_totals"] = {name: f"{amount:.2f}" for name, amount in original.items()}
    removed = [_text(item.get("id")) for item in raw.get("line_items") or [] if _current_quantity(item) <= 0]
    if removed:
        metadata["removed_line_items"] = removed
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
        subtotal=money["subtotal"],
        discount=money["discount"],
        tax=money["tax"],
        shipping=money["shipping"],
        grand_total=money["grand_total"],
        lines=lines,
        customer_email=_text(raw.get("email")) or _text(raw.get("contact_email")) or _text(customer.get("email")),
        customer_name=(_full_name(customer.get("first_name"), customer.get("last_name"))
                       or (address.name if address else None)
                       or _text(billing.get("name"))),
        shipping_address=address,
        tracking_number=tracking_number,
        channel_metadata=metadata,
    )
