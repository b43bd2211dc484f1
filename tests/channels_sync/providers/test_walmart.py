"""Walmart Marketplace provider: token, fixtures normalized by hand, cursor paging, 429 / expiry, ack, ship."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache

from channels_sync.normalized import Address, CommonStatus, OrderLineData, WritebackRequest
from channels_sync.providers import provider_class
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.walmart import Provider, needs_acknowledgement
from tests.channels_sync.providers.tiktok_walmart_fixtures import fixture

BASE = "https://walmart.test"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TOKEN = fixture("walmart", "token_response.json")


@pytest.fixture
def provider():
    """A provider with its own client id, so no token cached by another test is reused."""
    sleeps: list[float] = []
    config = {"clientId": f"client-{uuid.uuid4().hex[:8]}", "clientSecret": "s3cr3t", "baseUrl": BASE}
    made = Provider(config, http=ChannelHttpClient(BASE, sleep=sleeps.append), clock=lambda: NOW.timestamp())
    made.sleeps = sleeps
    cache.delete(made.token_cache_key)
    yield made
    cache.delete(made.token_cache_key)


def token_answer(token="tok-1", expires_in=900):
    return {**TOKEN, "access_token": token, "expires_in": expires_in}


def listing(orders, next_cursor=None, total=None):
    meta = {"totalCount": total if total is not None else len(orders), "limit": 200}
    if next_cursor:
        meta["nextCursor"] = next_cursor
    return {"list": {"meta": meta, "elements": {"order": orders}}}


def api_calls():
    return [call for call in responses.calls if not call.request.url.endswith("/v3/token")]


def fixture_orders() -> list[dict]:
    return fixture("walmart", "get_orders_response.json")["list"]["elements"]["order"]


# --- configuration -------------------------------------------------------------------------------
def test_registered_with_the_design_config_keys():
    cls = provider_class("walmart")
    assert cls is Provider
    assert cls.default_poll_minutes == 5
    assert cls.required_config == ("clientId", "clientSecret") and cls.secret_config == ("clientSecret",)
    assert cls.validate_config({}) == {"clientId": "This field is required.", "clientSecret": "This field is required."}
    default = Provider({"clientId": "a", "clientSecret": "b"})
    assert default.base_url == "https://marketplace.walmartapis.com"
    assert default.token_url == "https://marketplace.walmartapis.com/v3/token"
    assert Provider({"tokenUrl": "https://auth.test/v3/token"}).token_url == "https://auth.test/v3/token"
    assert default.http.rate_limiter is not None  # the Redis bucket shared by all workers


# --- normalize: every published order, expectations written from the fixtures by hand ---------------
# (purchaseOrderId, status, raw status, subtotal, tax, total, tracking, customerOrderId, sku, buyer name)
LIST_EXPECTED = [
    ("1796277083022", "pending", "Created", "10", "0.8", "10.8", None, "5281956426648", "test1", "Kathryn Cole"),
    ("3796235970012", "cancelled", "Cancelled", "0", "0", "0", None, "5241952426446", "TEST-02", "Steffen Matt"),
    ("1796235744850", "cancelled", "Cancelled", "0", "0", "0", None, "5231951859044", "TEST-02", "Dorothy Kelly"),
    ("2792525175246", "cancelled", "Cancelled", "0", "0", "0", None, "5221950975717", "TEST-02", "Donna Becker"),
    ("4792514745205", "cancelled", "Cancelled", "0", "0", "0", None, "5211999883559", "test1", "Vivian Katzaroff"),
    ("3796091528503", "cancelled", "Cancelled", "0", "0", "0", None, "5101992777190", "TEST-02", "Steffen Matt"),
    ("3796050123784", "shipped", "Shipped", "9.99", "0.85", "10.84", "9400100000000000000000", "5061989889122",
     "TEST-02", "Steffen Matt"),
    ("2792360062965", "shipped", "Shipped", "9.99", "0.85", "10.84", "9400100000000000000000", "5061989884505",
     "TEST-02", "Steffen Matt"),
    ("2792338900105", "shipped", "Shipped", "9.99", "0.62", "10.61", "123456789", "5021986553201", "TEST-02",
     "Sunitha Murthy"),
    ("2792163543930", "cancelled", "Cancelled", "0", "0", "0", None, "4851974348317", "AC004", "Debbie Chandler"),
]


def test_every_order_of_the_list_fixture_normalizes():
    orders = fixture_orders()
    assert len(orders) == len(LIST_EXPECTED)
    for raw, expected in zip(orders, LIST_EXPECTED, strict=True):
        po, status, raw_status, subtotal, tax, total, tracking, customer_order, sku, name = expected
        order = Provider.normalize(raw)
        assert order.channel_order_id == po
        assert (order.status, order.raw_status) == (CommonStatus(status), raw_status)
        assert (order.subtotal, order.tax, order.shipping, order.grand_total) == (
            Decimal(subtotal), Decimal(tax), Decimal("0"), Decimal(total)), po
        assert order.currency == "USD"
        assert order.tracking_number == tracking
        assert order.channel_order_number == customer_order
        assert [line.sku for line in order.lines] == [sku]
        assert order.customer_name == name and order.shipping_address.name == name


def test_first_list_order_field_by_field():
    order = Provider.normalize(fixture_orders()[0])
    assert order.created_at == datetime(2019, 9, 14, 13, 9, 31, tzinfo=UTC)     # orderDate 1568466571000
    assert order.updated_at == datetime(2019, 9, 14, 13, 10, 47, tzinfo=UTC)    # statusDate 1568466647000
    assert order.customer_email == "3A31739D8B0A45A1B23F7F8C81C8747F@relay.walmart.com"
    assert order.lines == [OrderLineData(sku="test1", channel_sku="test1", quantity=1, unit_price=Decimal("10.00"),
                                         name="Beba Bean Pee-pee Teepee Airplane - Blue - Laundry Bag",
                                         channel_line_id="4")]
    assert order.shipping_address == Address(name="Kathryn Cole", line1="3258BWarners rd", line2="Garage",
                                             city="Warners", region="NY", postal_code="13164", country="US",
                                             phone="3155598681")
    meta = order.channel_metadata
    assert meta["orderType"] == "REPLACEMENT" and meta["originalCustomerOrderID"] == "1234567891234"
    assert meta["shippingMethodCode"] == "Value" and meta["addressType"] == "RESIDENTIAL"
    assert meta["lines"][0]["fulfillment"] == {"fulfillmentOption": "S2H", "shipMethod": "VALUE",
                                               "pickUpDateTime": 1568919600000}


def test_single_order_fixture_with_ship_node_and_tracking():
    order = Provider.normalize(fixture("walmart", "get_order_response.json")["order"])
    assert (order.channel_order_id, order.channel_order_number) == ("1815367951431", "4372135469400")
    assert (order.status, order.raw_status) == (CommonStatus.SHIPPED, "Shipped")
    assert (order.subtotal, order.tax, order.shipping, order.grand_total) == (
        Decimal("5"), Decimal("0.34"), Decimal("0"), Decimal("5.34"))
    assert order.tracking_number == "435678956435467"
    assert order.channel_metadata["shipNode"] == {"type": "SellerFulfilled"}
    assert order.updated_at == datetime(2021, 6, 16, 9, 30, 55, 623000, tzinfo=UTC)  # statusDate 1623835855623
    assert order.shipping_address.line2 is None  # no address2 given


def test_acknowledge_response_order_is_processing():
    order = Provider.normalize(fixture("walmart", "acknowledge_order_response.json")["order"])
    assert (order.status, order.raw_status, order.grand_total) == (
        CommonStatus.PROCESSING, "Acknowledged", Decimal("10.8"))


def test_ship_response_order_is_shipped_with_fedex_tracking():
    order = Provider.normalize(fixture("walmart", "ship_order_lines_response.json")["order"])
    assert order.status == CommonStatus.SHIPPED
    assert (order.subtotal, order.tax, order.grand_total) == (Decimal("555"), Decimal("48.56"), Decimal("603.56"))
    assert order.tracking_number == "911001572321619861"
    assert order.channel_metadata["sellerOrderId"] == "13233454564657"
    assert order.shipping_address.country == "US"


# --- normalize: what the fixtures do not show ------------------------------------------------------
def line(number, status_quantities, *, price=10, tax=0.8, quantity=None, shipping=None, sku="SKU-1", refund=None):
    charges = [{"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                "chargeAmount": {"currency": "USD", "amount": price},
                "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": tax}}}]
    if shipping is not None:
        charges.append({"chargeType": "SHIPPING", "chargeName": "Shipping",
                        "chargeAmount": {"currency": "USD", "amount": shipping},
                        "tax": {"taxName": "Tax2", "taxAmount": {"currency": "USD", "amount": 0.4}}})
    total = quantity or sum(q for _, q in status_quantities)
    built = {"lineNumber": str(number), "item": {"productName": "Widget", "sku": sku},
             "charges": {"charge": charges}, "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(total)},
             "statusDate": 1700000000000 + number,
             "orderLineStatuses": {"orderLineStatus": [
                 {"status": status, "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(q)}}
                 for status, q in status_quantities]}}
    if refund:
        built["refund"] = refund
    return built


def order(*lines, **extra):
    base = copy.deepcopy(fixture_orders()[0])
    base["orderLines"] = {"orderLine": list(lines)}
    base.update(extra)
    return base


@pytest.mark.parametrize("statuses,expected", [
    ([[("Acknowledged", 1)]], "processing"),
    ([[("Delivered", 1)], [("Delivered", 1)]], "delivered"),
    ([[("Shipped", 1)], [("Delivered", 1)]], "shipped"),
    ([[("Shipped", 1)], [("Acknowledged", 1)]], "processing"),       # partly shipped
    ([[("Shipped", 1)], [("Cancelled", 1)]], "shipped"),             # a cancelled line does not hold it back
    ([[("Created", 1)], [("Acknowledged", 1)]], "processing"),
    ([[("Shipped", 1), ("Acknowledged", 1)]], "processing"),         # part of one line's quantity shipped
    ([[("Cancelled", 2)]], "cancelled"),
])
def test_order_status_is_derived_from_its_lines(statuses, expected):
    raw = order(*[line(n + 1, status_list) for n, status_list in enumerate(statuses)])
    assert Provider.normalize(raw).status == CommonStatus(expected)


# (derived status rules: tests/channels_sync/providers/test_normalizers_pure.py, which runs without Django)


def test_shipping_charges_multi_quantity_and_raw_statuses():
    raw = order(line(1, [("Shipped", 1), ("Acknowledged", 1)], price=30, tax=2.4, shipping=5.99),
                line(2, [("Acknowledged", 1)], price=4.5, tax=0.36, sku="SKU-2"))
    normalized = Provider.normalize(raw)
    assert (normalized.subtotal, normalized.shipping, normalized.tax, normalized.grand_total) == (
        Decimal("34.5"), Decimal("5.99"), Decimal("3.16"), Decimal("43.65"))
    assert [(x.sku, x.quantity, x.unit_price) for x in normalized.lines] == [
        ("SKU-1", 2, Decimal("15.00")), ("SKU-2", 1, Decimal("4.50"))]
    assert normalized.raw_status == "Shipped/Acknowledged"
    assert normalized.updated_at == datetime.fromtimestamp(1700000000.002, tz=UTC)


def test_fully_refunded_lines_make_the_order_refunded():
    refund = {"refundId": "r1", "refundCharges": {"refundCharge": [
        {"refundReason": "ItemNotReceivedByCustomer",
         "charge": {"chargeType": "PRODUCT", "chargeAmount": {"currency": "USD", "amount": -10}}}]}}
    normalized = Provider.normalize(order(line(1, [("Shipped", 1)], refund=refund)))
    assert normalized.status == CommonStatus.REFUNDED
    assert normalized.channel_metadata["lines"][0]["refund"]["refundId"] == "r1"


def test_missing_postal_address_is_absent_not_invented():
    raw = order(line(1, [("Created", 1)]))
    raw["shippingInfo"].pop("postalAddress")
    raw.pop("customerEmailId")
    normalized = Provider.normalize(raw)
    assert normalized.shipping_address is None
    assert normalized.customer_name is None and normalized.customer_email is None


# --- token and headers ---------------------------------------------------------------------------
@responses.activate
def test_token_is_fetched_with_client_credentials_and_cached_across_instances(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.get(f"{BASE}/v3/orders/1815367951431", json=fixture("walmart", "get_order_response.json"))
    responses.get(f"{BASE}/v3/orders/1815367951431", json=fixture("walmart", "get_order_response.json"))

    assert provider.fetch_order("1815367951431")["purchaseOrderId"] == "1815367951431"
    other_worker = Provider(provider.config, http=ChannelHttpClient(BASE), clock=provider.clock)
    other_worker.fetch_order("1815367951431")

    token_calls = [call for call in responses.calls if call.request.url.endswith("/v3/token")]
    assert len(token_calls) == 1
    request = token_calls[0].request
    expected_basic = base64.b64encode(f"{provider.config['clientId']}:s3cr3t".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected_basic}"
    assert parse_qs(request.body) == {"grant_type": ["client_credentials"]}
    assert request.headers["WM_SVC.NAME"] == "Walmart Marketplace"
    assert request.headers["Accept"] == "application/json"
    correlation_ids = set()
    for call in api_calls():
        assert call.request.headers["WM_SEC.ACCESS_TOKEN"] == "tok-1"
        assert call.request.headers["WM_SVC.NAME"] == "Walmart Marketplace"
        assert call.request.headers["Accept"] == "application/json"
        correlation_ids.add(str(uuid.UUID(call.request.headers["WM_QOS.CORRELATION_ID"])))
    assert len(correlation_ids) == 2  # a fresh one per call


@responses.activate
def test_a_configured_token_url_is_used(provider):
    provider.config["tokenUrl"] = "https://auth.walmart.test/v3/token"
    responses.post("https://auth.walmart.test/v3/token", json=token_answer())
    responses.get(f"{BASE}/v3/orders/1", json={"order": {"purchaseOrderId": "1"}})
    cache.delete(provider.token_cache_key)
    provider.fetch_order("1")
    assert responses.calls[0].request.url == "https://auth.walmart.test/v3/token"
    cache.delete(provider.token_cache_key)


@responses.activate
def test_token_expiring_mid_run_is_renewed_and_the_page_fetched_again(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer("tok-1"))
    responses.post(f"{BASE}/v3/token", json=token_answer("tok-2"))
    orders = fixture_orders()
    responses.get(f"{BASE}/v3/orders", json=listing(orders[:2], "?limit=2&hasMoreElements=true&soIndex=2"))
    expired = {"errors": {"error": [{"code": "UNAUTHORIZED.GMP_GATEWAY_API"}]}}
    responses.get(f"{BASE}/v3/orders", status=401, json=expired)
    responses.get(f"{BASE}/v3/orders", json=listing(orders[2:3]))

    fetched = list(provider.fetch_orders(datetime(2026, 11, 23, tzinfo=UTC), NOW))

    assert [o["purchaseOrderId"] for o in fetched] == [o["purchaseOrderId"] for o in orders[:3]]
    tokens = [call.request.headers["WM_SEC.ACCESS_TOKEN"] for call in api_calls()]
    assert tokens == ["tok-1", "tok-1", "tok-2"]


@responses.activate
def test_bad_credentials_are_permanent(provider):
    responses.post(f"{BASE}/v3/token", status=401, json={"error": "invalid_client"})
    with pytest.raises(PermanentChannelError):
        provider.fetch_order("1")


# --- fetching -------------------------------------------------------------------------------------
@responses.activate
def test_fetch_follows_next_cursor_with_a_429_in_the_middle(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    orders = fixture_orders()
    cursor = "?limit=200&hasMoreElements=true&soIndex=31&poIndex=10&partnerId=100009&sellerId=8"
    responses.get(f"{BASE}/v3/orders", json=listing(orders[:5], cursor, total=10))
    responses.get(f"{BASE}/v3/orders", status=429, headers={"Retry-After": "1"})
    responses.get(f"{BASE}/v3/orders", json=listing(orders[5:], total=10))

    since = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    fetched = list(provider.fetch_orders(since, NOW))

    assert [o["purchaseOrderId"] for o in fetched] == [o["purchaseOrderId"] for o in orders]
    first, throttled, second = api_calls()
    query = {k: v[0] for k, v in parse_qs(urlsplit(first.request.url).query).items()}
    # Open-ended (no lastModifiedEndDate): an order modified mid-poll keeps its place in the cursor's order.
    assert query == {"createdStartDate": "2026-05-28T12:00:00.000Z", "limit": "200",
                     "lastModifiedStartDate": "2026-11-23T11:00:00.000Z"}
    assert second.request.url == f"{BASE}/v3/orders{cursor}"  # the cursor is the whole next query
    assert provider.sleeps == [1.0]


@responses.activate
def test_no_matching_orders_is_an_empty_fetch_not_an_error(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.get(f"{BASE}/v3/orders", status=404, json={"errors": {"error": [
        {"code": "CONTENT_NOT_FOUND.GMP_ORDER_API", "description": "No Orders found"}]}})
    assert list(provider.fetch_orders(None, NOW)) == []


@responses.activate
def test_a_404_on_a_later_page_fails_the_fetch_instead_of_ending_it(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.get(f"{BASE}/v3/orders", json=listing(fixture_orders()[:1], "?limit=1&hasMoreElements=true&poIndex=1"))
    responses.get(f"{BASE}/v3/orders", status=404, json={"errors": {"error": [{"code": "CONTENT_NOT_FOUND"}]}})
    with pytest.raises(PermanentChannelError):
        list(provider.fetch_orders(None, NOW))


@responses.activate
def test_status_filters(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.get(f"{BASE}/v3/orders", json=listing(fixture_orders()))
    assert {Provider.normalize(o).status for o in provider.fetch_orders(None, None, "shipped")} == {"shipped"}
    responses.get(f"{BASE}/v3/orders", json=listing([]))
    list(provider.fetch_orders(None, None, "Acknowledged"))
    assert "status=Acknowledged" in api_calls()[-1].request.url


@pytest.mark.parametrize("status,error", [(500, RetryableChannelError), (503, RetryableChannelError),
                                          (400, PermanentChannelError), (403, PermanentChannelError)])
@responses.activate
def test_errors_are_classified(provider, status, error):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.get(f"{BASE}/v3/orders/1", status=status, json={"errors": {}})
    with pytest.raises(error):
        provider.fetch_order("1")


@responses.activate
def test_a_long_429_is_retryable_with_its_delay(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.get(f"{BASE}/v3/orders/1", status=429, headers={"Retry-After": "300"})
    with pytest.raises(RetryableChannelError) as caught:
        provider.fetch_order("1")
    assert caught.value.retry_after == 300


# --- acknowledge ---------------------------------------------------------------------------------
@responses.activate
def test_acknowledge_new_posts_only_orders_with_created_lines_and_reports_each(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.post(f"{BASE}/v3/orders/1796277083022/acknowledge", json=fixture("walmart",
                                                                               "acknowledge_order_response.json"))
    orders = fixture_orders()
    assert [needs_acknowledgement(o) for o in orders[:3]] == [True, False, False]
    assert provider.acknowledge_new(orders) == {"1796277083022": "acknowledged"}
    call = api_calls()[0]
    assert call.request.method == "POST" and not call.request.body
    assert call.request.headers["WM_SEC.ACCESS_TOKEN"] == "tok-1"


@responses.activate
def test_acknowledge_keeps_going_past_a_failure(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.post(f"{BASE}/v3/orders/A/acknowledge", status=400, json={"errors": {}})
    responses.post(f"{BASE}/v3/orders/B/acknowledge", status=200, json={"order": {}})
    results = provider.acknowledge(["A", "B"])
    assert results["A"].startswith("failed:") and results["B"] == "acknowledged"


# --- writeback ------------------------------------------------------------------------------------
def ship(raw, **kwargs):
    defaults = {"tracking_number": "1Z999AA10123456784", "carrier": "ups", "shipping_method": None,
                "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
                "ship_date": datetime(2026, 11, 23, 10, 30, tzinfo=UTC)}
    defaults.update(kwargs)
    return WritebackRequest(channel_order_id=raw["purchaseOrderId"], status=defaults.pop("status",
                                                                                         CommonStatus.SHIPPED),
                            lines=defaults.pop("lines", []), raw=raw, **defaults)


@responses.activate
def test_ship_posts_the_documented_shape_line_by_line(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.post(f"{BASE}/v3/orders/P1/shipping", json=fixture("walmart", "ship_order_lines_response.json"))
    raw = order(line(1, [("Acknowledged", 2)]), line(2, [("Cancelled", 1)]), line(3, [("Acknowledged", 1)]),
                purchaseOrderId="P1")

    result = provider.write_back(ship(raw))

    call = api_calls()[0]
    assert call.request.headers["Content-Type"] == "application/json"
    body = json.loads(call.request.body)
    documented = fixture("walmart", "ship_order_lines_request.json")["orderShipment"]["orderLines"]["orderLine"][0]
    documented_status = documented["orderLineStatuses"]["orderLineStatus"][0]
    sent_lines = body["orderShipment"]["orderLines"]["orderLine"]
    assert set(body) == {"orderShipment"} and set(body["orderShipment"]) == {"orderLines"}
    # Every field of the documented line, sellerOrderId (required by the schema) and intentToCancelOverride too.
    assert all(set(sent) == set(documented) for sent in sent_lines)
    assert {sent["sellerOrderId"] for sent in sent_lines} == {raw["customerOrderId"]}
    assert {sent["intentToCancelOverride"] for sent in sent_lines} == {False}
    assert [sent["lineNumber"] for sent in sent_lines] == ["1", "3"]  # the cancelled line is not shipped
    for sent, quantity in zip(sent_lines, ["2", "1"], strict=True):
        status = sent["orderLineStatuses"]["orderLineStatus"][0]
        assert set(status) <= set(documented_status)
        assert status["status"] == documented_status["status"] == "Shipped"
        assert status["statusQuantity"] == {"unitOfMeasurement": "EACH", "amount": quantity}
        info = status["trackingInfo"]
        assert set(info) == set(documented_status["trackingInfo"])
        assert info["shipDateTime"] == 1795429800000  # 2026-11-23T10:30Z in epoch ms, like the sample
        assert info["carrierName"] == {"carrier": "UPS"}
        assert info["methodCode"] == "Value"          # the order's shipping method
        assert info["trackingNumber"] == "1Z999AA10123456784"
        assert info["trackingURL"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert result.channel_reference == "P1" and "ship lines 1,3" in result.request_summary


@responses.activate
def test_ship_acknowledges_a_created_order_first(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.post(f"{BASE}/v3/orders/1796277083022/acknowledge", json={"order": {}})
    responses.post(f"{BASE}/v3/orders/1796277083022/shipping", json={"order": {}})
    provider.write_back(ship(fixture_orders()[0], carrier="Purolator Freightways",
                             tracking_url="https://www.purolator.com/track/PF1", shipping_method="express"))
    acknowledge, shipping = api_calls()
    assert acknowledge.request.url.endswith("/acknowledge")
    info = json.loads(shipping.request.body)["orderShipment"]["orderLines"]["orderLine"][0][
        "orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]
    # Not in Walmart's carrier enum: sent as otherCarrier, with the tracking URL Walmart then requires.
    assert info["carrierName"] == {"otherCarrier": "Purolator Freightways"}
    assert info["trackingURL"] == "https://www.purolator.com/track/PF1"
    assert info["methodCode"] == "Express"


@responses.activate
def test_a_refused_acknowledge_does_not_stop_the_shipping_update(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.post(f"{BASE}/v3/orders/1796277083022/acknowledge", status=400, json={"errors": {}})
    responses.post(f"{BASE}/v3/orders/1796277083022/shipping", json={"order": {}})
    result = provider.write_back(ship(fixture_orders()[0]))
    assert api_calls()[-1].request.url.endswith("/shipping")
    assert "acknowledge refused (400)" in result.request_summary


@responses.activate
def test_ship_reads_the_order_when_the_stored_one_has_no_lines(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    fresh = order(line(1, [("Acknowledged", 1)]), purchaseOrderId="P9")
    responses.get(f"{BASE}/v3/orders/P9", json={"order": fresh})
    responses.post(f"{BASE}/v3/orders/P9/shipping", json={"order": {}})
    provider.write_back(ship({"purchaseOrderId": "P9"}))
    assert [call.request.method for call in api_calls()] == ["GET", "POST"]


def test_shipping_a_fully_shipped_or_untracked_order_is_permanent(provider):
    shipped = fixture("walmart", "get_order_response.json")["order"]
    with pytest.raises(PermanentChannelError, match="no line left"):
        provider.write_back(ship(shipped))
    with pytest.raises(PermanentChannelError, match="tracking number"):
        provider.write_back(ship(shipped, tracking_number=None))


@responses.activate
def test_a_rejected_shipping_update_is_permanent_and_a_5xx_retryable(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    raw = order(line(1, [("Acknowledged", 1)]), purchaseOrderId="P2")
    responses.post(f"{BASE}/v3/orders/P2/shipping", status=400, json={"errors": {"error": [{"code": "INVALID"}]}})
    with pytest.raises(PermanentChannelError):
        provider.write_back(ship(raw))
    responses.replace(responses.POST, f"{BASE}/v3/orders/P2/shipping", status=502)
    with pytest.raises(RetryableChannelError):
        provider.write_back(ship(raw))


@responses.activate
def test_cancel_and_processing_writebacks(provider):
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.post(f"{BASE}/v3/orders/1796277083022/cancel", json={"order": {}})
    responses.post(f"{BASE}/v3/orders/1796277083022/acknowledge", json={"order": {}})
    created = fixture_orders()[0]
    provider.write_back(ship(created, status=CommonStatus.CANCELLED))
    body = json.loads(api_calls()[0].request.body)
    assert body == {"orderCancellation": {"orderLines": {"orderLine": [{
        "lineNumber": "4", "orderLineStatuses": {"orderLineStatus": [{
            "status": "Cancelled", "cancellationReason": "CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
            "statusQuantity": {"unitOfMeasurement": "EACH", "amount": "1"}}]}}]}}}
    provider.write_back(ship(created, status=CommonStatus.PROCESSING))
    assert api_calls()[1].request.url.endswith("/v3/orders/1796277083022/acknowledge")
    with pytest.raises(PermanentChannelError, match='Walmart takes no "refunded" status'):
        provider.write_back(ship(created, status=CommonStatus.REFUNDED))


# --- against the simulator (real HTTP on localhost, Walmart's wire format) ---------------------------
@pytest.fixture
def walmart_sim():
    from simulator.server import SimulatorServer

    server = SimulatorServer(host="127.0.0.1", port=0, order_count=40, names=["walmart"]).start()
    try:
        yield server.simulators["walmart"]
    finally:
        server.stop()


@pytest.fixture
def sim_provider(walmart_sim):
    sleeps: list[float] = []
    config = {**walmart_sim.demo_channel().config, "pageSize": 7}
    made = Provider(config, http=ChannelHttpClient(config["baseUrl"], sleep=sleeps.append))
    made.sleeps = sleeps
    cache.delete(made.token_cache_key)
    yield made
    cache.delete(made.token_cache_key)


def test_simulator_full_pull_with_429_and_token_expiry_mid_run(walmart_sim, sim_provider):
    pages = sim_provider.fetch_orders(None, None)
    first = [next(pages) for _ in range(7)]
    walmart_sim.forced_429 = 1
    walmart_sim.expire_tokens()
    fetched = first + list(pages)
    assert sorted(o["purchaseOrderId"] for o in fetched) == sorted(walmart_sim.orders)
    assert sim_provider.sleeps == [1.0]
    for raw in fetched:
        order = Provider.normalize(raw)
        assert order.grand_total == order.subtotal + order.shipping + order.tax
        assert order.shipping_address.country == "US"


def test_simulator_acknowledge_then_ship_then_the_next_poll_sees_it(walmart_sim, sim_provider):
    new = [walmart_sim.add_order()["purchaseOrderId"] for _ in range(2)]   # just placed: lines Created
    fetched = list(sim_provider.fetch_orders(None, None))
    created = [raw for raw in fetched if Provider.acknowledgement_id(raw)]
    assert set(new) <= {raw["purchaseOrderId"] for raw in created}
    results = sim_provider.acknowledge_new(fetched)
    assert set(results) == {raw["purchaseOrderId"] for raw in created}
    assert set(results.values()) == {"acknowledged"}

    raw = sim_provider.fetch_order(created[0]["purchaseOrderId"])
    assert Provider.normalize(raw).status == CommonStatus.PROCESSING
    sim_provider.write_back(ship(raw, carrier="FedEx", tracking_number="771234567890", tracking_url=None))
    recorded = walmart_sim.writebacks[-1]
    assert recorded["kind"] == "ship_lines" and recorded["orderId"] == raw["purchaseOrderId"]
    after = Provider.normalize(sim_provider.fetch_order(raw["purchaseOrderId"]))
    assert (after.status, after.tracking_number) == (CommonStatus.SHIPPED, "771234567890")


def test_simulator_cancel_writeback(walmart_sim, sim_provider):
    raw = sim_provider.fetch_order(walmart_sim.add_order()["purchaseOrderId"])
    sim_provider.write_back(ship(raw, status=CommonStatus.CANCELLED))
    after = Provider.normalize(sim_provider.fetch_order(raw["purchaseOrderId"]))
    assert after.status == CommonStatus.CANCELLED
    assert walmart_sim.writebacks[-1]["kind"] == "cancel_lines"


def test_simulator_rejects_wrong_credentials(walmart_sim, sim_provider):
    sim_provider.config["clientSecret"] = "wrong"
    with pytest.raises(PermanentChannelError, match="401"):
        sim_provider.fetch_order("1")


# --- the whole flow through the hub: one-shot sync, then a status PUT written back -----------------------
@pytest.mark.postgres
def test_whole_flow_through_the_simulator(org, walmart_sim, django_capture_on_commit_callbacks):
    from channels_sync.models import AggregatedOrder, Channel, Outcome
    from channels_sync.services.polling import sync_run, sync_start
    from channels_sync.services.writeback import order_status_update, writeback_attempt

    fresh = walmart_sim.add_order()["purchaseOrderId"]
    demo = walmart_sim.demo_channel()
    channel = Channel.objects.create(org=org, channel_id="walmart-main", provider="walmart", enabled=True,
                                     config={**demo.config, "pageSize": 9}, webhook_secret="")
    cache.delete(channel.provider_instance().token_cache_key)
    with django_capture_on_commit_callbacks():
        run = sync_start(channel=channel)
    run = sync_run(run_pk=run.pk)
    assert run.status == Outcome.SUCCEEDED, run.error
    assert (run.fetched, run.created, run.failed, run.unchanged, run.updated) == (
        len(walmart_sim.orders), len(walmart_sim.orders), 0, 0, 0), run.error
    order = AggregatedOrder.objects.get(channel=channel, channel_order_id=fresh)
    assert (order.status, order.raw_status) == ("pending", "Created")
    # The pull acknowledged every new purchase order once it was stored, as Walmart expects within hours.
    acknowledged_by_pull = {w["orderId"] for w in walmart_sim.writebacks if w["kind"] == "acknowledge"}
    assert fresh in acknowledged_by_pull
    assert Provider.normalize(walmart_sim.get_order(fresh)).status == CommonStatus.PROCESSING

    with django_capture_on_commit_callbacks():
        writeback = order_status_update(order=order, status="shipped", tracking_number="1Z999AA10123456784",
                                        carrier="UPS")
    writeback_attempt(writeback_pk=writeback.pk)
    writeback.refresh_from_db()
    assert writeback.status == Outcome.SUCCEEDED, writeback.last_error
    acknowledged, shipped = walmart_sim.writebacks[-2:]
    assert (acknowledged["kind"], shipped["kind"]) == ("acknowledge", "ship_lines")
    info = shipped["body"]["orderShipment"]["orderLines"]["orderLine"][0]["orderLineStatuses"][
        "orderLineStatus"][0]["trackingInfo"]
    assert (info["carrierName"], info["trackingNumber"], info["methodCode"]) == (
        {"carrier": "UPS"}, "1Z999AA10123456784", "Value")
    assert Provider.normalize(walmart_sim.get_order(fresh)).status == CommonStatus.SHIPPED
    cache.delete(channel.provider_instance().token_cache_key)


@responses.activate
def test_two_parcels_ship_only_their_own_lines_each_with_its_tracking(provider):
    """A storefront order shipped in two parcels (`parcel=True`): each shipping update names only that
    parcel's lines and quantities, even though the raw order at hand (fetched before either) shows every line
    open, so the second never re-ships the first parcel's lines under its tracking number."""
    responses.post(f"{BASE}/v3/token", json=token_answer())
    responses.post(f"{BASE}/v3/orders/P1/shipping", json=fixture("walmart", "ship_order_lines_response.json"))
    raw = order(line(1, [("Acknowledged", 2)]), line(2, [("Acknowledged", 1)]), purchaseOrderId="P1")
    first, second = Provider.normalize(raw).lines
    provider.write_back(ship(raw, parcel=True, tracking_number="1ZFIRST", lines=[replace(first, quantity=1), second]))
    provider.write_back(ship(raw, parcel=True, tracking_number="1ZSECOND", lines=[replace(first, quantity=1)]))
    sent = []
    for call in api_calls():
        lines = json.loads(call.request.body)["orderShipment"]["orderLines"]["orderLine"]
        sent.append([(line["lineNumber"], line["orderLineStatuses"]["orderLineStatus"][0]["statusQuantity"]["amount"],
                      line["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]["trackingNumber"])
                     for line in lines])
    assert sent == [[("1", "1", "1ZFIRST"), ("2", "1", "1ZFIRST")], [("1", "1", "1ZSECOND")]]
