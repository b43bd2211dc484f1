"""Staff-entered scans (ScanEvent inline on the Shipment admin): no live source, no webhooks."""

from tracking.carriers.base import CarrierError, CarrierProvider, TrackingResult


class Provider(CarrierProvider):
    name = "manual"
    live = False

    def track(self, *, tracking_number: str, carrier: str, provider_ref: str = "") -> TrackingResult:
        raise CarrierError("manual shipments have no live carrier source; stored scans are the truth")
