"""What the customer order and parcel pages say, decided here so the templates only lay it out.

One rule above the others: the page never contradicts itself. The order's own state (what the
store did) and the carrier's scans (what the carrier said) are both shown, each saying where it
came from; when the store marked an order delivered and the carrier never scanned the parcel,
the parcel reads "Delivered, confirmed by the store", not "Label created" beside "Delivered".
Same privacy rules as the views: no notes, costs, payments, hold reasons or staff names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from orders.carrier_formats import carrier_label
from orders.links import carrier_tracking_url, customer_tracking_url, parcel_page_url
from orders.models import Order, OrderStatus, Shipment
from orders.services import is_cancel_request
from tracking.selectors import OrderTracking
from tracking.status import latest

S = OrderStatus
STATUS_LABELS = {
    "new": "Order received", "processing": "Being prepared", "shipped": "Shipped", "delivered": "Delivered",
    "completed": "Delivered", "on-hold": "Being prepared", "cancelled": "Cancelled", "refunded": "Refunded",
}
TRACKING_LABELS = {
    "label_created": "Label created", "in_transit": "In transit", "out_for_delivery": "Out for delivery",
    "delivered": "Delivered", "exception": "Delivery problem", "returned": "Returned to sender",
}
STEPS = (("placed", "Placed"), ("processing", "Processing"), ("shipped", "Shipped"),
         ("out_for_delivery", "Out for delivery"), ("delivered", "Delivered"))
STEP_INDEX = {key: index for index, (key, _) in enumerate(STEPS)}
# Not shipped yet: the customer may ask (a staff hold is invisible to them, so they may ask then too).
CANCELLABLE = {S.NEW, S.PROCESSING, S.ON_HOLD}


@dataclass
class Step:
    key: str
    label: str
    state: str  # done, current, todo
    date: datetime | None = None


@dataclass
class ParcelItem:
    quantity: int
    name: str
    sku: str


@dataclass
class Parcel:
    number: int
    public_id: str
    carrier: str
    service: str
    tracking_number: str
    tracking_url: str
    tracking_is_carrier: bool
    page_url: str
    status: str
    status_label: str
    status_source: str
    items: list[ParcelItem]
    scans: list  # newest first
    latest_scan: object | None
    shipped_on: datetime
    delivered_at: datetime | None
    estimated_delivery: datetime | None
    scans_note: str


@dataclass
class OrderPage:
    order: Order
    status_label: str
    headline: str
    steps: list[Step]
    estimated_delivery: datetime | None
    address: list[str]
    parcels: list[Parcel]
    lines: list
    pending: list
    refunds: list
    can_request_cancel: bool
    cancel_requested: bool
    notice: str = ""
    parcel_map: dict = field(default_factory=dict)

    @property
    def parcel_etas(self) -> bool:
        """One parcel: its estimate is the order's, shown once at the top."""
        return len(self.parcels) > 1


def _mask(value: str, keep: int) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    return value[:keep] + "•" * min(max(len(value) - keep, 3), 8)


def masked_address(address: dict | None) -> list[str]:
    """Enough to recognise one's own address, not enough to learn a stranger's from a forwarded link:
    first name and initial, the street's first characters, town and region, half the postcode."""
    address = address or {}
    get = lambda *keys: next((str(address[k]).strip() for k in keys if address.get(k)), "")  # noqa: E731
    lines = []
    name = get("name", "fullName") or " ".join(p for p in (get("firstName", "first_name"),
                                                             get("lastName", "last_name")) if p)
    if name:
        parts = name.split()
        lines.append(parts[0] + (f" {parts[-1][0]}." if len(parts) > 1 else ""))
    street = get("line1", "address1", "street")
    if street:
        lines.append(_mask(street, 3))
    postal = get("postalCode", "postal_code", "zip", "postcode")
    town = ", ".join(p for p in (get("city", "town"), get("region", "state", "province")) if p)
    town_line = " ".join(p for p in (town, _mask(postal, max(1, len(postal) // 2)) if postal else "") if p)
    if town_line:
        lines.append(town_line)
    country = get("country", "countryCode", "country_code")
    if country:
        lines.append(country)
    return lines


def _parcel_status(shipment: Shipment, order: Order, last_scan, brand: str) -> tuple[str, str]:
    """(status, where it came from). The store's delivered stands when the carrier has not caught up."""
    order_delivered = order.status in (S.DELIVERED, S.COMPLETED) or (order.status == S.REFUNDED and order.delivered_at)
    if shipment.status != "delivered" and order_delivered:
        when = order.delivered_at.strftime("%-d %b %Y") if order.delivered_at else ""
        return "delivered", f"Confirmed by {brand}" + (f" on {when}" if when else "")
    if last_scan is not None:
        source = "the carrier" if last_scan.source != "manual" else brand
        return shipment.status, f"Last update from {source}, {last_scan.occurred_at:%-d %b %Y %H:%M} UTC"
    if shipment.status == "label_created":
        return "label_created", f"Label created by {brand} on {shipment.ship_date:%-d %b %Y}"
    return shipment.status, "Reported by the carrier"


def present_parcel(shipment: Shipment, *, number: int, order: Order, token: str, brand: str) -> Parcel:
    scans = list(shipment.scans.all())
    last = latest(scans)
    status, source = _parcel_status(shipment, order, last, brand)
    carrier_url = carrier_tracking_url(shipment)
    if scans:
        note = ""
    elif carrier_url:
        note = "No scans from the carrier here yet; the carrier's own page may know more."
    else:
        note = "No scans from the carrier yet."
    return Parcel(
        number=number, public_id=shipment.public_id, carrier=carrier_label(shipment.carrier), service=shipment.service,
        tracking_number=shipment.tracking_number, tracking_url=customer_tracking_url(shipment, token=token),
        tracking_is_carrier=bool(carrier_url), page_url=parcel_page_url(shipment, token=token),
        status=status, status_label=TRACKING_LABELS.get(status, status.replace("_", " ").capitalize()),
        status_source=source,
        items=[ParcelItem(quantity=line.quantity, name=line.order_line.name or line.sku, sku=line.sku)
               for line in shipment.lines.all()],
        scans=list(reversed(scans)), latest_scan=last, shipped_on=shipment.ship_date,
        delivered_at=shipment.delivered_at or (order.delivered_at if status == "delivered" else None),
        estimated_delivery=shipment.estimated_delivery if status != "delivered" else None, scans_note=note,
    )


def _reached_step(order: Order, parcels: list[Parcel]) -> int | None:
    """Index of the furthest step reached; None when the order stopped (cancelled, refunded before shipping)."""
    if order.status == S.CANCELLED or (order.status == S.REFUNDED and not parcels):
        return None
    statuses = [parcel.status for parcel in parcels]
    if order.status in (S.DELIVERED, S.COMPLETED) or (statuses and all(s == "delivered" for s in statuses)
                                                      and order.status != S.PROCESSING):
        return STEP_INDEX["delivered"]
    if "out_for_delivery" in statuses:
        return STEP_INDEX["out_for_delivery"]
    if parcels:
        return STEP_INDEX["shipped"]
    if order.status == S.PROCESSING or (order.status == S.ON_HOLD and order.prior_status == S.PROCESSING):
        return STEP_INDEX["processing"]
    return STEP_INDEX["placed"]


def _steps(order: Order, parcels: list[Parcel], reached: int, partly_shipped: bool) -> list[Step]:
    dates = {"placed": order.created_at, "processing": order.processed_at,
             "shipped": min((p.shipped_on for p in parcels), default=None),
             "out_for_delivery": None, "delivered": order.delivered_at}
    if reached == STEP_INDEX["delivered"] and not dates["delivered"]:
        dates["delivered"] = max((p.delivered_at for p in parcels if p.delivered_at), default=None)
    # A date after a later step's (an order backfilled or imported out of order) would read as a contradiction:
    # that step keeps its place in the bar without a date.
    later = None
    for key, _ in reversed(STEPS):
        if dates[key] and later and dates[key] > later:
            dates[key] = None
        later = dates[key] or later
    steps = []
    for index, (key, label) in enumerate(STEPS):
        if key == "shipped" and partly_shipped:
            label = "Partly shipped"
        state = "done" if index < reached else "current" if index == reached else "todo"
        steps.append(Step(key=key, label=label, state=state, date=dates[key] if index <= reached else None))
    return steps


def _headline(order: Order, parcels: list[Parcel], reached: int | None, partly_shipped: bool) -> tuple[str, str]:
    """(headline, notice): one sentence a customer reads first."""
    if order.status == S.CANCELLED:
        return "Cancelled", "This order was cancelled. Any refund is confirmed by email."
    if order.status == S.REFUNDED:
        return "Refunded", "This order was refunded in full."
    if is_cancel_request(order):
        return "Cancellation requested", "We have your request to cancel; the store will confirm by email."
    problems = [p for p in parcels if p.status in ("exception", "returned")]
    if problems:
        return TRACKING_LABELS[problems[0].status], "The carrier reported a problem with a parcel; see it below."
    if reached == STEP_INDEX["delivered"]:
        return "Delivered", ""
    if reached == STEP_INDEX["out_for_delivery"]:
        return "Out for delivery", ""
    if reached == STEP_INDEX["shipped"]:
        if partly_shipped:
            return "Partly shipped", "Part of your order is on its way; the rest will follow."
        return "On its way", ""
    if reached == STEP_INDEX["processing"]:
        return "Being prepared", ""
    return "Order received", ""


def present_order(tracking: OrderTracking, *, token: str, brand: str) -> OrderPage:
    """The order page from an OrderTracking whose order has lines, refunds and parcels (lines, scans) loaded."""
    order = tracking.order
    parcels = [present_parcel(shipment, number=index, order=order, token=token, brand=brand)
               for index, shipment in enumerate(tracking.shipments, start=1)]
    partly_shipped = bool(tracking.pending) and bool(parcels)
    reached = _reached_step(order, parcels)
    headline, notice = _headline(order, parcels, reached, partly_shipped)
    estimates = [p.estimated_delivery for p in parcels if p.estimated_delivery and p.status != "delivered"]
    cancel_requested = is_cancel_request(order)
    return OrderPage(
        order=order, headline=headline,
        status_label="Cancellation requested" if cancel_requested else STATUS_LABELS.get(order.status, order.status),
        steps=_steps(order, parcels, reached, partly_shipped) if reached is not None else [],
        estimated_delivery=max(estimates) if estimates and reached != STEP_INDEX["delivered"] else None,
        address=masked_address(order.shipping_address), parcels=parcels, lines=list(order.lines.all()),
        pending=tracking.pending, refunds=list(order.refunds.all()),
        can_request_cancel=order.status in CANCELLABLE and not parcels and not cancel_requested,
        cancel_requested=cancel_requested,
        notice=notice, parcel_map={parcel.public_id: parcel for parcel in parcels},
    )


# --- the merchant's accent colour, made readable ---------------------------------------------------

PAGE_BACKGROUND = "#f6f8fb"  # public.css --bg: links in the header and footer sit on it


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, two: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    high, low = sorted((_luminance(one), _luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _darker(hex_color: str, step: float = 0.08) -> str:
    return "#" + "".join(f"{max(0, int(int(hex_color[i:i + 2], 16) * (1 - step))):02x}" for i in (1, 3, 5))


def readable_accent(accent: str, *, minimum: float = 4.5) -> str:
    """The merchant's colour, darkened just enough for text on the page (and white text on it) to meet
    WCAG AA (4.5:1): a pale brand colour still brands the page without making links unreadable."""
    color = accent.lower() if len(accent or "") == 7 and accent.startswith("#") else "#1f6feb"
    try:
        int(color[1:], 16)
    except ValueError:
        color = "#1f6feb"
    for _ in range(40):
        if contrast(color, PAGE_BACKGROUND) >= minimum and contrast(color, "#ffffff") >= minimum:
            break
        color = _darker(color)
    return color
