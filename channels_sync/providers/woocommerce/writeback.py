"""WooCommerce writeback: the order status, then the tracking where the merchant looks for it.

Tracking goes to the Shipment Tracking extension (its own panel, the customer's account page and the Completed
Order email) when the store has it, to a customer order note otherwise. Whether the store has it is learned from
the extension's route answering or not (`rest_no_route`) and remembered on the channel (config
`shipmentTracking`), checked again after TRACKING_RECHECK while it is absent (a merchant may install it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.cache import cache

from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.oauth import token_cache_key
from channels_sync.providers.woocommerce.normalize import _text

WRITEBACK_STATUS = {
    CommonStatus.PENDING: "pending", CommonStatus.PROCESSING: "processing", CommonStatus.SHIPPED: "completed",
    CommonStatus.DELIVERED: "completed", CommonStatus.CANCELLED: "cancelled", CommonStatus.REFUNDED: "refunded",
}
CARRIER_NAMES = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL", "dpd": "DPD", "gls": "GLS",
                 "royal_mail": "Royal Mail", "canada_post": "Canada Post", "australia_post": "Australia Post"}
TRACKING_PREFIX = "/wp-json/wc-shipment-tracking/v3"
TRACKING_RECHECK = timedelta(days=1)
PROVIDERS_CACHE_SECONDS = 24 * 3600


def _no_route(exc: PermanentChannelError) -> bool:
    """WordPress' answer for a namespace no plugin registered: 404 with code rest_no_route."""
    return exc.status_code == 404 and "rest_no_route" in (exc.response_body or "")


class WritebackMixin:
    """Provider's writeback half (uses the client's `_call`)."""

    # --- writing -------------------------------------------------------------------------------
    @staticmethod
    def tracking_note(request: WritebackRequest) -> str | None:
        if not request.tracking_number:
            return None
        carrier = CARRIER_NAMES.get((request.carrier or "").strip().lower(), request.carrier)
        parts = [f"Shipped via {carrier}" if carrier else "Shipped",
                 f"tracking number {request.tracking_number}"]
        note = ", ".join(parts) + "."
        if request.tracking_url:
            note += f" Track it at {request.tracking_url}"
        return note

    def write_back(self, request: WritebackRequest) -> WritebackResult:
        """With Shipment Tracking: the tracking item first (unless a try before added it), then the status, so the
        Completed Order email the status sends carries the tracking. Without it: the status first (idempotent),
        then the note, so a retry never leaves a note on an order whose status did not change."""
        woo_status = WRITEBACK_STATUS[CommonStatus(request.status)]
        order_id = request.channel_order_id
        learned: dict = {}
        if request.tracking_number and self._may_have_tracking_extension():
            try:
                _, items = self._call("GET", f"/orders/{order_id}/shipment-trackings", prefix=TRACKING_PREFIX)
            except PermanentChannelError as exc:
                if not _no_route(exc):
                    raise
                learned = {"shipmentTracking": False, "shipmentTrackingCheckedAt": datetime.now(UTC).isoformat()}
            else:
                return self._write_with_extension(request, woo_status, items)
        response, _ = self._call("PUT", f"/orders/{order_id}", body={"status": woo_status})
        summary = f"PUT orders/{order_id} status={woo_status}"
        reference, code = order_id, response.status_code
        note = self.tracking_note(request)
        if note:
            note_response, created = self._call("POST", f"/orders/{order_id}/notes",
                                                body={"note": note, "customer_note": True})
            reference, code = _text((created or {}).get("id")) or order_id, note_response.status_code
            summary += f"; POST orders/{order_id}/notes {note!r}"
        return WritebackResult(channel_reference=reference, response_code=code, request_summary=summary,
                               learned_config=learned)

    def _write_with_extension(self, request: WritebackRequest, woo_status: str, items) -> WritebackResult:
        order_id = request.channel_order_id
        existing = next((item for item in items or [] if isinstance(item, dict)
                         and item.get("tracking_number") == request.tracking_number), None)
        if existing is None:
            body = self.tracking_item_body(request, self._tracking_providers())
            _, existing = self._call("POST", f"/orders/{order_id}/shipment-trackings", body=body,
                                     prefix=TRACKING_PREFIX)
            provider = body.get("tracking_provider") or body.get("custom_tracking_provider")
            summary = f"POST shipment-trackings {provider} {request.tracking_number}"
        else:
            summary = f"shipment tracking {request.tracking_number} already on the order"
        response, _ = self._call("PUT", f"/orders/{order_id}", body={"status": woo_status})
        summary += f"; PUT orders/{order_id} status={woo_status}"
        return WritebackResult(channel_reference=_text((existing or {}).get("tracking_id")) or order_id,
                               response_code=response.status_code, request_summary=summary,
                               learned_config={} if self.config.get("shipmentTracking") is True
                               else {"shipmentTracking": True})

    def _may_have_tracking_extension(self) -> bool:
        """Unknown or present: try it. Absent: not until TRACKING_RECHECK has passed since it was last seen absent."""
        if self.config.get("shipmentTracking") is not False:
            return True
        try:
            checked = datetime.fromisoformat(str(self.config.get("shipmentTrackingCheckedAt")))
        except ValueError:
            return True
        return datetime.now(UTC) - checked >= TRACKING_RECHECK

    def tracking_item_body(self, request: WritebackRequest, providers: dict[str, str]) -> dict:
        """A predefined provider when the store lists the carrier (matched case-insensitively, `_` as a space),
        else a custom provider named as staff typed it, with the tracking link when we have one."""
        carrier = (request.carrier or "").strip()
        body: dict = {"tracking_number": request.tracking_number}
        known = providers.get(carrier.lower().replace("_", " ")) if carrier else None
        if known:
            body["tracking_provider"] = known
        else:
            body["custom_tracking_provider"] = CARRIER_NAMES.get(carrier.lower(), carrier) or "Other"
            if request.tracking_url:
                body["custom_tracking_link"] = request.tracking_url
        if request.ship_date:
            body["date_shipped"] = request.ship_date.astimezone(UTC).date().isoformat()
        return body

    def _tracking_providers(self) -> dict[str, str]:
        """{lower-case name: name} of the store's Shipment Tracking providers (all regions), cached a day; the
        endpoint is public. A store whose list cannot be read gets custom providers."""
        key = token_cache_key("woo-tracking-providers", self.base_url)
        names = cache.get(key)
        if names is None:
            try:
                _, groups = self._call("GET", "/shipment-trackings/providers", prefix=TRACKING_PREFIX)
            except PermanentChannelError:
                groups = {}
            names = {name.lower(): name for group in (groups or {}).values() if isinstance(group, dict)
                     for name in group}
            cache.set(key, names, timeout=PROVIDERS_CACHE_SECONDS)
        return names
