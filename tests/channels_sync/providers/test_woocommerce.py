"""WooCommerce provider: every fixture normalized against values read by hand, the wire mocked with `responses`."""

from __future__ import annotations

import base64
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
from channels_sync.providers.errors import PermanentChannelError, WebhookRejected
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.woocommerce import Provider
from tests.channels_sync.providers.amazon_ebay_fixtures import isolated_tokens_and_buckets  # noqa: F401
from tests.channels_sync.providers.fixtures import fixture, fixture_bytes

STORE = "https://example.com"
API = f"{STORE}/wp-json/wc/v3"
SECRET = "woo-webhook-secret"
CONFIG = {"baseUrl": STORE + "/", "consumerKey": "ck_test", "consumerSecret": "cs_test"}
BASIC = "Basic " + base64.b64encode(b"ck_test:cs_test").decode()


def make_provider(sleeps: list | None = None, **config) -> Provider:
    http = ChannelHttpClient(STORE, sleep=(sleeps.append if sleeps is not None else lambda s: None))
    return Provider({**CONFIG, **config}, webhook_secret=SECRET, http=http)


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook(body: bytes, **headers) -> WebhookRequest:
    base = {"X-WC-Webhook-Source": STORE + "/", "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "updated", "X-WC-Webhook-ID": "141",
            "X-WC-Webhook-Delivery-ID": "6c1b3c6e7c0b4f0e", "X-WC-Webhook-Signature": sign(body)}
    base.update(headers)
    return WebhookRequest(headers={k: v for k, v in base.items() if v is not None}, body=body,
                          query={"channel": "woo"}, url="https://hub.example/upstream/webhooks/woocommerce/orders")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def woo(name: str, index: int | None = None) -> dict:
    data = fixture("woocommerce", name)
    return data[index] if index is not None else data


JOHN = Address(name="John Doe", company=None, line1="969 Market", line2=None, city="San Francisco", region="CA",
               postal_code="94103", country="US", phone=None)
JOAO = Address(name="João Silva", company=None, line1="Av. Brasil, 432", line2=None, city="Rio de Janeiro",
               region="RJ", postal_code="12345-000", country="BR", phone=None)
EXPECTED = {
    ("order.json", None): dict(
        channel_order_id="727", channel_order_number="727", status=CommonStatus.PROCESSING, raw_status="processing",
        currency="USD", created_at=utc(2017, 3, 22, 19, 28, 2), updated_at=utc(2017, 3, 22, 19, 28, 8),
        subtotal=Decimal("18.00"), tax=Decimal("1.35"), shipping=Decimal("10.00"), grand_total=Decimal("29.35"),
        customer_email="john.doe@example.com", customer_name="John Doe", shipping_address=JOHN,
        tracking_number=None,
        lines=[(None, "93", 2, Decimal("3.00"), "Woo Single #1", "315"),
               ("Bar3", "23", 1, Decimal("12.00"), "Ship Your Idea – Color: Black, Size: M Test", "316")]),
    ("orders.json", 0): dict(channel_order_id="727", status=CommonStatus.PROCESSING, grand_total=Decimal("29.35")),
    ("orders.json", 1): dict(
        channel_order_id="723", status=CommonStatus.SHIPPED, raw_status="completed",
        created_at=utc(2017, 3, 21, 19, 16), updated_at=utc(2017, 3, 21, 19, 54, 51),
        subtotal=Decimal("29.00"), tax=Decimal("0.00"), shipping=Decimal("10.00"), grand_total=Decimal("39.00"),
        customer_email="joao.silva@example.com", customer_name="João Silva", shipping_address=JOAO),
    ("order_completed_after_update.json", None): dict(
        channel_order_id="727", status=CommonStatus.SHIPPED, raw_status="completed",
        updated_at=utc(2017, 3, 22, 19, 30, 35), grand_total=Decimal("29.35")),
    ("order_completed_with_refunds.json", None): dict(
        channel_order_id="723", status=CommonStatus.SHIPPED, grand_total=Decimal("39.00"),
        lines=[(None, "87", 1, Decimal("9.00"), "Woo Album #2", "311"),
               (None, "34", 1, Decimal("20.00"), "Woo Ninja", None)]),
    ("order_pending_batch_created.json", None): dict(
        channel_order_id="728", status=CommonStatus.PENDING, raw_status="pending",
        created_at=utc(2017, 3, 22, 19, 33, 34), subtotal=Decimal("30.00"), tax=Decimal("2.25"),
        shipping=Decimal("30.00"), grand_total=Decimal("62.25")),
    ("order_processing_batch_created.json", None): dict(
        channel_order_id="729", status=CommonStatus.PROCESSING, updated_at=utc(2017, 3, 22, 19, 33, 47),
        subtotal=Decimal("32.00"), tax=Decimal("2.40"), shipping=Decimal("20.00"), grand_total=Decimal("54.40")),
    ("order_refunded.json", None): dict(
        channel_order_id="609", status=CommonStatus.REFUNDED, raw_status="refunded",
        created_at=utc(2017, 8, 24, 20, 56, 57), updated_at=utc(2017, 9, 20, 20, 27, 11),
        subtotal=Decimal("180.00"), tax=Decimal("0.00"), shipping=Decimal("43.71"), grand_total=Decimal("223.71"),
        customer_email="julia.amosova@gmail.com", customer_name="Sara Doe",
        shipping_address=Address(name="Sara Doe", company="South Estate, LLC", line1="500 Ground St", line2=None,
                                 city="Los Angeles", region="CA", postal_code="90210", country="US", phone=None),
        lines=[(None, "379", 2, Decimal("90.00"), "Yellow Pants (H&M)", "667")]),
    ("order_on_hold_templated_dates.json", None): dict(
        channel_order_id="2789", status=CommonStatus.PENDING, raw_status="on-hold",
        created_at=utc(1970, 1, 1), updated_at=utc(1970, 1, 1),  # the published dates are template text
        subtotal=Decimal("110.00"), tax=Decimal("0.00"), shipping=Decimal("0.00"), grand_total=Decimal("1310.00"),
        customer_email="yzqoimajgfue@abbuzz.com", customer_name="Mira Workman",
        shipping_address=Address(name="bbbbb bbbbb", company="bbbbb", line1="74 Eastbourne Rd", line2=None,
                                 city="ROBOROUGH", region=None, postal_code="EX14 5HN", country="GB",
                                 phone="078 1369 7987")),
}


@pytest.mark.parametrize(("name", "index"), sorted(EXPECTED, key=str))
def test_every_fixture_normalizes_to_the_values_in_the_file(name, index):
    order = Provider.normalize(woo(name, index))
    expected = dict(EXPECTED[(name, index)])
    lines = expected.pop("lines", None)
    for field, value in expected.items():
        assert getattr(order, field) == value, field
    if lines is not None:
        got = [(ln.sku, ln.channel_sku, ln.quantity, ln.unit_price, ln.name, ln.channel_line_id) for ln in order.lines]
        for actual, wanted in zip(got, lines, strict=True):
            assert actual[:5] == wanted[:5]
            assert wanted[5] is None or actual[5] == wanted[5]


def test_unmapped_fields_land_in_metadata():
    order = Provider.normalize(woo("orders.json", 1))
    meta = order.channel_metadata
    assert meta["payment_method"] == "bacs"
    assert meta["refunded_total"] == "19.00"       # refunds -10.00 and -9.00
    assert [r["id"] for r in meta["refunds"]] == [726, 724]
    assert meta["shipping_lines"][0]["method_id"] == "flat_rate:25"


def test_templated_dates_are_reported_not_fatal():
    meta = Provider.normalize(woo("order_on_hold_templated_dates.json")).channel_metadata
    assert meta["unparsable_dates"]["date_modified_gmt"] == "{{currentYear}}-10-31T13:13:57"


# (status map: tests/channels_sync/providers/test_normalizers_pure.py, which runs without Django)


# --- orders that are not in the fixtures ----------------------------------------------------------------
def test_variation_guest_without_customer_and_virtual_order_without_shipping_address():
    raw = woo("order.json")
    raw["billing"] = {k: "" for k in raw["billing"]}
    raw["shipping"] = {k: "" for k in raw["shipping"]}
    raw["shipping_lines"], raw["shipping_total"] = [], "0.00"
    order = Provider.normalize(raw)
    assert (order.customer_email, order.customer_name, order.shipping_address) == (None, None, None)
    assert order.shipping == Decimal("0.00")


def test_variation_other_currency_zero_tax_discount_and_missing_sku():
    raw = woo("order_processing_batch_created.json")
    raw.update(currency="eur", total_tax="0.00", cart_tax="0.00", discount_total="3.20", total="48.80")
    raw["line_items"][0].update(sku="", subtotal="12.00", total="10.80", price=10.8)
    raw["line_items"][1].update(subtotal="20.00", total="18.00", quantity=3, variation_id=0, product_id=55)
    order = Provider.normalize(raw)
    assert (order.currency, order.tax, order.subtotal, order.grand_total) == (
        "EUR", Decimal("0.00"), Decimal("32.00"), Decimal("48.80"))
    assert order.lines[0].sku is None
    assert order.lines[0].unit_price == Decimal("12.00")          # before the coupon, as Woo lists it
    assert (order.lines[1].channel_sku, order.lines[1].unit_price) == ("55", Decimal("6.67"))  # 20.00 / 3
    assert order.channel_metadata["discount_total"] == "3.20"
    assert order.discount == Decimal("3.20")                       # the one money model's discount


def test_variation_shipment_tracking_extension_gives_the_tracking_number():
    raw = woo("order_completed_after_update.json")
    raw["meta_data"].append({"id": 1, "key": "_wc_shipment_tracking_items", "value": [
        {"tracking_provider": "ups", "tracking_number": "1Z999AA10123456784", "date_shipped": "1490140800"}]})
    order = Provider.normalize(raw)
    assert order.tracking_number == "1Z999AA10123456784"
    assert order.channel_metadata["tracking_provider"] == "ups"


# --- webhooks -----------------------------------------------------------------------------------------------
def test_valid_signature_is_accepted_and_the_order_parsed():
    body = fixture_bytes("woocommerce", "order.json")
    provider = make_provider()
    provider.verify_webhook(webhook(body))
    event = provider.parse_webhook(webhook(body))
    assert (event.delivery_id, event.topic) == ("6c1b3c6e7c0b4f0e", "order.updated")
    assert event.orders[0]["id"] == 727


@pytest.mark.parametrize("signature", [None, "", "AAAA", sign(b"{}"), sign(b"{}", "other-secret")])
def test_invalid_or_missing_signature_is_rejected(signature):
    body = fixture_bytes("woocommerce", "order.json")
    with pytest.raises(WebhookRejected):
        make_provider().verify_webhook(webhook(body, **{"X-WC-Webhook-Signature": signature}))


def test_body_changed_by_one_byte_is_rejected():
    body = fixture_bytes("woocommerce", "order.json")
    request = webhook(body)
    tampered = body.replace(b'"total": "29.35"', b'"total": "29.36"', 1)
    assert tampered != body and len(tampered) == len(body)
    with pytest.raises(WebhookRejected):
        make_provider().verify_webhook(WebhookRequest(request.headers, tampered, request.query, request.url))


def test_the_creation_ping_is_answered_without_any_order():
    ping = WebhookRequest(headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"webhook_id=141",
                          query={"channel": "woo"}, url="https://hub.example/upstream/webhooks/woocommerce/orders")
    provider = make_provider()
    assert provider.webhook_challenge(ping) == {"ok": True, "webhookId": "141"}
    provider.verify_webhook(ping)          # accepted: it carries no data, and a refused ping makes Woo re-ping
    event = provider.parse_webhook(ping)
    assert (event.delivery_id, event.topic, event.orders, event.order_refs) == ("ping-141", "ping", [], [])


def test_a_ping_lookalike_with_a_bad_signature_or_extra_data_is_rejected():
    provider = make_provider()
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(webhook(b"webhook_id=141", **{"X-WC-Webhook-Signature": "forged"}))
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(WebhookRequest({}, b"webhook_id=141&id=727", {}, "https://hub.example/"))


def test_order_deleted_is_fetched_by_reference():
    body = b'{"id": 727}'
    event = make_provider().parse_webhook(webhook(body, **{"X-WC-Webhook-Topic": "order.deleted"}))
    assert (event.orders, event.order_refs) == ([], ["727"])


def test_identity_is_the_source_header():
    assert Provider.webhook_identity(webhook(b"{}")) == STORE + "/"
    assert Provider.identity_config_key == "baseUrl"


# --- fetching: oldest modification first, the window moving past what was read, a 429 in the middle ----------
def _store(orders: list[dict], seen: list[dict], throttle_on_call: int | None = None):
    """A WooCommerce orders endpoint: modified_after/before (exclusive, whole seconds), orderby=modified asc,
    page/per_page with X-WP-TotalPages, one 429 on the given call."""
    def answer(request):
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        seen.append(query)
        assert request.headers["Authorization"] == BASIC
        if len(seen) == throttle_on_call:
            return 429, {"Retry-After": "3"}, json.dumps({"code": "rest_too_many_requests"})
        rows = sorted((o for o in orders
                       if ("modified_after" not in query or o["date_modified_gmt"] > query["modified_after"])
                       and ("modified_before" not in query or o["date_modified_gmt"] < query["modified_before"])),
                      key=lambda o: (o["date_modified_gmt"], o["id"]))
        size, page = int(query["per_page"]), int(query["page"])
        pages = max(1, -(-len(rows) // size))
        return 200, {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)}, json.dumps(
            rows[(page - 1) * size: page * size])
    return answer


def _orders_modified_at(*stamps: str) -> list[dict]:
    base = woo("order.json")
    return [{**base, "id": 700 + index, "date_modified_gmt": stamp} for index, stamp in enumerate(stamps)]


def test_fetch_orders_reads_oldest_modification_first_moving_the_window_and_waits_out_a_429(monkeypatch):
    monkeypatch.setattr("channels_sync.providers.woocommerce.client.PER_PAGE", 2)
    orders = _orders_modified_at("2017-03-21T10:00:00", "2017-03-21T10:00:05", "2017-03-21T10:00:05",
                                 "2017-03-22T08:00:00", "2017-03-23T09:30:00")
    seen: list[dict] = []
    sleeps: list[float] = []
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, f"{API}/orders", callback=_store(orders, seen, throttle_on_call=2))
        raws = list(make_provider(sleeps).fetch_orders(utc(2017, 3, 1), utc(2017, 10, 1, 12, 30)))
    assert [r["id"] for r in raws] == [700, 701, 702, 703, 704]
    assert seen[0] == {"per_page": "2", "page": "1", "orderby": "modified", "order": "asc", "dates_are_gmt": "true",
                       "modified_after": "2017-03-01T00:00:00", "modified_before": "2017-10-01T12:30:00"}
    # After a full page the window restarts one second before the last modification read (its ties included);
    # a page that moves it no further steps to the next page number.
    assert [(q["modified_after"], q["page"]) for q in seen[2:]] == [("2017-03-21T10:00:04", "1"),
                                                                     ("2017-03-21T10:00:04", "2")]
    assert sleeps == [3.0]


def test_a_full_page_of_one_second_steps_to_the_next_page_number_and_misses_nothing(monkeypatch):
    monkeypatch.setattr("channels_sync.providers.woocommerce.client.PER_PAGE", 2)
    orders = _orders_modified_at(*(["2017-03-21T10:00:05"] * 5 + ["2017-03-21T10:00:06"]))
    seen: list[dict] = []
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, f"{API}/orders", callback=_store(orders, seen))
        raws = list(make_provider().fetch_orders(utc(2017, 3, 1), None))
    assert sorted(r["id"] for r in raws) == [700, 701, 702, 703, 704, 705]
    assert len(raws) == 6 and len(seen) < 8


def test_an_order_modified_between_pages_is_neither_skipped_nor_an_unchanged_one_lost(monkeypatch):
    """The flaw page numbers had: the first order read changes (leaves the window) before page 2 is asked;
    page 2 of the shrunk window would start one order later. Restarting from the last modification does not."""
    monkeypatch.setattr("channels_sync.providers.woocommerce.client.PER_PAGE", 2)
    orders = _orders_modified_at("2017-03-21T10:00:00", "2017-03-21T11:00:00", "2017-03-21T12:00:00",
                                 "2017-03-21T13:00:00")
    seen: list[dict] = []
    store = _store(orders, seen)

    def changing(request):
        answer = store(request)
        if len(seen) == 1:
            orders[0]["date_modified_gmt"] = "2017-12-01T00:00:00"   # after the window's end
        return answer

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, f"{API}/orders", callback=changing)
        raws = list(make_provider().fetch_orders(utc(2017, 3, 1), utc(2017, 10, 1)))
    assert [r["id"] for r in raws] == [700, 701, 702, 703]


def test_fetch_orders_without_total_pages_header_stops_on_a_short_page():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders", json=[woo("order.json")])
        raws = list(make_provider().fetch_orders(None, None, status="pending"))
        query = parse_qs(urlsplit(mock.calls[0].request.url).query)
        assert len(raws) == 1 and len(mock.calls) == 1
    assert query["status"] == ["pending,on-hold"] and "modified_after" not in query


def test_query_string_auth_for_hosts_that_strip_the_header():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders/727", json=woo("order.json"))
        make_provider(queryStringAuth=True).fetch_order("727")
        request = mock.calls[0].request
    assert "Authorization" not in request.headers
    assert parse_qs(urlsplit(request.url).query) == {"consumer_key": ["ck_test"], "consumer_secret": ["cs_test"]}


def test_wrong_keys_are_a_permanent_error():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/orders/727", status=401,
                 json={"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot view this resource."})
        with pytest.raises(PermanentChannelError):
            make_provider().fetch_order("727")


# --- writeback ---------------------------------------------------------------------------------------------
def _writeback(status=CommonStatus.SHIPPED, **extra) -> WritebackRequest:
    return WritebackRequest(channel_order_id="727", status=status, lines=[], raw={}, **extra)


TRACKING = "https://example.com/wp-json/wc-shipment-tracking/v3"


def _no_extension(mock):
    mock.add(responses.GET, f"{TRACKING}/orders/727/shipment-trackings", status=404,
             body=fixture_bytes("woocommerce", "wp_rest_no_route.json"))


def test_without_shipment_tracking_shipped_sets_completed_then_adds_a_customer_note_with_the_tracking():
    with responses.RequestsMock() as mock:
        _no_extension(mock)
        mock.add(responses.PUT, f"{API}/orders/727",
                 body=fixture_bytes("woocommerce", "order_completed_after_update.json"))
        mock.add(responses.POST, f"{API}/orders/727/notes", status=201,
                 body=fixture_bytes("woocommerce", "order_note.json"))
        result = make_provider().write_back(_writeback(tracking_number="1Z999AA10123456784", carrier="ups",
                                                       tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784"))
        put, note = (json.loads(call.request.body) for call in mock.calls[1:])
        assert mock.calls[1].request.headers["Authorization"] == BASIC
    assert put == {"status": "completed"}
    assert note["customer_note"] is True
    assert note["note"] == ("Shipped via UPS, tracking number 1Z999AA10123456784. "
                            "Track it at https://www.ups.com/track?tracknum=1Z999AA10123456784")
    assert (result.channel_reference, result.response_code) == ("281", 201)
    assert result.learned_config["shipmentTracking"] is False   # remembered on the channel by the service


@pytest.mark.usefixtures("isolated_tokens_and_buckets")   # the store's provider list is cached per store URL
def test_with_shipment_tracking_the_documented_item_is_posted_before_the_status():
    """The body is the published example's: a provider the store lists (matched case-insensitively), the number,
    the ship date as YYYY-MM-DD. The status goes second, so the Completed Order email carries the tracking."""
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{TRACKING}/orders/727/shipment-trackings", json=[])
        mock.add(responses.GET, f"{TRACKING}/shipment-trackings/providers",
                 body=fixture_bytes("woocommerce", "shipment_tracking_providers.json"))
        mock.add(responses.POST, f"{TRACKING}/orders/727/shipment-trackings", status=201,
                 json={"tracking_id": "b1a2", "tracking_provider": "USPS", "tracking_number": "9400111899560000000000"})
        mock.add(responses.PUT, f"{API}/orders/727", json=woo("order_completed_after_update.json"))
        result = make_provider(shipmentTracking=True).write_back(_writeback(
            tracking_number="9400111899560000000000", carrier="usps", ship_date=utc(2026, 7, 10, 18, 0)))
        methods = [(call.request.method, urlsplit(call.request.url).path) for call in mock.calls]
        posted = json.loads(mock.calls[2].request.body)
    assert methods[2:] == [("POST", "/wp-json/wc-shipment-tracking/v3/orders/727/shipment-trackings"),
                           ("PUT", "/wp-json/wc/v3/orders/727")]
    assert posted == fixture("woocommerce", "shipment_tracking_create_request.json")
    assert result.channel_reference == "b1a2" and result.learned_config == {}


def test_a_carrier_the_store_does_not_list_is_sent_as_the_documented_custom_provider():
    body = make_provider().tracking_item_body(
        _writeback(tracking_number="12345678", carrier="Example Courier", tracking_url="https://example.com/track/%1$s",
                   ship_date=utc(2026, 7, 10)), {"usps": "USPS"})
    assert body == fixture("woocommerce", "shipment_tracking_custom_create_request.json")


def test_without_tracking_only_the_status_is_sent():
    with responses.RequestsMock() as mock:
        mock.add(responses.PUT, f"{API}/orders/727", json=woo("order.json"))
        result = make_provider().write_back(_writeback(CommonStatus.CANCELLED))
        assert [c.request.method for c in mock.calls] == ["PUT"]
        assert json.loads(mock.calls[0].request.body) == {"status": "cancelled"}
    assert result.channel_reference == "727"


@pytest.mark.parametrize(("status", "woo_status"), [
    (CommonStatus.PENDING, "pending"), (CommonStatus.PROCESSING, "processing"),
    (CommonStatus.DELIVERED, "completed"), (CommonStatus.REFUNDED, "refunded"),
])
def test_every_common_status_has_a_woo_status(status, woo_status):
    with responses.RequestsMock() as mock:
        mock.add(responses.PUT, f"{API}/orders/727", json=woo("order.json"))
        make_provider().write_back(_writeback(status))
        assert json.loads(mock.calls[0].request.body) == {"status": woo_status}


def test_a_failed_status_update_adds_no_note():
    checked = datetime.now(UTC).isoformat()
    with responses.RequestsMock() as mock:
        mock.add(responses.PUT, f"{API}/orders/727", status=400, json={"code": "rest_invalid_param"})
        with pytest.raises(PermanentChannelError):
            make_provider(shipmentTracking=False, shipmentTrackingCheckedAt=checked).write_back(
                _writeback(tracking_number="1Z1"))
        assert len(mock.calls) == 1   # known to have no Shipment Tracking: not even asked


# --- webhook registration ------------------------------------------------------------------------------------
def test_register_webhooks_creates_missing_order_topics_with_our_secret():
    callback = "https://hub.example/upstream/webhooks/woocommerce/orders?channel=woo&org=acme"
    existing = fixture("woocommerce", "webhooks.json")  # other apps' webhooks: left alone
    existing.append({"id": 150, "topic": "order.created", "delivery_url": callback, "status": "active"})
    ids = iter(range(200, 300))

    def create(request):
        return 201, {}, json.dumps({**json.loads(request.body), "id": next(ids)})

    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/webhooks", json=existing)
        mock.add_callback(responses.POST, f"{API}/webhooks", callback=create)
        registered = make_provider().register_webhooks(callback)
        posted = [json.loads(c.request.body) for c in mock.calls if c.request.method == "POST"]
    assert [p["topic"] for p in posted] == ["order.updated", "order.deleted", "order.restored"]
    for body in posted:
        assert (body["delivery_url"], body["secret"], body["status"]) == (callback, SECRET, "active")
    assert registered[0] == {"id": "150", "topic": "order.created", "address": callback}
    assert [r["id"] for r in registered[1:]] == ["200", "201", "202"]


def test_config_requires_store_url_and_keys():
    assert set(Provider.validate_config({})) == {"baseUrl", "consumerKey", "consumerSecret"}


def test_a_host_rate_limit_is_opt_in_per_channel():
    from channels_sync.providers.ratelimit import BucketSpec

    assert Provider(CONFIG).http.rate_limiter is None
    limited = Provider({**CONFIG, "rateLimitPerSecond": 2, "rateLimitBurst": 5}).http
    assert limited.rate_limiter.specs == {"woocommerce": BucketSpec(rate=2.0, burst=5)}
    assert limited.base_url == STORE + "/"


# --- any order WooCommerce could send: optional parts dropped, blanked or nulled ------------------------------
OPTIONAL_ORDER_KEYS = ["billing", "shipping", "shipping_lines", "refunds", "meta_data", "date_modified_gmt",
                       "date_created_gmt", "number", "total_tax", "shipping_total", "coupon_lines", "status"]
OPTIONAL_LINE_KEYS = ["sku", "variation_id", "product_id", "name", "subtotal", "price"]
BASES = [("order.json", None), ("orders.json", 1), ("order_refunded.json", None),
         ("order_on_hold_templated_dates.json", None)]


@settings(max_examples=60, deadline=None)
@given(base=st.sampled_from(BASES),
       order_edits=st.dictionaries(st.sampled_from(OPTIONAL_ORDER_KEYS), st.sampled_from(["drop", None, ""])),
       line_edits=st.dictionaries(st.sampled_from(OPTIONAL_LINE_KEYS), st.sampled_from(["drop", None, ""])))
def test_orders_with_missing_or_empty_optional_parts_still_normalize(base, order_edits, line_edits):
    raw = woo(*base)
    for key, edit in order_edits.items():
        raw.pop(key, None) if edit == "drop" else raw.__setitem__(key, edit)
    for line in raw.get("line_items") or []:
        for key, edit in line_edits.items():
            line.pop(key, None) if edit == "drop" else line.__setitem__(key, edit)
    order = Provider.normalize(raw)
    assert order.channel_order_id == str(woo(*base)["id"])
    for amount in (order.subtotal, order.tax, order.shipping, order.grand_total):
        assert amount == amount.quantize(Decimal("0.01"))
    assert order.created_at.tzinfo is not None and order.status in CommonStatus
    assert all(line.sku is None or line.sku for line in order.lines)
