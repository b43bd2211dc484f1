"""WooCommerce writeback: the order status, then a customer note carrying the tracking."""

from __future__ import annotations

from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.woocommerce.normalize import _text

WRITEBACK_STATUS = {
    CommonStatus.PENDING: "pending", CommonStatus.PROCESSING: "processing", CommonStatus.SHIPPED: "completed",
    CommonStatus.DELIVERED: "completed", CommonStatus.CANCELLED: "cancelled", CommonStatus.REFUNDED: "refunded",
}
CARRIER_NAMES = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL", "dpd": "DPD", "gls": "GLS",
                 "royal_mail": "Royal Mail", "canada_post": "Canada Post", "australia_post": "Australia Post"}


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
        """Set the Woo status first (idempotent), then add the tracking note, so a retry never
        leaves a note on an order whose status did not change."""
        woo_status = WRITEBACK_STATUS[CommonStatus(request.status)]
        order_id = request.channel_order_id
        response, _ = self._call("PUT", f"/orders/{order_id}", body={"status": woo_status})
        summary = f"PUT orders/{order_id} status={woo_status}"
        reference, code = order_id, response.status_code
        note = self.tracking_note(request)
        if note:
            note_response, created = self._call("POST", f"/orders/{order_id}/notes",
                                                 body={"note": note, "customer_note": True})
            reference, code = _text((created or {}).get("id")) or order_id, note_response.status_code
            summary += f"; POST orders/{order_id}/notes {note!r}"
        return WritebackResult(channel_reference=reference, response_code=code, request_summary=summary)
