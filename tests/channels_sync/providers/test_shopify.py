"""Shopify provider: every fixture normalized against values read by hand, the wire mocked with `responses`."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from channels_sync.normalized import Address, CommonStatus, WebhookRequest, WritebackRequest
from channels_sync.providers import provider_class
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError, WebhookRejected
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.shopify import Provider
from tests.channels_sync.providers.fixtures import fixture, fixture_bytes, shopify_order

SHOP = "jsmith.myshopify.com"
BASE = f"https://{SHOP}"
API = f"{BASE}/admin/api/2024-10"
SECRET = "shpss_test_secret"
CONFIG = {"shopDomain": SHOP, "accessToken": "shpat_test", "apiVersion": "2024-10"}


def make_provider(sleeps: list | None = None, **config) -> Provider:
    http = ChannelHttpClient(BASE, sleep=(sleeps.append if sleeps is not None else lambda s: None))
    return Provider({**CONFIG, **config}, webhook_secret=SECRET, http=http)


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook(body: bytes, **headers) -> WebhookRequest:
    base = {"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "X-Shopify-Hmac-Sha256": sign(body)}
    base.update(headers)
    return WebhookRequest(headers={k: v for k, v in base.items() if v is not None}, body=body, query={},
                          url="https://hub.example/upstream/webhooks/shopify/orders")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- normalization: every fixture, expected values read from the files by hand ---------------------
BOB_ADDRESS = Address(name="Bob Norman", company=None, line1="Chestnut Street 92", line2=None, city="Louisville",
                      region="KY", postal_code="40202", country="US", phone="+1(502)-459-2181")
EXPECTED = {
    "order.json": dict(
        channel_order_id="450789469", channel_order_number="#1001", status=CommonStatus.PROCESSING,
        raw_status="partially_refunded/unfulfilled", currency="USD", created_at=utc(2008, 1, 10, 16),
        updated_at=utc(2008, 1, 10, 16), subtotal=Decimal("597.00"), tax=Decimal("11.94"),
        shipping=Decimal("0.00"), grand_total=Decimal("598.94"), customer_email="bob.norman@mail.example.com",
        customer_name="Bob Norman", shipping_address=BOB_ADDRESS,
        tracking_number=None,  # its only fulfillment has status "failure": nothing was shipped
        lines=3, first_line=("IPOD2008GREEN", "39072856", 1, Decimal("199.00"), "466157049")),
    "orders.json": dict(
        channel_order_id="450789469", status=CommonStatus.PROCESSING, subtotal=Decimal("597.00"),
        grand_total=Decimal("598.94"), lines=3),
    "order_refunded_after_cancel.json": dict(
        channel_order_id="450789469", status=CommonStatus.REFUNDED, raw_status="refunded/unfulfilled",
        updated_at=utc(2024, 4, 2, 14, 4, 2), created_at=utc(2008, 1, 10, 16), grand_total=Decimal("598.94")),
    "order_eur_currency.json": dict(
        channel_order_id="1073459975", channel_order_number="#1002", status=CommonStatus.PROCESSING,
        raw_status="paid/unfulfilled", currency="EUR", created_at=utc(2024, 4, 2, 14, 4, 31),
        subtotal=Decimal("224.97"), tax=Decimal("13.50"), shipping=Decimal("0.00"), grand_total=Decimal("238.47"),
        customer_email=None, customer_name=None, shipping_address=None, tracking_number=None,
        lines=1, first_line=(None, None, 3, Decimal("74.99"), "1071823207")),
    "order_pending.json": dict(
        channel_order_id="1073459974", status=CommonStatus.PENDING, raw_status="pending/unfulfilled",
        currency="USD", created_at=utc(2024, 4, 2, 14, 4, 27), subtotal=Decimal("199.00"), tax=Decimal("0.00"),
        shipping=Decimal("0.00"), grand_total=Decimal("199.00"), customer_email="bob.norman@mail.example.com",
        customer_name="Bob Norman", shipping_address=None,
        lines=1, first_line=("IPOD2009BLACK", "447654529", 1, Decimal("199.00"), "1071823206")),
    "order_fulfilled.json": dict(
        channel_order_id="1073459978", status=CommonStatus.SHIPPED, raw_status="paid/fulfilled",
        created_at=utc(2024, 4, 2, 14, 4, 38), grand_total=Decimal("199.00"), customer_email="foo@example.com",
        customer_name=None, shipping_address=None, tracking_number=None,  # fulfilled without tracking
        lines=1, first_line=("IPOD2008BLACK", "457924702", 1, Decimal("199.00"), "1071823209")),
    "order_discount_code.json": dict(
        channel_order_id="1073459981", status=CommonStatus.PROCESSING, raw_status="paid/unfulfilled",
        subtotal=Decimal("181.09"), tax=Decimal("0.00"), shipping=Decimal("0.00"), grand_total=Decimal("181.09"),
        customer_email="jane@example.com", customer_name="John Smith",
        shipping_address=Address(name="Jane Smith", company=None, line1="123 Fake Street", line2=None,
                                 city="Fakecity", region="ON", postal_code="K2P 1L4", country="CA",
                                 phone="777-777-7777")),
    "order_python_api_authorized.json": dict(
        channel_order_id="450789469", status=CommonStatus.PENDING, raw_status="authorized/unfulfilled",
        subtotal=Decimal("398.00"), tax=Decimal("11.94"), shipping=Decimal("0.00"), grand_total=Decimal("409.94"),
        customer_email="bob.norman@hostmail.com", lines=3),
    "orders_python_api.json": dict(
        channel_order_id="450789469", status=CommonStatus.PROCESSING, subtotal=Decimal("597.00"),
        tax=Decimal("11.94"), shipping=Decimal("0.00"), grand_total=Decimal("598.94"), lines=0),
    "webhook_orders_create.json": dict(
        channel_order_id="820982911946154508", channel_order_number="#9999", status=CommonStatus.CANCELLED,
        raw_status="voided/unfulfilled/cancelled", currency="USD", created_at=utc(2022, 1, 1),
        subtotal=Decimal("404.95"), tax=Decimal("0.00"), shipping=Decimal("10.00"), grand_total=Decimal("404.95"),
        customer_email="jon@example.com", customer_name="John Smith",
        shipping_address=Address(name="Steve Shipper", company="Shipping Company", line1="123 Shipping Street",
                                 line2=None, city="Shippington", region="KY", postal_code="40003", country="US",
                                 phone="555-555-SHIP"),
        lines=5, first_line=("SKU2006-001", "788032119674292922", 1, Decimal("89.99"), "487817672276298554")),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_normalizes_to_the_values_in_the_file(name):
    order = Provider.normalize(shopify_order(name))
    expected = dict(EXPECTED[name])
    lines = expected.pop("lines", None)
    first_line = expected.pop("first_line", None)
    for field, value in expected.items():
        assert getattr(order, field) == value, field
    if lines is not None:
        assert len(order.lines) == lines
    if first_line:
        line = order.lines[0]
        assert (line.sku, line.channel_sku, line.quantity, line.unit_price, line.channel_line_id) == first_line


def test_normalize_accepts_the_single_order_wrapper_and_keeps_unmapped_fields():
    order = Provider.normalize(fixture("shopify", "order.json"))
    assert order.channel_order_id == "450789469"
    meta = order.channel_metadata
    assert meta["financial_status"] == "partially_refunded"
    assert meta["discount_codes"] == [{"code": "TENOFF", "amount": "10.00", "type": "fixed_amount"}]
    assert meta["customer_id"] == "207119551"
    assert meta["fulfillments"][0]["status"] == "failure"
    assert meta["note_attributes"][0] == {"name": "custom engraving", "value": "Happy Birthday"}


def test_webhook_body_keeps_64_bit_ids_exact():
    body = fixture_bytes("shopify", "webhook_orders_create.json")
    event = make_provider().parse_webhook(webhook(body))
    order = Provider.normalize(event.orders[0])
    assert order.channel_order_id == "820982911946154508"          # > 2**53: a float would give ...4500
    assert order.lines[3].channel_line_id == "976318377106520349"
    assert order.channel_metadata["customer_id"] == "115310627314723954"


def test_tracking_number_comes_from_the_newest_successful_fulfillment():
    raw = shopify_order("order_fulfilled.json")
    raw["fulfillments"][0].update(tracking_number="1Z999AA10123456784", tracking_company="UPS")
    raw["fulfillments"].append({"id": 1, "status": "cancelled", "tracking_number": "CANCELLED1",
                                "created_at": "2024-04-03T09:00:00-05:00"})
    order = Provider.normalize(raw)
    assert order.tracking_number == "1Z999AA10123456784"
    assert order.channel_metadata["tracking_company"] == "UPS"


# (status map: tests/channels_sync/providers/test_normalizers_pure.py, which runs without Django)


# --- orders that are not in the fixtures ----------------------------------------------------------------
def _variation(**changes):
    raw = shopify_order("order_discount_code.json")
    raw.update(changes)
    return raw


def test_variation_without_customer_or_email_normalizes():
    order = Provider.normalize(_variation(customer=None, email=None, contact_email=None, billing_address=None,
                                          shipping_address=None))
    assert (order.customer_email, order.customer_name, order.shipping_address) == (None, None, None)


def test_variation_customer_name_falls_back_to_the_shipping_address():
    raw = _variation(customer=None)
    assert Provider.normalize(raw).customer_name == "Jane Smith"


def test_variation_other_currency_zero_tax_shipping_lines_only_and_line_without_sku():
    raw = _variation(currency="JPY", total_tax="0", subtotal_price="15000", total_price="15800")
    del raw["total_shipping_price_set"]
    raw["shipping_lines"] = [{"title": "Yamato", "price": "800"}]
    raw["line_items"][0].update(sku="", variant_id=None, product_id=9_007_199_254_740_993, price="15000")
    order = Provider.normalize(raw)
    assert (order.currency, order.subtotal, order.tax, order.shipping, order.grand_total) == (
        "JPY", Decimal("15000.00"), Decimal("0.00"), Decimal("800.00"), Decimal("15800.00"))
    assert order.lines[0].sku is None
    assert order.lines[0].channel_sku == "9007199254740993"


def test_variation_gmt_and_zulu_times_become_utc():
    order = Provider.normalize(_variation(created_at="2025-03-30T01:30:00+09:00", updated_at="2025-03-29T20:00:00Z"))
    assert order.created_at == utc(2025, 3, 29, 16, 30)
    assert order.updated_at == utc(2025, 3, 29, 20)


# --- webhook verification ----------------------------------------------------------------------------
def test_valid_signature_is_accepted_and_parsed():
    body = fixture_bytes("shopify", "webhook_orders_create.json")
    provider = make_provider()
    provider.verify_webhook(webhook(body))
    event = provider.parse_webhook(webhook(body))
    assert event.delivery_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert event.topic == "orders/create"
    assert event.orders[0]["id"] == 820982911946154508


@pytest.mark.parametrize("signature", ["", "not-base64", sign(b"other body"), sign(b"{}", "wrong-secret")])
def test_invalid_or_missing_signature_is_rejected(signature):
    body = fixture_bytes("shopify", "webhook_orders_create.json")
    with pytest.raises(WebhookRejected):
        make_provider().verify_webhook(webhook(body, **{"X-Shopify-Hmac-Sha256": signature or None}))


def test_body_changed_by_one_byte_is_rejected():
    body = fixture_bytes("shopify", "webhook_orders_create.json")
    request = webhook(body)
    tampered = body.replace(b'"total_price": "404.95"', b'"total_price": "404.96"', 1)
    assert len(tampered) == len(body) and tampered != body
    with pytest.raises(WebhookRejected):
        make_provider().verify_webhook(WebhookRequest(request.headers, tampered, {}, request.url))


def test_channel_without_secret_rejects_everything():
    body = b"{}"
    provider = Provider(CONFIG, webhook_secret=None)
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(webhook(body))


def test_identity_is_the_shop_domain_header():
    assert provider_class("shopify").webhook_identity(webhook(b"{}")) == SHOP
    assert Provider.identity_config_key == "shopDomain"


def test_orders_delete_and_other_topics_carry_nothing_to_ingest():
    provider = make_provider()
    event = provider.parse_webhook(webhook(b'{"id": 450789469}', **{"X-Shopify-Topic": "orders/delete"}))
    assert (event.orders, event.order_refs) == ([], [])


# --- fetching: Link-header paging with a 429 in the middle ------------------------------------------------
def test_fetch_orders_follows_page_info_cursors_and_waits_out_a_429():
    pages = {
        None: ([shopify_order("order.json")], f'<{API}/orders.json?limit=250&page_info=CURSOR2>; rel="next"'),
        "CURSOR2": ([shopify_order("order_pending.json"), shopify_order("order_eur_currency.json")],
                    f'<{API}/orders.json?limit=250&page_info=CURSOR1>; rel="previous", '
                    f'<{API}/orders.json?limit=250&page_info=CURSOR3>; rel="next"'),
        "CURSOR3": ([shopify_order("order_fulfilled.json")],
                    f'<{API}/orders.json?limit=250&page_info=CURSOR2>; rel="previous"'),
    }
    seen: list[dict] = []
    throttled = {"done": False}

    def answer(request):
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        seen.append(query)
        assert request.headers["X-Shopify-Access-Token"] == "shpat_test"
        if query.get("page_info") == "CURSOR3" and not throttled["done"]:
            throttled["done"] = True
            return 429, {"Retry-After": "2.0"}, json.dumps({"errors": "Exceeded 2 calls per second"})
        orders, link = pages[query.get("page_info")]
        return 200, {"Link": link}, json.dumps({"orders": orders})

    sleeps: list[float] = []
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, f"{API}/orders.json", callback=answer)
        raws = list(make_provider(sleeps).fetch_orders(utc(2024, 4, 1), utc(2024, 4, 3)))

    assert [r["id"] for r in raws] == [450789469, 1073459974, 1073459975, 1073459978]
    assert seen[0] == {"status": "any", "limit": "250", "updated_at_min": "2024-04-01T00:00:00+00:00",
                       "updated_at_max": "2024-04-03T00:00:00+00:00"}
    # Shopify refuses any filter beside page_info: the cursor requests carry only limit + page_info.
    assert all(set(q) == {"limit", "page_info"} for q in seen[1:])
    assert len(seen) == 4 and sleeps == [2.0]


def test_fetch_orders_status_filter_narrows_the_query_and_the_result():
    def answer(request):
        return 200, {}, json.dumps({"orders": [shopify_order("order_fulfilled.json"), shopify_order("order.json")]})

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, f"{API}/orders.json", callback=answer)
        raws = list(make_provider().fetch_orders(None, None, status="shipped"))
        query = parse_qs(urlsplit(mock.calls[0].request.url).query)
    assert [r["id"] for r in raws] == [1073459978]
    assert query["fulfillment_status"] == ["shipped"] and query["status"] == ["any"]


def test_long_retry_after_becomes_a_retryable_error():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders.json", status=429, headers={"Retry-After": "60"})
        with pytest.raises(RetryableChannelError) as info:
            list(make_provider().fetch_orders(None, None))
    assert info.value.retry_after == 60


def test_fetch_order_by_id_and_base_url_from_config():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, "http://127.0.0.1:8765/shopify/admin/api/2024-10/orders/450789469.json",
                 body=fixture_bytes("shopify", "order.json"))
        provider = Provider({**CONFIG, "baseUrl": "http://127.0.0.1:8765/shopify/"}, webhook_secret=SECRET)
        assert provider.fetch_order("450789469")["name"] == "#1001"


def test_bad_token_is_a_permanent_error():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders/1.json", status=401, json={"errors": "[API] Invalid API key"})
        with pytest.raises(PermanentChannelError):
            make_provider().fetch_order("1")


# --- writeback -------------------------------------------------------------------------------------------
def _writeback(status=CommonStatus.SHIPPED, **extra) -> WritebackRequest:
    order = Provider.normalize(shopify_order("order.json"))
    return WritebackRequest(channel_order_id="450789469", status=status, lines=order.lines, raw={}, **extra)


def test_shipped_creates_a_fulfillment_for_the_open_fulfillment_orders_with_tracking():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders/450789469/fulfillment_orders.json",
                 body=fixture_bytes("shopify", "fulfillment_orders.json"))
        mock.add(responses.POST, f"{API}/fulfillments.json", status=201,
                 body=fixture_bytes("shopify", "fulfillment_response.json"))
        result = make_provider().write_back(_writeback(tracking_number="1Z001985YW99744790", carrier="ups",
                                                       tracking_url="https://www.ups.com/track?tracknum=1Z001985YW99744790"))
        sent = json.loads(mock.calls[1].request.body)["fulfillment"]
    assert sent["tracking_info"] == {"number": "1Z001985YW99744790", "company": "UPS",
                                     "url": "https://www.ups.com/track?tracknum=1Z001985YW99744790"}
    assert sent["line_items_by_fulfillment_order"] == [
        {"fulfillment_order_id": 1046000823,
         "fulfillment_order_line_items": [{"id": 1058737564, "quantity": 1}]}]
    assert sent["notify_customer"] is True
    assert result.channel_reference == str(fixture("shopify", "fulfillment_response.json")["fulfillment"]["id"])
    assert result.response_code == 201


def test_shipped_when_already_fulfilled_updates_the_tracking_instead():
    closed = fixture("shopify", "fulfillment_orders.json")
    closed["fulfillment_orders"][0]["status"] = "closed"
    fulfillments = {"fulfillments": [{"id": 255858046, "status": "success", "tracking_number": "OLD",
                                      "created_at": "2024-04-02T08:59:11-05:00"}]}
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders/450789469/fulfillment_orders.json", json=closed)
        mock.add(responses.GET, f"{API}/orders/450789469/fulfillments.json", json=fulfillments)
        mock.add(responses.POST, f"{API}/fulfillments/255858046/update_tracking.json",
                 body=fixture_bytes("shopify", "fulfillment_update_tracking_response.json"))
        result = make_provider().write_back(_writeback(tracking_number="NEW123", carrier="Acme Freight"))
        sent = json.loads(mock.calls[2].request.body)
    assert sent == {"fulfillment": {"tracking_info": {"number": "NEW123", "company": "Acme Freight"},
                                    "notify_customer": False}}
    assert result.channel_reference == "255858046"


def test_delivered_fulfils_then_posts_a_delivered_event():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders/450789469/fulfillment_orders.json",
                 body=fixture_bytes("shopify", "fulfillment_orders.json"))
        mock.add(responses.POST, f"{API}/fulfillments.json", status=201, json={"fulfillment": {"id": 77}})
        mock.add(responses.POST, f"{API}/orders/450789469/fulfillments/77/events.json", status=201,
                 json={"fulfillment_event": {"id": 1, "status": "delivered"}})
        make_provider().write_back(_writeback(CommonStatus.DELIVERED, tracking_number="1Z1"))
        assert json.loads(mock.calls[2].request.body) == {"event": {"status": "delivered"}}


def test_cancelled_calls_the_cancel_endpoint():
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, f"{API}/orders/450789469/cancel.json",
                 body=fixture_bytes("shopify", "order_refunded_after_cancel.json"))
        result = make_provider().write_back(_writeback(CommonStatus.CANCELLED))
        assert json.loads(mock.calls[0].request.body) == {"reason": "other", "email": False}
    assert result.response_code == 200


def test_refunded_is_a_clear_permanent_error_and_sends_nothing():
    with responses.RequestsMock() as mock:
        with pytest.raises(PermanentChannelError, match="refund in Shopify"):
            make_provider().write_back(_writeback(CommonStatus.REFUNDED))
        assert len(mock.calls) == 0


def test_processing_has_nothing_to_write():
    with responses.RequestsMock() as mock:
        result = make_provider().write_back(_writeback(CommonStatus.PROCESSING))
        assert len(mock.calls) == 0
    assert "nothing sent" in result.request_summary


def test_fulfillment_rejected_by_shopify_is_permanent_and_a_5xx_retryable():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders/450789469/fulfillment_orders.json",
                 body=fixture_bytes("shopify", "fulfillment_orders.json"))
        mock.add(responses.POST, f"{API}/fulfillments.json", status=422, json={"errors": ["Invalid fulfillment"]})
        with pytest.raises(PermanentChannelError):
            make_provider().write_back(_writeback(tracking_number="1Z1"))
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders/450789469/fulfillment_orders.json", status=503)
        with pytest.raises(RetryableChannelError):
            make_provider().write_back(_writeback(tracking_number="1Z1"))


# --- webhook registration ----------------------------------------------------------------------------------
def test_register_webhooks_creates_each_missing_order_topic_once():
    callback = "https://hub.example/upstream/webhooks/shopify/orders?channel=main&org=acme"
    existing = {"webhooks": [{"id": 4759306, "topic": "orders/create", "address": callback},
                             {"id": 1, "topic": "orders/updated", "address": "https://someone-else.example/hook"}]}
    created_ids = iter(range(100, 200))

    def create(request):
        return 201, {}, json.dumps({"webhook": {**json.loads(request.body)["webhook"], "id": next(created_ids)}})

    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/webhooks.json", json=existing)
        mock.add_callback(responses.POST, f"{API}/webhooks.json", callback=create)
        registered = make_provider().register_webhooks(callback)
        posted = [json.loads(call.request.body) for call in mock.calls if call.request.method == "POST"]
    assert [p["webhook"]["topic"] for p in posted] == ["orders/updated", "orders/paid", "orders/cancelled",
                                                       "orders/fulfilled", "orders/partially_fulfilled"]
    assert all(p["webhook"]["address"] == callback and p["webhook"]["format"] == "json" for p in posted)
    assert registered[0] == {"id": "4759306", "topic": "orders/create", "address": callback}
    assert len(registered) == 6


def test_unregister_deletes_only_our_subscriptions():
    callback = "https://hub.example/upstream/webhooks/shopify/orders?channel=main"
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/webhooks.json",
                 json={"webhooks": [{"id": 5, "topic": "orders/create", "address": callback},
                                    {"id": 6, "topic": "orders/create", "address": "https://other.example"}]})
        mock.add(responses.DELETE, f"{API}/webhooks/5.json", json={})
        make_provider().unregister_webhooks(callback)
        assert [c.request.method for c in mock.calls] == ["GET", "DELETE"]


def test_config_validation_names_missing_keys():
    assert Provider.validate_config({}) == {"shopDomain": "This field is required.",
                                            "accessToken": "This field is required."}
    assert Provider.validate_config(copy.deepcopy(CONFIG)) == {}


def test_workers_share_shopifys_40_call_bucket_per_store_and_plus_stores_can_raise_it():
    from channels_sync.providers.ratelimit import BucketSpec

    limiter = Provider(CONFIG).http.rate_limiter
    assert limiter.specs == {"shopify": BucketSpec(rate=2.0, burst=38)}  # a second's worth below Shopify's 40
    assert limiter.namespace == f"shopify:{SHOP}"
    plus = Provider({**CONFIG, "rateLimitPerSecond": 20, "rateLimitBurst": 400}).http.rate_limiter
    assert plus.specs["shopify"] == BucketSpec(rate=20.0, burst=380)


# --- any order Shopify could send: optional parts dropped, blanked or nulled ---------------------------------
OPTIONAL_ORDER_KEYS = ["customer", "email", "contact_email", "shipping_address", "billing_address", "fulfillments",
                       "total_shipping_price_set", "shipping_lines", "tax_lines", "discount_codes", "refunds",
                       "updated_at", "name", "cancelled_at", "financial_status", "fulfillment_status", "total_tax"]
OPTIONAL_LINE_KEYS = ["sku", "variant_id", "product_id", "name", "title"]
BASES = ["order.json", "order_eur_currency.json", "order_fulfilled.json", "webhook_orders_create.json"]


@settings(max_examples=60, deadline=None)
@given(base=st.sampled_from(BASES),
       order_edits=st.dictionaries(st.sampled_from(OPTIONAL_ORDER_KEYS), st.sampled_from(["drop", None, ""])),
       line_edits=st.dictionaries(st.sampled_from(OPTIONAL_LINE_KEYS), st.sampled_from(["drop", None, ""])))
def test_orders_with_missing_or_empty_optional_parts_still_normalize(base, order_edits, line_edits):
    raw = shopify_order(base)
    for key, edit in order_edits.items():
        raw.pop(key, None) if edit == "drop" else raw.__setitem__(key, edit)
    for line in raw.get("line_items") or []:
        for key, edit in line_edits.items():
            line.pop(key, None) if edit == "drop" else line.__setitem__(key, edit)
    order = Provider.normalize(raw)
    assert order.channel_order_id == str(shopify_order(base)["id"])
    for amount in (order.subtotal, order.tax, order.shipping, order.grand_total):
        assert amount == amount.quantize(Decimal("0.01"))
    assert order.created_at.tzinfo is UTC and order.updated_at.tzinfo is UTC
    assert order.status in CommonStatus
    assert all(line.sku is None or line.sku for line in order.lines)   # "" never stands for a SKU


def test_a_delivery_without_an_id_header_still_parses():
    body = fixture_bytes("shopify", "webhook_orders_create.json")
    event = make_provider().parse_webhook(webhook(body, **{"X-Shopify-Webhook-Id": None}))
    assert event.delivery_id == "" and len(event.orders) == 1   # the receiver dedupes on the body hash


# --- one storefront parcel (`parcel=True`) -------------------------------------------------------------------
def _parcel(*line_item_ids, tracking="1ZPARCEL") -> WritebackRequest:
    lines = [line for line in Provider.normalize(shopify_order("order.json")).lines
             if line.channel_line_id in line_item_ids]
    return WritebackRequest(channel_order_id="450789469", status=CommonStatus.SHIPPED, lines=lines, raw={},
                            tracking_number=tracking, carrier="ups", parcel=True)


def test_a_parcel_fulfils_only_its_fulfillment_order_line_items():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders/450789469/fulfillment_orders.json",
                 body=fixture_bytes("shopify", "fulfillment_orders.json"))
        mock.add(responses.POST, f"{API}/fulfillments.json", status=201,
                 body=fixture_bytes("shopify", "fulfillment_response.json"))
        result = make_provider().write_back(_parcel("518995019", "466157049"))  # 466157049 is not open
        sent = json.loads(mock.calls[1].request.body)["fulfillment"]
    assert sent["line_items_by_fulfillment_order"] == [
        {"fulfillment_order_id": 1046000823, "fulfillment_order_line_items": [{"id": 1058737564, "quantity": 1}]}]
    assert sent["tracking_info"] == {"number": "1ZPARCEL", "company": "UPS"}
    assert "not open on Shopify" in result.request_summary and "466157049" in result.request_summary


def test_a_parcel_with_nothing_open_never_moves_another_fulfillments_tracking():
    closed = fixture("shopify", "fulfillment_orders.json")
    closed["fulfillment_orders"][0]["status"] = "closed"
    others = {"fulfillments": [{"id": 255858046, "status": "success", "tracking_number": "FIRST-PARCEL",
                                "created_at": "2024-04-02T08:59:11-05:00"}]}
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders/450789469/fulfillment_orders.json", json=closed)
        mock.add(responses.GET, f"{API}/orders/450789469/fulfillments.json", json=others)
        with pytest.raises(PermanentChannelError, match="no fulfillment has tracking"):
            make_provider().write_back(_parcel("518995019", tracking="SECOND-PARCEL"))
        assert [call.request.method for call in mock.calls] == ["GET", "GET"]  # no update_tracking.json
