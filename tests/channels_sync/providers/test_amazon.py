"""Amazon SP-API provider: real fixtures normalized by hand, the wire mocked with `responses`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from channels_sync.normalized import (
    Address,
    CommonStatus,
    OrderLineData,
    WebhookRequest,
    WritebackRequest,
)
from channels_sync.providers import amazon
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError, WebhookRejected
from channels_sync.providers.http import ChannelHttpClient
from tests.channels_sync.providers.amazon_ebay_fixtures import fixture, fixture_bytes, isolated_tokens_and_buckets  # noqa: F401

API = "https://sellingpartnerapi-na.amazon.com"
TOKEN_URL = "https://api.amazon.com/auth/o2/token"
ORDERS_URL = f"{API}/orders/2026-01-01/orders"
V0_ORDERS_URL = f"{API}/orders/v0/orders"
RDT_URL = f"{API}/tokens/2021-03-01/restrictedDataToken"
RDT = "Atz.sprdt|IQEBLjAsAhRmHjNgHpi0U-Dme37rR6CuUpSR"
INCLUDED = "BUYER,RECIPIENT,PROCEEDS,PROMOTION,FULFILLMENT,PACKAGES"
CONFIG = {"clientId": "amzn1.application-oa2-client.test", "clientSecret": "cs-secret",
          "refreshToken": "Atzr|refresh-test", "marketplaceIds": ["ATVPDKIKX0DER"], "sellerId": "A3TH9S8BH6GOGM"}
RELAY_SECRET = "relay-secret-123"


# Tokens and rate buckets private to this test process (never a flush of the shared Redis).
pytestmark = pytest.mark.usefixtures("isolated_tokens_and_buckets")


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_provider(sleeps):
    def make(**overrides):
        config = {**CONFIG, **overrides}
        base = (config.get("baseUrl") or API)
        http = ChannelHttpClient(base, sleep=sleeps.append)
        return amazon.Provider(config, webhook_secret=RELAY_SECRET, channel_id="amz-main", http=http)
    return make


@pytest.fixture
def wire():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def token_ok(wire, token="Atza|first"):
    wire.add(responses.POST, TOKEN_URL, json={**fixture("amazon", "token_response.json"), "access_token": token})


def rdt_ok(wire):
    wire.add(responses.POST, RDT_URL, json=fixture("amazon", "create_restricted_data_token_response.json"))


def order_with_items():
    order = fixture("amazon", "get_order_response.json")["payload"]
    order["OrderItems"] = fixture("amazon", "get_order_items_response.json")["payload"]["OrderItems"]
    return order


def query(call) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


# --- normalize: every fixture, expectations written from the fixture by hand -------------------------------
def test_normalize_unshipped_mfn_order_with_its_items():
    data = amazon.Provider.normalize(order_with_items())

    assert data.channel_order_id == "902-1845936-5435065"
    assert data.channel_order_number == "902-1845936-5435065"
    assert data.status == CommonStatus.PROCESSING
    assert data.raw_status == "Unshipped"
    assert data.currency == "USD"
    assert data.created_at == datetime(1970, 1, 19, 3, 58, 30, tzinfo=UTC)
    assert data.updated_at == datetime(1970, 1, 19, 3, 58, 32, tzinfo=UTC)
    assert data.subtotal == Decimal("10.00")
    assert data.tax == Decimal("1.01")
    assert data.shipping == Decimal("0.00")
    assert data.grand_total == Decimal("11.01")
    assert data.lines == [OrderLineData(sku="NABetaASINB00551Q3CS", channel_sku="B00551Q3CS", quantity=1,
                                        unit_price=Decimal("10.00"), name="B00551Q3CS [Card Book]",
                                        channel_line_id="05015851154158")]
    # The order gives no buyer and no shipping address (restricted data): nothing is invented.
    assert data.customer_email is None
    assert data.customer_name is None
    assert data.shipping_address is None
    meta = data.channel_metadata
    assert meta["IsPrime"] is False
    assert meta["FulfillmentChannel"] == "MFN"
    assert meta["SalesChannel"] == "Amazon.com"
    assert meta["MarketplaceId"] == "ATVPDKIKX0DER"
    assert meta["ShipServiceLevel"] == "Std US D2D Dom"
    assert meta["PaymentMethodDetails"] == ["Standard"]
    assert meta["DefaultShipFromLocationAddress"]["City"] == "SEATTLE"   # the seller's, not the buyer's
    assert meta["OrderItems"]["05015851154158"]["BuyerRequestedCancel"] == {
        "IsBuyerRequestedCancel": "true", "BuyerCancelReason": "Found cheaper somewhere else."}
    assert meta["OrderItems"]["05015851154158"]["DeemedResellerCategory"] == "IOSS"


def test_normalize_shipped_iba_order_in_euro_without_items():
    data = amazon.Provider.normalize(fixture("amazon", "get_order_response_2.json")["payload"])

    assert data.channel_order_id == "921-3175655-0452641"
    assert data.status == CommonStatus.SHIPPED
    assert data.raw_status == "Shipped"
    assert data.currency == "EUR"
    assert data.grand_total == Decimal("100.00")
    assert data.subtotal == Decimal("0.00")
    assert data.lines == []
    assert data.created_at == datetime(2019, 5, 7, 15, 42, 57, 58000, tzinfo=UTC)
    assert data.updated_at == datetime(2019, 5, 8, 21, 59, 59, tzinfo=UTC)
    assert data.channel_metadata["FulfillmentChannel"] == "AFN"
    assert data.channel_metadata["IsIBA"] is True
    assert data.channel_metadata["IsBusinessOrder"] is True
    assert data.channel_metadata["PaymentExecutionDetail"][0]["PaymentMethod"] == "Pix"


def test_normalize_pending_spec_example_with_buyer_info_and_address():
    data = amazon.Provider.normalize(fixture("amazon", "get_orders_response_spec_example.json")["payload"]["Orders"][0])

    assert data.channel_order_id == "902-3159896-1390916"
    assert data.status == CommonStatus.PENDING
    assert data.raw_status == "Pending"
    assert data.currency == "USD"            # no OrderTotal while Pending: from the marketplace
    assert data.grand_total == Decimal("0.00")
    assert data.customer_email == "user@example.com"
    assert data.customer_name == "John Doe"
    assert data.shipping_address == Address(name="Michigan address", line1="1 Cross St.", city="Canton",
                                            region="MI", postal_code="48817", country="US")
    assert data.channel_metadata["BuyerInfo"] == {"BuyerTaxInfo": {"CompanyLegalName": "A Company Name"},
                                                  "PurchaseOrderNumber": "1234567890123"}
    assert data.channel_metadata["PaymentMethodDetails"] == ["CreditCard", "GiftCertificate"]


def test_restricted_address_and_buyer_info_map_when_the_app_may_see_them():
    """getOrderAddress / getOrderBuyerInfo shapes, as they appear on an Order for apps with the restricted role."""
    order = order_with_items()
    order["ShippingAddress"] = fixture("amazon", "get_order_address_response.json")["payload"]["ShippingAddress"]
    buyer = fixture("amazon", "get_order_buyer_info_response.json")["payload"]
    order["BuyerInfo"] = {key: value for key, value in buyer.items() if key != "AmazonOrderId"}
    data = amazon.Provider.normalize(order)
    assert data.shipping_address == Address(name="MFNIntegrationTestMerchant", line1="2201 WESTLAKE AVE",
                                            city="SEATTLE", region="WA", postal_code="98121-2778", country="US",
                                            phone="+1 480-386-0930 ext. 73824")
    assert data.customer_email == "fzyrv6gwkhbb15c@example.com"
    assert data.customer_name == "MFNIntegrationTestMerchant"
    assert "BuyerInfo" not in data.channel_metadata   # nothing left over once email and name are mapped


def test_normalize_both_orders_of_the_get_orders_page():
    orders = fixture("amazon", "get_orders_response.json")["payload"]["Orders"]
    first, second = (amazon.Provider.normalize(order) for order in orders)
    assert (first.channel_order_id, second.channel_order_id) == ("902-1845936-5435065", "902-8745147-1934268")
    assert second.status == CommonStatus.PROCESSING
    assert second.grand_total == Decimal("11.01")
    assert "DefaultShipFromLocationAddress" not in second.channel_metadata


# (status map: tests/channels_sync/providers/test_normalizers_pure.py, which runs without Django)


def test_easy_ship_delivery_reads_as_delivered():
    order = fixture("amazon", "get_order_response_2.json")["payload"]
    order["EasyShipShipmentStatus"] = "Delivered"
    assert amazon.Provider.normalize(order).status == CommonStatus.DELIVERED


def test_several_items_with_shipping_discounts_in_yen():
    """Not in the fixtures: two lines, quantity 3, shipping, promotion and shipping discounts, JPY."""
    order = order_with_items()
    order["MarketplaceId"] = "A1VC38T7YXB528"
    order["OrderTotal"] = {"CurrencyCode": "JPY", "Amount": "9200"}
    yen = lambda amount: {"CurrencyCode": "JPY", "Amount": amount}  # noqa: E731
    order["OrderItems"] = [
        {"ASIN": "B0AAA", "OrderItemId": "111", "SellerSKU": "TEA-01", "Title": "Tea", "QuantityOrdered": 3,
         "ItemPrice": yen("6000"), "ItemTax": yen("600"), "ShippingPrice": yen("500"), "ShippingTax": yen("50"),
         "PromotionDiscount": yen("300"), "PromotionDiscountTax": yen("30"), "ShippingDiscount": yen("100"),
         "ShippingDiscountTax": yen("10")},
        {"ASIN": "B0BBB", "OrderItemId": "112", "SellerSKU": "CUP-02", "Title": "Cup", "QuantityOrdered": 1,
         "ItemPrice": yen("2200"), "ItemTax": yen("220"), "ShippingPrice": yen("0")},
    ]
    data = amazon.Provider.normalize(order)

    assert data.currency == "JPY"
    assert data.subtotal == Decimal("8200")      # 6000 + 2200: lines before the promotion
    assert data.discount == Decimal("300")       # PromotionDiscount
    assert data.shipping == Decimal("400")       # 500 - 100
    assert data.tax == Decimal("830")            # 600 + 50 - 30 - 10 + 220
    assert data.grand_total == Decimal("9200")   # OrderTotal is Amazon's word for it
    assert [(line.sku, line.quantity, line.unit_price) for line in data.lines] == [
        ("TEA-01", 3, Decimal("2000.00")), ("CUP-02", 1, Decimal("2200.00"))]


def test_cancelled_order_without_total_sums_what_the_items_say():
    order = order_with_items()
    order["OrderStatus"] = "Canceled"
    del order["OrderTotal"]
    data = amazon.Provider.normalize(order)
    assert data.status == CommonStatus.CANCELLED
    assert data.grand_total == Decimal("11.01")


# --- fetching -------------------------------------------------------------------------------------------
def test_search_orders_pages_with_pagination_token_and_the_same_filters(wire, make_provider):
    token_ok(wire)
    rdt_ok(wire)
    first_page = {"lastUpdatedAfter": "2026-10-31T23:57:00.000Z", "lastUpdatedBefore": "2026-11-02T00:00:00.000Z",
                  "marketplaceIds": "ATVPDKIKX0DER", "maxResultsPerPage": "100", "includedData": INCLUDED}
    wire.add(responses.GET, ORDERS_URL, json=fixture("amazon", "search_orders_2026_response.json"),
             match=[responses.matchers.query_param_matcher(first_page)])
    wire.add(responses.GET, ORDERS_URL, json=fixture("amazon", "search_orders_2026_response_2.json"),
             match=[responses.matchers.query_param_matcher(
                 {**first_page, "paginationToken": "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"})])

    orders = list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)))

    assert [order["orderId"] for order in orders] == ["250-1234567-8901234", "202-7654321-1098765"]
    assert [item["orderItemId"] for item in orders[0]["orderItems"]] == ["25012345678901", "25012345678902"]
    assert not any("/orders/v0/" in call.request.url for call in wire.calls)   # no getOrderItems per order
    order_calls = [call for call in wire.calls if call.request.url.startswith(ORDERS_URL)]
    assert all(call.request.headers["x-amz-access-token"] == RDT for call in order_calls)
    assert len([call for call in wire.calls if call.request.url == TOKEN_URL]) == 1


def test_one_restricted_data_token_per_lifetime_covers_search_and_get(wire, make_provider):
    token_ok(wire)
    rdt_ok(wire)
    wire.add(responses.GET, ORDERS_URL, json=fixture("amazon", "search_orders_2026_response_3.json"))
    wire.add(responses.GET, f"{ORDERS_URL}/171-9876543-2109876", json=fixture("amazon", "get_order_2026_response.json"))

    list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))
    list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))   # next poll, another worker
    order = make_provider().fetch_order("171-9876543-2109876")

    rdt_calls = [call for call in wire.calls if call.request.url == RDT_URL]
    assert len(rdt_calls) == 1
    assert rdt_calls[0].request.headers["x-amz-access-token"] == "Atza|first"   # asked for with the LWA token
    assert json.loads(rdt_calls[0].request.body) == {"restrictedResources": [
        {"method": "GET", "path": "/orders/2026-01-01/orders", "dataElements": ["buyerInfo", "shippingAddress"]},
        {"method": "GET", "path": "/orders/2026-01-01/orders/{orderId}",
         "dataElements": ["buyerInfo", "shippingAddress"]}]}
    get_call = next(call for call in wire.calls if "/orders/171-9876543-2109876" in call.request.url)
    assert get_call.request.headers["x-amz-access-token"] == RDT
    assert query(get_call) == {"includedData": INCLUDED}
    data = amazon.Provider.normalize(order)
    assert data.customer_name == "Maria Silva Santos" and data.shipping_address.city == "São Paulo"


def test_when_amazon_grants_no_restricted_data_token_the_access_token_reads(wire, make_provider):
    """Orders API 2026-01-01 gives buyer and address by role; an app the Tokens API refuses still reads."""
    token_ok(wire)
    wire.add(responses.POST, RDT_URL, status=400, json={"errors": [{
        "code": "InvalidInput", "message": "Request is missing or has invalid parameters",
        "details": "Resource not provided."}]})
    wire.add(responses.GET, ORDERS_URL, json=fixture("amazon", "search_orders_2026_response_3.json"))
    orders = list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))
    list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))
    assert len(orders) == 1
    order_calls = [call for call in wire.calls if call.request.url.startswith(ORDERS_URL)]
    assert [call.request.headers["x-amz-access-token"] for call in order_calls] == ["Atza|first", "Atza|first"]
    assert len([call for call in wire.calls if call.request.url == RDT_URL]) == 1   # not asked again every poll


def test_lwa_exchange_sends_the_documented_form_and_is_cached_across_instances(wire, make_provider):
    token_ok(wire)
    rdt_ok(wire)
    wire.add(responses.GET, f"{ORDERS_URL}/202-1234567-8901234",
             json=fixture("amazon", "get_order_2026_response_spec_example.json"))

    first = make_provider().fetch_order("202-1234567-8901234")
    make_provider().fetch_order("202-1234567-8901234")   # another worker, same seller

    token_calls = [call for call in wire.calls if call.request.url == TOKEN_URL]
    assert len(token_calls) == 1
    form = parse_qs(token_calls[0].request.body)
    assert form == {"grant_type": ["refresh_token"], "refresh_token": ["Atzr|refresh-test"],
                    "client_id": ["amzn1.application-oa2-client.test"], "client_secret": ["cs-secret"]}
    assert amazon.Provider.normalize(first).grand_total == Decimal("103.97")


def test_configured_base_and_token_urls_are_used(wire, make_provider):
    wire.add(responses.POST, "http://127.0.0.1:9/lwa/token", json=fixture("amazon", "token_response.json"))
    wire.add(responses.POST, "http://127.0.0.1:9/amazon/tokens/2021-03-01/restrictedDataToken",
             json={"restrictedDataToken": RDT, "expiresIn": 3600})
    wire.add(responses.GET, "http://127.0.0.1:9/amazon/orders/2026-01-01/orders", json={"orders": []})
    provider = make_provider(baseUrl="http://127.0.0.1:9/amazon", tokenUrl="http://127.0.0.1:9/lwa/token")
    assert list(provider.fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None)) == []
    assert query(wire.calls[2])["lastUpdatedAfter"] == "2026-10-31T23:57:00.000Z"   # three minutes of lag


def test_without_a_cursor_the_first_poll_asks_by_creation_date(wire, make_provider):
    token_ok(wire)
    rdt_ok(wire)
    wire.add(responses.GET, ORDERS_URL, json={"orders": []})
    list(make_provider().fetch_orders(None, None, status="processing"))
    params = query(wire.calls[-1])
    assert "createdAfter" in params and "lastUpdatedAfter" not in params
    assert params["fulfillmentStatuses"] == "UNSHIPPED,PARTIALLY_SHIPPED"


def test_a_window_ending_now_is_asked_open_ended_as_amazon_refuses_the_last_two_minutes(wire, make_provider):
    token_ok(wire)
    rdt_ok(wire)
    wire.add(responses.GET, ORDERS_URL, json={"orders": []})
    now = datetime.now(UTC)
    list(make_provider().fetch_orders(now - timedelta(minutes=10), now))
    params = query(wire.calls[-1])
    assert "lastUpdatedBefore" not in params
    assert params["lastUpdatedAfter"] == amazon.iso(now - timedelta(minutes=13))


def test_a_429_mid_run_is_waited_out_and_the_run_completes(wire, make_provider, sleeps):
    token_ok(wire)
    rdt_ok(wire)
    wire.add(responses.GET, ORDERS_URL, json=fixture("amazon", "search_orders_2026_response.json"))
    wire.add(responses.GET, ORDERS_URL, status=429, json={"errors": [{"code": "QuotaExceeded",
                                                                      "message": "You exceeded your quota"}]})
    wire.add(responses.GET, ORDERS_URL, json=fixture("amazon", "search_orders_2026_response_2.json"))

    orders = list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))

    assert len(orders) == 2
    assert sleeps == [1.0]   # no Retry-After from Amazon: the client's own backoff


def test_429_that_does_not_clear_becomes_retryable(wire, make_provider):
    token_ok(wire)
    rdt_ok(wire)
    for _ in range(4):
        wire.add(responses.GET, ORDERS_URL, status=429, json={"errors": [{"code": "QuotaExceeded"}]})
    with pytest.raises(RetryableChannelError) as caught:
        list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))
    assert caught.value.status_code == 429


def test_restricted_data_token_expiring_mid_run_is_renewed_once(wire, make_provider):
    token_ok(wire)
    wire.add(responses.POST, RDT_URL, json={"restrictedDataToken": "Atz.sprdt|old", "expiresIn": 3600})
    wire.add(responses.POST, RDT_URL, json={"restrictedDataToken": "Atz.sprdt|new", "expiresIn": 3600})
    wire.add(responses.GET, ORDERS_URL, json=fixture("amazon", "search_orders_2026_response.json"))
    wire.add(responses.GET, ORDERS_URL, status=403, json={"errors": [{
        "code": "Unauthorized", "message": "Access to requested resource is denied.",
        "details": "The access token you provided has expired."}]})
    wire.add(responses.GET, ORDERS_URL, json=fixture("amazon", "search_orders_2026_response_2.json"))

    orders = list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))

    assert len(orders) == 2
    order_calls = [call for call in wire.calls if call.request.url.startswith(ORDERS_URL)]
    assert [call.request.headers["x-amz-access-token"] for call in order_calls] == [
        "Atz.sprdt|old", "Atz.sprdt|old", "Atz.sprdt|new"]
    assert len([call for call in wire.calls if call.request.url == TOKEN_URL]) == 1


def test_access_token_expiring_is_renewed_once(wire, make_provider):
    wire.add(responses.POST, TOKEN_URL, json={**fixture("amazon", "token_response.json"), "access_token": "Atza|old"})
    wire.add(responses.POST, TOKEN_URL, json={**fixture("amazon", "token_response.json"), "access_token": "Atza|new"})
    expired = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                           "details": "The access token you provided has expired."}]}
    wire.add(responses.POST, RDT_URL, status=403, json=expired)
    wire.add(responses.POST, RDT_URL, json={"restrictedDataToken": RDT, "expiresIn": 3600})
    wire.add(responses.GET, ORDERS_URL, json=fixture("amazon", "search_orders_2026_response_2.json"))

    assert len(list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))) == 1
    rdt_calls = [call for call in wire.calls if call.request.url == RDT_URL]
    assert [call.request.headers["x-amz-access-token"] for call in rdt_calls] == ["Atza|old", "Atza|new"]


def test_unauthorized_after_a_fresh_token_is_permanent(wire, make_provider):
    token_ok(wire)
    rdt_ok(wire)
    denied = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]}
    wire.add(responses.GET, ORDERS_URL, status=403, json=denied)
    with pytest.raises(PermanentChannelError) as caught:
        list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))
    assert caught.value.status_code == 403
    assert len([call for call in wire.calls if call.request.url == RDT_URL]) == 2


def test_refused_refresh_token_is_permanent(wire, make_provider):
    refused = {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"}
    wire.add(responses.POST, TOKEN_URL, status=400, json=refused)
    with pytest.raises(PermanentChannelError):
        make_provider().fetch_order("902-1845936-5435065")


def test_invalid_input_is_permanent_and_server_errors_retryable(wire, make_provider):
    token_ok(wire)
    rdt_ok(wire)
    wire.add(responses.GET, ORDERS_URL, status=400, json=fixture("amazon", "search_orders_2026_response_400.json"))
    with pytest.raises(PermanentChannelError) as caught:
        list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))
    assert "InvalidInput" in caught.value.response_body
    wire.replace(responses.GET, ORDERS_URL, status=503, body="Service Unavailable")
    with pytest.raises(RetryableChannelError):
        list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None))


def test_search_orders_is_throttled_at_the_documented_rate(make_provider, sleeps):
    """Burst 20, then one request per 1/0.0056 s: the 21st would wait about three minutes, longer than a task
    waits in place, so it is a retry later rather than a worker held asleep."""
    provider = make_provider(sellerId="A-THROTTLE-TEST")
    provider.rate_limiter.reset("searchOrders")
    for _ in range(20):
        provider.rate_limiter.acquire("searchOrders")
    assert sleeps == []
    with pytest.raises(RetryableChannelError, match=r"searchOrders: next request allowed in 17\ds"):
        provider.rate_limiter.acquire("searchOrders")


# --- notifications --------------------------------------------------------------------------------------
def notification_request(body: bytes | None = None, secret: str | None = RELAY_SECRET, header="X-Relay-Secret"):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[header] = secret
    return WebhookRequest(headers=headers, body=body if body is not None else fixture_bytes(
        "amazon", "notification_order_change.json"), query={},
        url="https://hub.example.com/upstream/webhooks/amazon/notifications")


def test_notification_names_its_seller_and_order_which_is_then_fetched(make_provider):
    request = notification_request()
    assert amazon.Provider.webhook_identity(request) == "A3TH9S8BH6GOGM"
    provider = make_provider()
    provider.verify_webhook(request)
    event = provider.parse_webhook(request)
    assert event.delivery_id == "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
    assert event.topic == "ORDER_CHANGE"
    assert event.order_refs == ["903-8868176-2219830"]
    assert event.orders == []   # the payload is a summary: the order itself is fetched from the API


@pytest.mark.parametrize("secret", [None, "", "relay-secret-12", "relay-secret-1234"])
def test_notification_without_the_relay_secret_is_refused(make_provider, secret):
    with pytest.raises(WebhookRejected):
        make_provider().verify_webhook(notification_request(secret=secret))


def test_a_channel_without_a_relay_secret_refuses_everything():
    provider = amazon.Provider(CONFIG, webhook_secret=None)
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(notification_request())


def test_relay_secret_header_name_is_configurable(make_provider):
    provider = make_provider(relaySecretHeader="x-api-key")
    provider.verify_webhook(notification_request(header="x-api-key"))
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(notification_request(header="X-Relay-Secret"))


def test_notification_for_another_seller_is_refused(make_provider):
    document = fixture("amazon", "notification_order_change.json")
    document["Payload"]["OrderChangeNotification"]["SellerId"] = "SOMEONE-ELSE"
    with pytest.raises(WebhookRejected):
        make_provider().verify_webhook(notification_request(json.dumps(document).encode()))


def test_garbage_with_the_right_secret_is_still_refused(make_provider):
    with pytest.raises(WebhookRejected):
        make_provider().verify_webhook(notification_request(b'{"hello": "world"}'))


@pytest.mark.parametrize("wrap", [
    lambda n: {"messageId": "m-1", "body": json.dumps(n), "eventSource": "aws:sqs"},          # SQS record (Pipes)
    lambda n: {"Records": [{"messageId": "m-1", "body": json.dumps(n)}]},                      # Lambda SQS event
    lambda n: {"version": "0", "detail-type": "ORDER_CHANGE", "detail": n},                    # EventBridge event
    lambda n: {"Type": "Notification", "Message": json.dumps(n)},                              # SNS envelope
    lambda n: [{"body": json.dumps(n)}],                                                       # a batch of one
])
def test_relay_envelopes_are_unwrapped(make_provider, wrap):
    body = json.dumps(wrap(fixture("amazon", "notification_order_change.json"))).encode()
    request = notification_request(body)
    assert amazon.Provider.webhook_identity(request) == "A3TH9S8BH6GOGM"
    provider = make_provider()
    provider.verify_webhook(request)
    event = provider.parse_webhook(request)
    assert event.order_refs == ["903-8868176-2219830"]
    assert event.delivery_id == "d0e9e693-c3ad-4373-979f-ed4ec98dd746"


def test_replayed_notification_carries_the_same_delivery_id(make_provider):
    """The receiver dedupes on the delivery id: a replay (even re-wrapped by the relay) is not processed twice."""
    raw = fixture("amazon", "notification_order_change.json")
    first = make_provider().parse_webhook(notification_request())
    replay = make_provider().parse_webhook(notification_request(json.dumps({"body": json.dumps(raw)}).encode()))
    assert first.delivery_id == replay.delivery_id


def test_retired_order_status_change_notification_still_names_the_order():
    request = notification_request(fixture_bytes("amazon", "notification_order_status_change.json"))
    provider = amazon.Provider({**CONFIG, "sellerId": "AXXXXXXXXXXXXX"}, webhook_secret=RELAY_SECRET)
    provider.verify_webhook(request)
    assert provider.parse_webhook(request).order_refs == ["333-7777777-7777777"]


def test_register_subscribes_order_change_on_the_configured_destination(wire, make_provider):
    token_ok(wire)
    wire.add(responses.POST, f"{API}/notifications/v1/subscriptions/ORDER_CHANGE", json={"payload": {
        "subscriptionId": "sub-1", "payloadVersion": "1.0", "destinationId": "dest-1"}})
    registered = make_provider(notificationDestinationId="dest-1").register_webhooks("https://hub/callback")
    assert registered == [{"notificationType": "ORDER_CHANGE", "destinationId": "dest-1", "subscriptionId": "sub-1"}]
    body = json.loads(wire.calls[1].request.body)
    assert body == {"payloadVersion": "1.0", "destinationId": "dest-1", "processingDirective": {"eventFilter": {
        "eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"]}}}


def test_register_without_a_destination_does_nothing(wire, make_provider):
    assert make_provider().register_webhooks("https://hub/callback") == []
    assert len(wire.calls) == 0


# --- writeback ------------------------------------------------------------------------------------------
def shipped_request(**overrides) -> WritebackRequest:
    raw = order_with_items()
    values = {"channel_order_id": raw["AmazonOrderId"], "status": CommonStatus.SHIPPED,
              "lines": amazon.Provider.normalize(raw).lines, "raw": raw, "tracking_number": "112345678",
              "carrier": "FedEx", "shipping_method": "FedEx Ground",
              "ship_date": datetime(2022, 2, 11, 1, 0, tzinfo=UTC)}
    return WritebackRequest(**{**values, **overrides})


def test_confirm_shipment_body_matches_the_documented_shape(wire, make_provider):
    token_ok(wire)
    url = f"{V0_ORDERS_URL}/902-1845936-5435065/shipmentConfirmation"
    wire.add(responses.POST, url, status=204)

    result = make_provider().write_back(shipped_request())

    sent = json.loads(wire.calls[1].request.body)
    documented = fixture("amazon", "confirm_shipment_request.json")
    assert set(sent) == set(documented) == {"marketplaceId", "packageDetail"}
    assert sent["marketplaceId"] == "ATVPDKIKX0DER"
    package = sent["packageDetail"]
    assert set(package) <= set(documented["packageDetail"])
    assert package["carrierCode"] == "FedEx"
    assert "carrierName" not in package          # only required when carrierCode is Other
    assert package["shippingMethod"] == "FedEx Ground"
    assert package["trackingNumber"] == "112345678"
    assert package["shipDate"] == "2022-02-11T01:00:00.000Z"
    assert package["orderItems"] == [{"orderItemId": "05015851154158", "quantity": 1}]
    assert package["packageReferenceId"].isdigit() and int(package["packageReferenceId"]) > 0
    assert wire.calls[1].request.headers["x-amz-access-token"] == "Atza|first"
    assert result.response_code == 204
    assert result.channel_reference == package["packageReferenceId"]


def test_retried_confirmation_reuses_the_package_reference(wire, make_provider):
    token_ok(wire)
    wire.add(responses.POST, f"{V0_ORDERS_URL}/902-1845936-5435065/shipmentConfirmation", status=204)
    provider = make_provider()
    provider.write_back(shipped_request())
    provider.write_back(shipped_request())
    first, second = (json.loads(call.request.body)["packageDetail"]["packageReferenceId"] for call in wire.calls[1:])
    assert first == second


def test_unknown_carrier_is_sent_as_other_with_its_name(wire, make_provider):
    token_ok(wire)
    wire.add(responses.POST, f"{V0_ORDERS_URL}/902-1845936-5435065/shipmentConfirmation", status=204)
    make_provider().write_back(shipped_request(carrier="Speedy Parcels", shipping_method=None))
    package = json.loads(wire.calls[1].request.body)["packageDetail"]
    assert package["carrierCode"] == "Other"
    assert package["carrierName"] == "Speedy Parcels"
    assert "shippingMethod" not in package


def test_partial_shipment_confirms_only_the_lines_given(wire, make_provider):
    token_ok(wire)
    wire.add(responses.POST, f"{V0_ORDERS_URL}/902-1845936-5435065/shipmentConfirmation", status=204)
    lines = [OrderLineData(sku="A", channel_sku=None, quantity=2, unit_price=Decimal("1"), channel_line_id="111"),
             OrderLineData(sku="B", channel_sku=None, quantity=0, unit_price=Decimal("1"), channel_line_id="112")]
    make_provider().write_back(shipped_request(lines=lines))
    assert json.loads(wire.calls[1].request.body)["packageDetail"]["orderItems"] == [
        {"orderItemId": "111", "quantity": 2}]


def test_rejected_confirmation_is_permanent_and_outage_retryable(wire, make_provider):
    token_ok(wire)
    url = f"{V0_ORDERS_URL}/902-1845936-5435065/shipmentConfirmation"
    wire.add(responses.POST, url, status=400,
             json=fixture("amazon", "update_shipment_status_response_400_invalid_marketplace.json"))
    with pytest.raises(PermanentChannelError) as caught:
        make_provider().write_back(shipped_request())
    assert caught.value.status_code == 400
    wire.replace(responses.POST, url, status=500, json={"errors": [{"code": "InternalFailure"}]})
    with pytest.raises(RetryableChannelError):
        make_provider().write_back(shipped_request())


def test_statuses_amazon_cannot_take_are_permanent_failures_without_a_call(wire, make_provider):
    with pytest.raises(PermanentChannelError):
        make_provider().write_back(shipped_request(status=CommonStatus.CANCELLED))
    with pytest.raises(PermanentChannelError):
        make_provider().write_back(shipped_request(tracking_number=None))
    result = make_provider().write_back(shipped_request(status=CommonStatus.PROCESSING))
    assert result.response_code is None and "nothing to send" in result.request_summary
    assert len(wire.calls) == 0


def test_config_validation_names_the_missing_credentials():
    errors = amazon.Provider.validate_config({"clientId": "x"})
    assert set(errors) == {"clientSecret", "refreshToken", "marketplaceIds", "sellerId"}


def test_fba_orders_are_not_confirmed_by_the_seller(wire, make_provider):
    raw = fixture("amazon", "get_order_response_2.json")["payload"]   # AFN: Amazon ships it
    with pytest.raises(PermanentChannelError, match="FBA"):
        make_provider().write_back(shipped_request(raw=raw, channel_order_id=raw["AmazonOrderId"]))
    assert len(wire.calls) == 0


def test_status_filter_keeps_only_orders_of_that_common_status(wire, make_provider):
    token_ok(wire)
    rdt_ok(wire)
    shipped = fixture("amazon", "get_order_2026_response_2.json")["order"]
    delivered = fixture("amazon", "search_orders_2026_response_spec_example.json")["orders"][0]
    wire.add(responses.GET, ORDERS_URL, json={"orders": [shipped, delivered]})
    fetched = list(make_provider().fetch_orders(datetime(2026, 11, 1, tzinfo=UTC), None, status="delivered"))
    assert [order["orderId"] for order in fetched] == ["123-4567890-1234567"]   # its package is DELIVERED
    assert query(wire.calls[-1])["fulfillmentStatuses"] == "SHIPPED"
    with pytest.raises(PermanentChannelError):
        list(make_provider().fetch_orders(None, None, status="refunded"))   # Amazon has no such status


def test_two_parcels_confirm_two_packages_each_with_its_items_and_tracking(wire, make_provider):
    """A storefront order shipped in two parcels (`parcel=True`): one package per parcel, each with only its
    items and quantities, so the first package keeps its tracking number."""
    token_ok(wire)
    wire.add(responses.POST, f"{V0_ORDERS_URL}/902-1845936-5435065/shipmentConfirmation", status=204)
    raw = order_with_items()
    second = {**raw["OrderItems"][0], "OrderItemId": "05015851154159", "QuantityOrdered": 2}
    raw["OrderItems"].append(second)
    first_item, second_item = amazon.Provider.normalize(raw).lines
    provider = make_provider()
    provider.write_back(shipped_request(raw=raw, parcel=True, tracking_number="1ZFIRST",
                                        lines=[first_item, replace(second_item, quantity=1)]))
    provider.write_back(shipped_request(raw=raw, parcel=True, tracking_number="1ZSECOND",
                                        lines=[replace(second_item, quantity=1)]))
    packages = [json.loads(call.request.body)["packageDetail"] for call in wire.calls[1:]]
    assert [(p["trackingNumber"], p["orderItems"]) for p in packages] == [
        ("1ZFIRST", [{"orderItemId": "05015851154158", "quantity": 1}, {"orderItemId": "05015851154159",
                                                                        "quantity": 1}]),
        ("1ZSECOND", [{"orderItemId": "05015851154159", "quantity": 1}])]
    assert packages[0]["packageReferenceId"] != packages[1]["packageReferenceId"]


def test_a_parcel_without_item_ids_is_refused_not_sent_as_the_whole_order(wire, make_provider):
    line = OrderLineData(sku="X", channel_sku=None, quantity=1, unit_price=Decimal("1"))
    with pytest.raises(PermanentChannelError, match="no order items"):
        make_provider().write_back(shipped_request(parcel=True, lines=[line]))
    assert not [call for call in wire.calls if "shipmentConfirmation" in call.request.url]


# --- Orders API 2026-01-01 shape --------------------------------------------------------------------------
def test_normalize_2026_spec_example_all_five_money_figures():
    """getOrder's published example: ITEM 89.97, SHIPPING 10.00, TAX 4.00, grandTotal 103.97 (GBP)."""
    data = amazon.Provider.normalize(fixture("amazon", "get_order_2026_response_spec_example.json")["order"])
    assert (data.subtotal, data.discount, data.shipping, data.tax, data.grand_total) == (
        Decimal("89.97"), Decimal("0"), Decimal("10.00"), Decimal("4.00"), Decimal("103.97"))
    assert data.currency == "GBP"
    assert data.channel_order_id == "202-1234567-8901234" and data.raw_status == "SHIPPED"
    assert [(line.sku, line.quantity, line.unit_price, line.channel_line_id) for line in data.lines] == [
        ("ECHO-DOT-4-UK-CHARCOAL-3PACK", 3, Decimal("29.99"), "20212345678901")]
    assert data.customer_name == "James Wilson"
    assert data.shipping_address.city == "Manchester"


def test_normalize_2026_search_example_with_a_delivery_tip_outside_the_four_parts():
    data = amazon.Provider.normalize(fixture("amazon", "search_orders_2026_response_spec_example.json")["orders"][0])
    assert (data.subtotal, data.discount, data.shipping, data.tax, data.grand_total) == (
        Decimal("149.97"), Decimal("0"), Decimal("0"), Decimal("0.02"), Decimal("154.99"))
    assert data.channel_metadata["otherCharges"] == [{"type": "DELIVERY_TIP", "amount": "5.00"}]
    assert data.status == CommonStatus.DELIVERED   # SHIPPED, and its only package DELIVERED


def test_normalize_2026_discounts_split_between_items_and_shipping():
    order = fixture("amazon", "get_order_2026_response_spec_example.json")["order"]
    gbp = lambda amount: {"amount": amount, "currencyCode": "GBP"}  # noqa: E731
    order["orderItems"][0]["proceeds"]["breakdowns"].append({"type": "DISCOUNT", "subtotal": gbp("-7.00"),
        "detailedBreakdowns": [{"subtype": "ITEM", "value": gbp("-5.00")}, {"subtype": "SHIPPING",
                                                                           "value": gbp("-2.00")}]})
    order["proceeds"]["grandTotal"] = gbp("96.97")
    data = amazon.Provider.normalize(order)
    assert (data.subtotal, data.discount, data.shipping, data.tax, data.grand_total) == (
        Decimal("89.97"), Decimal("5.00"), Decimal("8.00"), Decimal("4.00"), Decimal("96.97"))
    assert data.subtotal - data.discount + data.shipping + data.tax == data.grand_total


def test_confirm_shipment_for_a_2026_order_sends_only_what_is_still_unshipped(wire, make_provider):
    token_ok(wire)
    wire.add(responses.POST, f"{V0_ORDERS_URL}/171-9876543-2109876/shipmentConfirmation", status=204)
    raw = fixture("amazon", "get_order_2026_response.json")["order"]
    item = raw["orderItems"][0]
    item["quantityOrdered"] = 3
    item["fulfillment"] = {"quantityFulfilled": 1, "quantityUnfulfilled": 2}
    lines = amazon.Provider.normalize(raw).lines
    make_provider().write_back(shipped_request(raw=raw, channel_order_id="171-9876543-2109876", lines=lines,
                                               carrier="correios"))
    body = json.loads(wire.calls[-1].request.body)
    assert body["marketplaceId"] == "A2Q3Y263D00KWC"   # the order's marketplace, from salesChannel
    assert body["packageDetail"]["orderItems"] == [{"orderItemId": "17198765432109", "quantity": 2}]
    assert (body["packageDetail"]["carrierCode"], body["packageDetail"]["carrierName"]) == ("Other", "correios")


@pytest.mark.parametrize("typed, code", [("ups", "UPS"), ("Royal Mail", "Royal Mail"), ("royalmail", "Royal Mail"),
                                         ("FEDEX", "FedEx"), ("dhl", "DHL"), ("Canada post", "Canada Post"),
                                         ("Evri", "Hermes Logistik Gruppe"), ("Speedy Parcels", "Other"),
                                         ("", None), (None, None)])
def test_carrier_names_map_onto_amazons_codes(typed, code):
    assert amazon.Provider.carrier_code(typed) == code
    assert "Royal Mail" in amazon.Provider.accepted_carriers()


def test_a_shipment_without_a_carrier_is_refused_before_any_call(wire, make_provider):
    with pytest.raises(PermanentChannelError, match="needs a carrier"):
        make_provider().write_back(shipped_request(carrier=None))
    assert not [call for call in wire.calls if "shipmentConfirmation" in call.request.url]


def test_fba_2026_orders_are_not_confirmed_by_the_seller(wire, make_provider):
    raw = fixture("amazon", "search_orders_2026_response.json")["orders"][0]   # fulfilledBy AMAZON
    with pytest.raises(PermanentChannelError, match="FBA"):
        make_provider().write_back(shipped_request(raw=raw, channel_order_id=raw["orderId"]))
