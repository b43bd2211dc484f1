"""Amazon Orders API v0 orders -> AggregatedOrderData: statuses, money, buyer and address. Pure: imports no
Django (tested without it).
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


# confirmShipment carrierCode values for common carriers; anything else is "Other" + carrierName.
# Order fields normalize maps onto columns; everything else goes to channelMetadata as Amazon names it.
_MAPPED_ORDER_FIELDS = {"AmazonOrderId", "PurchaseDate", "LastUpdateDate", "OrderStatus", "OrderTotal",
                        "ShippingAddress", "OrderItems", "BuyerInfo", "BuyerEmail", "BuyerName"}
_MAPPED_ITEM_FIELDS = {"OrderItemId", "SellerSKU", "ASIN", "Title", "QuantityOrdered", "ItemPrice", "ItemTax",
                       "ShippingPrice", "ShippingTax", "ShippingDiscount", "ShippingDiscountTax",
                       "PromotionDiscount", "PromotionDiscountTax"}
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def map_status(raw: dict) -> CommonStatus:
    """OrderStatus onto the common six; an Easy Ship order Amazon reports delivered is delivered."""
    status = STATUS_MAP.get(raw.get("OrderStatus") or "", CommonStatus.PENDING)
    if status == CommonStatus.SHIPPED and raw.get("EasyShipShipmentStatus") == "Delivered":
        return CommonStatus.DELIVERED
    return status


def normalize(raw: dict) -> AggregatedOrderData:
    items = raw.get("OrderItems") or []
    order_total = raw.get("OrderTotal") or {}
    currency = (order_total.get("CurrencyCode") or _first_currency(items)
                or MARKETPLACE_CURRENCY.get(raw.get("MarketplaceId", "")) or "")
    lines, subtotal, tax, shipping = [], ZERO, ZERO, ZERO
    item_metadata = {}
    for item in items:
        quantity = int(item.get("QuantityOrdered") or 0)
        item_price = _money(item.get("ItemPrice"))
        subtotal += item_price - abs(_money(item.get("PromotionDiscount")))
        shipping += _money(item.get("ShippingPrice")) - abs(_money(item.get("ShippingDiscount")))
        tax += (_money(item.get("ItemTax")) + _money(item.get("ShippingTax"))
                - abs(_money(item.get("PromotionDiscountTax"))) - abs(_money(item.get("ShippingDiscountTax"))))
        unit = (item_price / quantity).quantize(CENT, ROUND_HALF_UP) if quantity else item_price
        lines.append(OrderLineData(sku=item.get("SellerSKU"), channel_sku=item.get("ASIN"), quantity=quantity,
                                   unit_price=unit, name=item.get("Title"), channel_line_id=item.get("OrderItemId")))
        extra = {key: value for key, value in item.items() if key not in _MAPPED_ITEM_FIELDS}
        if extra:
            item_metadata[item.get("OrderItemId") or str(len(item_metadata))] = extra
    grand_total = _money(order_total) if order_total.get("Amount") is not None else subtotal + shipping + tax

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
        subtotal=subtotal, tax=tax, shipping=shipping, grand_total=grand_total,
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
