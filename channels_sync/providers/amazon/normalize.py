"""Amazon orders -> AggregatedOrderData: statuses, money, buyer and address. Pure: imports no Django (tested
without it).

Two shapes: the Orders API 2026-01-01 `Order` (camelCase, `orderId`, items inside, money in `proceeds`
breakdowns) that the provider reads today, and the v0 `Order` plus `OrderItems` (PascalCase,
`AmazonOrderId`) that raw payloads stored before the move still hold, so re-normalizing them keeps working.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from channels_sync.normalized import Address, AggregatedOrderData, CommonStatus, OrderLineData

STATUS_MAP = {
    "Pending": CommonStatus.PENDING,               # not yet paid / authorized
    "PendingAvailability": CommonStatus.PENDING,   # pre-order, not yet available
    "Unshipped": CommonStatus.PROCESSING,          # paid, ready to ship
    "PartiallyShipped": CommonStatus.PROCESSING,   # some items still to ship
    "Shipped": CommonStatus.SHIPPED,
    "InvoiceUnconfirmed": CommonStatus.SHIPPED,    # shipped; invoice confirmation still missing
    "Canceled": CommonStatus.CANCELLED,
    "Unfulfillable": CommonStatus.CANCELLED,       # multi-channel order that cannot be fulfilled
}


# One-shot sync `status` filter: common status -> getOrders OrderStatuses.
ORDER_STATUSES_FOR = {
    CommonStatus.PENDING: ["Pending", "PendingAvailability"],
    CommonStatus.PROCESSING: ["Unshipped", "PartiallyShipped"],
    CommonStatus.SHIPPED: ["Shipped", "InvoiceUnconfirmed"],
    CommonStatus.DELIVERED: ["Shipped"],
    CommonStatus.CANCELLED: ["Canceled", "Unfulfillable"],
}


# Pending orders carry no OrderTotal: their currency follows from the marketplace.
MARKETPLACE_CURRENCY = {
    "ATVPDKIKX0DER": "USD", "A2EUQ1WTGCTBG2": "CAD", "A1AM78C64UM0Y8": "MXN", "A2Q3Y263D00KWC": "BRL",
    "A1F83G8C2ARO7P": "GBP", "A1PA6795UKMFR9": "EUR", "A13V1IB3VIYZZH": "EUR", "APJ6JRA9NG5V4": "EUR",
    "A1RKKUPIHCS9HS": "EUR", "A1805IZSGTT6HS": "EUR", "AMEN7PMS3EDWL": "EUR", "A2NODRKZP88ZB9": "SEK",
    "A1C3SOZRARQ6R3": "PLN", "A33AVAJ2PDY3EV": "TRY", "A21TJRUUN4KGV": "INR", "A1VC38T7YXB528": "JPY",
    "A39IBJ37TRP1C6": "AUD", "A19VAU5U5O7RUS": "SGD", "A2VIGQ35RCS4UG": "AED", "A17E79C6D8DWNP": "SAR",
    "ARBP9OOSHTCHU": "EGP",
}


# Order fields normalize maps onto columns; everything else goes to channelMetadata as Amazon names it.
_MAPPED_ORDER_FIELDS = {"AmazonOrderId", "PurchaseDate", "LastUpdateDate", "OrderStatus", "OrderTotal",
                        "ShippingAddress", "OrderItems", "BuyerInfo", "BuyerEmail", "BuyerName"}
_MAPPED_ITEM_FIELDS = {"OrderItemId", "SellerSKU", "ASIN", "Title", "QuantityOrdered", "ItemPrice", "ItemTax",
                       "ShippingPrice", "ShippingTax", "ShippingDiscount", "ShippingDiscountTax",
                       "PromotionDiscount", "PromotionDiscountTax"}
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


# Orders API 2026-01-01 `fulfillment.fulfillmentStatus` onto the common six.
FULFILLMENT_STATUS_MAP = {
    "PENDING_AVAILABILITY": CommonStatus.PENDING,
    "PENDING": CommonStatus.PENDING,
    "UNSHIPPED": CommonStatus.PROCESSING,
    "PARTIALLY_SHIPPED": CommonStatus.PROCESSING,
    "SHIPPED": CommonStatus.SHIPPED,
    "CANCELLED": CommonStatus.CANCELLED,
    "UNFULFILLABLE": CommonStatus.CANCELLED,
}

# One-shot sync `status` filter: common status -> searchOrders fulfillmentStatuses.
FULFILLMENT_STATUSES_FOR = {
    CommonStatus.PENDING: ["PENDING_AVAILABILITY", "PENDING"],
    CommonStatus.PROCESSING: ["UNSHIPPED", "PARTIALLY_SHIPPED"],
    CommonStatus.SHIPPED: ["SHIPPED"],
    CommonStatus.DELIVERED: ["SHIPPED"],
    CommonStatus.CANCELLED: ["CANCELLED", "UNFULFILLABLE"],
}

_MAPPED_ORDER_FIELDS_2026 = {"orderId", "createdTime", "lastUpdatedTime", "buyer", "recipient", "proceeds",
                             "orderItems"}
_MAPPED_ITEM_FIELDS_2026 = {"orderItemId", "quantityOrdered", "proceeds"}


def is_2026(raw: dict) -> bool:
    """An Orders API 2026-01-01 order (`orderId`), as opposed to a stored v0 one (`AmazonOrderId`)."""
    return "orderId" in raw and "AmazonOrderId" not in raw


def order_id(raw: dict) -> str:
    return raw["orderId"] if is_2026(raw) else raw["AmazonOrderId"]


def marketplace_id(raw: dict) -> str | None:
    if is_2026(raw):
        return (raw.get("salesChannel") or {}).get("marketplaceId")
    return raw.get("MarketplaceId")


def fulfilled_by_amazon(raw: dict) -> bool:
    if is_2026(raw):
        return (raw.get("fulfillment") or {}).get("fulfilledBy") == "AMAZON"
    return raw.get("FulfillmentChannel") == "AFN"


def unshipped_quantities(raw: dict) -> dict[str, int]:
    """{orderItemId: units not yet shipped} as Amazon last said, for confirming the rest of an order."""
    remaining: dict[str, int] = {}
    if is_2026(raw):
        for item in raw.get("orderItems") or []:
            ordered = int(item.get("quantityOrdered") or 0)
            fulfillment = item.get("fulfillment") or {}
            if fulfillment.get("quantityUnfulfilled") is not None:
                left = int(fulfillment["quantityUnfulfilled"])
            else:
                left = ordered - int(fulfillment.get("quantityFulfilled") or 0)
            remaining[str(item.get("orderItemId"))] = max(0, min(left, ordered))
    else:
        for item in raw.get("OrderItems") or []:
            ordered = int(item.get("QuantityOrdered") or 0)
            remaining[str(item.get("OrderItemId"))] = max(0, ordered - int(item.get("QuantityShipped") or 0))
    return remaining


def map_status(raw: dict) -> CommonStatus:
    """The order's status onto the common six. 2026-01-01: fulfillmentStatus, and a shipped order whose every
    package Amazon reports DELIVERED is delivered. v0: OrderStatus, Easy Ship's Delivered likewise."""
    if is_2026(raw):
        status = FULFILLMENT_STATUS_MAP.get((raw.get("fulfillment") or {}).get("fulfillmentStatus") or "",
                                            CommonStatus.PENDING)
        packages = raw.get("packages") or []
        if status == CommonStatus.SHIPPED and packages and all(
                (package.get("packageStatus") or {}).get("status") == "DELIVERED" for package in packages):
            return CommonStatus.DELIVERED
        return status
    status = STATUS_MAP.get(raw.get("OrderStatus") or "", CommonStatus.PENDING)
    if status == CommonStatus.SHIPPED and raw.get("EasyShipShipmentStatus") == "Delivered":
        return CommonStatus.DELIVERED
    return status


def normalize(raw: dict) -> AggregatedOrderData:
    return normalize_2026(raw) if is_2026(raw) else normalize_v0(raw)


def normalize_2026(raw: dict) -> AggregatedOrderData:
    """One Orders API 2026-01-01 order (searchOrders / getOrder, items included).

    Money (docs/channels.md, "One money model"): subtotal = the ITEM proceeds (unit price x quantity), discount =
    the DISCOUNT proceeds not on shipping, shipping = SHIPPING proceeds less shipping discounts, tax = TAX
    proceeds, grandTotal = `proceeds.grandTotal`. Item breakdowns are read when present (only they split a
    discount into item and shipping parts), else the order's. Gift wrap, COD fee, delivery tip and OTHER are
    in Amazon's total but in none of the four parts: kept in channelMetadata.otherCharges."""
    items = raw.get("orderItems") or []
    proceeds = raw.get("proceeds") or {}
    grand = proceeds.get("grandTotal") or {}
    currency = (grand.get("currencyCode") or _first_currency_2026(items)
                or MARKETPLACE_CURRENCY.get(marketplace_id(raw) or "", "") or "")
    lines, item_metadata = [], {}
    for item in items:
        product = item.get("product") or {}
        quantity = int(item.get("quantityOrdered") or 0)
        unit = _money_2026((product.get("price") or {}).get("unitPrice"))
        lines.append(OrderLineData(sku=product.get("sellerSku"), channel_sku=product.get("asin"), quantity=quantity,
                                   unit_price=unit.quantize(CENT, ROUND_HALF_UP) if unit else ZERO,
                                   name=product.get("title"), channel_line_id=item.get("orderItemId")))
        extra = {key: value for key, value in item.items() if key not in _MAPPED_ITEM_FIELDS_2026}
        if extra:
            item_metadata[item.get("orderItemId") or str(len(item_metadata))] = extra
    item_breakdowns = [b for item in items for b in ((item.get("proceeds") or {}).get("breakdowns") or [])]
    parts = _proceeds_parts(item_breakdowns or proceeds.get("breakdowns") or [])
    if not any(b.get("type") == "ITEM" for b in item_breakdowns or proceeds.get("breakdowns") or []):
        parts["subtotal"] = sum((line.unit_price * line.quantity for line in lines), ZERO)
    if item_breakdowns:  # a delivery tip is charged apart from the items: only the order's breakdowns have it
        for breakdown in proceeds.get("breakdowns") or []:
            if breakdown.get("type") == "DELIVERY_TIP":
                parts["other"].append(breakdown)
    subtotal, discount, shipping, tax = parts["subtotal"], parts["discount"], parts["shipping"], parts["tax"]
    grand_total = (_money_2026(grand) if grand.get("amount") not in (None, "")
                   else subtotal - discount + shipping + tax)

    buyer = raw.get("buyer") or {}
    metadata = {key: value for key, value in raw.items() if key not in _MAPPED_ORDER_FIELDS_2026}
    buyer_rest = {key: value for key, value in buyer.items() if key not in {"buyerEmail", "buyerName"} and value}
    if buyer_rest:
        metadata["buyer"] = buyer_rest
    recipient_rest = {key: value for key, value in (raw.get("recipient") or {}).items() if key != "deliveryAddress"}
    if recipient_rest:
        metadata["recipient"] = recipient_rest
    if parts["other"]:
        metadata["otherCharges"] = [{"type": b.get("type"), "amount": str(_money_2026(b.get("subtotal")))}
                                    for b in parts["other"]]
    if item_metadata:
        metadata["orderItems"] = item_metadata
    return AggregatedOrderData(
        channel_order_id=raw["orderId"],
        channel_order_number=raw["orderId"],
        status=map_status(raw),
        raw_status=(raw.get("fulfillment") or {}).get("fulfillmentStatus") or "",
        currency=currency,
        created_at=parse_time(raw.get("createdTime")),
        updated_at=parse_time(raw.get("lastUpdatedTime") or raw.get("createdTime")),
        subtotal=subtotal, discount=discount, tax=tax, shipping=shipping, grand_total=grand_total,
        lines=lines,
        customer_email=buyer.get("buyerEmail") or None,
        customer_name=buyer.get("buyerName") or None,
        shipping_address=_address_2026((raw.get("recipient") or {}).get("deliveryAddress")),
        channel_metadata=metadata,
    )


def _proceeds_parts(breakdowns: list[dict]) -> dict:
    parts = {"subtotal": ZERO, "discount": ZERO, "shipping": ZERO, "tax": ZERO, "other": []}
    for breakdown in breakdowns:
        kind, amount = breakdown.get("type"), _money_2026(breakdown.get("subtotal"))
        if kind == "ITEM":
            parts["subtotal"] += amount
        elif kind == "SHIPPING":
            parts["shipping"] += amount
        elif kind == "TAX":
            parts["tax"] += amount
        elif kind == "DISCOUNT":   # proceeds: a discount lowers them, whatever sign Amazon writes it with
            details = breakdown.get("detailedBreakdowns") or []
            on_shipping = sum((abs(_money_2026(d.get("value"))) for d in details if d.get("subtype") == "SHIPPING"),
                              ZERO)
            parts["shipping"] -= on_shipping
            parts["discount"] += abs(amount) - on_shipping
        else:
            parts["other"].append(breakdown)
    return parts


def _address_2026(data: dict | None) -> Address | None:
    if not data or not any(data.get(key) for key in ("name", "addressLine1", "city", "postalCode")):
        return None
    line2 = ", ".join(part for part in (data.get("addressLine2"), data.get("addressLine3")) if part) or None
    return Address(name=data.get("name"), company=data.get("companyName"), line1=data.get("addressLine1"),
                   line2=line2, city=data.get("city"), region=data.get("stateOrRegion") or None,
                   postal_code=data.get("postalCode"), country=data.get("countryCode"), phone=data.get("phone"))


def _money_2026(value: dict | None) -> Decimal:
    if not value or value.get("amount") in (None, ""):
        return ZERO
    try:
        return Decimal(str(value["amount"]))
    except InvalidOperation:
        return ZERO


def _first_currency_2026(items: list[dict]) -> str | None:
    for item in items:
        code = (((item.get("product") or {}).get("price") or {}).get("unitPrice") or {}).get("currencyCode")
        if code:
            return code
    return None


def normalize_v0(raw: dict) -> AggregatedOrderData:
    """A stored Orders API v0 order with its `OrderItems` (PromotionDiscount is the discount)."""
    items = raw.get("OrderItems") or []
    order_total = raw.get("OrderTotal") or {}
    currency = (order_total.get("CurrencyCode") or _first_currency(items)
                or MARKETPLACE_CURRENCY.get(raw.get("MarketplaceId", "")) or "")
    lines, subtotal, discount, tax, shipping = [], ZERO, ZERO, ZERO, ZERO
    item_metadata = {}
    for item in items:
        quantity = int(item.get("QuantityOrdered") or 0)
        item_price = _money(item.get("ItemPrice"))
        subtotal += item_price
        discount += abs(_money(item.get("PromotionDiscount")))
        shipping += _money(item.get("ShippingPrice")) - abs(_money(item.get("ShippingDiscount")))
        tax += (_money(item.get("ItemTax")) + _money(item.get("ShippingTax"))
                - abs(_money(item.get("PromotionDiscountTax"))) - abs(_money(item.get("ShippingDiscountTax"))))
        unit = (item_price / quantity).quantize(CENT, ROUND_HALF_UP) if quantity else item_price
        lines.append(OrderLineData(sku=item.get("SellerSKU"), channel_sku=item.get("ASIN"), quantity=quantity,
                                   unit_price=unit, name=item.get("Title"), channel_line_id=item.get("OrderItemId")))
        extra = {key: value for key, value in item.items() if key not in _MAPPED_ITEM_FIELDS}
        if extra:
            item_metadata[item.get("OrderItemId") or str(len(item_metadata))] = extra
    grand_total = (_money(order_total) if order_total.get("Amount") is not None
                   else subtotal - discount + shipping + tax)

    raw_status = raw.get("OrderStatus") or ""
    status = map_status(raw)
    buyer = raw.get("BuyerInfo") or {}
    metadata = {key: value for key, value in raw.items() if key not in _MAPPED_ORDER_FIELDS}
    buyer_rest = {key: value for key, value in buyer.items() if key not in {"BuyerEmail", "BuyerName"}}
    if buyer_rest:
        metadata["BuyerInfo"] = buyer_rest
    if item_metadata:
        metadata["OrderItems"] = item_metadata
    return AggregatedOrderData(
        channel_order_id=raw["AmazonOrderId"],
        channel_order_number=raw["AmazonOrderId"],
        status=status,
        raw_status=raw_status,
        currency=currency,
        created_at=parse_time(raw.get("PurchaseDate")),
        updated_at=parse_time(raw.get("LastUpdateDate") or raw.get("PurchaseDate")),
        subtotal=subtotal, discount=discount, tax=tax, shipping=shipping, grand_total=grand_total,
        lines=lines,
        customer_email=buyer.get("BuyerEmail") or raw.get("BuyerEmail") or None,
        customer_name=buyer.get("BuyerName") or raw.get("BuyerName") or None,
        shipping_address=_address(raw.get("ShippingAddress")),
        channel_metadata=metadata,
    )


def _address(data: dict | None) -> Address | None:
    if not data:
        return None
    line2 = ", ".join(part for part in (data.get("AddressLine2"), data.get("AddressLine3")) if part) or None
    return Address(name=data.get("Name"), company=data.get("CompanyName"), line1=data.get("AddressLine1"),
                   line2=line2, city=data.get("City"), region=data.get("StateOrRegion") or None,
                   postal_code=data.get("PostalCode"), country=data.get("CountryCode"), phone=data.get("Phone"))


def _money(value: dict | None) -> Decimal:
    if not value or value.get("Amount") in (None, ""):
        return ZERO
    try:
        return Decimal(str(value["Amount"]))
    except InvalidOperation:
        return ZERO


def _first_currency(items: list[dict]) -> str | None:
    for item in items:
        for key in ("ItemPrice", "ItemTax", "ShippingPrice"):
            code = (item.get(key) or {}).get("CurrencyCode")
            if code:
                return code
    return None


def parse_time(value) -> datetime:
    if isinstance(value, int | float):  # epoch milliseconds (ORDER_STATUS_CHANGE payloads)
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if not value:
        return datetime(1970, 1, 1, tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
