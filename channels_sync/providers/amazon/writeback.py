"""Amazon writeback: the confirmShipment request body (Orders API v0: 2026-01-01 has no write operation; pure),
Amazon's carrier codes, and the call that sends it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.amazon.normalize import fulfilled_by_amazon, iso, marketplace_id, unshipped_quantities
from channels_sync.providers.errors import PermanentChannelError

# confirmShipment `carrierCode` values: Amazon's CarrierCode list (the feeds' amzn-base.xsd enumeration, which the
# PackageDetail.carrierCode description points to through the CarrierCode announcement). A carrier not on it is
# sent as "Other" with its name in carrierName, as the model allows. docs/decisions.md, "Amazon (issue 16)".
CARRIER_CODE_LIST = (
    "USPS", "UPS", "UPSMI", "FedEx", "DHL", "Fastway", "GLS", "GO!", "Hermes Logistik Gruppe", "Royal Mail",
    "Parcelforce", "City Link", "TNT", "Target", "SagawaExpress", "NipponExpress", "YamatoTransport",
    "DHL Global Mail", "UPS Mail Innovations", "FedEx SmartPost", "OSM", "OnTrac", "Streamlite", "Newgistics",
    "Canada Post", "Blue Package", "Chronopost", "Deutsche Post", "DPD", "La Poste", "Parcelnet", "Poste Italiane",
    "SDA", "Smartmail", "FEDEX_JP", "JP_EXPRESS", "NITTSU", "SAGAWA", "YAMATO", "BlueDart", "AFL/Fedex", "Aramex",
    "India Post", "Professional", "DTDC", "Overnite Express", "First Flight", "Delhivery", "Lasership", "Yodel",
)
OTHER_CARRIER = "Other"
# Names staff type for carriers whose code reads differently.
CARRIER_ALIASES = {"hermes": "Hermes Logistik Gruppe", "evri": "Hermes Logistik Gruppe", "go": "GO!",
                   "sagawa express": "SagawaExpress", "nippon express": "NipponExpress", "yamato": "YAMATO",
                   "yamato transport": "YamatoTransport", "fedex japan": "FEDEX_JP", "blue dart": "BlueDart",
                   "federal express": "FedEx", "united states postal service": "USPS",
                   "ups mail innovations": "UPS Mail Innovations", "dhl express": "DHL", "laser ship": "Lasership"}


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_CODES_BY_KEY = {_key(code): code for code in CARRIER_CODE_LIST}
_CODES_BY_KEY.update({_key(alias): code for alias, code in CARRIER_ALIASES.items()})


def carrier_code(carrier: str | None) -> str | None:
    """Amazon's code for a carrier name ("ups", "Royal Mail", "royalmail" -> the listed code), "Other" for any
    other named carrier (sent with carrierName), None when there is no carrier at all."""
    name = (carrier or "").strip()
    if not name:
        return None
    return _CODES_BY_KEY.get(_key(name), OTHER_CARRIER)


def confirm_shipment_body(request: WritebackRequest, *, default_marketplace: str | None = None) -> dict:
    """The confirmShipment request body for a shipped writeback. A parcel's writeback confirms its own lines at
    the parcel's quantities; a whole-order one confirms what Amazon still counts unshipped on each line, so a
    package already confirmed is not confirmed twice."""
    if not request.tracking_number:
        raise PermanentChannelError("Amazon needs a tracking number to confirm a shipment")
    raw = request.raw or {}
    marketplace = marketplace_id(raw) or default_marketplace
    if not marketplace:
        raise PermanentChannelError("no marketplaceId for this order")
    remaining = unshipped_quantities(raw)
    if request.parcel:
        items = [{"orderItemId": line.channel_line_id, "quantity": int(line.quantity)}
                 for line in request.lines if line.channel_line_id and line.quantity > 0]
    else:
        items = []
        for line in request.lines:
            if not line.channel_line_id:
                continue
            quantity = min(int(line.quantity), remaining.get(str(line.channel_line_id), int(line.quantity)))
            if quantity > 0:
                items.append({"orderItemId": line.channel_line_id, "quantity": quantity})
        if not items and not request.lines:
            items = [{"orderItemId": item_id, "quantity": quantity} for item_id, quantity in remaining.items()
                     if quantity > 0]
    if not items:
        raise PermanentChannelError("no order items to confirm")
    code = carrier_code(request.carrier)
    if not code:
        raise PermanentChannelError("Amazon needs a carrier to confirm a shipment")
    package = {
        "packageReferenceId": package_reference_id(request.tracking_number),
        "carrierCode": code,
        "trackingNumber": request.tracking_number,
        "shipDate": iso(request.ship_date or datetime.now(UTC)),
        "orderItems": items,
    }
    if code == OTHER_CARRIER:
        package["carrierName"] = request.carrier.strip()
    if request.shipping_method:
        package["shippingMethod"] = request.shipping_method
    return {"marketplaceId": marketplace, "packageDetail": package}


def package_reference_id(tracking_number: str) -> str:
    """Positive numeric and unique per order, as Amazon requires; derived from the tracking number
    so a retried writeback sends the same package, not a second one."""
    return str(int(hashlib.sha256(tracking_number.encode()).hexdigest()[:12], 16) % 10**9 + 1)


class WritebackMixin:
    """Provider's writeback half (uses the client's `_call` and `marketplace_ids`)."""

    # confirmShipment once the order is paid (Unshipped, PartiallyShipped), a package at a time; Amazon tracks
    # delivery itself, and cancels or refunds only in Seller Central.
    writable_statuses = {
        "processing": ("shipped",),
        "shipped": ("shipped",),
    }
    done_elsewhere = {"cancelled": "Cancel it in Seller Central."}

    @classmethod
    def accepted_carriers(cls) -> list[str]:
        return [*CARRIER_CODE_LIST, f"{OTHER_CARRIER} (any other carrier, sent by name)"]

    @classmethod
    def carrier_code(cls, carrier: str | None) -> str | None:
        return carrier_code(carrier)

    # --- writeback ---------------------------------------------------------------------------
    def write_back(self, request: WritebackRequest) -> WritebackResult:
        if request.status in (CommonStatus.PENDING, CommonStatus.PROCESSING, CommonStatus.DELIVERED):
            return WritebackResult(request_summary=f"nothing to send: Amazon tracks {request.status} itself")
        if request.status != CommonStatus.SHIPPED:
            raise PermanentChannelError(
                f"Amazon's Orders API cannot set {request.status}; cancel or refund in Seller Central")
        if fulfilled_by_amazon(request.raw or {}):
            raise PermanentChannelError("Amazon ships this order itself (FBA): there is no shipment to confirm")
        body = confirm_shipment_body(request, default_marketplace=(self.marketplace_ids or [None])[0])
        response = self._call("POST", f"/orders/v0/orders/{request.channel_order_id}/shipmentConfirmation",
                              rate_key="confirmShipment", json=body)
        package = body["packageDetail"]
        return WritebackResult(
            channel_reference=package["packageReferenceId"], response_code=response.status_code,
            request_summary=(f"confirmShipment {request.channel_order_id}: {package['carrierCode']} "
                             f"{package['trackingNumber']}, {len(package['orderItems'])} item(s)"))
