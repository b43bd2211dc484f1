"""Walmart writeback: ship the open lines (with tracking), cancel them; statuses Walmart derives itself are
not sent.
"""

from __future__ import annotations

from datetime import UTC, datetime

from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.walmart.normalize import (
    KNOWN_CARRIERS,
    ORDERS_PATH,
    line_status_quantities,
    needs_acknowledgement,
    order_lines,
)

METHOD_CODES = {code.lower(): code for code in ("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value")}


class WritebackMixin:
    """Provider's writeback half (uses the client's `call`, `fetch_order` and `acknowledge`)."""

    # A created PO can be acknowledged, shipped or cancelled; an acknowledged one shipped or cancelled; a shipped one
    # takes its remaining lines. Delivery and refunds are Walmart's (Seller Center).
    writable_statuses = {
        "pending": ("processing", "shipped", "cancelled"),
        "processing": ("shipped", "cancelled"),
        "shipped": ("shipped",),
    }

    # --- writing ---------------------------------------------------------------------------------
    def write_back(self, request: WritebackRequest) -> WritebackResult:
        purchase_order_id = request.channel_order_id
        if request.status == CommonStatus.PENDING:
            return WritebackResult(request_summary="Walmart has no call for pending; nothing sent")
        order = request.raw or {}
        if not order_lines(order):
            order = self.fetch_order(purchase_order_id)
        if request.status == CommonStatus.PROCESSING:
            if not needs_acknowledgement(order):
                return WritebackResult(request_summary=f"PO {purchase_order_id} already acknowledged")
            self.call("POST", f"{ORDERS_PATH}/{purchase_order_id}/acknowledge")
            return WritebackResult(channel_reference=purchase_order_id, response_code=200,
                                   request_summary=f"acknowledge PO {purchase_order_id}")
        if request.status == CommonStatus.SHIPPED:
            return self._ship(request, order)
        if request.status == CommonStatus.CANCELLED:
            return self._cancel(request, order)
        raise PermanentChannelError(f"Walmart takes no \"{request.status}\" status through its API; "
                                    "do it in Seller Center")

    def shipping_body(self, request: WritebackRequest, order: dict) -> dict:
        """orderShipment for every line that still has open (Created/Acknowledged) quantity, or for a parcel
        (`request.parcel`) its own lines and quantities."""
        if not request.tracking_number:
            raise PermanentChannelError("a Walmart shipping update needs a tracking number")
        ship_at = request.ship_date or datetime.fromtimestamp(self.clock(), tz=UTC)
        carrier = (request.carrier or "").strip()
        carrier_name = ({"carrier": KNOWN_CARRIERS[carrier.lower().replace(" ", "")]}
                        if carrier.lower().replace(" ", "") in KNOWN_CARRIERS
                        else {"otherCarrier": carrier or "Other"})
        method = (request.shipping_method or (order.get("shippingInfo") or {}).get("methodCode") or "Standard")
        tracking_info = {
            "shipDateTime": int(ship_at.timestamp() * 1000),
            "carrierName": carrier_name,
            "methodCode": METHOD_CODES.get(str(method).lower(), "Standard"),
            "trackingNumber": request.tracking_number,
        }
        if request.tracking_url:
            tracking_info["trackingURL"] = request.tracking_url
        if request.parcel or not order_lines(order):
            # one storefront parcel: only its lines, with its quantities (the raw order's open lines would re-ship
            # the earlier parcels' lines under this tracking); or no raw order at hand: what the aggregated order lists
            open_lines = [(line.channel_line_id, line.quantity) for line in request.lines
                          if line.channel_line_id and line.quantity > 0]
        else:
            open_lines = _open_lines(order)
        if not open_lines:
            raise PermanentChannelError(f"PO {request.channel_order_id} has no line left to ship")
        return {"orderShipment": {"orderLines": {"orderLine": [
            {"lineNumber": number, "orderLineStatuses": {"orderLineStatus": [{
                "status": "Shipped",
                "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)},
                "trackingInfo": tracking_info,
            }]}}
            for number, quantity in open_lines
        ]}}}

    def _ship(self, request: WritebackRequest, order: dict) -> WritebackResult:
        body = self.shipping_body(request, order)
        summary = []
        if needs_acknowledgement(order):  # Walmart refuses to ship lines that were never acknowledged
            try:
                self.call("POST", f"{ORDERS_PATH}/{request.channel_order_id}/acknowledge")
                summary.append("acknowledge")
            except PermanentChannelError as exc:
                # Perhaps acknowledged meanwhile; the shipping call below says whether Walmart minds.
                summary.append(f"acknowledge refused ({exc.status_code})")
        self.call("POST", f"{ORDERS_PATH}/{request.channel_order_id}/shipping", json_body=body)
        lines = [line["lineNumber"] for line in body["orderShipment"]["orderLines"]["orderLine"]]
        summary.append(f"ship lines {','.join(lines)} tracking {request.tracking_number}")
        return WritebackResult(channel_reference=request.channel_order_id, response_code=200,
                               request_summary=f"PO {request.channel_order_id}: " + "; ".join(summary))

    def _cancel(self, request: WritebackRequest, order: dict) -> WritebackResult:
        open_lines = _open_lines(order)
        if not open_lines:
            raise PermanentChannelError(f"PO {request.channel_order_id} has no line left to cancel")
        # US reason codes: the customer asked (the usual case for a hub), or SELLER_CANCEL_* via config.
        reason = self.config.get("cancellationReason") or "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"
        body = {"orderCancellation": {"orderLines": {"orderLine": [
            {"lineNumber": number, "orderLineStatuses": {"orderLineStatus": [{
                "status": "Cancelled", "cancellationReason": reason,
                "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)},
            }]}}
            for number, quantity in open_lines
        ]}}}
        self.call("POST", f"{ORDERS_PATH}/{request.channel_order_id}/cancel", json_body=body)
        return WritebackResult(channel_reference=request.channel_order_id, response_code=200,
                               request_summary=f"PO {request.channel_order_id}: cancel lines "
                                               + ",".join(number for number, _ in open_lines))


def _open_lines(order: dict) -> list[tuple[str, int]]:
    """(line number, quantity still open: created or acknowledged) for each line of the raw PO with any open."""
    open_lines = []
    for line in order_lines(order):
        quantities = line_status_quantities(line)
        open_quantity = quantities.get("Created", 0) + quantities.get("Acknowledged", 0)
        if open_quantity:
            open_lines.append((str(line.get("lineNumber")), open_quantity))
    return open_lines
