"""Walmart orders -> AggregatedOrderData, the order status derived from its lines' statuses. Pure: imports no
Django (tested without it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from channels_sync.normalized import Address, AggregatedOrderData, CommonStatus, OrderLineData

ORDERS_PATH = "/v3/orders"  # the Orders API v3 resource whose shapes these are (the client and writeback call it)
LINE_STATUS_MAP = {
    "created": CommonStatus.PENDING,
    "acknowledged": CommonStatus.PROCESSING,
    "shipped": CommonStatus.SHIPPED,
    "delivered": CommonStatus.DELIVERED,
    "cancelled": CommonStatus.CANCELLED,
    "canceled": CommonStatus.CANCELLED,
    "refund": CommonStatus.REFUNDED,
    "refunded": CommonStatus.REFUNDED,
}


COUNTRY_ALPHA2 = {"USA": "US", "CAN": "CA", "MEX": "MX", "CHL": "CL"}


def _decimal(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("0")


def _ms(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _list(container: Any, key: str) -> list:
    """Walmart nests lists in wrapper objects (`orderLines.orderLine`); a single object may come unwrapped."""
    value = (container or {}).get(key) if isinstance(container, dict) else None
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def order_lines(order: dict) -> list[dict]:
    return _list(order.get("orderLines"), "orderLine")


def line_statuses(line: dict) -> list[dict]:
    return _list(line.get("orderLineStatuses"), "orderLineStatus")


def _quantity(value: Any) -> int:
    try:
        return int(Decimal(str((value or {}).get("amount", "0"))))
    except (InvalidOperation, TypeError, ValueError):
        return 0


def line_status_quantities(line: dict) -> dict[str, int]:
    """{status: quantity} for one line (a multi-quantity line can be part shipped, part cancelled)."""
    quantities: dict[str, int] = {}
    for status in line_statuses(line):
        name = str(status.get("status") or "")
        quantities[name] = quantities.get(name, 0) + (_quantity(status.get("statusQuantity")) or 0)
    return quantities


def _line_refunded(line: dict, line_total: Decimal) -> bool:
    refund_charges = _list((line.get("refund") or {}).get("refundCharges"), "refundCharge")
    refunded = sum((abs(_decimal(((c.get("charge") or {}).get("chargeAmount") or {}).get("amount")))
                    for c in refund_charges), Decimal("0"))
    return refunded > 0 and refunded >= line_total


def derive_status(line_states: list[CommonStatus]) -> CommonStatus:
    """One status for the order from its lines' statuses (cancelled lines only count when all are)."""
    if not line_states:
        return CommonStatus.PENDING
    live = [state for state in line_states if state != CommonStatus.CANCELLED]
    if not live:
        return CommonStatus.CANCELLED
    if all(state == CommonStatus.REFUNDED for state in live):
        return CommonStatus.REFUNDED
    if all(state == CommonStatus.DELIVERED for state in live):
        return CommonStatus.DELIVERED
    if all(state in (CommonStatus.SHIPPED, CommonStatus.DELIVERED, CommonStatus.REFUNDED) for state in live):
        return CommonStatus.SHIPPED
    if all(state == CommonStatus.PENDING for state in live):
        return CommonStatus.PENDING
    return CommonStatus.PROCESSING


def needs_acknowledgement(order: dict) -> bool:
    """Walmart expects a seller-fulfilled order acknowledged (within 4 hours) while a line is Created."""
    return any("Created" in line_status_quantities(line) for line in order_lines(order))


def normalize(raw: dict) -> AggregatedOrderData:
    subtotal = tax = shipping = other = Decimal("0")
    currency = ""
    lines: list[OrderLineData] = []
    line_states: list[CommonStatus] = []
    raw_statuses: list[str] = []
    tracking_number = None
    line_meta = []
    updated = _ms(raw.get("orderDate"))
    for line in order_lines(raw):
        line_product = Decimal("0")
        for charge in _list(line.get("charges"), "charge"):
            amount = _decimal((charge.get("chargeAmount") or {}).get("amount"))
            currency = currency or (charge.get("chargeAmount") or {}).get("currency") or ""
            if charge.get("isDiscount") and amount > 0:
                amount = -amount
            kind = str(charge.get("chargeType") or "").upper()
            if kind == "PRODUCT":
                line_product += amount
            elif kind == "SHIPPING":
                shipping += amount
            else:
                other += amount
            tax_amount = (charge.get("tax") or {}).get("taxAmount") or {}
            tax += _decimal(tax_amount.get("amount"))
            currency = currency or tax_amount.get("currency") or ""
        subtotal += line_product
        quantity = _quantity(line.get("orderLineQuantity")) or 1
        item = line.get("item") or {}
        lines.append(OrderLineData(
            sku=item.get("sku"), channel_sku=item.get("sku"), quantity=quantity,
            # chargeAmount is the line's charge; the unit price is that over the line quantity.
            unit_price=(line_product / quantity).quantize(Decimal("0.01")),
            name=item.get("productName"), channel_line_id=str(line.get("lineNumber") or "") or None))
        quantities = line_status_quantities(line)
        states = [LINE_STATUS_MAP.get(name.lower(), CommonStatus.PENDING) for name in quantities]
        if _line_refunded(line, line_product):
            states = [CommonStatus.REFUNDED]
        line_states.append(derive_status(states))
        raw_statuses.extend(name for name in quantities if name not in raw_statuses)
        for status in line_statuses(line):
            number = (status.get("trackingInfo") or {}).get("trackingNumber")
            tracking_number = tracking_number or number
        status_date = _ms(line.get("statusDate"))
        if status_date and (updated is None or status_date > updated):
            updated = status_date
        line_meta.append({
            "lineNumber": line.get("lineNumber"), "statuses": line_statuses(line),
            "fulfillment": line.get("fulfillment"),
            **({"refund": line["refund"]} if line.get("refund") else {}),
        })
    shipping_info = raw.get("shippingInfo") or {}
    postal = shipping_info.get("postalAddress") or None
    created = _ms(raw.get("orderDate")) or datetime.fromtimestamp(0, tz=UTC)
    metadata = {key: raw[key] for key in ("customerOrderId", "orderType", "originalCustomerOrderID",
                                          "shipNode", "sellerOrderId", "buyerId", "mart", "isGuest")
                if key in raw}
    metadata.update({
        "shippingMethodCode": shipping_info.get("methodCode"),
        "estimatedShipDate": shipping_info.get("estimatedShipDate"),
        "estimatedDeliveryDate": shipping_info.get("estimatedDeliveryDate"),
        "addressType": (postal or {}).get("addressType"),
        "lines": line_meta,
    })
    if other:
        metadata["otherCharges"] = f"{other:.2f}"
    return AggregatedOrderData(
        channel_order_id=str(raw["purchaseOrderId"]),
        status=derive_status(line_states),
        raw_status="/".join(raw_statuses),
        currency=currency or "USD",
        created_at=created,
        updated_at=updated or created,
        subtotal=subtotal,
        tax=tax,
        shipping=shipping,
        grand_total=subtotal + shipping + tax + other,
        lines=lines,
        customer_email=raw.get("customerEmailId") or None,
        customer_name=(postal or {}).get("name") or None,
        shipping_address=Address(
            name=postal.get("name"), line1=postal.get("address1"), line2=postal.get("address2"),
            city=postal.get("city"), region=postal.get("state"), postal_code=postal.get("postalCode"),
            country=COUNTRY_ALPHA2.get(postal.get("country"), postal.get("country")),
            phone=shipping_info.get("phone"),
        ) if postal else None,
        tracking_number=tracking_number,
        channel_order_number=raw.get("customerOrderId") or None,
        channel_metadata=metadata,
    )
