"""Shopify writeback through the GraphQL Admin API: `fulfillmentCreate` on the order's fulfillment orders (the
whole order, or one storefront parcel's line items and quantities), tracking updates, the delivered event, cancel.

Only fulfillment orders the merchant fulfils itself are touched: those whose `supportedActions` include
CREATE_FULFILLMENT and whose assigned location is not a third-party fulfillment service (that service ships and
reports them itself).
"""

from __future__ import annotations

import channels_sync.providers.shopify.queries as queries
from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.shopify.normalize import FAILED_FULFILLMENT, legacy_id

# Names staff type -> the tracking company names Shopify knows (it builds their tracking URLs); compared case- and
# spacing-blind. Shopify takes any other company as free text (shopify.dev FulfillmentTrackingInput.company).
SHOPIFY_CARRIERS = {
    "ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL Express", "dhl express": "DHL Express",
    "dhl ecommerce": "DHL eCommerce", "canada post": "Canada Post", "royal mail": "Royal Mail", "dpd": "DPD",
    "dpd uk": "DPD UK", "gls": "GLS", "australia post": "Australia Post", "ontrac": "OnTrac",
    "purolator": "Purolator", "evri": "Evri", "parcelforce": "Parcelforce", "postnl": "PostNL",
    "la poste": "La Poste", "colissimo": "Colissimo", "deutsche post": "Deutsche Post", "tnt": "TNT",
    "amazon logistics": "Amazon Logistics", "japan post": "Japan Post", "yamato": "Yamato",
    "new zealand post": "New Zealand Post", "china post": "China Post", "sf express": "SF Express",
    "bpost": "bpost", "correos": "Correos", "poste italiane": "Poste Italiane", "asendia": "Asendia",
    "sendle": "Sendle", "aramex": "Aramex", "canpar": "Canpar", "lasership": "LaserShip",
}


def _carrier_key(carrier: str) -> str:
    return " ".join(carrier.replace("_", " ").replace("-", " ").lower().split())


def _user_errors(payload: dict, key: str = "userErrors") -> list[str]:
    return [f"{'.'.join(map(str, error.get('field') or []))}: {error.get('message')}".lstrip(": ")
            for error in payload.get(key) or []]


def merchant_fulfillable(fo: dict) -> bool:
    """A fulfillment order this merchant ships: it can be fulfilled now, and not by a third-party service."""
    actions = {(action or {}).get("action") for action in fo.get("supportedActions") or []}
    if "CREATE_FULFILLMENT" not in actions or fo.get("status") not in ("OPEN", "IN_PROGRESS"):
        return False
    location = ((fo.get("assignedLocation") or {}).get("location")) or {}
    service = location.get("fulfillmentService") or {}
    return not location.get("isFulfillmentService") and service.get("type") in (None, "MANUAL")


class WritebackMixin:
    """Provider's writeback half (uses the client's `graphql`)."""

    # Fulfilling (and then marking delivered) works on paid and unpaid orders alike; a fulfilled order takes another
    # parcel or new tracking and the delivered event; Shopify cancels only orders not yet fulfilled, and refunds need
    # amounts and a transaction (done in Shopify). Pending and processing have no writable Shopify field.
    writable_statuses = {
        "pending": ("shipped", "delivered", "cancelled"),
        "processing": ("shipped", "delivered", "cancelled"),
        "shipped": ("shipped", "delivered"),
    }

    @classmethod
    def accepted_carriers(cls) -> list[str] | None:
        return None   # any company is accepted as text; known ones get Shopify's spelling (carrier_code)

    @classmethod
    def carrier_code(cls, carrier: str | None) -> str | None:
        text = (carrier or "").strip()
        if not text:
            return None
        return SHOPIFY_CARRIERS.get(_carrier_key(text), text)

    # --- writing -------------------------------------------------------------------------------
    def _tracking_info(self, request: WritebackRequest) -> dict:
        info: dict[str, str] = {}
        if request.tracking_number:
            info["number"] = request.tracking_number
        company = self.carrier_code(request.carrier)
        if company:
            info["company"] = company
        if request.tracking_url:
            info["url"] = request.tracking_url
        return info

    def _order_fulfillment(self, order_id: str) -> dict:
        from channels_sync.providers.shopify.client import order_gid

        order = self.graphql(queries.FULFILLMENT_ORDERS, {"id": order_gid(order_id)}).get("order")
        if order is None:
            raise PermanentChannelError(f"Shopify has no order {order_id}", status_code=404)
        return order

    @staticmethod
    def _open_fulfillment_orders(order: dict) -> list[dict]:
        return [fo for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []
                if merchant_fulfillable(fo)
                and any((line.get("remainingQuantity") or 0) > 0 for line in (fo.get("lineItems") or {}).get("nodes")
                        or [])]

    def _create(self, groups: list[dict], tracking_info: dict) -> tuple[str | None, str]:
        fulfillment = {"lineItemsByFulfillmentOrder": groups,
                       "notifyCustomer": bool(self.config.get("notifyCustomer", True))}
        if tracking_info:
            fulfillment["trackingInfo"] = tracking_info
        payload = self.graphql(queries.FULFILLMENT_CREATE, {"fulfillment": fulfillment}).get("fulfillmentCreate") or {}
        errors = _user_errors(payload)
        if errors:
            raise PermanentChannelError("Shopify refused the fulfillment: " + "; ".join(errors), status_code=422)
        created = payload.get("fulfillment") or {}
        return created.get("id"), f"fulfillmentCreate {groups} tracking={tracking_info}"

    def _fulfil(self, request: WritebackRequest) -> WritebackResult:
        if request.parcel:
            return self._fulfil_parcel(request)
        order = self._order_fulfillment(request.channel_order_id)
        open_orders = self._open_fulfillment_orders(order)
        tracking_info = self._tracking_info(request)
        if not open_orders:
            return self._update_existing_tracking(request.channel_order_id, order, tracking_info)
        groups = [{"fulfillmentOrderId": fo["id"],
                   "fulfillmentOrderLineItems": [{"id": line["id"], "quantity": line["remainingQuantity"]}
                                                 for line in fo["lineItems"]["nodes"]
                                                 if (line.get("remainingQuantity") or 0) > 0]}
                  for fo in open_orders]
        reference, summary = self._create(groups, tracking_info)
        return WritebackResult(channel_reference=legacy_id(reference), response_code=200, request_summary=summary)

    def _fulfil_parcel(self, request: WritebackRequest) -> WritebackResult:
        """One storefront parcel: a new fulfillment of just its line items and quantities, with its tracking.

        Each parcel line (`channel_line_id` = the order's line item id) takes its quantity from the open
        fulfillment-order line items of that line item. Never touches another fulfillment: when nothing of the
        parcel is left open (a retry after a lost answer), the fulfillment with this tracking number is the answer.
        """
        order = self._order_fulfillment(request.channel_order_id)
        wanted: dict[str, int] = {}
        for line in request.lines:
            if line.channel_line_id and line.quantity > 0:
                key = legacy_id(line.channel_line_id)
                wanted[key] = wanted.get(key, 0) + line.quantity
        groups = []
        for fo in self._open_fulfillment_orders(order):
            items = []
            for item in fo["lineItems"]["nodes"]:
                key = legacy_id((item.get("lineItem") or {}).get("id"))
                take = min(wanted.get(key, 0), item.get("remainingQuantity") or 0)
                if take > 0:
                    items.append({"id": item["id"], "quantity": take})
                    wanted[key] -= take
            if items:
                groups.append({"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": items})
        tracking_info = self._tracking_info(request)
        if not groups:
            return self._existing_parcel_fulfillment(request.channel_order_id, order, tracking_info)
        reference, summary = self._create(groups, tracking_info)
        left = {key: quantity for key, quantity in wanted.items() if quantity > 0}
        return WritebackResult(
            channel_reference=legacy_id(reference), response_code=200,
            request_summary=summary + (f"; not open on Shopify (line item: quantity) {left}" if left else ""))

    @staticmethod
    def _live_fulfillments(order: dict) -> list[dict]:
        return [f for f in order.get("fulfillments") or []
                if (f.get("status") or "").lower() not in FAILED_FULFILLMENT]

    def _existing_parcel_fulfillment(self, order_id: str, order: dict, tracking_info: dict) -> WritebackResult:
        number = tracking_info.get("number")
        for fulfillment in self._live_fulfillments(order):
            numbers = [info.get("number") for info in fulfillment.get("trackingInfo") or []]
            if number and number in numbers:
                return WritebackResult(channel_reference=legacy_id(fulfillment.get("id")), response_code=200,
                                       request_summary=f"parcel already fulfilled by {fulfillment.get('id')}")
        raise PermanentChannelError(f"Shopify order {order_id}: none of this parcel's line items is open to "
                                    f"fulfil, and no fulfillment has tracking {number!r}")

    def _update_existing_tracking(self, order_id: str, order: dict, tracking_info: dict) -> WritebackResult:
        """Already fulfilled (e.g. a retry after a lost answer): move the tracking onto the newest fulfillment."""
        live = self._live_fulfillments(order)
        if not live:
            raise PermanentChannelError(f"Shopify order {order_id} has no fulfillment order this store fulfils "
                                        f"itself open, and no fulfillment")
        latest = max(live, key=lambda f: (f.get("createdAt") or "", f.get("id") or ""))
        numbers = [info.get("number") for info in latest.get("trackingInfo") or []]
        if not tracking_info or tracking_info.get("number") in numbers:
            return WritebackResult(channel_reference=legacy_id(latest.get("id")), response_code=200,
                                   request_summary=f"already fulfilled by {latest.get('id')}; nothing to change")
        payload = self.graphql(queries.TRACKING_UPDATE, {
            "fulfillmentId": latest["id"], "trackingInfoInput": tracking_info, "notifyCustomer": False,
        }).get("fulfillmentTrackingInfoUpdate") or {}
        errors = _user_errors(payload)
        if errors:
            raise PermanentChannelError("Shopify refused the tracking update: " + "; ".join(errors), status_code=422)
        return WritebackResult(channel_reference=legacy_id(latest.get("id")), response_code=200,
                               request_summary=f"fulfillmentTrackingInfoUpdate {latest['id']} {tracking_info}")

    def write_back(self, request: WritebackRequest) -> WritebackResult:
        from channels_sync.providers.shopify.client import order_gid

        status = CommonStatus(request.status)
        if status in (CommonStatus.SHIPPED, CommonStatus.DELIVERED):
            result = self._fulfil(request)
            if status is CommonStatus.DELIVERED and result.channel_reference:
                fulfillment_id = f"gid://shopify/Fulfillment/{result.channel_reference}"
                payload = self.graphql(queries.FULFILLMENT_EVENT_CREATE, {
                    "fulfillmentEvent": {"fulfillmentId": fulfillment_id, "status": "DELIVERED"},
                }).get("fulfillmentEventCreate") or {}
                errors = _user_errors(payload)
                if errors:
                    raise PermanentChannelError("Shopify refused the delivered event: " + "; ".join(errors),
                                                status_code=422)
                result = WritebackResult(result.channel_reference, result.response_code,
                                         result.request_summary + "; fulfillmentEventCreate DELIVERED")
            return result
        if status is CommonStatus.CANCELLED:
            payload = self.graphql(queries.ORDER_CANCEL, {
                "orderId": order_gid(request.channel_order_id), "reason": "OTHER", "refund": False,
                "restock": True, "notifyCustomer": False}).get("orderCancel") or {}
            errors = _user_errors(payload, "orderCancelUserErrors")
            if errors:
                raise PermanentChannelError("Shopify refused to cancel: " + "; ".join(errors), status_code=422)
            return WritebackResult(channel_reference=request.channel_order_id, response_code=200,
                                   request_summary=f"orderCancel {order_gid(request.channel_order_id)} "
                                                   f"job={(payload.get('job') or {}).get('id')}")
        if status is CommonStatus.REFUNDED:
            raise PermanentChannelError("Shopify refunds need amounts and a payment transaction: refund in Shopify "
                                        "admin; the refund then arrives here by webhook")
        # pending / processing: Shopify derives these from payment and fulfillment; there is nothing to set.
        return WritebackResult(channel_reference=None, response_code=None,
                               request_summary=f"nothing sent: Shopify has no writable '{status.value}' status")
