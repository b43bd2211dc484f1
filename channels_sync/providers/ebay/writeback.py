"""eBay writeback: the createShippingFulfillment body (pure) and the call that sends it."""

from __future__ import annotations

from datetime import UTC, datetime

from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.ebay.normalize import ORDERS_PATH, iso
from channels_sync.providers.errors import PermanentChannelError

# shippingCarrierCode for common carrier names; other names are sent as given.
CARRIER_CODES = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl": "DHL", "royal mail": "RoyalMail",
                 "royalmail": "RoyalMail", "canada post": "CanadaPost", "ontrac": "OnTrac", "dpd": "DPD",
                 "hermes": "Hermes", "evri": "Evri", "parcelforce": "Parcelforce", "australia post": "AustraliaPost"}


def shipping_fulfillment_body(request: WritebackRequest) -> dict:
    """One shipping fulfillment of the request's lines (one storefront parcel's, or the whole order's) with its
    tracking number: a second parcel is a second fulfillment, the first keeps its own."""
    if not request.tracking_number:
        raise PermanentChannelError("eBay needs a tracking number for a shipping fulfillment")
    raw = request.raw or {}
    line_items = [{"lineItemId": line.channel_line_id, "quantity": int(line.quantity)}
                  for line in request.lines if line.channel_line_id and line.quantity > 0]
    if not line_items and not request.parcel:  # a parcel fulfils its own lines only, never the whole order
        line_items = [{"lineItemId": item["lineItemId"], "quantity": int(item.get("quantity") or 0)}
                      for item in raw.get("lineItems") or [] if int(item.get("quantity") or 0) > 0]
    if not line_items:
        raise PermanentChannelError("no line items to fulfil")
    carrier = (request.carrier or "").strip()
    code = CARRIER_CODES.get(carrier.lower(), carrier) if carrier else _buyer_selected_carrier(raw) or "Other"
    return {
        "lineItems": line_items,
        "shippedDate": iso(request.ship_date or datetime.now(UTC)),
        "shippingCarrierCode": code,
        "trackingNumber": request.tracking_number,
    }


def _buyer_selected_carrier(raw: dict) -> str | None:
    for instruction in raw.get("fulfillmentStartInstructions") or []:
        code = ((instruction.get("shippingStep") or {}).get("shippingCarrierCode"))
        if code:
            return code
    return None


def _created_id(response, body_key: str | None = None) -> str | None:
    """eBay answers 201 Created with the new resource's URL in `Location`; its last segment is the id."""
    location = response.headers.get("Location") or ""
    created = location.rstrip("/").rsplit("/", 1)[-1] if location else None
    if not created and body_key and response.content:
        try:
            created = (response.json() or {}).get(body_key)
        except ValueError:
            created = None
    return created or None


class WritebackMixin:
    """Provider's writeback half (uses the client's `_call`)."""

    # A shipping fulfillment once the order is paid, one per parcel; eBay tracks delivery itself, and cancels or
    # refunds only through its own flows.
    writable_statuses = {
        "processing": ("shipped",),
        "shipped": ("shipped",),
    }
    done_elsewhere = {"cancelled": "Cancel it in Seller Hub."}

    # --- writeback ---------------------------------------------------------------------------
    def write_back(self, request: WritebackRequest) -> WritebackResult:
        if request.status in (CommonStatus.PENDING, CommonStatus.PROCESSING, CommonStatus.DELIVERED):
            return WritebackResult(request_summary=f"nothing to send: eBay tracks {request.status} itself")
        if request.status != CommonStatus.SHIPPED:
            raise PermanentChannelError(f"the Fulfillment API cannot set {request.status}; "
                                        "cancel or refund in Seller Hub")
        body = shipping_fulfillment_body(request)
        response = self._call("POST", f"{ORDERS_PATH}/{request.channel_order_id}/shipping_fulfillment", json=body,
                              headers={"Content-Type": "application/json"})
        fulfillment_id = _created_id(response, "fulfillmentId")
        return WritebackResult(
            channel_reference=fulfillment_id, response_code=response.status_code,
            request_summary=(f"createShippingFulfillment {request.channel_order_id}: {body['shippingCarrierCode']} "
                             f"{body['trackingNumber']}, {len(body['lineItems'])} line(s)"))
