"""Walmart writeback: ship the open lines (with tracking), cancel them; statuses Walmart derives itself are
not sent.
"""

from __future__ import annotations

from datetime import UTC, datetime

from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.walmart.normalize import (
    ORDERS_PATH,
    line_status_quantities,
    needs_acknowledgement,
    order_lines,
)

# Walmart's published enums for the shipping update (US Marketplace Orders OpenAPI, components.schemas
# TrackingInfoType.methodCode and CarrierNameType.carrier; resources/schemas/us/mp/orders.json in
# highsidelabs/walmart-api-php at d4afcb4c65ab3cd8b7dfba7d54c156126c3982a0). `carrierName.carrier` must be one
# of CARRIERS exactly; any other carrier goes as `otherCarrier`, which Walmart accepts only with a trackingURL.
METHOD_CODES = {code.lower(): code for code in ("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value")}
CARRIERS = (
    "UPS", "USPS", "FedEx", "Airborne", "OnTrac", "DHL Ecommerce - US", "LS", "UDS", "UPSMI", "FDX", "PILOT",
    "ESTES", "SAIA", "FDS Express", "Seko Worldwide", "HIT Delivery", "FEDEXSP", "RL Carriers",
    "Metropolitan Warehouse & Delivery", "China Post", "YunExpress", "Yellow Freight Sys", "AIT Worldwide Logistics",
    "Chukou1", "Sendle", "Landmark Global", "Sunyou", "Yanwen", "4PX", "GLS", "OSM Worldwide", "FIRST MILE",
    "AM Trucking", "CEVA", "India Post", "SF Express", "CNE", "TForce Freight", "AxleHire", "LSO", "Royal Mail",
    "ABF Freight System", "WanB", "Roadrunner Freight", "Meyer Distribution", "AAA Cooper", "Canada Post",
    "Southeastern Freight Lines", "Japan Post", "Correos de Mexico", "XPO Logistics", "JD Logistics", "YDH", "JCEX",
    "Flyt", "Deutsche Post",
)
# The names staff and carriers' own sites use for some of them (Walmart's codes are terse: LS is LaserShip).
CARRIER_ALIASES = {
    "LS": ("LaserShip", "Laser Ship"), "UDS": ("United Delivery Service",),
    "UPSMI": ("UPS Mail Innovations",), "FEDEXSP": ("FedEx SmartPost", "FedEx Ground Economy"),
    "DHL Ecommerce - US": ("DHL", "DHL eCommerce", "DHL eCommerce US", "DHL Ecommerce Solutions"),
    "USPS": ("United States Postal Service", "US Postal Service"), "FedEx": ("FedEx Ground", "FedEx Express"),
    "RL Carriers": ("R&L Carriers", "R+L Carriers", "R and L Carriers"), "PILOT": ("Pilot Freight Services",),
    "ESTES": ("Estes Express",), "SAIA": ("Saia LTL",), "Yellow Freight Sys": ("YRC", "Yellow", "YRC Freight"),
    "AIT Worldwide Logistics": ("AIT",), "OSM Worldwide": ("OSM",), "Landmark Global": ("Landmark",),
    "ABF Freight System": ("ABF", "ABF Freight"), "Roadrunner Freight": ("Roadrunner",),
    "TForce Freight": ("TForce", "UPS Freight"), "XPO Logistics": ("XPO",), "CEVA": ("CEVA Logistics",),
}


def _carrier_key(name: str) -> str:
    return "".join(char for char in name.lower() if char.isalnum())


CARRIER_CODES = {_carrier_key(name): name for name in CARRIERS}
CARRIER_CODES.update({_carrier_key(alias): code for code, aliases in CARRIER_ALIASES.items() for alias in aliases})
SELLER_ORDER_ID_MAX = 30  # ShippingLineType.sellerOrderId: "limit of 30 characters"


def walmart_carrier(carrier: str | None) -> str | None:
    """Walmart's enum value for a carrier name as staff typed it ("ups", "LaserShip"), or None (otherCarrier)."""
    return CARRIER_CODES.get(_carrier_key(carrier or "")) if (carrier or "").strip() else None


def _intends_to_cancel(line: dict) -> bool:
    """The order line's `intentToCancel` (the customer asked to cancel while it was open), as Walmart spells it."""
    value = line.get("intentToCancel")
    return value is True or str(value or "").strip().lower() in ("true", "y", "yes", "1")


class WritebackMixin:
    """Provider's writeback half (uses the client's `call`, `fetch_order` and `acknowledge`)."""

    @classmethod
    def accepted_carriers(cls) -> list[str]:
        """Walmart's carrier enum (the admin's picker, the 400's list). Any other name still ships, as
        `otherCarrier` with a tracking URL; only a missing carrier is refused."""
        return list(CARRIERS)

    @classmethod
    def carrier_code(cls, carrier: str | None) -> str | None:
        """Walmart's enum value, else the typed name itself (sent as otherCarrier); None when blank."""
        return walmart_carrier(carrier) or (carrier or "").strip() or None

    def tracking_url_required(self, carrier: str | None) -> bool:
        """A carrier outside Walmart's list goes as otherCarrier, which Walmart takes only with a trackingURL."""
        return bool((carrier or "").strip()) and walmart_carrier(carrier) is None
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
        carrier = (request.carrier or "").strip()
        if not carrier:
            raise PermanentChannelError("a Walmart shipping update needs a carrier")
        ship_at = request.ship_date or datetime.fromtimestamp(self.clock(), tz=UTC)
        code = walmart_carrier(carrier)
        if code is None and not request.tracking_url:
            # Walmart: "When otherCarrier is used, trackingURL must also be provided"; not worth a refused call.
            raise PermanentChannelError(f"carrier {carrier!r} is not in Walmart's carrier list, and Walmart takes "
                                        "another carrier only with a tracking URL; none is known for this shipment")
        method = (request.shipping_method or (order.get("shippingInfo") or {}).get("methodCode") or "Standard")
        tracking_info = {
            "shipDateTime": int(ship_at.timestamp() * 1000),
            "carrierName": {"carrier": code} if code else {"otherCarrier": carrier},
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
        raw_lines = {str(line.get("lineNumber")): line for line in order_lines(order)}
        return {"orderShipment": {"orderLines": {"orderLine": [
            {"lineNumber": number,
             # Required by Walmart's schema: the seller's order id printed on the return label (30 characters).
             "sellerOrderId": self.seller_order_id(request, order, raw_lines.get(str(number)) or {}),
             # Walmart refuses to ship a line the customer asked to cancel unless told the seller knows; the
             # parcel has left (it has tracking), so say so rather than have Walmart cancel and refund it.
             "intentToCancelOverride": _intends_to_cancel(raw_lines.get(str(number)) or {}),
             "orderLineStatuses": {"orderLineStatus": [{
                 "status": "Shipped",
                 "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)},
                 "trackingInfo": tracking_info,
             }]}}
            for number, quantity in open_lines
        ]}}}

    @staticmethod
    def seller_order_id(request: WritebackRequest, order: dict, line: dict) -> str:
        """The seller's own order id Walmart already holds for the line or order, else the customer's order number
        (what the buyer sees on walmart.com), else the purchase order id; at most 30 characters."""
        value = (line.get("sellerOrderId") or order.get("sellerOrderId") or order.get("customerOrderId")
                 or request.channel_order_id)
        return str(value)[:SELLER_ORDER_ID_MAX]

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
        sent = body["orderShipment"]["orderLines"]["orderLine"]
        summary.append(f"ship lines {','.join(line['lineNumber'] for line in sent)} tracking {request.tracking_number}")
        overridden = [line["lineNumber"] for line in sent if line["intentToCancelOverride"]]
        if overridden:
            summary.append(f"shipped despite the customer's intent to cancel line(s) {','.join(overridden)}")
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
