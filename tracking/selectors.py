"""Tracking reads. Everything org-owned takes the org; the public tracking lookup is by number only
and answers carrier facts, never order or customer data."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.http import Http404

from accounts.tenancy import get_for_org
from orders.models import Order, Shipment
from tracking.models import ScanEvent
from tracking.status import latest, overall_status


@dataclass
class ShippedLine:
    sku: str
    quantity: int
    shipment: Shipment


@dataclass
class PendingLine:
    sku: str
    quantity: int


@dataclass
class OrderTracking:
    order: Order
    overall_status: str
    shipped: list[ShippedLine] = field(default_factory=list)
    pending: list[PendingLine] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)

    @property
    def order_number(self) -> str:
        return self.order.order_number


def _shipments_prefetch() -> Prefetch:
    return Prefetch("shipments", queryset=Shipment.objects.prefetch_related(
        "lines", Prefetch("scans", queryset=ScanEvent.objects.order_by("occurred_at", "id"))))


def order_tracking(*, org, order_number: str, email: str | None = None, order_id: int | None = None
                   ) -> OrderTracking:
    """The org's order with its parcels and what is still to ship; 404 alike for other orgs' orders.

    A public caller proves it knows the order: the customer's email (case-insensitive) or the id
    from a signed order link. Neither given is the same 404 as a missing order.
    """
    queryset = Order.objects.prefetch_related("lines", _shipments_prefetch())
    if order_id is not None:
        queryset = queryset.filter(pk=order_id)
    elif email and email.strip():
        queryset = queryset.filter(customer__email__iexact=email.strip())
    else:
        raise Http404
    order = get_for_org(queryset, org=org, order_number=order_number)
    return build_order_tracking(order)


def build_order_tracking(order: Order) -> OrderTracking:
    """From an order whose lines and shipments (with lines and scans) are prefetched."""
    shipments = list(order.shipments.all())
    for shipment in shipments:
        shipment.latest_scan = latest(shipment.scans.all())
    shipped = [ShippedLine(sku=line.sku, quantity=line.quantity, shipment=shipment)
               for shipment in shipments for line in shipment.lines.all()]
    pending = []
    if order.status != "cancelled":
        pending = [PendingLine(sku=line.sku, quantity=line.quantity_unshipped)
                   for line in order.lines.all() if line.quantity_unshipped > 0]
    status = overall_status(order_status=order.status, shipment_statuses=[s.status for s in shipments],
                            has_pending=bool(pending))
    return OrderTracking(order=order, overall_status=status, shipped=shipped, pending=pending, shipments=shipments)


def shipments_by_tracking_number(*, org, tracking_number: str) -> list[Shipment]:
    """Only the org's parcels: another org's shipment with the same number is never read or written."""
    return list(Shipment.objects.filter(org=org, tracking_number=tracking_number).prefetch_related(
        Prefetch("scans", queryset=ScanEvent.objects.order_by("occurred_at", "id"))).order_by("-id"))


def shipment_for_org(*, org, public_id: str) -> Shipment:
    """`shp-001` (or a bare number) of the org's; 404 alike for a missing and another org's parcel."""
    raw = public_id.removeprefix("shp-")
    if not raw.isdigit():
        raise Http404
    return get_for_org(Shipment.objects.select_related("order"), org=org, pk=int(raw))
