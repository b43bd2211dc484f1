"""Shipments as the storefront `ship` verb stores them (the rows tracking builds on)."""

import pytest

from orders import services
from orders.models import Shipment
from tests.orders.factories import order_in, stock


@pytest.fixture
def processing(org):
    stock(org, A=10, B=10)
    return order_in(org, "processing")


def test_ship_stores_the_parcel_with_its_lines(org, processing):
    order, shipment = services.order_ship(org=org, order_number=processing.order_number, carrier="UPS",
                                          tracking_number="1Z999AA10123456784", service="ground", cost="7.25",
                                          items=[{"sku": "A", "quantity": 2}])
    stored = Shipment.objects.get(pk=shipment.pk)
    assert (stored.org, stored.order, stored.carrier, stored.service, str(stored.cost)) == (
        org, order, "ups", "ground", "7.25")
    assert stored.ship_date is not None and stored.currency == order.currency
    assert [(line.sku, line.quantity, line.order_line.sku) for line in stored.lines.all()] == [("A", 2, "A")]
    assert stored.public_id == f"shp-{stored.pk:03d}"


@pytest.mark.parametrize(("carrier", "expected"), [
    ("ups", "https://www.ups.com/track?tracknum=1Z%2F9"),
    ("usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels=1Z%2F9"),
    ("fedex", "https://www.fedex.com/fedextrack/?trknbr=1Z%2F9"),
    ("dhl", "https://www.dhl.com/en/express/tracking.html?AWB=1Z%2F9"),
])
def test_tracking_links_per_carrier(org, processing, carrier, expected):
    _, shipment = services.order_ship(org=org, order_number=processing.order_number, carrier=carrier,
                                      tracking_number="1Z/9")
    assert shipment.tracking_url == expected


def test_unknown_carrier_links_the_hubs_public_tracking(org, processing, settings):
    _, shipment = services.order_ship(org=org, order_number=processing.order_number, carrier="la-poste",
                                      tracking_number="LP123")
    assert shipment.tracking_url == f"{settings.PUBLIC_BASE_URL}/shipping/track/LP123"


def test_removing_a_test_order_removes_its_shipments(owner, org):
    stock(org, A=10, B=10)
    order = order_in(org, "shipped", is_test=True)
    assert Shipment.objects.filter(order=order).count() == 1
    owner.client.post(f"/storefront/order/remove/{order.customer.sk}/{order.order_number}")
    assert not Shipment.objects.filter(order_id=order.pk).exists()
