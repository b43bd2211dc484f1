"""Pure rules about tracking statuses (no DB): what a shipment's and an order's status is."""

from tracking.carriers.base import DELIVERED, EXCEPTION, IN_TRANSIT, LABEL_CREATED, OUT_FOR_DELIVERY, RETURNED

PROGRESS = {LABEL_CREATED: 0, IN_TRANSIT: 1, OUT_FOR_DELIVERY: 2, DELIVERED: 3}


def overall_status(*, order_status: str, shipment_statuses: list[str], has_pending: bool) -> str:
    """One word for the whole order, in the tracking vocabulary plus a few order-level words.

    cancelled (order cancelled) > pending (nothing shipped) > exception / returned (any parcel) >
    delivered (every parcel delivered, nothing left to ship) > partially_delivered (some parcel
    delivered) > partially_shipped (units still to ship) > the least advanced parcel's status.
    """
    if order_status == "cancelled":
        return "cancelled"
    if not shipment_statuses:
        return "pending"
    for problem in (EXCEPTION, RETURNED):
        if problem in shipment_statuses:
            return problem
    delivered = [status == DELIVERED for status in shipment_statuses]
    if all(delivered) and not has_pending:
        return DELIVERED
    if any(delivered):
        return "partially_delivered"
    if has_pending:
        return "partially_shipped"
    return min(shipment_statuses, key=lambda status: PROGRESS.get(status, 0))


def latest(scans):
    """The scan that decides a shipment's status: the latest by time (then by insertion)."""
    return max(scans, key=lambda scan: (scan.occurred_at, scan.pk or 0), default=None)
