"""TikTok Shop writeback: ship each package (or mark the order's lines shipped), with TikTok's provider id."""

from __future__ import annotations

from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.tiktok.normalize import API_VERSION

SHIP_PATH = "/fulfillment/" + API_VERSION + "/packages/{package_id}/ship"
MARK_SHIPPED_PATH = "/fulfillment/" + API_VERSION + "/orders/{order_id}/packages"
UPDATE_SHIPPING_PATH = "/fulfillment/" + API_VERSION + "/packages/{package_id}/shipping_info/update"
PROVIDERS_PATH = "/logistics/" + API_VERSION + "/delivery_options/{delivery_option_id}/shipping_providers"
ALREADY_SHIPPED_CODES = {11006021, 21008099, 21011020, 21011040}


class WritebackMixin:
    """Provider's writeback half (uses the client's signed `call`, `fetch_order` and `package_ids`)."""

    # TikTok takes packages shipped (one or several) once the order awaits shipment; it moves every other status
    # itself (delivery from the carrier's scans, cancellations through its own flow).
    writable_statuses = {
        "processing": ("shipped",),
        "shipped": ("shipped",),
    }

    # --- writing ---------------------------------------------------------------------------------
    def write_back(self, request: WritebackRequest) -> WritebackResult:
        if request.status in (CommonStatus.PENDING, CommonStatus.PROCESSING):
            return WritebackResult(request_summary=f"TikTok has no call for {request.status}; nothing sent")
        if request.status != CommonStatus.SHIPPED:
            raise PermanentChannelError(f"TikTok takes no \"{request.status}\" status through its API; "
                                        "do it in TikTok Seller Center")
        if not request.tracking_number:
            raise PermanentChannelError("shipping a TikTok package needs a tracking number")
        order = request.raw or {}
        packages = self.package_ids(order)
        if not packages:
            order = self.fetch_order(request.channel_order_id)
            packages = self.package_ids(order)
        provider_id = self.resolve_shipping_provider(request.carrier, order)
        shipment = {"tracking_number": request.tracking_number, "shipping_provider_id": provider_id}
        if not packages:
            return self._mark_shipped(request, order, shipment)
        summaries = []
        for package_id in packages:
            try:
                self.call("POST", SHIP_PATH.format(package_id=package_id), body={"self_shipment": shipment})
                summaries.append(f"ship package {package_id}")
            except PermanentChannelError as exc:
                if getattr(exc, "channel_code", None) not in ALREADY_SHIPPED_CODES:
                    raise
                # Already shipped (e.g. a corrected tracking number): update its shipping info instead.
                self.call("POST", UPDATE_SHIPPING_PATH.format(package_id=package_id), body=shipment)
                summaries.append(f"update shipping info of package {package_id}")
        return WritebackResult(channel_reference=",".join(packages), response_code=200,
                               request_summary="; ".join(summaries) + f" (tracking {request.tracking_number}, "
                                                                      f"shipping_provider_id {provider_id})")

    def _mark_shipped(self, request: WritebackRequest, order: dict, shipment: dict) -> WritebackResult:
        """No package yet (US/UK/EU/JP sellers shipping themselves get one only when they ship): Mark
        Package As Shipped creates it from the order's line items that are not cancelled."""
        line_ids = [str(item["id"]) for item in order.get("line_items") or []
                    if item.get("id") and item.get("display_status") != "CANCELLED"]
        if not line_ids:
            raise PermanentChannelError(f"TikTok order {request.channel_order_id} has nothing left to ship")
        data = self.call("POST", MARK_SHIPPED_PATH.format(order_id=request.channel_order_id),
                         body={"order_line_item_ids": line_ids, **shipment})
        package_id = str(data.get("package_id") or "")
        return WritebackResult(channel_reference=package_id or None, response_code=200,
                               request_summary=f"mark {len(line_ids)} line item(s) shipped as package {package_id} "
                                               f"(tracking {request.tracking_number}, shipping_provider_id "
                                               f"{shipment['shipping_provider_id']})")

    def resolve_shipping_provider(self, carrier: str | None, order: dict) -> str:
        """TikTok wants its own shipping_provider_id: an id given as carrier, the config map
        (`shippingProviderIds` {name: id}), a name match among the order's delivery option
        providers, else the provider already on the order."""
        if carrier and carrier.strip().isdigit():
            return carrier.strip()
        configured = self.config.get("shippingProviderIds") or {}
        mapping = {str(key).lower(): str(value) for key, value in configured.items()}
        if carrier and carrier.strip().lower() in mapping:
            return mapping[carrier.strip().lower()]
        option = order.get("delivery_option_id")
        if carrier and option:
            data = self.call("GET", PROVIDERS_PATH.format(delivery_option_id=option))
            wanted = carrier.strip().lower().replace(" ", "")
            for provider in data.get("shipping_providers") or []:
                if str(provider.get("name", "")).lower().replace(" ", "") == wanted:
                    return str(provider["id"])
        fallback = order.get("shipping_provider_id") or next(
            (item.get("shipping_provider_id") for item in order.get("line_items") or []
             if item.get("shipping_provider_id")), None)
        if fallback:
            return str(fallback)
        raise PermanentChannelError(f"no TikTok shipping_provider_id for carrier {carrier!r}; set "
                                    "config.shippingProviderIds")
