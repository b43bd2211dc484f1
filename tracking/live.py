"""GET /shipping/track/<n>: live through the provider, cached, or the stored scans when it is down.

Only tracking numbers of stored shipments are looked up: an open endpoint must not let anyone
spend the merchant's aggregator quota on arbitrary parcels.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache
from django.http import Http404

from tracking.carriers import get_provider
from tracking.carriers.base import CarrierError
from tracking.conf import tracking_settings
from tracking.selectors import shipments_by_tracking_number
from tracking.services import shipment_apply_tracking
from tracking.status import latest

logger = logging.getLogger(__name__)


def _iso(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _scan_json(scan) -> dict:
    return {"status": scan.status, "carrierStatus": scan.raw_status, "description": scan.description,
            "location": scan.location, "occurredAt": _iso(scan.occurred_at)}


def cache_key(tracking_number: str, org_id: int | None = None) -> str:
    """Per org: one org's cached carrier answer never shows under another org's name."""
    return f"tracking:live:{org_id or 0}:" + hashlib.sha256(tracking_number.encode()).hexdigest()[:32]


def _stored_answer(shipment, *, carrier_available: bool, reason: str) -> dict:
    scans = list(shipment.scans.all())
    last = latest(scans)
    return {
        "trackingNumber": shipment.tracking_number,
        "carrier": shipment.carrier,
        "status": shipment.status,
        "carrierStatus": shipment.raw_status,
        "estimatedDelivery": _iso(shipment.estimated_delivery),
        "updatedAt": _iso(last.occurred_at if last else shipment.ship_date),
        "events": [_scan_json(scan) for scan in reversed(scans)],
        "source": "stored",
        "carrierAvailable": carrier_available,
        "note": reason,
    }


def tracking_live_status(*, org, tracking_number: str) -> dict:
    shipments = shipments_by_tracking_number(org=org, tracking_number=tracking_number)
    if not shipments:
        raise Http404
    key = cache_key(tracking_number, org.pk)
    cached = cache.get(key)
    if cached is not None:
        return {**cached, "source": "cache", "carrierAvailable": True}
    shipment = shipments[0]
    provider = get_provider(shipment.provider or None)
    if not provider.live:
        return _stored_answer(shipment, carrier_available=False,
                              reason="This parcel is tracked by hand; showing the stored scans.")
    try:
        result = provider.track(tracking_number=tracking_number, carrier=shipment.carrier,
                                provider_ref=shipment.provider_ref)
    except CarrierError as exc:
        logger.warning("tracking %s through %s failed: %s", tracking_number, provider.name, exc)
        return _stored_answer(shipment, carrier_available=False,
                              reason="The carrier could not be reached; showing the last stored scans.")
    for each in shipments:
        if each.provider != "manual":
            shipment_apply_tracking(shipment_id=each.pk, result=result, source=provider.name)
    answer = {
        "trackingNumber": tracking_number,
        "carrier": shipment.carrier,
        "status": result.status or shipment.status,
        "carrierStatus": result.raw_status,
        "estimatedDelivery": _iso(result.estimated_delivery),
        "updatedAt": _iso(result.scans[-1].occurred_at if result.scans else None),
        "events": [_scan_json(scan) for scan in reversed(result.scans)],
    }
    cache.set(key, answer, tracking_settings.TRACKING_LIVE_CACHE_SECONDS)
    return {**answer, "source": "live", "carrierAvailable": True}
