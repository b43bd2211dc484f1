"""Amazon writeback: the confirmShipment request body (Orders API v0, pure) and the call that sends it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.amazon.normalize import iso
from channels_sync.providers.errors import PermanentChannelError

CARRIER_CODES = {
    "usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl": "DHL", "dhl ecommerce": "DHL eCommerce",
    "ontrac": "OnTrac", "royal mail": "Royal Mail", "royalmail": "Royal Mail", "canada post": "Canada Post",
    "dpd": "DPD", "yodel": "Yodel", "amazon shipping": "Amazon Shipping", "lasership": "Lasership",
}


def confirm_shipment_body(request: WritebackRequest, *, default_marketplace: str | None = None) -> dict:
    """The confirmShipment request body for a shipped writeback: the request's lines (one storefront parcel's, or
    the whole order's), so each parcel is its own package with its own tracking number."""
    if not request.tracking_number:
        raise PermanentChannelError("Amazon needs a tracking number to confirm a shipment")
    raw = request.raw or {}
    marketplace_id = raw.get("MarketplaceId") or default_marketplace
    if not marketplace_id:
        raise PermanentChannelError("no marketplaceId for this order")
    items = [{"orderItemId": line.channel_line_id, "quantity": int(line.quantity)}
             for line in request.lines if line.channel_line_id and line.quantity > 0]
    if not items and not request.parcel:  # a parcel confirms its own items only, never the whole order
        items = [{"orderItemId": item["OrderItemId"], "quantity": int(item.get("QuantityOrdered") or 0)}
                 for item in raw.get("OrderItems") or [] if int(item.get("QuantityOrdered") or 0) > 0]
    if not items:
        raise PermanentChannelError("no order items to confirm")
    carrier = (request.carrier or "").strip()
    code = CARRIER_CODES.get(carrier.lower()) if carrier else None
    package = {
        "packageReferenceId": package_reference_id(request.tracking_number),
        "carrierCode": code or "Other",
        "trackingNumber": request.tracking_number,
        "shipDate": iso(request.ship_date or datetime.now(UTC)),
        "orderItems": items,
    }
    if not code:
        package["carrierName"] = carrier or "Other"
    if request.shipping_method:
        package["shippingMethod"] = request.shipping_method
    return {"marketplaceId": marketplace_id, "packageDetail": package}


def package_reference_id(tracking_number: str) -> str:
    """Positive numeric and unique per order, as Amazon requires; derived from the tracking number
    so a retried writeback sends the same package, not a second one."""
    return str(int(hashlib.sha256(tracking_number.encode()).hexdigest()[:12], 16) % 10**9 + 1)


class WritebackMixin:
    """Provider's writeback half (uses the client's `_call` and `marketplace_ids`)."""

    # --- writeback ---------------------------------------------------------------------------
    def write_back(self, request: WritebackRequest) -> WritebackResult:
        if request.status in (CommonStatus.PENDING, CommonStatus.PROCESSING, CommonStatus.DELIVERED):
            return WritebackResult(request_summary=f"nothing to send: Amazon tracks {request.status} itself")
        if request.status != CommonStatus.SHIPPED:
            raise PermanentChannelError(
                f"Amazon's Orders API cannot set {request.status}; cancel or refund in Seller Central")
        if (request.raw or {}).get("FulfillmentChannel") == "AFN":
            raise PermanentChannelError("Amazon ships this order itself (FBA): there is no shipment to confirm")
        body = confirm_shipment_body(request, default_marketplace=(self.marketplace_ids or [None])[0])
        response = self._call("POST", f"/orders/v0/orders/{request.channel_order_id}/shipmentConfirmation",
                              rate_key="confirmShipment", json=body)
        package = body["packageDetail"]
        return WritebackResult(
            channel_reference=package["packageReferenceId"], response_code=response.status_code,
            request_summary=(f"confirmShipment {request.channel_order_id}: {package['carrierCode']} "
                             f"{package['trackingNumber']}, {len(package['orderItems'])} item(s)"))
