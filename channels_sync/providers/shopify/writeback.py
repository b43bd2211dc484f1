"""Shopify writeback: fulfilment through fulfillment orders (the whole order, or one storefront parcel's line
items as a fulfillment of their own), tracking updates, cancel."""

from __future__ import annotations

from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.shopify.normalize import FAILED_FULFILLMENT, _text

# Our carrier codes -> the tracking company names Shopify recognises (anything else is sent as given).
SHOPIFY_CARRIERS = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL Express", "dhl_express": "DHL Express",
                    "canada_post": "Canada Post", "royal_mail": "Royal Mail", "dpd": "DPD", "gls": "GLS",
                    "australia_post": "Australia Post", "ontrac": "OnTrac", "purolator": "Purolator"}


class WritebackMixin:
    """Provider's writeback half (uses the client's `_get`, `_post`, `_path`)."""

    # --- writing -------------------------------------------------------------------------------
    def _tracking_info(self, request: WritebackRequest) -> dict:
        info: dict[str, str] = {}
        if request.tracking_number:
            info["number"] = request.tracking_number
        if request.carrier:
            info["company"] = SHOPIFY_CARRIERS.get(request.carrier.strip().lower(), request.carrier)
        if request.tracking_url:
            info["url"] = request.tracking_url
        return info

    def _open_fulfillment_orders(self, order_id: str) -> list[dict]:
        _, data = self._get(self._path(f"orders/{order_id}/fulfillment_orders.json"))
        return [fo for fo in data.get("fulfillment_orders") or []
                if fo.get("status") in ("open", "in_progress")
                and any((line.get("fulfillable_quantity") or 0) > 0 for line in fo.get("line_items") or [])]

    def _fulfil(self, request: WritebackRequest) -> WritebackResult:
        if request.parcel:
            return self._fulfil_parcel(request)
        order_id = request.channel_order_id
        open_orders = self._open_fulfillment_orders(order_id)
        tracking_info = self._tracking_info(request)
        if not open_orders:
            return self._update_existing_tracking(order_id, tracking_info)
        body = {"fulfillment": {
            "notify_customer": bool(self.config.get("notifyCustomer", True)),
            "tracking_info": tracking_info,
            "line_items_by_fulfillment_order": [
                {"fulfillment_order_id": fo["id"],
                 "fulfillment_order_line_items": [{"id": line["id"], "quantity": line["fulfillable_quantity"]}
                                                  for line in fo.get("line_items") or []
                                                  if (line.get("fulfillable_quantity") or 0) > 0]}
                for fo in open_orders],
        }}
        response, created = self._post(self._path("fulfillments.json"), body)
        fulfillment = created.get("fulfillment") or {}
        return WritebackResult(
            channel_reference=_text(fulfillment.get("id")), response_code=response.status_code,
            request_summary=(f"POST fulfillments.json fulfillment_orders={[fo['id'] for fo in open_orders]} "
                             f"tracking={tracking_info}"))

    def _fulfil_parcel(self, request: WritebackRequest) -> WritebackResult:
        """One storefront parcel: a new fulfillment of just its line items and quantities, with its tracking.

        Each parcel line (`channel_line_id` = the order's line item id) takes its quantity from the open
        fulfillment-order line items of that line item. Never touches another fulfillment: when nothing of the
        parcel is left open (a retry after a lost answer), the fulfillment with this tracking number is the answer.
        """
        order_id = request.channel_order_id
        wanted = {}
        for line in request.lines:
            if line.channel_line_id and line.quantity > 0:
                wanted[str(line.channel_line_id)] = wanted.get(str(line.channel_line_id), 0) + line.quantity
        groups = []
        for fo in self._open_fulfillment_orders(order_id):
            items = []
            for item in fo.get("line_items") or []:
                key = _text(item.get("line_item_id"))
                take = min(wanted.get(key, 0), item.get("fulfillable_quantity") or 0)
                if take > 0:
                    items.append({"id": item["id"], "quantity": take})
                    wanted[key] -= take
            if items:
                groups.append({"fulfillment_order_id": fo["id"], "fulfillment_order_line_items": items})
        tracking_info = self._tracking_info(request)
        if not groups:
            return self._existing_parcel_fulfillment(order_id, tracking_info)
        body = {"fulfillment": {"notify_customer": bool(self.config.get("notifyCustomer", True)),
                                "tracking_info": tracking_info, "line_items_by_fulfillment_order": groups}}
        response, created = self._post(self._path("fulfillments.json"), body)
        fulfillment = created.get("fulfillment") or {}
        left = {key: quantity for key, quantity in wanted.items() if quantity > 0}
        return WritebackResult(
            channel_reference=_text(fulfillment.get("id")), response_code=response.status_code,
            request_summary=(f"POST fulfillments.json parcel {groups} tracking={tracking_info}"
                             + (f"; not open on Shopify (line item: quantity) {left}" if left else "")))

    def _existing_parcel_fulfillment(self, order_id: str, tracking_info: dict) -> WritebackResult:
        _, data = self._get(self._path(f"orders/{order_id}/fulfillments.json"))
        number = tracking_info.get("number")
        for fulfillment in data.get("fulfillments") or []:
            numbers = [fulfillment.get("tracking_number"), *(fulfillment.get("tracking_numbers") or [])]
            if number and number in numbers and fulfillment.get("status") not in FAILED_FULFILLMENT:
                return WritebackResult(channel_reference=_text(fulfillment.get("id")), response_code=200,
                                       request_summary=f"parcel already fulfilled by {fulfillment.get('id')}")
        raise PermanentChannelError(f"Shopify order {order_id}: none of this parcel's line items is open to "
                                    f"fulfil, and no fulfillment has tracking {number!r}")

    def _update_existing_tracking(self, order_id: str, tracking_info: dict) -> WritebackResult:
        """Already fulfilled (e.g. a retry after a lost answer): move the tracking onto the newest fulfillment."""
        _, data = self._get(self._path(f"orders/{order_id}/fulfillments.json"))
        live = [f for f in data.get("fulfillments") or [] if f.get("status") not in FAILED_FULFILLMENT]
        if not live:
            raise PermanentChannelError(f"Shopify order {order_id} has no open fulfillment order and no fulfillment")
        latest = max(live, key=lambda f: (f.get("created_at") or "", f.get("id") or 0))
        if not tracking_info or latest.get("tracking_number") == tracking_info.get("number"):
            return WritebackResult(channel_reference=_text(latest.get("id")), response_code=200,
                                   request_summary=f"already fulfilled by {latest.get('id')}; nothing to change")
        response, _ = self._post(self._path(f"fulfillments/{latest['id']}/update_tracking.json"),
                                 {"fulfillment": {"tracking_info": tracking_info, "notify_customer": False}})
        return WritebackResult(channel_reference=_text(latest.get("id")), response_code=response.status_code,
                               request_summary=f"POST fulfillments/{latest['id']}/update_tracking.json {tracking_info}")

    def write_back(self, request: WritebackRequest) -> WritebackResult:
        status = CommonStatus(request.status)
        if status in (CommonStatus.SHIPPED, CommonStatus.DELIVERED):
            result = self._fulfil(request)
            if status is CommonStatus.DELIVERED and result.channel_reference:
                fulfillment_path = f"orders/{request.channel_order_id}/fulfillments/{result.channel_reference}"
                path = self._path(f"{fulfillment_path}/events.json")
                self._post(path, {"event": {"status": "delivered"}})
                result = WritebackResult(result.channel_reference, result.response_code,
                                         result.request_summary + f"; POST {path} delivered")
            return result
        if status is CommonStatus.CANCELLED:
            path = self._path(f"orders/{request.channel_order_id}/cancel.json")
            response, _ = self._post(path, {"reason": "other", "email": False})
            return WritebackResult(channel_reference=request.channel_order_id, response_code=response.status_code,
                                   request_summary=f"POST {path}")
        if status is CommonStatus.REFUNDED:
            raise PermanentChannelError("Shopify refunds need amounts and a payment transaction: refund in Shopify "
                                        "admin; the refund then arrives here by webhook")
        # pending / processing: Shopify derives these from payment and fulfillment; there is nothing to set.
        return WritebackResult(channel_reference=None, response_code=None,
                               request_summary=f"nothing sent: Shopify has no writable '{status.value}' status")
