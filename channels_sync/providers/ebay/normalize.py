"""eBay Fulfillment API orders -> AggregatedOrderData. Pure: imports no Django (tested without it)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from channels_sync.normalized import Address, AggregatedOrderData, CommonStatus, OrderLineData

ORDERS_PATH = "/sell/fulfillment/v1/order"  # the resource whose shapes these are (client, writeback call it)
_MAPPED_ORDER_FIELDS = {"orderId", "creationDate", "lastModifiedDate", "orderFulfillmentStatus",
                        "orderPaymentStatus", "pricingSummary", "lineItems", "paymentSummary"}
_MAPPED_LINE_FIELDS = {"lineItemId", "sku", "legacyItemId", "title", "quantity", "lineItemCost"}
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def map_status(raw: dict) -> CommonStatus:
    """Cancellation wins, then a full refund, then how far fulfillment got (paid or not)."""
    if (raw.get("cancelStatus") or {}).get("cancelState") == "CANCELED":
        return CommonStatus.CANCELLED
    payment = raw.get("orderPaymentStatus")
    if payment == "FULLY_REFUNDED":
        return CommonStatus.REFUNDED
    fulfillment = raw.get("orderFulfillmentStatus")
    if fulfillment == "FULFILLED":
        return CommonStatus.SHIPPED
    if fulfillment == "IN_PROGRESS":
        return CommonStatus.PROCESSING
    return CommonStatus.PROCESSING if payment in ("PAID", "PARTIALLY_REFUNDED") else CommonStatus.PENDING


def normalize(raw: dict) -> AggregatedOrderData:
    pricing = raw.get("pricingSummary") or {}
    currency = ((pricing.get("total") or {}).get("currency")
                or (pricing.get("priceSubtotal") or {}).get("currency") or "")
    lines, line_metadata, line_taxes = [], {}, ZERO
    for item in raw.get("lineItems") or []:
        quantity = int(item.get("quantity") or 0)
        cost = money(item.get("lineItemCost"))   # unit price x quantity, before discounts
        unit = (cost / quantity).quantize(CENT, ROUND_HALF_UP) if quantity else cost
        lines.append(OrderLineData(sku=item.get("sku") or None, channel_sku=item.get("legacyItemId"),
                                   quantity=quantity, unit_price=unit, name=item.get("title"),
                                   channel_line_id=item.get("lineItemId")))
        line_taxes += sum((money(tax.get("amount")) for tax in item.get("taxes") or []), ZERO)
        line_metadata[item.get("lineItemId") or str(len(line_metadata))] = {
            key: value for key, value in item.items() if key not in _MAPPED_LINE_FIELDS}
    # The one money model: subtotal before order-level discounts, the discount (eBay's negative priceDiscount)
    # apart and positive, so subtotal - discount + shipping + tax == pricingSummary.total.
    discount = abs(money(pricing.get("priceDiscount")))
    subtotal = money(pricing.get("priceSubtotal")) + money(pricing.get("adjustment"))
    shipping = money(pricing.get("deliveryCost")) - abs(money(pricing.get("deliveryDiscount")))
    tax = money(pricing.get("tax")) if pricing.get("tax") else line_taxes
    grand_total = money(pricing.get("total")) if pricing.get("total") else subtotal - discount + shipping + tax

    ship_to = _ship_to(raw)
    registration = (raw.get("buyer") or {}).get("buyerRegistrationAddress") or {}
    payment_summary = raw.get("paymentSummary") or {}
    metadata = {key: value for key, value in raw.items() if key not in _MAPPED_ORDER_FIELDS}
    metadata["paymentMethods"] = sorted({p["paymentMethod"] for p in payment_summary.get("payments") or []
                                         if p.get("paymentMethod")})
    metadata["paymentSummary"] = payment_summary
    metadata["pricingSummary"] = pricing
    metadata["orderPaymentStatus"] = raw.get("orderPaymentStatus")
    metadata["orderFulfillmentStatus"] = raw.get("orderFulfillmentStatus")
    collect_and_remit = sum((money(tax.get("amount")) for item in raw.get("lineItems") or []
                             for tax in item.get("ebayCollectAndRemitTaxes") or []), ZERO)
    if collect_and_remit:
        metadata["ebayCollectAndRemitTax"] = f"{collect_and_remit:.2f}"
    metadata["lineItems"] = line_metadata
    raw_status = "/".join(part or "-" for part in (raw.get("orderFulfillmentStatus"), raw.get("orderPaymentStatus"),
                                                   (raw.get("cancelStatus") or {}).get("cancelState")))
    return AggregatedOrderData(
        channel_order_id=raw["orderId"],
        channel_order_number=raw["orderId"],
        status=map_status(raw),
        raw_status=raw_status,
        currency=currency,
        created_at=parse_time(raw.get("creationDate")),
        updated_at=parse_time(raw.get("lastModifiedDate") or raw.get("creationDate")),
        subtotal=subtotal, discount=discount, tax=tax, shipping=shipping, grand_total=grand_total,
        lines=lines,
        customer_email=registration.get("email") or (ship_to or {}).get("email") or None,
        customer_name=registration.get("fullName") or (ship_to or {}).get("fullName") or None,
        shipping_address=_address(ship_to),
        channel_metadata=metadata,
    )


def _ship_to(raw: dict) -> dict | None:
    for instruction in raw.get("fulfillmentStartInstructions") or []:
        ship_to = (instruction.get("shippingStep") or {}).get("shipTo")
        if ship_to:
            return ship_to
    return None


def _address(ship_to: dict | None) -> Address | None:
    if not ship_to:
        return None
    contact = ship_to.get("contactAddress") or {}
    return Address(name=ship_to.get("fullName"), company=ship_to.get("companyName") or None,
                   line1=contact.get("addressLine1"), line2=contact.get("addressLine2") or None,
                   city=contact.get("city"), region=contact.get("stateOrProvince") or None,
                   postal_code=contact.get("postalCode"), country=contact.get("countryCode"),
                   phone=(ship_to.get("primaryPhone") or {}).get("phoneNumber"))


def money(value: dict | None) -> Decimal:
    if not value or value.get("value") in (None, ""):
        return ZERO
    try:
        return Decimal(str(value["value"]))
    except InvalidOperation:
        return ZERO


def parse_time(value: str | None) -> datetime:
    if not value:
        return datetime(1970, 1, 1, tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
