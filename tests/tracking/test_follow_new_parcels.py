"""order.shipped / order.partially_shipped: the live provider starts following the new parcel."""

import pytest
import responses

from orders.events import OrderEvent, subscribers
from orders.tasks import run_event_handler
from tests.tracking.helpers import API, fixture, shipped_order

pytestmark = pytest.mark.django_db


def _event(order, shipment, name="order.shipped") -> dict:
    return OrderEvent(name=name, org_id=order.org_id, order_id=order.pk, order_number=order.order_number,
                      data={"shipmentId": shipment.pk, "trackingNumber": shipment.tracking_number,
                            "carrier": shipment.carrier, "partial": False}).to_json()


def test_tracking_subscribes_to_both_ship_events():
    assert "tracking.handlers.on_order_shipped" in subscribers("order.shipped")
    assert "tracking.handlers.on_order_shipped" in subscribers("order.partially_shipped")


@responses.activate
def test_a_new_parcel_gets_an_easypost_tracker_and_its_first_scans(org):
    order, [shipment] = shipped_order(org, parcels=[("EZ1000000001", None)])
    responses.post(f"{API}/trackers", json=fixture("tracker_pre_transit.json"))
    run_event_handler("tracking.handlers.on_order_shipped", _event(order, shipment))  # the task body
    shipment.refresh_from_db()
    assert shipment.provider == "easypost" and shipment.provider_ref == "trk_acfcc5058c5445bda6c3c331125d52c9"
    assert shipment.public_tracking_url.startswith("https://track.easypost.com/")
    assert shipment.scans.count() == 2 and shipment.status == "label_created"
    # a retried task does not create a second tracker
    run_event_handler("tracking.handlers.on_order_shipped", _event(order, shipment))
    assert len(responses.calls) == 1


def test_with_the_manual_provider_nothing_is_called(org, settings):
    settings.TRACKING_PROVIDER = "manual"
    order, [shipment] = shipped_order(org, parcels=[("MAN-1", None)])
    with responses.RequestsMock():
        run_event_handler("tracking.handlers.on_order_shipped", _event(order, shipment))
    shipment.refresh_from_db()
    assert shipment.provider_ref == "" and shipment.scans.count() == 0
