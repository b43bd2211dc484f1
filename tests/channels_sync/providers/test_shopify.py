"""Shopify provider: every fixture normalized against values read by hand, the wire mocked with `responses`."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

import channels_sync.providers.shopify.queries as queries
from channels_sync.normalized import Address, CommonStatus, WebhookRequest, WritebackRequest
from channels_sync.providers import provider_class
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError, WebhookRejected
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.shopify import Provider
from tests.channels_sync.providers.fixtures import fixture, fixture_bytes, shopify_order

SHOP = "jsmith.myshopify.com"
BASE = f"https://{SHOP}"
API = f"{BASE}/admin/api/2026-10"
GRAPHQL = f"{API}/graphql.json"
SECRET = "shpss_test_secret"
CONFIG = {"shopDomain": SHOP, "accessToken": "shpat_test", "apiVersion": "2026-10"}


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
        # current figures: two of the three iPods were refunded (current_quantity 0), current_subtotal_price 195.67,
        # current_total_discounts 3.33, current_total_tax 3.98, current_total_price 199.65
        channel_order_id="450789469", channel_order_number="#1001", status=CommonStatus.PROCESSING,
        raw_status="partially_refunded/unfulfilled", currency="USD", created_at=utc(2008, 1, 10, 16),
        updated_at=utc(2008, 1, 10, 16), subtotal=Decimal("199.00"), discount=Decimal("3.33"), tax=Decimal("3.98"),
        shipping=Decimal("0.00"), grand_total=Decimal("199.65"), customer_email="bob.norman@mail.example.com",
        customer_name="Bob Norman", shipping_address=BOB_ADDRESS,
        tracking_number=None,  # its only fulfillment has status "failure": nothing was shipped
        lines=1, first_line=("IPOD2008RED", "49148385", 1, Decimal("199.00"), "518995019")),
    "orders.json": dict(
        channel_order_id="450789469", status=CommonStatus.PROCESSING, subtotal=Decimal("199.00"),
        grand_total=Decimal("199.65"), lines=1),
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
        subtotal=Decimal("199.00"), discount=Decimal("17.91"), tax=Decimal("0.00"), shipping=Decimal("0.00"),
        grand_total=Decimal("181.09"), customer_email="jane@example.com", customer_name="John Smith",
        shipping_address=Address(name="Jane Smith", company=None, line1="123 Fake Street", line2=None,
                                 city="Fakecity", region="ON", postal_code="K2P 1L4", country="CA",
                                 phone="777-777-7777")),
    "order_python_api_authorized.json": dict(
        channel_order_id="450789469", status=CommonStatus.PENDING, raw_status="authorized/unfulfilled",
        subtotal=Decimal("597.00"), tax=Decimal("11.94"), shipping=Decimal("0.00"), grand_total=Decimal("409.94"),
        customer_email="bob.norman@hostmail.com", lines=3),
    "orders_python_api.json": dict(
        channel_order_id="450789469", status=CommonStatus.PROCESSING, subtotal=Decimal("607.00"),
        tax=Decimal("11.94"), shipping=Decimal("0.00"), grand_total=Decimal("598.94"), lines=0),
    "webhook_orders_create.json": dict(
        channel_order_id="820982911946154508", channel_order_number="#9999", status=CommonStatus.CANCELLED,
        raw_status="voided/unfulfilled/cancelled", currency="USD", created_at=utc(2022, 1, 1),
        # Shopify's test notification is a voided order: its current figures are the lines and no shipping
        subtotal=Decimal("414.95"), tax=Decimal("0.00"), shipping=Decimal("0.00"), grand_total=Decimal("414.95"),
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
    raw = _variation(currency="JPY", current_total_tax="0", current_subtotal_price="15000",
                     current_total_price="15800", current_total_discounts="0")
    del raw["total_shipping_price_set"]
    raw.pop("current_shipping_price_set", None)
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


# --- GraphQL Admin API at the wire ----------------------------------------------------------------------
def graphql_node() -> dict:
    return fixture("shopify", "graphql_orders_page.json")["data"]["orders"]["nodes"][0]


def test_the_graphql_order_node_normalizes_to_the_same_order_as_its_rest_twin():
    """graphql_orders_page.json is order.json in GraphQL's names: one mapping, the same row either way."""
    node, rest = Provider.normalize(graphql_node()), Provider.normalize(shopify_order("order.json"))
    for field in ("channel_order_id", "channel_order_number", "status", "raw_status", "currency", "created_at",
                  "updated_at", "subtotal", "discount", "shipping", "tax", "grand_total", "customer_email",
                  "customer_name", "shipping_address", "tracking_number"):
        assert getattr(node, field) == getattr(rest, field), field
    assert (node.subtotal, node.discount, node.shipping, node.tax, node.grand_total) == (
        Decimal("199.00"), Decimal("3.33"), Decimal("0.00"), Decimal("3.98"), Decimal("199.65"))
    assert node.subtotal - node.discount + node.shipping + node.tax == node.grand_total
    assert [(line.sku, line.quantity, line.channel_line_id) for line in node.lines] == [
        ("IPOD2008RED", 1, "518995019")]
    assert node.channel_metadata["original_totals"] == {"subtotal": "597.00", "discounts": "10.00",
                                                        "shipping": "0.00", "tax": "11.94", "total": "598.94",
                                                        "refunded": "209.00"}
    assert node.channel_metadata["customer_id"] == "207119551"
    assert node.channel_metadata["removed_line_items"] == ["466157049", "703073504"]


class FakeShopifyGraphQL:
    """POST graphql.json mocked at the wire: answers by operation name; every call's variables are kept."""

    def __init__(self, mock, answers: dict, version: str = "2026-10", url: str = GRAPHQL):
        self.answers, self.calls, self.version, self.expire_next = answers, [], version, False
        mock.add_callback(responses.POST, url, callback=self)

    def __call__(self, request):
        if self.expire_next:   # the token ran out (or was revoked) since it was cached
            self.expire_next = False
            self.calls.append(("expired", None, request.headers["X-Shopify-Access-Token"]))
            return 401, {}, json.dumps({"errors": "[API] Invalid API key or access token"})
        body = json.loads(request.body)
        name = re.search(r"(?:query|mutation)\s+(\w+)", body["query"]).group(1)
        self.calls.append((name, body["variables"], request.headers["X-Shopify-Access-Token"]))
        answer = self.answers[name]
        if isinstance(answer, list):
            answer = answer.pop(0)
        answer = answer(body["variables"]) if callable(answer) else answer
        return 200, {"X-Shopify-API-Version": self.version}, json.dumps(answer)


def page(nodes, cursor=None) -> dict:
    return {"data": {"orders": {"nodes": nodes, "pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor}}}}


def test_fetch_orders_pages_by_cursor_over_the_updated_at_window_and_waits_out_throttled():
    second = graphql_node()
    second.update(id="gid://shopify/Order/1073459974", legacyResourceId="1073459974")
    sleeps: list[float] = []
    with responses.RequestsMock() as mock:
        shop = FakeShopifyGraphQL(mock, {"OrdersUpdatedInWindow": [
            page([graphql_node()], "CURSOR1"), fixture("shopify", "graphql_throttled.json"), page([second])]})
        raws = list(make_provider(sleeps).fetch_orders(utc(2024, 4, 1), utc(2024, 4, 3)))
    assert [r["legacyResourceId"] for r in raws] == ["450789469", "1073459974"]
    first, throttled, retried = (variables for _, variables, _ in shop.calls)
    assert first == {"first": 5, "after": None,
                     "query": "updated_at:>='2024-04-01T00:00:00Z' AND updated_at:<'2024-04-03T00:00:00Z'"}
    assert throttled["after"] == retried["after"] == "CURSOR1"
    assert sleeps == [pytest.approx((752 - 666) / 50.0)]   # the published answer: 86 points short at 50/s
    assert "sortKey: UPDATED_AT" in queries.ORDERS


def test_throttled_beyond_the_bound_is_retryable():
    with responses.RequestsMock() as mock:
        FakeShopifyGraphQL(mock, {"OrdersUpdatedInWindow": fixture("shopify", "graphql_throttled.json")})
        provider = make_provider()
        provider.max_throttle_wait = 1.0
        with pytest.raises(RetryableChannelError) as info:
            list(provider.fetch_orders(None, None))
    assert info.value.status_code == 429 and info.value.retry_after == pytest.approx(1.72)


def test_fetch_orders_status_filter_is_applied_after_mapping():
    fulfilled = graphql_node()
    fulfilled.update(displayFulfillmentStatus="FULFILLED", legacyResourceId="2")
    with responses.RequestsMock() as mock:
        FakeShopifyGraphQL(mock, {"OrdersUpdatedInWindow": page([graphql_node(), fulfilled])})
        raws = list(make_provider().fetch_orders(None, None, status="shipped"))
    assert [r["legacyResourceId"] for r in raws] == ["2"]


def test_fetch_order_asks_by_gid_and_completes_long_line_item_lists():
    node = graphql_node()
    node["lineItems"]["pageInfo"] = {"hasNextPage": True, "endCursor": "L1"}
    extra = dict(node["lineItems"]["nodes"][1], id="gid://shopify/LineItem/999", sku="EXTRA")
    with responses.RequestsMock() as mock:
        shop = FakeShopifyGraphQL(mock, {"OrderById": {"data": {"order": node}}, "OrderLineItems": {"data": {
            "order": {"lineItems": {"nodes": [extra], "pageInfo": {"hasNextPage": False, "endCursor": None}}}}}})
        raw = make_provider().fetch_order("450789469")
    assert shop.calls[0][1] == {"id": "gid://shopify/Order/450789469"}
    assert shop.calls[1][1] == {"id": "gid://shopify/Order/450789469", "after": "L1"}
    assert [line.sku for line in Provider.normalize(raw).lines] == ["IPOD2008RED", "EXTRA"]


def test_bad_token_is_a_permanent_error_and_connecting_with_it_a_field_error():
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, GRAPHQL, status=401, json={"errors": "[API] Invalid API key or access token "
                                                                      "(unrecognized login or wrong password)"})
        with pytest.raises(PermanentChannelError):
            make_provider().fetch_order("1")
        assert make_provider().connection_errors() == {"accessToken": "Shopify refused these credentials (HTTP 401)."}


def test_client_credentials_token_is_fetched_once_for_every_worker_and_renewed_after_a_401(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    config = {"shopDomain": SHOP, "clientId": "client-1", "clientSecret": "secret-1", "apiVersion": "2026-10"}
    granted = iter(["shpat_first", "shpat_second"])

    def token(request):
        assert parse_qs(request.body) == {"grant_type": ["client_credentials"], "client_id": ["client-1"],
                                          "client_secret": ["secret-1"]}
        return 200, {}, json.dumps({**fixture("shopify", "client_credentials_token.json"),
                                    "access_token": next(granted)})

    shop_answer = {"data": {"shop": {"myshopifyDomain": SHOP}}}
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, f"{BASE}/admin/oauth/access_token", callback=token)
        shop = FakeShopifyGraphQL(mock, {"ShopIdentity": shop_answer})
        workers = [Provider(config, http=ChannelHttpClient(BASE)) for _ in range(2)]
        assert all(worker.connection_errors() == {} for worker in workers)
        shop.expire_next = True
        workers[0].graphql(queries.SHOP)
    assert [call[2] for call in shop.calls] == ["shpat_first", "shpat_first", "shpat_first", "shpat_second"]
    assert shop.calls[2][0] == "expired"
    assert workers[1].webhook_secret == "secret-1"   # Dev Dashboard apps sign webhooks with the client secret


def test_a_response_in_another_api_version_is_a_warning_on_the_channel(caplog):
    with responses.RequestsMock() as mock:
        FakeShopifyGraphQL(mock, {"ShopIdentity": {"data": {"shop": {"myshopifyDomain": SHOP}}}}, version="2026-01",
                           url=f"{BASE}/admin/api/2025-01/graphql.json")
        provider = make_provider(apiVersion="2025-01")
        provider.graphql(queries.SHOP)
    assert provider.warnings == ["Shopify served API version 2026-01 instead of the requested 2025-01: set the "
                                 "channel's apiVersion to a supported version"]
    assert "2026-01" in caplog.text


def test_config_validation_names_missing_keys_and_a_malformed_version():
    assert Provider.validate_config({}) == {
        "shopDomain": "This field is required.",
        "accessToken": "Give an Admin API access token, or the app's client id and client secret."}
    assert Provider.validate_config(copy.deepcopy(CONFIG)) == {}
    assert Provider.validate_config({"shopDomain": SHOP, "clientId": "x", "clientSecret": "y"}) == {}
    assert set(Provider.validate_config({"shopDomain": SHOP, "clientId": "x"})) == {"clientSecret"}
    assert set(Provider.validate_config({**CONFIG, "apiVersion": "2026-13"})) == {"apiVersion"}
    assert Provider(copy.deepcopy({**CONFIG, "apiVersion": None})).api_version == "2026-10"


# --- writeback: fulfillment orders and fulfillmentCreate ---------------------------------------------------
def gql_fulfillment_order(rest: dict, *, third_party: bool = False) -> dict:
    """A published REST fulfillment order in GraphQL's shape."""
    return {"id": f"gid://shopify/FulfillmentOrder/{rest['id']}", "status": rest["status"].upper(),
            "requestStatus": rest["request_status"].upper(),
            "supportedActions": [{"action": action.upper()} for action in rest["supported_actions"]],
            "assignedLocation": {"name": (rest.get("assigned_location") or {}).get("name"), "location": {
                "id": f"gid://shopify/Location/{rest['assigned_location_id']}", "isFulfillmentService": third_party,
                "fulfillmentService": {"handle": "shipwire", "type": "THIRD_PARTY"} if third_party else None}},
            "lineItems": {"nodes": [{"id": f"gid://shopify/FulfillmentOrderLineItem/{line['id']}",
                                     "remainingQuantity": line["fulfillable_quantity"],
                                     "totalQuantity": line["quantity"],
                                     "lineItem": {"id": f"gid://shopify/LineItem/{line['line_item_id']}"}}
                                    for line in rest["line_items"]]}}


def merchant_fo(line_item_id: int = 518995019, quantity: int = 1) -> dict:
    rest = fixture("shopify", "fulfillment_order_single.json")["fulfillment_order"]
    rest["line_items"][0].update(line_item_id=line_item_id, fulfillable_quantity=quantity, quantity=quantity)
    return gql_fulfillment_order(rest)


def third_party_fo() -> dict:
    """The published fulfillment_orders.json one: submitted to Shipwire, a fulfillment service, which ships it."""
    return gql_fulfillment_order(fixture("shopify", "fulfillment_orders.json")["fulfillment_orders"][0],
                                 third_party=True)


def fulfillment_orders(*fos, fulfillments=()) -> dict:
    return {"data": {"order": {"id": "gid://shopify/Order/450789469", "fulfillmentOrders": {"nodes": list(fos)},
                               "fulfillments": list(fulfillments)}}}


def created(fulfillment_id=255858046, number="1Z001985YW99744790") -> dict:
    return {"data": {"fulfillmentCreate": {"fulfillment": {
        "id": f"gid://shopify/Fulfillment/{fulfillment_id}", "status": "SUCCESS",
        "trackingInfo": [{"company": "UPS", "number": number, "url": None}]}, "userErrors": []}}}


def _writeback(status=CommonStatus.SHIPPED, **extra) -> WritebackRequest:
    order = Provider.normalize(shopify_order("order.json"))
    return WritebackRequest(channel_order_id="450789469", status=status, lines=order.lines, raw={}, **extra)


def test_shipped_fulfils_only_the_merchants_own_fulfillment_orders_with_tracking():
    with responses.RequestsMock() as mock:
        shop = FakeShopifyGraphQL(mock, {"FulfillmentOrdersOfOrder": fulfillment_orders(merchant_fo(),
                                                                                        third_party_fo()),
                                         "FulfillmentCreate": created()})
        result = make_provider().write_back(_writeback(
            tracking_number="1Z001985YW99744790", carrier="ups",
            tracking_url="https://www.ups.com/track?tracknum=1Z001985YW99744790"))
    assert shop.calls[0][1] == {"id": "gid://shopify/Order/450789469"}
    sent = shop.calls[1][1]["fulfillment"]
    assert sent == {
        "lineItemsByFulfillmentOrder": [{
            "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/2558888935587",
            "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/7118028439715",
                                           "quantity": 1}]}],
        "notifyCustomer": True,
        "trackingInfo": {"number": "1Z001985YW99744790", "company": "UPS",
                         "url": "https://www.ups.com/track?tracknum=1Z001985YW99744790"}}
    assert (result.channel_reference, result.response_code) == ("255858046", 200)


def test_only_third_party_fulfillment_orders_open_is_a_clear_error_not_a_fulfillment():
    with responses.RequestsMock() as mock:
        shop = FakeShopifyGraphQL(mock, {"FulfillmentOrdersOfOrder": fulfillment_orders(third_party_fo())})
        with pytest.raises(PermanentChannelError, match="fulfils itself"):
            make_provider().write_back(_writeback(tracking_number="1Z1"))
    assert [name for name, _, _ in shop.calls] == ["FulfillmentOrdersOfOrder"]


def test_shipped_when_already_fulfilled_updates_the_tracking_instead():
    old = {"id": "gid://shopify/Fulfillment/255858046", "status": "SUCCESS", "createdAt": "2024-04-02T08:59:11-05:00",
           "trackingInfo": [{"company": "UPS", "number": "OLD", "url": None}]}
    with responses.RequestsMock() as mock:
        shop = FakeShopifyGraphQL(mock, {"FulfillmentOrdersOfOrder": fulfillment_orders(fulfillments=[old]),
                                         "FulfillmentTrackingInfoUpdate": {"data": {"fulfillmentTrackingInfoUpdate": {
                                             "fulfillment": {"id": old["id"]}, "userErrors": []}}}})
        result = make_provider().write_back(_writeback(tracking_number="NEW123", carrier="Acme Freight"))
    assert shop.calls[1][1] == {"fulfillmentId": "gid://shopify/Fulfillment/255858046",
                                "trackingInfoInput": {"number": "NEW123", "company": "Acme Freight"},
                                "notifyCustomer": False}
    assert result.channel_reference == "255858046"


def test_delivered_fulfils_then_creates_a_delivered_event():
    with responses.RequestsMock() as mock:
        shop = FakeShopifyGraphQL(mock, {"FulfillmentOrdersOfOrder": fulfillment_orders(merchant_fo()),
                                         "FulfillmentCreate": created(77),
                                         "FulfillmentEventCreate": {"data": {"fulfillmentEventCreate": {
                                             "fulfillmentEvent": {"id": "gid://shopify/FulfillmentEvent/1",
                                                                  "status": "DELIVERED"}, "userErrors": []}}}})
        make_provider().write_back(_writeback(CommonStatus.DELIVERED, tracking_number="1Z1"))
    assert shop.calls[2][1] == {"fulfillmentEvent": {"fulfillmentId": "gid://shopify/Fulfillment/77",
                                                     "status": "DELIVERED"}}


def test_cancelled_calls_order_cancel():
    with responses.RequestsMock() as mock:
        shop = FakeShopifyGraphQL(mock, {"OrderCancel": {"data": {"orderCancel": {
            "job": {"id": "gid://shopify/Job/1", "done": False}, "orderCancelUserErrors": []}}}})
        result = make_provider().write_back(_writeback(CommonStatus.CANCELLED))
    assert shop.calls[0][1] == {"orderId": "gid://shopify/Order/450789469", "reason": "OTHER", "refund": False,
                                "restock": True, "notifyCustomer": False}
    assert result.channel_reference == "450789469"


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


def test_user_errors_are_permanent_and_a_5xx_retryable():
    refused = {"data": {"fulfillmentCreate": {"fulfillment": None, "userErrors": [
        {"field": ["fulfillment"], "message": "Invalid fulfillment order line item quantity requested."}]}}}
    with responses.RequestsMock() as mock:
        FakeShopifyGraphQL(mock, {"FulfillmentOrdersOfOrder": fulfillment_orders(merchant_fo()),
                                  "FulfillmentCreate": refused})
        with pytest.raises(PermanentChannelError, match="quantity requested"):
            make_provider().write_back(_writeback(tracking_number="1Z1"))
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, GRAPHQL, status=503)
        with pytest.raises(RetryableChannelError):
            make_provider().write_back(_writeback(tracking_number="1Z1"))


@pytest.mark.parametrize(("typed", "sent"), [("ups", "UPS"), ("Royal Mail", "Royal Mail"), ("royal_mail", "Royal Mail"),
                                             ("  dhl  express ", "DHL Express"), ("Acme Freight", "Acme Freight")])
def test_carrier_names_get_shopifys_spelling_and_any_other_company_is_accepted(typed, sent):
    assert Provider.accepted_carriers() is None
    assert Provider.carrier_code(typed) == sent


# --- webhook registration (GraphQL webhookSubscriptions) -------------------------------------------------
def test_register_webhooks_creates_each_missing_order_topic_once():
    callback = "https://hub.example/upstream/webhooks/shopify/orders?channel=main&org=acme"
    existing = {"data": {"webhookSubscriptions": {"nodes": [
        {"id": "gid://shopify/WebhookSubscription/4759306", "topic": "ORDERS_CREATE", "uri": callback},
        {"id": "gid://shopify/WebhookSubscription/1", "topic": "ORDERS_UPDATED", "uri": "https://else.example/h"}],
        "pageInfo": {"hasNextPage": False, "endCursor": None}}}}
    created_ids = iter(range(100, 200))

    def create(variables):
        return {"data": {"webhookSubscriptionCreate": {"webhookSubscription": {
            "id": f"gid://shopify/WebhookSubscription/{next(created_ids)}", "topic": variables["topic"],
            "uri": variables["webhookSubscription"]["uri"]}, "userErrors": []}}}

    with responses.RequestsMock() as mock:
        shop = FakeShopifyGraphQL(mock, {"WebhookSubscriptions": existing, "WebhookSubscriptionCreate": create})
        registered = make_provider().register_webhooks(callback)
    posted = [variables for name, variables, _ in shop.calls if name == "WebhookSubscriptionCreate"]
    assert [p["topic"] for p in posted] == ["ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_CANCELLED", "ORDERS_FULFILLED",
                                            "ORDERS_PARTIALLY_FULFILLED"]
    assert all(p["webhookSubscription"] == {"uri": callback, "format": "JSON"} for p in posted)
    assert registered[0] == {"id": "gid://shopify/WebhookSubscription/4759306", "topic": "orders/create",
                             "address": callback}
    assert len(registered) == 6


# --- compliance webhooks ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("topic", "name", "expected"), [
    ("customers/redact", "compliance_customers_redact.json",
     {"kind": "customer_redact", "customer_id": "191167", "customer_email": "john@example.com",
      "order_ids": ["299938", "280263", "220458"]}),
    ("customers/data_request", "compliance_customers_data_request.json",
     {"kind": "data_request", "customer_id": "191167", "data_request_id": "9999",
      "order_ids": ["299938", "280263", "220458"]}),
    ("shop/redact", "compliance_shop_redact.json", {"kind": "shop_redact", "shop_id": "954889", "order_ids": []}),
])
def test_compliance_topics_parse_into_a_request_and_no_orders(topic, name, expected):
    body = fixture_bytes("shopify", name)
    provider = make_provider()
    provider.verify_webhook(webhook(body, **{"X-Shopify-Topic": topic}))
    event = provider.parse_webhook(webhook(body, **{"X-Shopify-Topic": topic}))
    assert (event.orders, event.order_refs) == ([], [])
    assert {key: event.compliance[key] for key in expected} == expected


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
    lines = [line for line in Provider.normalize(shopify_order("order_python_api_authorized.json")).lines
             if line.channel_line_id in line_item_ids]
    return WritebackRequest(channel_order_id="450789469", status=CommonStatus.SHIPPED, lines=lines, raw={},
                            tracking_number=tracking, carrier="ups", parcel=True)


def test_a_parcel_fulfils_only_its_fulfillment_order_line_items_and_quantities():
    two_lines = merchant_fo(466157049, 1)
    two_lines["lineItems"]["nodes"].append({"id": "gid://shopify/FulfillmentOrderLineItem/2",
                                            "remainingQuantity": 1, "totalQuantity": 1,
                                            "lineItem": {"id": "gid://shopify/LineItem/518995019"}})
    with responses.RequestsMock() as mock:
        shop = FakeShopifyGraphQL(mock, {"FulfillmentOrdersOfOrder": fulfillment_orders(two_lines, third_party_fo()),
                                         "FulfillmentCreate": created()})
        result = make_provider().write_back(_parcel("466157049", "703073504"))  # 703073504 is not open
    assert shop.calls[1][1]["fulfillment"]["lineItemsByFulfillmentOrder"] == [{
        "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/2558888935587",
        "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/7118028439715", "quantity": 1}]}]
    assert shop.calls[1][1]["fulfillment"]["trackingInfo"] == {"number": "1ZPARCEL", "company": "UPS"}
    assert "not open on Shopify" in result.request_summary and "703073504" in result.request_summary


def test_a_parcel_with_nothing_open_never_moves_another_fulfillments_tracking():
    first = {"id": "gid://shopify/Fulfillment/255858046", "status": "SUCCESS", "createdAt": "2024-04-02T08:59:11Z",
             "trackingInfo": [{"company": "UPS", "number": "FIRST-PARCEL", "url": None}]}
    with responses.RequestsMock() as mock:
        shop = FakeShopifyGraphQL(mock, {"FulfillmentOrdersOfOrder": fulfillment_orders(fulfillments=[first])})
        with pytest.raises(PermanentChannelError, match="no fulfillment has tracking"):
            make_provider().write_back(_parcel("466157049", tracking="SECOND-PARCEL"))
    assert [name for name, _, _ in shop.calls] == ["FulfillmentOrdersOfOrder"]   # no tracking update
