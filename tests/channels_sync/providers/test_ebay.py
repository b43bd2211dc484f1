"""eBay provider: the documented order shape normalized by hand, signed notifications, the wire mocked."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from channels_sync.normalized import (
    Address,
    CommonStatus,
    OrderLineData,
    WebhookRequest,
    WritebackRequest,
)
from channels_sync.providers import ebay
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError, WebhookRejected
from channels_sync.providers.http import ChannelHttpClient
from tests.channels_sync.providers.amazon_ebay_fixtures import fixture, fixture_bytes, isolated_tokens_and_buckets  # noqa: F401

API = "https://api.ebay.com"
TOKEN_URL = "https://api.ebay.com/identity/v1/oauth2/token"
ORDERS_URL = f"{API}/sell/fulfillment/v1/order"
VERIFICATION_TOKEN = "verification_token_0123456789_abcdefghij"
ENDPOINT = "https://hub.example.com/upstream/webhooks/ebay/notifications?channel=ebay-main&org=acme"
CONFIG = {"clientId": "Acme-Hub-PRD-1234", "clientSecret": "PRD-secret", "refreshToken": "v^1.1#refresh",
          "verificationToken": VERIFICATION_TOKEN}
VECTOR = fixture("ebay", "notification_marketplace_account_deletion_signed_vector.json")


# Tokens and rate buckets private to this test process (never a flush of the shared Redis).
pytestmark = pytest.mark.usefixtures("isolated_tokens_and_buckets")


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_provider(sleeps):
    def make(**overrides):
        config = {**CONFIG, **overrides}
        http = ChannelHttpClient(config.get("baseUrl") or API, sleep=sleeps.append)
        return ebay.Provider(config, channel_id="ebay-main", http=http)
    return make


@pytest.fixture
def wire():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def token_ok(wire, token="v^1.1#user-1"):
    wire.add(responses.POST, TOKEN_URL, json={"access_token": token, "expires_in": 7200,
                                              "token_type": "User Access Token"})


def orders():
    return fixture("ebay", "get_orders_response.json")["orders"]


def query(call) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


# --- normalize: every order, expectations written from the fixture by hand ---------------------------------
def test_normalize_paid_order_not_yet_shipped_with_collect_and_remit_tax():
    data = ebay.Provider.normalize(orders()[0])

    assert data.channel_order_id == "12-13579-24680"
    assert data.status == CommonStatus.PROCESSING
    assert data.raw_status == "NOT_STARTED/PAID/NONE_REQUESTED"
    assert data.currency == "USD"
    assert data.created_at == datetime(2026, 9, 30, 14, 2, 11, tzinfo=UTC)
    assert data.updated_at == datetime(2026, 9, 30, 14, 5, 40, tzinfo=UTC)
    assert data.subtotal == Decimal("29.00")
    assert data.shipping == Decimal("6.95")
    assert data.tax == Decimal("0.00")          # eBay collects and remits it: not in the seller's total
    assert data.grand_total == Decimal("35.95")
    assert data.lines == [OrderLineData(sku="MUG-BLU-12", channel_sku="110554321987", quantity=2,
                                        unit_price=Decimal("14.50"), name="Stoneware mug, blue, 12 oz",
                                        channel_line_id="10000246801")]
    assert data.customer_email == "a1b2c3d4e5@members.ebay.com"
    assert data.customer_name == "Avery Quinn"
    assert data.shipping_address == Address(name="Avery Quinn", line1="500 Elm St", city="Denver", region="CO",
                                            postal_code="80202", country="US", phone="3035550100")
    meta = data.channel_metadata
    assert meta["paymentMethods"] == ["EBAY"]
    assert meta["ebayCollectAndRemitTax"] == "2.32"
    assert meta["buyer"]["username"] == "buyer_1"
    assert meta["salesRecordReference"] == "25680"
    assert meta["totalMarketplaceFee"] == {"value": "4.76", "currency": "USD"}
    assert meta["lineItems"]["10000246801"]["lineItemFulfillmentStatus"] == "NOT_STARTED"


def test_normalize_fulfilled_two_line_order_with_a_variation():
    data = ebay.Provider.normalize(orders()[1])

    assert data.channel_order_id == "12-13579-24681"
    assert data.status == CommonStatus.SHIPPED
    assert data.raw_status == "FULFILLED/PAID/NONE_REQUESTED"
    assert (data.subtotal, data.shipping, data.tax, data.grand_total) == (
        Decimal("31.99"), Decimal("0.00"), Decimal("0.00"), Decimal("31.99"))
    assert [(line.sku, line.quantity, line.unit_price, line.channel_line_id) for line in data.lines] == [
        ("TEE-BLK-M", 1, Decimal("19.99"), "10000246811"), ("CAP-GRY", 1, Decimal("12.00"), "10000246812")]
    assert data.channel_metadata["lineItems"]["10000246811"]["legacyVariationId"] == "401122334455"


def test_normalize_cancelled_and_refunded_order_as_cancelled():
    data = ebay.Provider.normalize(orders()[2])

    assert data.channel_order_id == "12-13579-24682"
    assert data.status == CommonStatus.CANCELLED
    assert data.raw_status == "NOT_STARTED/FULLY_REFUNDED/CANCELED"
    assert (data.subtotal, data.shipping, data.grand_total) == (Decimal("39.00"), Decimal("8.50"), Decimal("47.50"))
    assert data.channel_metadata["cancelStatus"] == {"cancelState": "CANCELED", "cancelRequests": []}


def test_normalize_gbp_order_with_a_discount():
    data = ebay.Provider.normalize(orders()[3])

    assert data.channel_order_id == "19-04488-11223"
    assert data.status == CommonStatus.PROCESSING
    assert data.raw_status == "IN_PROGRESS/PAID/NONE_REQUESTED"
    assert data.currency == "GBP"
    assert data.subtotal == Decimal("54.00")       # before the discount, as on every channel
    assert data.discount == Decimal("5.40")        # eBay's priceDiscount -5.40, positive
    assert data.shipping == Decimal("3.99")
    assert data.grand_total == Decimal("52.59")    # = subtotal - discount + shipping = pricingSummary.total
    assert data.lines[0].unit_price == Decimal("18.00") and data.lines[0].quantity == 3
    assert data.shipping_address == Address(name="Rowan Hale", line1="12 Mill Lane", city="Leeds", region=None,
                                            postal_code="LS1 4AP", country="GB", phone="01130000000")
    assert data.customer_email == "f6e5d4c3b2@members.ebay.co.uk"


def test_get_order_answer_normalizes_like_its_list_twin():
    single = ebay.Provider.normalize(fixture("ebay", "get_order_response.json"))
    assert single == ebay.Provider.normalize(orders()[1])


# (status map: tests/channels_sync/providers/test_normalizers_pure.py, which runs without Django)


def test_order_without_buyer_details_or_ship_to_invents_nothing():
    order = orders()[0]
    order["fulfillmentStartInstructions"] = []
    order.pop("buyer")
    data = ebay.Provider.normalize(order)
    assert data.customer_email is None and data.customer_name is None and data.shipping_address is None


def test_seller_collected_tax_delivery_discount_and_euro():
    """Not in the fixtures: EUR, a shipping discount, line taxes the seller collects, several lines."""
    order = orders()[1]
    eur = lambda value: {"value": value, "currency": "EUR"}  # noqa: E731
    order["pricingSummary"] = {"priceSubtotal": eur("31.99"), "deliveryCost": eur("9.00"),
                               "deliveryDiscount": eur("-4.00"), "tax": eur("6.08"), "total": eur("43.07")}
    for line in order["lineItems"]:
        line["lineItemCost"]["currency"] = "EUR"
    data = ebay.Provider.normalize(order)
    assert data.currency == "EUR"
    assert (data.subtotal, data.shipping, data.tax, data.grand_total) == (
        Decimal("31.99"), Decimal("5.00"), Decimal("6.08"), Decimal("43.07"))
    assert len(data.lines) == 2


# --- fetching -------------------------------------------------------------------------------------------
def test_fetch_filters_by_last_modified_and_follows_next_across_pages(wire, make_provider):
    token_ok(wire)
    first_page = fixture("ebay", "get_orders_response.json")
    first_page.update(limit=2, total=4, next="https://api.ebay.com/sell/fulfillment/v1/order?limit=2&offset=2")
    first_page["orders"] = orders()[:2]
    second_page = {"href": "https://api.ebay.com/sell/fulfillment/v1/order?limit=2&offset=2", "total": 4,
                   "limit": 2, "offset": 2, "orders": orders()[2:]}
    wire.add(responses.GET, ORDERS_URL, json=first_page, match=[responses.matchers.query_param_matcher({
        "filter": "lastmodifieddate:[2026-09-01T00:00:00.000Z..]",   # open-ended: `until` is applied here
        "limit": "200", "offset": "0"})])
    wire.add(responses.GET, ORDERS_URL, json=second_page,
             match=[responses.matchers.query_param_matcher({"limit": "2", "offset": "2"})])

    fetched = list(make_provider().fetch_orders(datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)))

    assert [order["orderId"] for order in fetched] == ["12-13579-24680", "12-13579-24681", "12-13579-24682",
                                                        "19-04488-11223"]
    api_calls = [call for call in wire.calls if call.request.url.startswith(ORDERS_URL)]
    assert all(call.request.headers["Authorization"] == "Bearer v^1.1#user-1" for call in api_calls)


def test_next_link_never_leaves_the_configured_host(wire, make_provider):
    """A simulator (or proxy) as baseUrl: eBay's absolute `next` is re-based, the token stays local."""
    base = "http://127.0.0.1:9/ebay"
    wire.add(responses.POST, "http://127.0.0.1:9/ebay/identity/v1/oauth2/token",
             json={"access_token": "t", "expires_in": 7200})
    page = {"total": 2, "limit": 1, "offset": 0, "orders": orders()[:1],
            "next": "https://api.ebay.com/sell/fulfillment/v1/order?limit=1&offset=1"}
    wire.add(responses.GET, f"{base}/sell/fulfillment/v1/order", json=page,
             match=[responses.matchers.query_param_matcher({"limit": "200", "offset": "0"})])
    wire.add(responses.GET, f"{base}/sell/fulfillment/v1/order",
             json={"total": 2, "limit": 1, "offset": 1, "orders": orders()[1:2]},
             match=[responses.matchers.query_param_matcher({"limit": "1", "offset": "1"})])
    provider = make_provider(baseUrl=base, tokenUrl="http://127.0.0.1:9/ebay/identity/v1/oauth2/token")
    fetched = list(provider.fetch_orders(None, None))
    assert len(fetched) == 2
    assert all(urlsplit(call.request.url).hostname == "127.0.0.1" for call in wire.calls)


def test_status_filter_asks_ebay_then_refines(wire, make_provider):
    token_ok(wire)
    wire.add(responses.GET, ORDERS_URL, json={"total": 2, "orders": [orders()[0], orders()[2]]})
    fetched = list(make_provider().fetch_orders(datetime(2026, 9, 1, tzinfo=UTC), None, status="processing"))
    assert [order["orderId"] for order in fetched] == ["12-13579-24680"]
    assert query(wire.calls[1])["filter"] == ("lastmodifieddate:[2026-09-01T00:00:00.000Z..],"
                                              "orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}")


def test_shipped_filter_asks_the_documented_fulfilled_in_progress_combination_and_keeps_only_fulfilled(
        wire, make_provider):
    """getOrders accepts only {NOT_STARTED|IN_PROGRESS} and {FULFILLED|IN_PROGRESS}: `shipped` asks the second
    and drops the part-shipped (IN_PROGRESS) orders here."""
    token_ok(wire)
    wire.add(responses.GET, ORDERS_URL, json={"total": 2, "orders": [orders()[1], orders()[3]]})
    fetched = list(make_provider().fetch_orders(datetime(2026, 9, 1, tzinfo=UTC), None, status="shipped"))
    assert [order["orderFulfillmentStatus"] for order in fetched] == ["FULFILLED"]
    assert query(wire.calls[1])["filter"].endswith(",orderfulfillmentstatus:{FULFILLED|IN_PROGRESS}")


def test_cancelled_filter_sends_no_fulfillment_filter_and_filters_locally(wire, make_provider):
    token_ok(wire)
    wire.add(responses.GET, ORDERS_URL, json={"total": 4, "orders": orders()})
    fetched = list(make_provider().fetch_orders(datetime(2026, 9, 1, tzinfo=UTC), None, status="cancelled"))
    assert [order["cancelStatus"]["cancelState"] for order in fetched] == ["CANCELED"]
    assert "orderfulfillmentstatus" not in query(wire.calls[1])["filter"]


def test_an_order_modified_after_the_window_or_seen_twice_is_yielded_once_at_most(wire, make_provider):
    """The window is asked open-ended: an order modified after `until` is left to the next poll, and one repeated
    by an offset shift (a new order pushed the page down) is not read twice."""
    token_ok(wire)
    first, second = orders()[:2], orders()[1:]
    wire.add(responses.GET, ORDERS_URL, json={"total": 4, "limit": 2, "offset": 0, "orders": first,
                                              "next": f"{ORDERS_URL}?limit=2&offset=2"},
             match=[responses.matchers.query_param_matcher({"filter": "lastmodifieddate:[2026-09-01T00:00:00.000Z..]",
                                                            "limit": "200", "offset": "0"})])
    wire.add(responses.GET, ORDERS_URL, json={"total": 5, "limit": 3, "offset": 2, "orders": second},
             match=[responses.matchers.query_param_matcher({"limit": "2", "offset": "2"})])
    fetched = list(make_provider().fetch_orders(datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)))
    assert [order["orderId"] for order in fetched] == ["12-13579-24680", "12-13579-24681", "12-13579-24682"]


def test_refresh_token_grant_uses_basic_auth_and_the_fulfillment_scope_and_is_cached(wire, make_provider):
    token_ok(wire)
    wire.add(responses.GET, f"{ORDERS_URL}/12-13579-24681", json=fixture("ebay", "get_order_response.json"))
    make_provider().fetch_order("12-13579-24681")
    make_provider().fetch_order("12-13579-24681")
    token_calls = [call for call in wire.calls if call.request.url == TOKEN_URL]
    assert len(token_calls) == 1
    expected = "Basic " + base64.b64encode(b"Acme-Hub-PRD-1234:PRD-secret").decode()
    assert token_calls[0].request.headers["Authorization"] == expected
    assert parse_qs(token_calls[0].request.body) == {
        "grant_type": ["refresh_token"], "refresh_token": ["v^1.1#refresh"],
        "scope": ["https://api.ebay.com/oauth/api_scope/sell.fulfillment"]}


def test_expired_user_token_mid_run_is_renewed_once(wire, make_provider):
    token_ok(wire, "old")
    token_ok(wire, "new")
    page = {"total": 2, "limit": 1, "offset": 0, "orders": orders()[:1],
            "next": f"{ORDERS_URL}?limit=1&offset=1"}
    wire.add(responses.GET, ORDERS_URL, json=page, match=[responses.matchers.query_param_matcher(
        {"limit": "200", "offset": "0"})])
    expired = {"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST",
                           "message": "Invalid access token"}]}
    second = [responses.matchers.query_param_matcher({"limit": "1", "offset": "1"})]
    wire.add(responses.GET, ORDERS_URL, status=401, json=expired, match=second)
    wire.add(responses.GET, ORDERS_URL, json={"total": 2, "offset": 1, "orders": orders()[1:2]}, match=second)

    fetched = list(make_provider().fetch_orders(None, None))

    assert len(fetched) == 2
    api_calls = [call for call in wire.calls if call.request.url.startswith(ORDERS_URL)]
    assert [call.request.headers["Authorization"] for call in api_calls] == ["Bearer old", "Bearer old", "Bearer new"]


def test_a_429_is_waited_out_with_retry_after(wire, make_provider, sleeps):
    token_ok(wire)
    wire.add(responses.GET, ORDERS_URL, status=429, headers={"Retry-After": "3"}, json={"errors": []})
    wire.add(responses.GET, ORDERS_URL, json=fixture("ebay", "get_orders_response.json"))
    assert len(list(make_provider().fetch_orders(None, None))) == 4
    assert sleeps == [3.0]


def test_bad_credentials_are_permanent_and_outages_retryable(wire, make_provider):
    wire.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant",
                                                          "error_description": "the provided authorization grant "
                                                                               "is invalid"})
    with pytest.raises(PermanentChannelError):
        make_provider().fetch_order("12-13579-24681")
    wire.replace(responses.POST, TOKEN_URL, json={"access_token": "t", "expires_in": 7200})
    wire.add(responses.GET, f"{ORDERS_URL}/12-13579-24681", status=503)
    with pytest.raises(RetryableChannelError):
        make_provider().fetch_order("12-13579-24681")


# --- endpoint challenge ---------------------------------------------------------------------------------
def challenge_request(url: str) -> WebhookRequest:
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    return WebhookRequest(headers={}, body=b"", query=query, url=url)


def test_challenge_answers_the_hash_over_the_registered_endpoint_with_its_channel_query(make_provider):
    answer = make_provider().webhook_challenge(challenge_request(ENDPOINT + "&challenge_code=a8628072-3d33-45ee"))
    expected = hashlib.sha256(("a8628072-3d33-45ee" + VERIFICATION_TOKEN + ENDPOINT).encode()).hexdigest()
    assert answer == {"challengeResponse": expected}


def test_challenge_uses_the_configured_endpoint_behind_a_proxy(make_provider):
    provider = make_provider(notificationEndpoint=ENDPOINT)
    answer = provider.webhook_challenge(challenge_request(
        "http://10.0.0.5:8000/upstream/webhooks/ebay/notifications?channel=ebay-main&org=acme&challenge_code=abc"))
    assert answer == {"challengeResponse": hashlib.sha256(
        ("abc" + VERIFICATION_TOKEN + ENDPOINT).encode()).hexdigest()}


def test_no_challenge_code_is_not_a_challenge(make_provider):
    assert make_provider().webhook_challenge(challenge_request(ENDPOINT)) is None


# --- signed notifications -------------------------------------------------------------------------------
def notification(body: bytes, header: str | None) -> WebhookRequest:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-EBAY-SIGNATURE"] = header
    return WebhookRequest(headers=headers, body=body, query={"channel": "ebay-main"}, url=ENDPOINT)


def vector_body() -> bytes:
    """The body eBay signed: the message as its SDK serializes it (compact JSON)."""
    return json.dumps(VECTOR["message"], separators=(",", ":")).encode()


def test_ebays_own_signature_vector_verifies_with_a_configured_key(make_provider):
    provider = make_provider(publicKeys={VECTOR["public_key"]: VECTOR["response"]})
    provider.verify_webhook(notification(vector_body(), VECTOR["signature"]))
    # The same message pretty-printed (as the fixture file stores it) verifies too: eBay hashes compact JSON.
    provider.verify_webhook(notification(fixture_bytes("ebay", "notification_marketplace_account_deletion.json"),
                                         VECTOR["signature"]))


def test_public_key_is_fetched_by_kid_with_an_app_token_and_cached(wire, make_provider):
    wire.add(responses.POST, TOKEN_URL, json={"access_token": "app-token", "expires_in": 7200})
    key_url = f"{API}/commerce/notification/v1/public_key/{VECTOR['public_key']}"
    wire.add(responses.GET, key_url, json=VECTOR["response"])

    make_provider().verify_webhook(notification(vector_body(), VECTOR["signature"]))
    make_provider().verify_webhook(notification(vector_body(), VECTOR["signature"]))

    assert len([call for call in wire.calls if call.request.url == key_url]) == 1
    token_call = next(call for call in wire.calls if call.request.url == TOKEN_URL)
    assert parse_qs(token_call.request.body) == {"grant_type": ["client_credentials"],
                                                 "scope": ["https://api.ebay.com/oauth/api_scope"]}
    key_call = next(call for call in wire.calls if call.request.url == key_url)
    assert key_call.request.headers["Authorization"] == "Bearer app-token"


def test_a_body_changed_by_one_byte_is_refused(make_provider):
    provider = make_provider(publicKeys={VECTOR["public_key"]: VECTOR["response"]})
    tampered = vector_body().replace(b"test_user", b"test_usex")
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(notification(tampered, VECTOR["signature"]))


@pytest.mark.parametrize("header", [None, "", "not base64!", base64.b64encode(b"[1, 2]").decode(),
                                    base64.b64encode(json.dumps({"alg": "rsa", "kid": "k", "signature": "x"}).encode())
                                    .decode()])
def test_missing_or_malformed_signature_is_refused(make_provider, header):
    provider = make_provider(publicKeys={VECTOR["public_key"]: VECTOR["response"]})
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(notification(vector_body(), header))


def test_unknown_key_id_is_refused(wire, make_provider):
    wire.add(responses.POST, TOKEN_URL, json={"access_token": "app-token", "expires_in": 7200})
    wire.add(responses.GET, f"{API}/commerce/notification/v1/public_key/forged-kid", status=404,
             json={"errors": [{"errorId": 195005, "message": "The specified key id is invalid."}]})
    header = json.loads(base64.b64decode(VECTOR["signature"]))
    header["kid"] = "forged-kid"
    forged = base64.b64encode(json.dumps(header).encode()).decode()
    with pytest.raises(WebhookRejected):
        make_provider().verify_webhook(notification(vector_body(), forged))


def sign(body: bytes, private_key, kid: str = "test-kid", digest: str = "SHA1") -> str:
    algorithm = hashes.SHA1() if digest == "SHA1" else hashes.SHA256()
    signature = base64.b64encode(private_key.sign(body, ec.ECDSA(algorithm))).decode()
    return base64.b64encode(json.dumps({"alg": "ecdsa", "kid": kid, "signature": signature,
                                        "digest": digest}).encode()).decode()


def test_order_notification_signed_with_another_key_is_refused_and_with_ours_names_the_order(make_provider):
    ours, theirs = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    public_pem = ours.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    provider = make_provider(publicKeys={"test-kid": public_pem})
    body = json.dumps({"metadata": {"topic": "ORDER_CONFIRMATION", "schemaVersion": "1.0", "deprecated": False},
                       "notification": {"notificationId": "n-42", "eventDate": "2026-10-01T11:11:11.000Z",
                                        "publishDate": "2026-10-01T11:11:12.000Z", "publishAttemptCount": 1,
                                        "data": {"orderId": "19-04488-11223", "lineItemId": "10000112231"}}}).encode()

    with pytest.raises(WebhookRejected):
        provider.verify_webhook(notification(body, sign(body, theirs)))
    provider.verify_webhook(notification(body, sign(body, ours, digest="SHA256")))
    event = provider.parse_webhook(notification(body, sign(body, ours)))
    assert (event.delivery_id, event.topic, event.order_refs) == ("n-42", "ORDER_CONFIRMATION", ["19-04488-11223"])


def test_replayed_notification_has_the_same_delivery_id(make_provider):
    """Replay protection is the receiver's dedupe on the delivery id (eBay's notificationId)."""
    provider = make_provider(publicKeys={VECTOR["public_key"]: VECTOR["response"]})
    request = notification(vector_body(), VECTOR["signature"])
    provider.verify_webhook(request)
    first, replay = provider.parse_webhook(request), provider.parse_webhook(request)
    assert first.delivery_id == replay.delivery_id == VECTOR["message"]["notification"]["notificationId"]
    assert first.topic == "MARKETPLACE_ACCOUNT_DELETION" and first.order_refs == []


# --- registration ---------------------------------------------------------------------------------------
def test_registration_creates_a_destination_and_subscribes_the_topics(wire, make_provider):
    wire.add(responses.POST, TOKEN_URL, json={"access_token": "tok", "expires_in": 7200})
    wire.add(responses.POST, f"{API}/commerce/notification/v1/destination", status=201,
             headers={"Location": f"{API}/commerce/notification/v1/destination/dest-9"})
    wire.add(responses.POST, f"{API}/commerce/notification/v1/subscription", status=201,
             headers={"Location": f"{API}/commerce/notification/v1/subscription/sub-7"})
    registered = make_provider(notificationTopics=["ORDER_CONFIRMATION"]).register_webhooks(ENDPOINT)
    assert registered == [{"topicId": "ORDER_CONFIRMATION", "destinationId": "dest-9", "subscriptionId": "sub-7"}]
    destination = json.loads(next(c for c in wire.calls if c.request.url.endswith("/destination")).request.body)
    assert destination == {"name": "ordershub ebay-main", "status": "ENABLED",
                           "deliveryConfig": {"endpoint": ENDPOINT, "verificationToken": VERIFICATION_TOKEN}}
    subscription = json.loads(next(c for c in wire.calls if c.request.url.endswith("/subscription")).request.body)
    assert subscription == {"topicId": "ORDER_CONFIRMATION", "status": "ENABLED", "destinationId": "dest-9",
                            "payload": {"format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS"}}


def test_no_topics_configured_registers_nothing(wire, make_provider):
    assert make_provider().register_webhooks(ENDPOINT) == []
    assert len(wire.calls) == 0


# --- writeback ------------------------------------------------------------------------------------------
def shipped_request(**overrides) -> WritebackRequest:
    raw = fixture("ebay", "get_order_response.json")
    values = {"channel_order_id": raw["orderId"], "status": CommonStatus.SHIPPED,
              "lines": ebay.Provider.normalize(raw).lines, "raw": raw, "tracking_number": "9400111899560000000000",
              "carrier": "USPS", "ship_date": datetime(2026, 9, 29, 18, 30, tzinfo=UTC)}
    return WritebackRequest(**{**values, **overrides})


def test_shipping_fulfillment_body_is_the_documented_one(wire, make_provider):
    token_ok(wire)
    url = f"{ORDERS_URL}/12-13579-24681/shipping_fulfillment"
    wire.add(responses.POST, url, status=201, headers={"Location": f"{url}/9405509699937003457459"})

    result = make_provider().write_back(shipped_request())

    sent = json.loads(wire.calls[1].request.body)
    documented = fixture("ebay", "create_shipping_fulfillment_request.json")
    assert sent["lineItems"] == documented["lineItems"] == [{"lineItemId": "10000246811", "quantity": 1},
                                                            {"lineItemId": "10000246812", "quantity": 1}]
    assert sent["shippedDate"] == documented["shippedDate"] == "2026-09-29T18:30:00.000Z"
    assert sent["shippingCarrierCode"] == documented["shippingCarrierCode"] == "USPS"
    assert sent["trackingNumber"] == documented["trackingNumber"] == "9400111899560000000000"
    assert set(sent) == set(documented)
    assert wire.calls[1].request.headers["Content-Type"] == "application/json"
    assert result.response_code == 201
    assert result.channel_reference == "9405509699937003457459"


def test_carrier_names_map_to_ebay_codes_and_missing_ones_fall_back_to_the_buyers_service(wire, make_provider):
    token_ok(wire)
    url = f"{ORDERS_URL}/12-13579-24681/shipping_fulfillment"
    wire.add(responses.POST, url, status=201, headers={"Location": f"{url}/f-1"})
    make_provider().write_back(shipped_request(carrier="fedex"))
    make_provider().write_back(shipped_request(carrier=None))
    codes = [json.loads(call.request.body)["shippingCarrierCode"] for call in wire.calls if call.request.url == url]
    assert codes == ["FedEx", "USPS"]


def test_only_the_lines_given_are_fulfilled(wire, make_provider):
    token_ok(wire)
    url = f"{ORDERS_URL}/12-13579-24681/shipping_fulfillment"
    wire.add(responses.POST, url, status=201, headers={"Location": f"{url}/f-2"})
    line = OrderLineData(sku="CAP-GRY", channel_sku=None, quantity=1, unit_price=Decimal("12"),
                         channel_line_id="10000246812")
    make_provider().write_back(shipped_request(lines=[line]))
    assert json.loads(wire.calls[1].request.body)["lineItems"] == [{"lineItemId": "10000246812", "quantity": 1}]


def test_writeback_failures_split_into_permanent_and_retryable(wire, make_provider):
    token_ok(wire)
    url = f"{ORDERS_URL}/12-13579-24681/shipping_fulfillment"
    wire.add(responses.POST, url, status=400, json={"errors": [{"errorId": 32100, "message": "Invalid order ID"}]})
    with pytest.raises(PermanentChannelError):
        make_provider().write_back(shipped_request())
    wire.replace(responses.POST, url, status=500, json={"errors": [{"errorId": 32000}]})
    with pytest.raises(RetryableChannelError):
        make_provider().write_back(shipped_request())
    with pytest.raises(PermanentChannelError):
        make_provider().write_back(shipped_request(status=CommonStatus.REFUNDED))
    with pytest.raises(PermanentChannelError):
        make_provider().write_back(shipped_request(tracking_number=""))
    assert make_provider().write_back(shipped_request(status=CommonStatus.DELIVERED)).response_code is None


def test_config_validation_names_the_missing_credentials():
    assert set(ebay.Provider.validate_config({})) == {"clientId", "clientSecret", "refreshToken", "verificationToken"}


def test_without_next_the_offset_is_stepped_until_total(wire, make_provider):
    """A server that reports `total` but omits `next` still gets every page asked for."""
    token_ok(wire)
    wire.add(responses.GET, ORDERS_URL, json={"total": 4, "limit": 3, "offset": 0, "orders": orders()[:3]},
             match=[responses.matchers.query_param_matcher({"limit": "3", "offset": "0"})])
    wire.add(responses.GET, ORDERS_URL, json={"total": 4, "limit": 3, "offset": 3, "orders": orders()[3:]},
             match=[responses.matchers.query_param_matcher({"limit": "3", "offset": "3"})])
    assert len(list(make_provider(pageSize=3).fetch_orders(None, None))) == 4


def test_public_key_falls_back_to_the_user_token_when_the_app_grant_is_refused(wire, make_provider):
    wire.add(responses.POST, TOKEN_URL, status=401, json={"error": "invalid_client"},
             match=[responses.matchers.urlencoded_params_matcher(
                 {"grant_type": "client_credentials", "scope": "https://api.ebay.com/oauth/api_scope"})])
    token_ok(wire, "user-token")
    wire.add(responses.GET, f"{API}/commerce/notification/v1/public_key/{VECTOR['public_key']}",
             json=VECTOR["response"])
    make_provider().verify_webhook(notification(vector_body(), VECTOR["signature"]))
    key_call = wire.calls[-1]
    assert key_call.request.headers["Authorization"] == "Bearer user-token"


def test_registration_sets_the_alert_email_first_when_configured(wire, make_provider):
    wire.add(responses.POST, TOKEN_URL, json={"access_token": "tok", "expires_in": 7200})
    wire.add(responses.PUT, f"{API}/commerce/notification/v1/config", status=204)
    wire.add(responses.POST, f"{API}/commerce/notification/v1/destination", status=201,
             headers={"Location": f"{API}/commerce/notification/v1/destination/dest-1"})
    wire.add(responses.POST, f"{API}/commerce/notification/v1/subscription", status=201,
             headers={"Location": f"{API}/commerce/notification/v1/subscription/sub-1"})
    make_provider(notificationTopics="ORDER_CONFIRMATION,ITEM_MARKED_SHIPPED",
                  alertEmail="ops@example.com").register_webhooks(ENDPOINT)
    api_calls = [call for call in wire.calls if call.request.url != TOKEN_URL]
    calls = [(call.request.method, call.request.url.rsplit("/", 1)[-1]) for call in api_calls]
    assert calls == [("PUT", "config"), ("POST", "destination"), ("POST", "subscription"), ("POST", "subscription")]
    assert json.loads(api_calls[0].request.body) == {"alertEmail": "ops@example.com"}
    topics = [json.loads(call.request.body)["topicId"] for call in api_calls[2:]]
    assert topics == ["ORDER_CONFIRMATION", "ITEM_MARKED_SHIPPED"]


@pytest.mark.django_db
@pytest.mark.parametrize("enabled", [True, False], ids=["enabled", "being-enabled"])
def test_receiver_answers_the_challenge_for_the_channel_named_in_the_query(org, client, enabled):
    """eBay sends the challenge while the destination is being created, before the channel is saved enabled."""
    from channels_sync.models import Channel

    Channel.objects.create(org=org, channel_id="ebay-main", provider="ebay", enabled=enabled, config=CONFIG)
    registered = f"http://testserver/upstream/webhooks/ebay/notifications?channel=ebay-main&org={org.slug}"
    response = client.get("/upstream/webhooks/ebay/notifications",
                          {"channel": "ebay-main", "org": org.slug, "challenge_code": "71745723-d031-455c"})
    assert response.status_code == 200
    assert response.json() == {"challengeResponse": hashlib.sha256(
        ("71745723-d031-455c" + VERIFICATION_TOKEN + registered).encode()).hexdigest()}
    unknown = client.get("/upstream/webhooks/ebay/notifications", {"channel": "nope", "challenge_code": "x"})
    assert unknown.status_code == 404
    if not enabled:  # a disabled channel answers challenges only: its deliveries are not accepted
        posted = client.post(f"/upstream/webhooks/ebay/notifications?channel=ebay-main&org={org.slug}",
                             data=b"{}", content_type="application/json")
        assert posted.status_code == 404


def test_two_parcels_make_two_fulfillments_each_with_its_lines_and_tracking(wire, make_provider):
    """A storefront order shipped in two parcels (`parcel=True`): one shipping fulfillment per parcel."""
    token_ok(wire)
    url = f"{ORDERS_URL}/12-13579-24681/shipping_fulfillment"
    wire.add(responses.POST, url, status=201, headers={"Location": f"{url}/f-1"})
    wire.add(responses.POST, url, status=201, headers={"Location": f"{url}/f-2"})
    tee, cap = shipped_request().lines
    provider = make_provider()
    results = [provider.write_back(shipped_request(parcel=True, tracking_number=tracking, lines=[line]))
               for tracking, line in (("TRACK-1", tee), ("TRACK-2", cap))]
    sent = [json.loads(call.request.body) for call in wire.calls if call.request.url == url]
    assert [(body["trackingNumber"], body["lineItems"]) for body in sent] == [
        ("TRACK-1", [{"lineItemId": "10000246811", "quantity": 1}]),
        ("TRACK-2", [{"lineItemId": "10000246812", "quantity": 1}])]
    assert [result.channel_reference for result in results] == ["f-1", "f-2"]


def test_a_parcel_without_line_ids_is_refused_not_sent_as_the_whole_order(wire, make_provider):
    line = OrderLineData(sku="X", channel_sku=None, quantity=1, unit_price=Decimal("1"))
    with pytest.raises(PermanentChannelError, match="no line items"):
        make_provider().write_back(shipped_request(parcel=True, lines=[line]))
    assert not [call for call in wire.calls if "shipping_fulfillment" in call.request.url]
