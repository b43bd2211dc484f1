"""GET /shipping/order/<orderNumber>/status: docs/architecture.md's shape, orgid and the email, per org."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from orders.models import Shipment
from tests.api import assert_tenant_isolation
from tests.tracking.helpers import delivered_event, post_webhook, shipped_order
from tracking.services import shipment_add_scan

pytestmark = pytest.mark.django_db


def _status(order) -> str:
    """The status URL with the proof a customer has: the order's email (issue 15)."""
    return f"/shipping/order/{order.order_number}/status?email={order.customer.email}"


def _client(org) -> APIClient:
    client = APIClient()
    client.defaults["HTTP_ORGID"] = org.slug
    return client


def test_the_seed_example_shape_exactly(org):
    order, [shipment] = shipped_order(org, lines={"SNK-AIR-1-9-BLK": 1}, carrier="ups",
                                      parcels=[("1Z999AA10123456784", None)])
    Shipment.objects.filter(pk=shipment.pk).update(ship_date=datetime(2026, 4, 22, 15, 0, tzinfo=UTC))
    shipment_add_scan(org=org, shipment_id=shipment.pk, status="in_transit", raw_status="I",
                      description="Departed from facility", location="Louisville, KY US",
                      occurred_at=datetime(2026, 4, 23, 3, 10, tzinfo=UTC))
    response = _client(org).get(_status(order))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "orderNumber": order.order_number,
        "overallStatus": "in_transit",
        "shipped": [{"sku": "SNK-AIR-1-9-BLK", "quantity": 1, "trackingNumber": "1Z999AA10123456784",
                     "carrier": "ups", "status": "in_transit", "shipDate": "2026-04-22T15:00:00Z"}],
        "pending": [],
        "shipments": [{"id": shipment.public_id, "tracking": "1Z999AA10123456784", "carrier": "ups",
                       "status": "in_transit", "shipDate": "2026-04-22T15:00:00Z",
                       "latestScan": {"status": "in_transit", "carrierStatus": "I",
                                      "description": "Departed from facility", "location": "Louisville, KY US",
                                      "occurredAt": "2026-04-23T03:10:00Z"}}],
    }


def test_partly_shipped_order_lists_pending_lines_with_the_same_keys(org):
    order, [shipment] = shipped_order(org, lines={"A": 3, "B": 1}, parcels=[("EZP1", [{"sku": "A", "quantity": 2}])])
    body = _client(org).get(_status(order)).json()
    assert body["overallStatus"] == "partially_shipped"
    assert body["shipped"] == [{"sku": "A", "quantity": 2, "trackingNumber": "EZP1", "carrier": "usps",
                                "status": "label_created", "shipDate": body["shipped"][0]["shipDate"]}]
    assert body["pending"] == [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}]
    assert body["shipments"][0]["latestScan"] is None


def test_overall_status_follows_the_parcels_to_delivered(org, anon):
    order, _ = shipped_order(org, lines={"A": 1, "B": 1}, parcels=[("EZQ1", [{"sku": "A", "quantity": 1}]),
                                                                   ("EZQ2", [{"sku": "B", "quantity": 1}])])
    client = _client(org)
    post_webhook(anon, delivered_event(tracking_code="EZQ1", event_id="evt_q1"))
    assert client.get(_status(order)).json()["overallStatus"] == "partially_delivered"
    post_webhook(anon, delivered_event(tracking_code="EZQ2", event_id="evt_q2"))
    body = client.get(_status(order)).json()
    assert body["overallStatus"] == "delivered"
    assert [s["latestScan"]["status"] for s in body["shipments"]] == ["delivered", "delivered"]


def test_unshipped_order_is_pending_and_a_missing_one_404(org):
    from tests.orders.factories import checkout, stock

    stock(org, A=5)
    order = checkout(org, {"A": 2})
    client = _client(org)
    body = client.get(_status(order)).json()
    assert body["overallStatus"] == "pending" and body["shipped"] == [] and body["shipments"] == []
    assert body["pending"] == [{"sku": "A", "quantity": 2}]
    assert client.get("/shipping/order/ORD-1999-9999/status?email=buyer@example.com").status_code == 404


def test_needs_the_orgid_header_but_no_login(org):
    order, _ = shipped_order(org)
    assert APIClient().get(_status(order)).status_code == 400
    unknown = APIClient()
    unknown.defaults["HTTP_ORGID"] = "no-such-org"
    assert unknown.get(_status(order)).status_code == 404


def test_another_orgs_orgid_gets_404_for_this_orgs_order_numbers(org, other_owner):
    order, _ = shipped_order(org)
    assert_tenant_isolation(other_owner, detail_urls=[_status(order)])
    stranger = _client(other_owner.org)  # no JWT at all, as a customer would call it
    response = stranger.get(_status(order))
    assert response.status_code == 404 and order.order_number not in response.content.decode()


def test_same_order_number_in_two_orgs_answers_each_orgs_own(org, other_org):
    mine, _ = shipped_order(org, parcels=[("EZMINE", None)])
    theirs, _ = shipped_order(other_org, parcels=[("EZTHEIRS", None)])
    assert mine.order_number == theirs.order_number  # numbering is per org
    assert _client(org).get(_status(mine)).json()["shipped"][0][
        "trackingNumber"] == "EZMINE"
    assert _client(other_org).get(_status(mine)).json()["shipped"][0][
        "trackingNumber"] == "EZTHEIRS"


def test_status_endpoint_is_rate_limited(org, settings):
    settings.TRACKING_PUBLIC_RATE_LIMIT = "2/min"
    order, _ = shipped_order(org)
    client = _client(org)
    codes = [client.get(_status(order)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_status_query_count_does_not_grow_with_parcels_and_scans(org, django_assert_max_num_queries):
    """Prefetched: an order with three scanned parcels costs what one with one parcel does."""
    lines = {"A": 1, "B": 1, "C": 1}
    one, [only] = shipped_order(org, lines=lines, parcels=[("EZN0", None)], email="one@example.com")
    three, parcels = shipped_order(org, lines=lines, email="three@example.com",
                                   parcels=[(f"EZN{i}", [{"sku": sku, "quantity": 1}])
                                            for i, sku in enumerate(lines, start=1)])
    for shipment in [only, *parcels]:
        for hour in range(3):
            shipment_add_scan(org=org, shipment_id=shipment.pk, status="in_transit", description=f"hop {hour}",
                              occurred_at=datetime(2026, 5, 1, hour, tzinfo=UTC))
    client = _client(org)
    with django_assert_max_num_queries(8) as baseline:
        client.get(_status(one))
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        body = client.get(_status(three)).json()
    assert len(body["shipments"]) == 3 and all(s["latestScan"]["description"] == "hop 2" for s in body["shipments"])


def test_issue15_the_order_number_alone_opens_nothing(org, other_org):
    """Sequential numbers are guessable: the email (any case) or a signed order link is the proof."""
    from orders.links import order_token

    order, _ = shipped_order(org, parcels=[("1ZPROOF", None)])
    url = f"/shipping/order/{order.order_number}/status"
    bare = _client(org).get(url)
    wrong = _client(org).get(url, {"email": "eve@example.com"})
    missing = _client(org).get("/shipping/order/ORD-1999-9999/status", {"email": order.customer.email})
    assert bare.status_code == wrong.status_code == missing.status_code == 404
    assert bare.json() == wrong.json() == missing.json()
    assert _client(org).get(url, {"email": order.customer.email.upper()}).status_code == 200
    assert _client(org).get(url, {"token": order_token(order)}).status_code == 200
    assert _client(org).get(url, {"token": "forged"}).status_code == 404
    assert _client(other_org).get(url, {"token": order_token(order)}).status_code == 404
