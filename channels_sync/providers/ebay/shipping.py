"""The createShippingFulfillment request body for a shipped writeback. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from channels_sync.normalized import WritebackRequest
from channels_sync.providers.ebay.orders import iso
from channels_sync.providers.errors import PermanentChannelError

# shippingCarrierCode for common carrier names; other names are sent as given.
CARRIER_CODES = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl": "DHL", "royal mail": "RoyalMail",
                 "royalmail": "RoyalMail", "canada post": "CanadaPost", "ontrac": "OnTrac", "dpd": "DPD",
                 "hermes": "Hermes", "evri": "Evri", "parcelforce": "Parcelforce", "australia post": "AustraliaPost"}


def shipping_fulfillment_body(request: WritebackRequest) -> dict:
    if not request.tracking_number:
        raise PermanentChannelError("eBay needs a tracking number for a shipping fulfillment")
    raw = request.raw or {}
    line_items = [{"lineItemId": line.channel_line_id, "quantity": int(line.quantity)}
                  for line in request.lines if line.channel_line_id and line.quantity > 0]
    if not line_items:
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
