"""Carrier scans for an order's admin timeline (orders.timeline.SOURCES names this by path)."""

from orders.timeline import TimelineEntry
from tracking.models import ScanEvent, TrackingStatus

PROBLEMS = {TrackingStatus.EXCEPTION, TrackingStatus.RETURNED}


def scan_entries(order) -> list[TimelineEntry]:
    scans = ScanEvent.objects.filter(shipment__order=order).select_related("shipment").order_by("occurred_at", "id")
    return [TimelineEntry(at=scan.occurred_at, kind="scan", problem=scan.status in PROBLEMS,
                          title=f"{scan.shipment.carrier.upper()} {scan.shipment.tracking_number}: "
                                f"{scan.get_status_display()}",
                          detail=" \u00b7 ".join(part for part in (scan.description, scan.location) if part))
            for scan in scans]
