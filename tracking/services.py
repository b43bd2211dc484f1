"""Tracking writes: scans in, shipment status derived, and the order's `deliver` fired once.

Locks are taken in one order everywhere here: the order row, then the shipment row. Two webhooks
delivering the last two parcels of one order at once therefore serialize on the order, and the
second sees the first's delivered parcel (no write skew, no missed or double `deliver`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.api.parsers import unstorable_value
from core.conf import core_settings
from orders.models import Order, OrderStatus, Shipment
from orders.services import order_deliver
from tracking.carriers import get_provider
from tracking.carriers.base import DELIVERED, Scan, TrackingResult, WebhookRejected, WebhookUnreadable
from tracking.models import CarrierWebhookDelivery, ScanEvent, TrackingStatus
from tracking.status import latest


@dataclass
class ApplyOutcome:
    shipment: Shipment
    scans_added: int
    order_delivered: bool


def _lock_order_then_shipment(shipment_id: int) -> Shipment:
    order_id = Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id)
    Order.objects.select_for_update(of=("self",)).filter(pk=order_id).values_list("pk", flat=True).first()
    return Shipment.objects.select_for_update(of=("self",)).select_related("order").get(pk=shipment_id)


def _refresh_status(shipment: Shipment, *, fallback_status: str | None = None, fallback_raw: str = "") -> None:
    """Status = the latest scan's; with no scans, what the provider said overall (if anything)."""
    last = latest(shipment.scans.all())
    if last is not None:
        status, raw = last.status, last.raw_status
    elif fallback_status:
        status, raw = fallback_status, fallback_raw
    else:
        return
    changed = status != shipment.status or raw != shipment.raw_status
    shipment.status, shipment.raw_status = status, raw
    if status == DELIVERED and shipment.delivered_at is None:
        delivered_scan = last if last is not None and last.status == DELIVERED else None
        shipment.delivered_at = delivered_scan.occurred_at if delivered_scan else timezone.now()
    elif status != DELIVERED:
        shipment.delivered_at = None
    if changed:
        shipment.status_updated_at = timezone.now()
    shipment.save(update_fields=["status", "raw_status", "delivered_at", "status_updated_at"])


def _insert_scans(shipment: Shipment, result: TrackingResult, source: str) -> int:
    rows = [
        ScanEvent(org_id=shipment.org_id, shipment=shipment, status=scan.status, raw_status=scan.raw_status,
                  description=scan.description, location=scan.location, occurred_at=scan.occurred_at, source=source,
                  dedupe_key=ScanEvent.make_dedupe_key(occurred_at=scan.occurred_at,
                                                       raw_status=scan.raw_status or scan.status,
                                                       description=scan.description, location=scan.location))
        for scan in result.scans
    ]
    if not rows:
        return 0
    before = shipment.scans.count()
    ScanEvent.objects.bulk_create(rows, ignore_conflicts=True)
    return shipment.scans.count() - before


def order_deliver_if_complete(*, order_id: int, note: str = "") -> bool:
    """Fire the storefront `deliver` once every parcel is delivered and nothing is left to ship.

    Lock, check, call the storefront service: a repeated or concurrent webhook finds the order
    already delivered and does nothing.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("org").get(pk=order_id)
        if order.status != OrderStatus.SHIPPED:
            return False
        statuses = list(order.shipments.values_list("status", flat=True))
        if not statuses or any(status != DELIVERED for status in statuses):
            return False
        if order.lines.filter(quantity_shipped__lt=F("quantity")).exists():
            return False
        order_deliver(org=order.org, order_number=order.order_number, actor_label="carrier",
                      note=note or "Every parcel was delivered (carrier tracking).")
        return True


def shipment_apply_tracking(*, shipment_id: int, result: TrackingResult, source: str) -> ApplyOutcome:
    """Store what a provider reported for one shipment (idempotent) and follow the order."""
    with transaction.atomic():
        shipment = _lock_order_then_shipment(shipment_id)
        added = _insert_scans(shipment, result, source)
        if result.provider_ref and not shipment.provider_ref:
            shipment.provider_ref = result.provider_ref
        if result.public_url and not shipment.public_tracking_url:
            shipment.public_tracking_url = result.public_url[:500]
        if not shipment.provider and source != "manual":
            shipment.provider = source
        if result.estimated_delivery:
            # The carrier revises its estimate as the parcel moves: the newest answer wins.
            shipment.estimated_delivery = result.estimated_delivery
        shipment.save(update_fields=["provider_ref", "public_tracking_url", "provider", "estimated_delivery"])
        _refresh_status(shipment, fallback_status=result.status, fallback_raw=result.raw_status)
        delivered = False
        if shipment.status == DELIVERED:
            delivered = order_deliver_if_complete(order_id=shipment.order_id)
        return ApplyOutcome(shipment=shipment, scans_added=added, order_delivered=delivered)


def shipment_refresh(*, shipment_id: int) -> ApplyOutcome:
    """After staff added or edited scans in admin: derive the status again and follow the order."""
    with transaction.atomic():
        shipment = _lock_order_then_shipment(shipment_id)
        _refresh_status(shipment)
        delivered = shipment.status == DELIVERED and order_deliver_if_complete(order_id=shipment.order_id)
        return ApplyOutcome(shipment=shipment, scans_added=0, order_delivered=delivered)


def shipment_add_scan(*, org, shipment_id: int, status: str, occurred_at, description: str = "",
                      location: str = "", raw_status: str = "") -> ApplyOutcome:
    """A staff-entered scan (the `manual` provider): same path as a carrier's."""
    if status not in TrackingStatus.values:
        raise ValueError(f"Unknown tracking status {status!r}")
    shipment = Shipment.objects.get(pk=shipment_id, org=org)
    result = TrackingResult(tracking_number=shipment.tracking_number, carrier=shipment.carrier, status=status,
                            raw_status=raw_status or status,
                            scans=(Scan(status=status, raw_status=raw_status or status, description=description,
                                        location=location, occurred_at=occurred_at),))
    return shipment_apply_tracking(shipment_id=shipment.pk, result=result, source="manual")


def shipments_for_result(result: TrackingResult) -> list[int]:
    """Shipments (any org) this carrier update is about: same tracking number, not staff-managed."""
    return list(Shipment.objects.filter(tracking_number=result.tracking_number).exclude(provider="manual")
                .order_by("pk").values_list("pk", flat=True))


def carrier_webhook_receive(*, provider_name: str, body: bytes, headers) -> tuple[CarrierWebhookDelivery, bool]:
    """Verify, store once per event id, apply. Returns (delivery, duplicate).

    Raises WebhookRejected (401, nothing stored). A delivery whose processing failed stays
    stored as failed, and the provider's retry of the same event processes it again.
    """
    provider = get_provider(provider_name)
    provider.verify_webhook(body=body, headers=headers)
    try:
        event = provider.parse_webhook(body)
        problem = unstorable_value(json.loads(body), max_depth=core_settings.MAX_JSON_DEPTH)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
        raise WebhookUnreadable(f"the event cannot be read: {exc!r}"[:300]) from exc
    if problem:
        raise WebhookUnreadable(f"the value at {problem[0]} {problem[1]}")
    if not event.event_id:
        raise WebhookRejected("event without an id")
    tracking_number = event.results[0].tracking_number if event.results else ""
    try:
        with transaction.atomic():
            delivery = CarrierWebhookDelivery.objects.create(
                provider=provider.name, event_id=event.event_id, description=event.description[:64],
                tracking_number=tracking_number[:100], payload=_json_or_text(body))
    except IntegrityError:
        delivery = CarrierWebhookDelivery.objects.get(provider=provider.name, event_id=event.event_id)
        if delivery.outcome != CarrierWebhookDelivery.Outcome.FAILED:
            return delivery, True
    try:
        shipments_updated = scans_added = 0
        for result in event.results:
            for shipment_id in shipments_for_result(result):
                outcome = shipment_apply_tracking(shipment_id=shipment_id, result=result, source=provider.name)
                shipments_updated += 1
                scans_added += outcome.scans_added
    except Exception as exc:
        CarrierWebhookDelivery.objects.filter(pk=delivery.pk).update(
            outcome=CarrierWebhookDelivery.Outcome.FAILED, error=repr(exc)[:2000], processed_at=timezone.now())
        raise
    outcome_value = (CarrierWebhookDelivery.Outcome.PROCESSED if shipments_updated
                     else CarrierWebhookDelivery.Outcome.IGNORED)
    CarrierWebhookDelivery.objects.filter(pk=delivery.pk).update(
        outcome=outcome_value, shipments_updated=shipments_updated, scans_added=scans_added, error="",
        processed_at=timezone.now())
    delivery.refresh_from_db()
    return delivery, False


def shipment_register_with_provider(*, shipment_id: int) -> ApplyOutcome | None:
    """Ask the live provider to follow a new shipment (so its webhooks start) and store what it knows."""
    shipment = Shipment.objects.get(pk=shipment_id)
    provider = get_provider(shipment.provider or None)
    if not provider.live or shipment.provider_ref:
        return None
    result = provider.register(tracking_number=shipment.tracking_number, carrier=shipment.carrier)
    if result is None:
        return None
    return shipment_apply_tracking(shipment_id=shipment.pk, result=result, source=provider.name)


def _json_or_text(body: bytes):
    try:
        return json.loads(body)
    except ValueError:
        return {"raw": body.decode("utf-8", "replace")[:10000]}
