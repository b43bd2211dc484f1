"""Racing carrier webhooks on PostgreSQL: the order's `deliver` fires exactly once."""

import json

import pytest

from orders.models import Activity
from tests.concurrency import at_once
from tests.tracking.helpers import delivered_event, shipped_order, sign
from tracking.models import ScanEvent
from tracking.services import carrier_webhook_receive

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(events: list[dict]) -> list:
    """Deliver each event from its own thread (own DB connection), all released at once."""
    def deliver(event: dict):
        body = json.dumps(event).encode()
        headers = {"X-Hmac-Signature": sign(body)["HTTP_X_HMAC_SIGNATURE"]}
        return lambda: carrier_webhook_receive(provider_name="easypost", body=body, headers=headers)

    return at_once([deliver(event) for event in events], timeout=30)


def test_concurrent_duplicate_webhooks_deliver_the_order_once(org):
    order, [shipment] = shipped_order(org)
    events = [delivered_event(tracking_code=shipment.tracking_number, event_id=f"evt_race_{i}") for i in range(6)]
    outcomes = _race(events)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    order.refresh_from_db()
    assert order.status == "delivered"
    assert Activity.objects.filter(order=order, verb="deliver").count() == 1
    assert ScanEvent.objects.filter(shipment=shipment).count() == 5


def test_concurrent_identical_deliveries_store_one_and_deliver_once(org):
    order, [shipment] = shipped_order(org)
    event = delivered_event(tracking_code=shipment.tracking_number, event_id="evt_same")
    outcomes = _race([event] * 4)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(duplicate for _, duplicate in outcomes) == [False, True, True, True]
    assert Activity.objects.filter(order=order, verb="deliver").count() == 1


def test_last_two_parcels_delivered_at_the_same_moment_still_deliver_the_order(org):
    """Without the order lock each webhook would miss the other's uncommitted parcel (write skew)."""
    order, _ = shipped_order(org, lines={"A": 1, "B": 1},
                             parcels=[("EZRACE1", [{"sku": "A", "quantity": 1}]),
                                      ("EZRACE2", [{"sku": "B", "quantity": 1}])])
    outcomes = _race([delivered_event(tracking_code="EZRACE1", event_id="evt_r1"),
                      delivered_event(tracking_code="EZRACE2", event_id="evt_r2")])
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    order.refresh_from_db()
    assert order.status == "delivered"
    assert Activity.objects.filter(order=order, verb="deliver").count() == 1
