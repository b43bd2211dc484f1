"""A storefront order linked to a Shopify channel order, shipped in two parcels: Shopify gets two fulfillments,
each of only its parcel's fulfillment-order line items, with its own tracking; the first is never updated.

The wire is the published fixtures (tests/fixtures/shopify/): the order, its fulfillment order and the
fulfillment answer, with the order cut to two lines and the fulfillment order's line items made from the
published one (one per order line)."""

import copy
import json
import re

import pytest

from channels_sync.models import AggregatedOrder, Channel, Writeback
from channels_sync.services import ingest
from channels_sync.services.writeback import writeback_attempt
from channels_sync.tasks import create_local_orders, run_writeback
from orders.services import inventory_set_on_hand, order_ship
from orders.tasks import run_event_handler
from tests.channels_sync.providers.fixtures import fixture, shopify_order

HANDLER = "channels_sync.services.storefront_link.on_order_shipped"
SHOP = "jsmith.myshopify.com"
GRAPHQL = f"https://{SHOP}/admin/api/2026-10/graphql.json"
ORDER_ID = 450789469
GREEN, RED = 466157049, 518995019  # the fixture order's first two line items (IPOD2008GREEN, IPOD2008RED)


def two_line_order() -> dict:
    """order.json, paid and unfulfilled, with two lines: one GREEN and two RED."""
    raw = shopify_order("order.json")
    raw["line_items"] = [item for item in raw["line_items"] if item["id"] in (GREEN, RED)]
    for item in raw["line_items"]:
        item["quantity"] = item["fulfillable_quantity"] = item["current_quantity"] = 1 if item["id"] == GREEN else 2
        item["fulfillment_status"] = None
    raw.update(financial_status="paid", fulfillment_status=None, fulfillments=[], refunds=[])
    return raw


class FakeShopify:
    """The GraphQL fulfillment-order read and `fulfillmentCreate`, with the state a real store keeps between calls.

    The published fulfillment order (fulfillment_orders.json) is made merchant-managed (CREATE_FULFILLMENT, no
    fulfillment service) and given one line per order line; `sent` keeps each fulfillmentCreate in REST's names
    (fulfillment order line item id, quantity) so the expectations read as the fixture's ids.
    """

    def __init__(self, raw: dict):
        published = fixture("shopify", "fulfillment_orders.json")["fulfillment_orders"][0]
        item = published["line_items"][0]
        self.fo = copy.deepcopy(published)
        self.fo["line_items"] = [
            {**item, "id": 9000 + n, "line_item_id": line["id"], "quantity": line["quantity"],
             "fulfillable_quantity": line["quantity"]}
            for n, line in enumerate(raw["line_items"])]
        self.fulfillments: list[dict] = []
        self.sent: list[dict] = []
        self.operations: list[str] = []

    def _fulfillment_order(self) -> dict:
        open_ = self.fo["status"] == "open"
        return {"id": f"gid://shopify/FulfillmentOrder/{self.fo['id']}", "status": self.fo["status"].upper(),
                "requestStatus": "UNSUBMITTED",
                "supportedActions": [{"action": "CREATE_FULFILLMENT"}] if open_ else [],
                "assignedLocation": {"name": "Shop location", "location": {
                    "id": "gid://shopify/Location/24826418", "isFulfillmentService": False,
                    "fulfillmentService": None}},
                "lineItems": {"nodes": [{"id": f"gid://shopify/FulfillmentOrderLineItem/{line['id']}",
                                         "remainingQuantity": line["fulfillable_quantity"],
                                         "totalQuantity": line["quantity"],
                                         "lineItem": {"id": f"gid://shopify/LineItem/{line['line_item_id']}"}}
                                        for line in self.fo["line_items"]]}}

    def graphql(self, request):
        body = json.loads(request.body)
        name = re.search(r"(?:query|mutation)\s+(\w+)", body["query"]).group(1)
        self.operations.append(name)
        if name == "FulfillmentOrdersOfOrder":
            fulfillments = [{"id": f"gid://shopify/Fulfillment/{f['id']}", "status": "SUCCESS",
                             "createdAt": f["created_at"],
                             "trackingInfo": [{"company": f["tracking_company"], "number": f["tracking_number"],
                                               "url": None}]} for f in self.fulfillments]
            return 200, {}, json.dumps({"data": {"order": {
                "id": f"gid://shopify/Order/{ORDER_ID}", "fulfillmentOrders": {"nodes": [self._fulfillment_order()]},
                "fulfillments": fulfillments}}})
        assert name == "FulfillmentCreate", name
        sent = body["variables"]["fulfillment"]
        rest = {"tracking_info": sent["trackingInfo"], "line_items_by_fulfillment_order": [
            {"fulfillment_order_id": int(group["fulfillmentOrderId"].rsplit("/", 1)[1]),
             "fulfillment_order_line_items": [{"id": int(line["id"].rsplit("/", 1)[1]), "quantity": line["quantity"]}
                                              for line in group["fulfillmentOrderLineItems"]]}
            for group in sent["lineItemsByFulfillmentOrder"]]}
        self.sent.append(rest)
        by_id = {item["id"]: item for item in self.fo["line_items"]}
        for group in rest["line_items_by_fulfillment_order"]:
            assert group["fulfillment_order_id"] == self.fo["id"]
            for line in group["fulfillment_order_line_items"]:
                assert 0 < line["quantity"] <= by_id[line["id"]]["fulfillable_quantity"]
                by_id[line["id"]]["fulfillable_quantity"] -= line["quantity"]
        if not any(item["fulfillable_quantity"] for item in self.fo["line_items"]):
            self.fo["status"] = "closed"
        answer = fixture("shopify", "fulfillment_response.json")["fulfillment"]
        answer.update(id=answer["id"] + len(self.fulfillments), tracking_number=sent["trackingInfo"]["number"],
                      tracking_numbers=[sent["trackingInfo"]["number"]])
        self.fulfillments.append(answer)
        return 200, {}, json.dumps({"data": {"fulfillmentCreate": {"fulfillment": {
            "id": f"gid://shopify/Fulfillment/{answer['id']}", "status": "SUCCESS", "trackingInfo": [
                {"company": answer["tracking_company"], "number": answer["tracking_number"], "url": None}]},
            "userErrors": []}}})


@pytest.fixture
def shopify_linked(org, django_capture_on_commit_callbacks):
    channel = Channel.objects.create(org=org, channel_id="shopify-main", provider="shopify",
                                     create_local_orders=True, webhook_secret="shpss_test",
                                     config={"shopDomain": SHOP, "accessToken": "shpat_test", "apiVersion": "2026-10"})
    inventory_set_on_hand(org=org, sku="IPOD2008GREEN", on_hand=5, unit_price="199.00")
    inventory_set_on_hand(org=org, sku="IPOD2008RED", on_hand=5, unit_price="199.00")
    raw = two_line_order()
    with django_capture_on_commit_callbacks(execute=False):
        ingest(channel=channel, raw_orders=[raw])
    aggregated = AggregatedOrder.objects.get()
    create_local_orders.run([aggregated.pk])
    aggregated.refresh_from_db()
    assert aggregated.local_order is not None
    return aggregated, raw


def ship_and_write_back(org, linked, monkeypatch, django_capture_on_commit_callbacks, parcels, attempt=True):
    handler_tasks, writeback_tasks = [], []
    monkeypatch.setattr(run_event_handler, "apply_async", lambda args, **kw: handler_tasks.append(args))
    monkeypatch.setattr(run_writeback, "apply_async", lambda args, **kw: writeback_tasks.append(args[0]))
    with django_capture_on_commit_callbacks(execute=True):
        for carrier, tracking, items in parcels:
            order_ship(org=org, order_number=linked.local_order.order_number, carrier=carrier,
                       tracking_number=tracking, items=items)
    with django_capture_on_commit_callbacks(execute=True):
        for args in handler_tasks:
            if args[0] == HANDLER:
                run_event_handler(*args)
    for pk in writeback_tasks if attempt else []:
        writeback_attempt(writeback_pk=pk)
    return writeback_tasks


@pytest.mark.parametrize("parcels, expected", [
    # line A, then line B
    ([("ups", "1ZFIRST", [{"sku": "IPOD2008GREEN", "quantity": 1}]),
      ("dhl", "JDSECOND", [{"sku": "IPOD2008RED", "quantity": 2}])],
     [[(9000, 1)], [(9001, 2)]]),
    # split quantities: A and one B, then the other B
    ([("ups", "1ZFIRST", [{"sku": "IPOD2008GREEN", "quantity": 1}, {"sku": "IPOD2008RED", "quantity": 1}]),
      ("dhl", "JDSECOND", [{"sku": "IPOD2008RED", "quantity": 1}])],
     [[(9000, 1), (9001, 1)], [(9001, 1)]]),
])
def test_two_parcels_make_two_shopify_fulfillments_each_with_its_lines_and_tracking(
        org, shopify_linked, monkeypatch, responses_mock, django_capture_on_commit_callbacks, parcels, expected):
    import responses

    linked, raw = shopify_linked
    shop = FakeShopify(raw)
    responses_mock.add_callback(responses.POST, GRAPHQL, callback=shop.graphql)

    ship_and_write_back(org, linked, monkeypatch, django_capture_on_commit_callbacks, parcels)

    assert "FulfillmentTrackingInfoUpdate" not in shop.operations
    sent = shop.sent
    assert len(sent) == 2
    assert [body["tracking_info"] for body in sent] == [{"number": "1ZFIRST", "company": "UPS"},
                                                        {"number": "JDSECOND", "company": "DHL Express"}]
    assert [[(line["id"], line["quantity"]) for group in body["line_items_by_fulfillment_order"]
             for line in group["fulfillment_order_line_items"]] for body in sent] == expected
    assert all(group["fulfillment_order_id"] == shop.fo["id"]
               for body in sent for group in body["line_items_by_fulfillment_order"])
    assert shop.fo["status"] == "closed"  # both parcels together fulfilled every line, once
    rows = Writeback.objects.order_by("created_at", "id")
    first = fixture("shopify", "fulfillment_response.json")["fulfillment"]["id"]
    assert [(w.tracking_number, w.status, w.channel_reference) for w in rows] == [
        ("1ZFIRST", "succeeded", str(first)), ("JDSECOND", "succeeded", str(first + 1))]
    assert [[(line["channelLineId"], line["quantity"]) for line in w.lines] for w in rows] == [
        [({9000: str(GREEN), 9001: str(RED)}[fo_id], quantity) for fo_id, quantity in parcel] for parcel in expected]


def test_a_retried_parcel_whose_lines_are_fulfilled_finds_its_fulfillment_and_changes_nothing(
        org, shopify_linked, monkeypatch, responses_mock, django_capture_on_commit_callbacks):
    """The answer to the first POST was lost: the retry sees the lines fulfilled and the fulfillment with its
    tracking number, and sends nothing (before, it moved its tracking onto the newest fulfillment)."""
    import responses

    linked, raw = shopify_linked
    shop = FakeShopify(raw)
    responses_mock.add_callback(responses.POST, GRAPHQL, callback=shop.graphql)
    pks = ship_and_write_back(org, linked, monkeypatch, django_capture_on_commit_callbacks, [
        ("ups", "1ZFIRST", [{"sku": "IPOD2008GREEN", "quantity": 1}]),
        ("dhl", "JDSECOND", [{"sku": "IPOD2008RED", "quantity": 2}])])
    first = Writeback.objects.get(pk=pks[0])
    Writeback.objects.filter(pk=first.pk).update(status="queued", next_attempt_at=None)
    writeback_attempt(writeback_pk=first.pk)
    first.refresh_from_db()
    assert first.status == "succeeded" and first.channel_reference == str(shop.fulfillments[0]["id"])
    assert shop.operations.count("FulfillmentCreate") == 2 and "FulfillmentTrackingInfoUpdate" not in shop.operations
    assert [f["tracking_number"] for f in shop.fulfillments] == ["1ZFIRST", "JDSECOND"]


def test_staff_setting_shipped_still_fulfils_everything_open(org, shopify_linked, responses_mock):
    """Not a parcel: the writeback has no lines of its own and Shopify gets every open line item."""
    import responses

    from channels_sync.services.writeback import order_status_update

    linked, raw = shopify_linked
    shop = FakeShopify(raw)
    responses_mock.add_callback(responses.POST, GRAPHQL, callback=shop.graphql)
    writeback = order_status_update(order=linked, status="shipped", tracking_number="1ZALL", carrier="ups")
    assert writeback.lines == []
    writeback_attempt(writeback_pk=writeback.pk)
    sent = shop.sent[-1]
    assert [(line["id"], line["quantity"]) for line in
            sent["line_items_by_fulfillment_order"][0]["fulfillment_order_line_items"]] == [(9000, 1), (9001, 2)]


def test_a_sku_on_two_channel_lines_fills_them_in_order_across_parcels(
        org, shopify_linked, monkeypatch, django_capture_on_commit_callbacks):
    """storefront_link.parcel_lines: the second parcel of a SKU the channel order has on two lines takes the line
    the first parcel's writeback left."""
    linked, raw = shopify_linked
    red = next(line for line in linked.lines if line["sku"] == "IPOD2008RED")
    split = [line for line in linked.lines if line is not red] + [
        {**red, "quantity": 1}, {**red, "quantity": 1, "channelLineId": "518995020"}]
    AggregatedOrder.objects.filter(pk=linked.pk).update(lines=split)
    linked.refresh_from_db()
    ship_and_write_back(org, linked, monkeypatch, django_capture_on_commit_callbacks, [
        ("ups", "1ZFIRST", [{"sku": "IPOD2008RED", "quantity": 1}]),
        ("dhl", "JDSECOND", [{"sku": "IPOD2008RED", "quantity": 1}, {"sku": "IPOD2008GREEN", "quantity": 1}])],
        attempt=False)
    rows = Writeback.objects.order_by("created_at", "id")
    assert [[(line["sku"], line["channelLineId"], line["quantity"]) for line in w.lines] for w in rows] == [
        [("IPOD2008RED", str(RED), 1)],
        [("IPOD2008GREEN", str(GREEN), 1), ("IPOD2008RED", "518995020", 1)]]
