"""TikTok Shop provider: signing, fixtures normalized by hand, paging, 429 / token expiry, webhooks, ship."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache

from channels_sync.normalized import (
    Address,
    CommonStatus,
    WebhookRequest,
    WritebackRequest,
)
from channels_sync.providers import provider_class
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError, WebhookRejected
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.tiktok import Provider, sign_request, webhook_signature
from tests.channels_sync.providers.tiktok_walmart_fixtures import fixture, fixture_bytes

BASE = "https://tts.test"
AUTH = "https://auth.tts.test"
CONFIG = {"appKey": "68xu9ks5p4i8", "appSecret": "e59af819cc", "accessToken": "TTP_token_1",
          "shopCipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK", "shopId": "7494049642642441621", "baseUrl": BASE}
NOW = 1696909648


@pytest.fixture
def expiring_token():
    """A renewed access token is shared through the cache (keyed by host, app, shop and configured token):
    tests that renew one start from a token of their own, so no other test (or xdist worker) sees it."""
    token = f"TTP_expiring_{uuid.uuid4().hex[:12]}"
    yield token
    cache.delete(Provider({**CONFIG, "accessToken": token}).token_cache_key)


def make_provider(**overrides) -> Provider:
    sleeps: list[float] = []
    http = ChannelHttpClient(BASE, sleep=sleeps.append)
    provider = Provider({**CONFIG, **overrides}, http=http, clock=lambda: NOW)
    provider.sleeps = sleeps
    return provider


def envelope(data=None, code=0, message="Success"):
    return {"code": code, "message": message, "request_id": "202203070749000101890810281E8C70B7", "data": data or {}}


def query_of(call) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


def assert_signed(call, path: str, secret: str = CONFIG["appSecret"]):
    """Recompute the sign of a request as TikTok would, from what went over the wire."""
    query = query_of(call)
    body = call.request.body or b""
    body = body.decode() if isinstance(body, bytes) else body
    canonical = secret + path + "".join(f"{k}{query[k]}" for k in sorted(query) if k not in ("sign", "access_token"))
    canonical += body + secret
    expected = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    assert query["sign"] == expected
    assert query["app_key"] == CONFIG["appKey"]
    assert query["shop_cipher"] == CONFIG["shopCipher"]
    assert query["timestamp"] == str(NOW)


def order_with(**changes) -> dict:
    order = copy.deepcopy(fixture("tiktok", "get_order_detail_response.json")["data"]["orders"][0])
    order.update(changes)
    return order


# --- signing ---------------------------------------------------------------------------------------
def test_sign_matches_the_published_test_vectors():
    """SKIT's RequestSigningTests values (fixtures SOURCES.md): a GET, and a PUT whose body is signed."""
    params = {"app_key": "68xu9ks5p4i8", "timestamp": "1696909648", "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"}
    assert sign_request("e59af819cc", "/event/202309/webhooks", params) == (
        "ed58e1b5e59865c22a7b828c1cab65007441f43cc91a6cb2f2cdc638e0995a37")
    body = '{"event_type":"PACKAGE_UPDATE","address":"https://partner.tiktokshop.com"}'
    assert sign_request("e59af819cc", "/event/202309/webhooks", params, body) == (
        "701dd6deb2389fe4c469b89bd37fc56f96a6da6afeb4d01c9077a65169752fa7")


def test_sign_excludes_sign_and_access_token_and_sorts_the_rest():
    params = {"timestamp": 1625484268, "page_size": 20, "app_key": "123abc", "shop_cipher": "ROW_c",
              "sign": "old", "access_token": "tok"}
    by_hand = ("s3cr3t/order/202309/orders/searchapp_key123abcpage_size20shop_cipherROW_ctimestamp1625484268"
               '{"order_status":"UNPAID"}s3cr3t')
    expected = hmac.new(b"s3cr3t", by_hand.encode(), hashlib.sha256).hexdigest()
    assert sign_request("s3cr3t", "/order/202309/orders/search", params, b'{"order_status":"UNPAID"}') == expected


def test_registered_under_its_name_with_the_design_config_keys():
    cls = provider_class("tiktok")
    assert cls is Provider
    assert set(cls.required_config) == {"appKey", "appSecret", "accessToken", "shopCipher", "shopId"}
    assert {"appSecret", "accessToken"} <= set(cls.secret_config)
    assert cls.validate_config({"appKey": "k"}) == {key: "This field is required." for key in
                                                    ("appSecret", "accessToken", "shopCipher", "shopId")}
    assert Provider({}).base_url == "https://open-api.tiktokglobalshop.com"
    assert Provider({}).http.rate_limiter is not None  # the Redis bucket shared by all workers


# --- normalize: the three published orders, expectations written from the fixture by hand -------------
@pytest.mark.parametrize("name", ["get_order_detail_response.json", "get_order_detail_202507_response.json",
                                  "search_orders_response.json"])
def test_fixture_orders_normalize(name):
    order = Provider.normalize(fixture("tiktok", name)["data"]["orders"][0])
    assert order.channel_order_id == "576461413038785752"
    assert order.channel_order_number == "576461413038785752"
    assert order.status == CommonStatus.PENDING and order.raw_status == "UNPAID"
    assert order.currency == "IDR"
    assert (order.subtotal, order.shipping, order.tax, order.grand_total) == (
        Decimal("5000"), Decimal("5000"), Decimal("5000"), Decimal("5000"))
    assert order.created_at == datetime(2021, 4, 28, 12, 6, 1, tzinfo=UTC)     # 1619611561
    assert order.updated_at == datetime(2021, 4, 28, 14, 49, 15, tzinfo=UTC)   # 1619621355
    assert len(order.lines) == 1
    line = order.lines[0]
    assert (line.sku, line.channel_sku, line.quantity, line.unit_price, line.name, line.channel_line_id) == (
        "red_iphone_256", "2729382476852921560", 1, Decimal("0.01"), "Women's Winter Crochet Clothes",
        "577086512123755123")
    assert order.customer_email == "v2b2V5@chat.seller.tiktok.com"
    assert order.customer_name == "David Kong"
    assert order.tracking_number == "JX12345"
    address = order.shipping_address
    assert address.line1 == "TikTok 5800 bristol Pkwy"
    assert address.postal_code == "95110" and address.country == "US"
    assert address.phone == "(+1)213-***-1234"  # masked by TikTok, kept masked
    assert address.region is None  # district_info names only the country (L0)
    meta = order.channel_metadata
    assert meta["delivery_option_id"] == "7091146663229654785"
    assert meta["delivery_option_name"] == ("Standard Shipping" if name.startswith("search") else "Express shipping")
    assert meta["fulfillment_type"] == "FULFILLMENT_BY_SELLER" and meta["shipping_type"] == "TIKTOK"
    assert meta["package_ids"] == ["1152321127278713123"]
    assert meta["payment"]["product_tax"] == "21.3" and meta["payment"]["shipping_fee_tax"] == "11"


def test_202309_detail_blank_placeholders_and_no_post_town():
    order = Provider.normalize(fixture("tiktok", "get_order_detail_response.json")["data"]["orders"][0])
    # address_line3/4 are the literal '""' in this sample: absent, not text.
    assert order.shipping_address == Address(name="David Kong", line1="TikTok 5800 bristol Pkwy", line2="Suite 100",
                                             city=None, region=None, postal_code="95110", country="US",
                                             phone="(+1)213-***-1234")


def test_202507_detail_keeps_brazil_lines_and_uk_post_town():
    order = Provider.normalize(fixture("tiktok", "get_order_detail_202507_response.json")["data"]["orders"][0])
    assert order.shipping_address.line2 == "Suite 100, Vila Olímpia, Avenida Presidente Juscelino Kubitschek"
    assert order.shipping_address.city == "Ribbleton"
    assert order.channel_metadata["payment_method_code"] == "pm_pi_ccdc_visa_c_d"
    assert order.channel_metadata["payment"]["shipping_fee_cofunded_discount"] == "7"


def test_search_sample_has_blank_extra_lines_ignored():
    order = Provider.normalize(fixture("tiktok", "search_orders_response.json")["data"]["orders"][0])
    assert order.shipping_address.line2 == "Suite 100"  # address_line3/4 are " "
    assert order.shipping_address.city == "Ribbleton"


# --- normalize: variations the fixtures do not show ----------------------------------------------------
# (status map: tests/channels_sync/providers/test_normalizers_pure.py, which runs without Django)


def test_units_of_one_sku_become_one_line_with_a_quantity_and_other_skus_stay_apart():
    base = order_with()
    unit = base["line_items"][0]
    second = {**unit, "id": "577086512123755124"}
    other = {**unit, "id": "577086512123755125", "sku_id": "99", "seller_sku": "blue_case", "sale_price": "12.50",
             "product_name": "Case"}
    order = Provider.normalize({**base, "line_items": [unit, second, other]})
    assert [(line.sku, line.quantity, line.unit_price, line.channel_line_id) for line in order.lines] == [
        ("red_iphone_256", 2, Decimal("0.01"), "577086512123755123,577086512123755124"),
        ("blue_case", 1, Decimal("12.50"), "577086512123755125"),
    ]


def test_unpaid_order_without_recipient_or_email_invents_nothing():
    raw = order_with()
    for key in ("recipient_address", "buyer_email", "tracking_number"):
        raw.pop(key)
    for item in raw["line_items"]:
        item.pop("tracking_number")
    order = Provider.normalize(raw)
    assert order.shipping_address is None
    assert order.customer_name is None and order.customer_email is None
    assert order.tracking_number is None


def test_tax_from_parts_when_total_tax_is_absent_and_tracking_from_a_line():
    raw = order_with(tracking_number="")
    raw["payment"] = {"currency": "USD", "sub_total": "20.00", "shipping_fee": "4.99", "product_tax": "1.65",
                      "shipping_fee_tax": "0.35", "total_amount": "26.99"}
    raw["line_items"][0]["tracking_number"] = "1Z999AA10123456784"
    order = Provider.normalize(raw)
    assert (order.currency, order.subtotal, order.shipping, order.tax, order.grand_total) == (
        "USD", Decimal("20.00"), Decimal("4.99"), Decimal("2.00"), Decimal("26.99"))
    assert order.tracking_number == "1Z999AA10123456784"


def test_us_district_levels_give_state_and_city():
    raw = order_with()
    raw["recipient_address"]["district_info"] = [
        {"address_level_name": "country", "address_name": "United States", "address_level": "L0"},
        {"address_level_name": "State", "address_name": "California", "address_level": "L1"},
        {"address_level_name": "County", "address_name": "Santa Clara", "address_level": "L2"},
        {"address_level_name": "city", "address_name": "San Jose", "address_level": "L3"},
    ]
    address = Provider.normalize(raw).shipping_address
    assert (address.city, address.region) == ("San Jose", "California")


# --- fetching ---------------------------------------------------------------------------------------
def search_page(orders, next_token=""):
    return envelope({"next_page_token": next_token, "total_count": 3, "orders": orders})


@responses.activate
def test_fetch_pages_through_search_then_reads_details_signed():
    since, until = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    detail = fixture("tiktok", "get_order_detail_response.json")["data"]["orders"][0]
    token = "6AsPQsUMvH3RkchNUPPh22NROHkE0D8pmq/N5M1kHYcZmtRyv9aVrNv65W7Q6tFA+7D1ud64MPNz5OaT"
    responses.post(f"{BASE}/order/202309/orders/search", json=search_page([{"id": "1"}, {"id": "2"}], token))
    responses.get(f"{BASE}/order/202309/orders", json=envelope({"orders": [{**detail, "id": "1"},
                                                                           {**detail, "id": "2"}]}))
    responses.post(f"{BASE}/order/202309/orders/search", json=search_page([{"id": "3"}]))
    responses.get(f"{BASE}/order/202309/orders", json=envelope({"orders": [{**detail, "id": "3"}]}))

    orders = list(make_provider().fetch_orders(since, until))

    assert [order["id"] for order in orders] == ["1", "2", "3"]
    assert all(order["payment"]["currency"] == "IDR" for order in orders)  # the detail, not the summary
    first, detail_1, second, detail_2 = responses.calls
    for call in (first, second):
        assert_signed(call, "/order/202309/orders/search")
        assert json.loads(call.request.body) == {"update_time_ge": 1793491200, "update_time_lt": 1793577600}
        assert call.request.headers["x-tts-access-token"] == "TTP_token_1"
        assert call.request.headers["content-type"] == "application/json"
        assert query_of(call)["page_size"] == "100"
    assert "page_token" not in query_of(first)
    assert query_of(second)["page_token"] == token  # '/' and '+' survived the URL encoding
    assert "%2F" in second.request.url and "%2B" in second.request.url
    assert query_of(detail_1)["ids"] == "1,2" and query_of(detail_2)["ids"] == "3"
    assert_signed(detail_1, "/order/202309/orders")


@responses.activate
def test_details_are_read_fifty_ids_at_a_time():
    summaries = [{"id": str(n)} for n in range(60)]
    responses.post(f"{BASE}/order/202309/orders/search", json=search_page(summaries))
    responses.get(f"{BASE}/order/202309/orders", json=envelope({"orders": summaries[:50]}))
    responses.get(f"{BASE}/order/202309/orders", json=envelope({"orders": summaries[50:]}))
    assert len(list(make_provider().fetch_orders(None, None))) == 60
    ids = [query_of(call)["ids"].split(",") for call in responses.calls[1:]]
    assert [len(batch) for batch in ids] == [50, 10]


@responses.activate
def test_a_429_in_the_middle_is_waited_out_and_paging_continues():
    responses.post(f"{BASE}/order/202309/orders/search", json=search_page([{"id": "1"}], "next"))
    responses.post(f"{BASE}/order/202309/orders/search", status=429, headers={"Retry-After": "2"})
    responses.post(f"{BASE}/order/202309/orders/search", json=search_page([{"id": "2"}]))
    provider = make_provider(fetchDetails=False)
    assert [order["id"] for order in provider.fetch_orders(None, None)] == ["1", "2"]
    assert provider.sleeps == [2.0]


@responses.activate
def test_a_long_429_is_a_retryable_error():
    responses.post(f"{BASE}/order/202309/orders/search", status=429, headers={"Retry-After": "120"})
    with pytest.raises(RetryableChannelError) as caught:
        list(make_provider().fetch_orders(None, None))
    assert caught.value.retry_after == 120


@responses.activate
def test_expired_access_token_mid_run_is_refreshed_once_and_the_call_repeated(expiring_token):
    responses.post(f"{BASE}/order/202309/orders/search", json=search_page([{"id": "1"}], "next"))
    responses.post(f"{BASE}/order/202309/orders/search",
                   json=envelope(code=105002, message="Expired credentials"))
    responses.get(f"{AUTH}/api/v2/token/refresh", json={"code": 0, "message": "success", "data": {
        "access_token": "TTP_token_2", "access_token_expire_in": 1660556783, "refresh_token": "TTP_refresh_2"}})
    responses.post(f"{BASE}/order/202309/orders/search", json=search_page([{"id": "2"}]))
    provider = make_provider(fetchDetails=False, refreshToken="TTP_refresh_1", authUrl=AUTH,
                             accessToken=expiring_token)

    assert [order["id"] for order in provider.fetch_orders(None, None)] == ["1", "2"]
    assert responses.calls[1].request.headers["x-tts-access-token"] == expiring_token
    refresh = responses.calls[2]
    assert query_of(refresh) == {"app_key": CONFIG["appKey"], "app_secret": CONFIG["appSecret"],
                                 "refresh_token": "TTP_refresh_1", "grant_type": "refresh_token"}
    assert responses.calls[3].request.headers["x-tts-access-token"] == "TTP_token_2"
    assert provider.config["refreshToken"] == "TTP_refresh_2"
    # Another worker's provider for the same shop starts from the renewed token, not the expired one.
    responses.get(f"{BASE}/order/202309/orders", json=envelope({"orders": [{"id": "9"}]}))
    other_worker = make_provider(refreshToken="TTP_refresh_1", authUrl=AUTH, accessToken=expiring_token)
    other_worker.fetch_order("9")
    assert responses.calls[-1].request.headers["x-tts-access-token"] == "TTP_token_2"
    assert other_worker.config["refreshToken"] == "TTP_refresh_2"


@responses.activate
def test_expired_token_without_refresh_token_is_permanent():
    responses.post(f"{BASE}/order/202309/orders/search", json=envelope(code=105002, message="Expired credentials"))
    with pytest.raises(PermanentChannelError, match="105002"):
        list(make_provider().fetch_orders(None, None))


@pytest.mark.parametrize("status,body,error", [
    (200, envelope(code=36009003, message="Internal error. Please try again."), RetryableChannelError),
    (200, envelope(code=106001, message="Invalid signature"), PermanentChannelError),
    (503, {"message": "unavailable"}, RetryableChannelError),
    (400, envelope(code=11001002, message="invalid param."), PermanentChannelError),
])
@responses.activate
def test_errors_are_classified(status, body, error):
    responses.get(f"{BASE}/order/202309/orders", json=body, status=status)
    with pytest.raises(error):
        make_provider().fetch_order("576461413038785752")


@responses.activate
def test_status_filter_sends_tiktok_status_or_filters_common_status():
    detail = fixture("tiktok", "get_order_detail_response.json")["data"]["orders"][0]
    responses.post(f"{BASE}/order/202309/orders/search", json=search_page([{**detail, "id": "1"},
                                                                           {**detail, "id": "2",
                                                                            "status": "IN_TRANSIT"}]))
    provider = make_provider(fetchDetails=False)
    assert [order["id"] for order in provider.fetch_orders(None, None, "shipped")] == ["2"]
    assert json.loads(responses.calls[0].request.body) == {}
    list(provider.fetch_orders(None, None, "AWAITING_SHIPMENT"))
    assert json.loads(responses.calls[1].request.body) == {"order_status": "AWAITING_SHIPMENT"}


# --- webhooks -------------------------------------------------------------------------------------
def webhook(body: bytes, signature: str | None) -> WebhookRequest:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Authorization"] = signature
    return WebhookRequest(headers=headers, body=body, query={}, url="https://hub.test/upstream/webhooks/tiktok/orders")


def sent_at(body: bytes) -> int:
    """The push's own signed `timestamp`: a provider whose clock reads it verifies a published (2022) push."""
    return json.loads(body)["timestamp"]


def test_webhook_signature_matches_the_published_vector():
    body = fixture_bytes("tiktok", "webhook_order_status_change_ecomphp_test.json")
    assert webhook_signature("fake_app_key", "fake_app_secret", body) == (
        "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27")
    provider = Provider({"appKey": "fake_app_key", "appSecret": "fake_app_secret", "shopId": "7494726673780148744"},
                        clock=lambda: sent_at(body) + 5)
    provider.verify_webhook(webhook(body, "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27"))


def resigned(body: bytes, timestamp: int) -> tuple[bytes, str]:
    """A copy of the published push with another `timestamp`, signed as TikTok signs (app_key + body)."""
    payload = json.loads(body)
    payload["timestamp"] = timestamp
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return raw, webhook_signature(CONFIG["appKey"], CONFIG["appSecret"], raw)


@pytest.mark.parametrize(("offset", "accepted"), [(0, True), (-899, True), (899, True), (-901, False),
                                                  (901, False), (-86400 * 400, False)])
def test_a_signed_push_outside_the_replay_window_is_refused(offset, accepted):
    """Issue 15, item 10: the signature covers the body, so its `timestamp` dates the push; 15 minutes either way
    (CHANNEL_TIKTOK_WEBHOOK_WINDOW_SECONDS)."""
    raw, signature = resigned(fixture_bytes("tiktok", "webhook_order_status_change.json"), NOW + offset)
    provider = make_provider()  # its clock reads NOW
    if accepted:
        provider.verify_webhook(webhook(raw, signature))
    else:
        with pytest.raises(WebhookRejected, match="stale"):
            provider.verify_webhook(webhook(raw, signature))


@pytest.mark.parametrize("stamp", [None, "", "soon", True, [1], float("nan"), 10**20])
def test_a_signed_push_without_a_readable_timestamp_is_refused(stamp):
    payload = {**fixture("tiktok", "webhook_order_status_change.json"), "timestamp": stamp}
    if stamp is None:
        payload.pop("timestamp")
    raw = json.dumps(payload).encode()
    with pytest.raises(WebhookRejected):
        make_provider().verify_webhook(webhook(raw, webhook_signature(CONFIG["appKey"], CONFIG["appSecret"], raw)))


def test_the_window_is_a_setting(settings):
    settings.CHANNEL_TIKTOK_WEBHOOK_WINDOW_SECONDS = 60
    raw, signature = resigned(fixture_bytes("tiktok", "webhook_order_status_change.json"), NOW - 120)
    with pytest.raises(WebhookRejected):
        make_provider().verify_webhook(webhook(raw, signature))
    settings.CHANNEL_TIKTOK_WEBHOOK_WINDOW_SECONDS = 300
    make_provider().verify_webhook(webhook(raw, signature))


@pytest.mark.parametrize("tamper", ["wrong-signature", "missing", "body-changed-by-one-byte", "other-app-secret"])
def test_forged_webhooks_are_refused(tamper):
    body = fixture_bytes("tiktok", "webhook_order_status_change.json")
    provider = make_provider()
    good = webhook_signature(CONFIG["appKey"], CONFIG["appSecret"], body)
    request = {
        "wrong-signature": webhook(body, "0" * 64),
        "missing": webhook(body, None),
        "body-changed-by-one-byte": webhook(body.replace(b"UNPAID", b"UNPAIE"), good),
        "other-app-secret": webhook(body, webhook_signature(CONFIG["appKey"], "not-the-secret", body)),
    }[tamper]
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(request)


def test_order_status_change_names_the_order_to_fetch_and_its_notification_id():
    body = fixture_bytes("tiktok", "webhook_order_status_change.json")
    request = webhook(body, webhook_signature(CONFIG["appKey"], CONFIG["appSecret"], body))
    assert Provider.webhook_identity(request) == "7494049642642441621"  # matched against config shopId
    assert Provider.identity_config_key == "shopId"
    provider = make_provider()
    provider.clock = lambda: sent_at(body)  # time frozen at the published push
    provider.verify_webhook(request)
    event = provider.parse_webhook(request)
    assert (event.delivery_id, event.topic, event.order_refs, event.orders) == (
        "7327112393057371910", "ORDER_STATUS_CHANGE", ["576486316948490001"], [])


def test_a_replayed_push_carries_the_same_delivery_id_so_it_is_deduplicated():
    provider = make_provider()
    with_id = fixture_bytes("tiktok", "webhook_order_status_change.json")
    assert provider.parse_webhook(webhook(with_id, "x")).delivery_id == provider.parse_webhook(
        webhook(with_id, "x")).delivery_id
    # A push without tts_notification_id (older format): the same bytes give the same id, others differ.
    legacy = fixture_bytes("tiktok", "webhook_order_status_change_ecomphp_test.json")
    first, again = provider.parse_webhook(webhook(legacy, "x")), provider.parse_webhook(webhook(legacy, "x"))
    other = provider.parse_webhook(webhook(legacy.replace(b"1664095610", b"1664095611"), "x"))
    assert first.delivery_id == again.delivery_id != other.delivery_id
    assert first.order_refs == ["576684019603311365"]


def test_a_non_order_notification_fetches_nothing():
    body = json.dumps({"type": 6, "tts_notification_id": "n-6", "shop_id": "1", "timestamp": 1,
                       "data": {"eventtime": 1}}).encode()
    event = make_provider().parse_webhook(webhook(body, "x"))
    assert (event.topic, event.order_refs) == ("SELLER_DEAUTHORIZATION", [])


def test_identity_of_a_body_that_is_not_json_is_unknown():
    assert Provider.webhook_identity(webhook(b"not json", "x")) is None


@responses.activate
def test_register_webhooks_subscribes_order_status_change_at_our_url():
    responses.put(f"{BASE}/event/202309/webhooks", json=envelope())
    url = "https://hub.test/upstream/webhooks/tiktok/orders?channel=tt-main"
    assert make_provider().register_webhooks(url) == [{"event_type": "ORDER_STATUS_CHANGE", "address": url}]
    call = responses.calls[0]
    assert json.loads(call.request.body) == {"event_type": "ORDER_STATUS_CHANGE", "address": url}
    assert_signed(call, "/event/202309/webhooks")


# --- writeback ------------------------------------------------------------------------------------
def seller_order(**changes) -> dict:
    """The published order, shipped by the seller (the sample is TikTok-shipped), its one line item in the
    order's one package."""
    order = order_with(shipping_type="SELLER", **changes)
    order["line_items"][0]["package_id"] = order["packages"][0]["id"]
    return order


def ship_request(raw, *, carrier="6617675021119438849", tracking="JX12345", status=CommonStatus.SHIPPED):
    return WritebackRequest(channel_order_id=str(raw.get("id", "576461413038785752")), status=status, lines=[],
                            raw=raw, tracking_number=tracking, carrier=carrier)


@responses.activate
def test_ship_marks_each_package_shipped_with_tracking_and_provider_id():
    responses.post(f"{BASE}/fulfillment/202309/packages/1152321127278713123/ship", json=fixture(
        "tiktok", "ship_package_response.json"))
    result = make_provider().write_back(ship_request(seller_order()))

    call = responses.calls[0]
    assert_signed(call, "/fulfillment/202309/packages/1152321127278713123/ship")
    body = json.loads(call.request.body)
    documented = fixture("tiktok", "ship_package_request.json")["self_shipment"]
    assert set(body) == {"self_shipment"}
    assert set(body["self_shipment"]) == set(documented) == {"tracking_number", "shipping_provider_id"}
    assert body["self_shipment"]["tracking_number"] == "JX12345"
    assert body["self_shipment"]["shipping_provider_id"] == "6617675021119438849"
    assert result.channel_reference == "1152321127278713123"
    assert "ship package 1152321127278713123" in result.request_summary


@responses.activate
def test_carrier_name_is_resolved_through_the_delivery_options_providers():
    responses.get(f"{BASE}/logistics/202309/delivery_options/7091146663229654785/shipping_providers",
                  json=envelope({"shipping_providers": [{"id": "7117858858072016686", "name": "USPS"},
                                                        {"id": "7117858858072016687", "name": "UPS"}]}))
    responses.post(f"{BASE}/fulfillment/202309/packages/1152321127278713123/ship", json=envelope())
    make_provider().write_back(ship_request(seller_order(), carrier="ups"))
    body = json.loads(responses.calls[1].request.body)
    assert body["self_shipment"]["shipping_provider_id"] == "7117858858072016687"


@responses.activate
def test_carrier_name_from_the_config_map_needs_no_lookup():
    responses.post(f"{BASE}/fulfillment/202309/packages/1152321127278713123/ship", json=envelope())
    make_provider(shippingProviderIds={"FedEx": "7000000000000000001"}).write_back(
        ship_request(seller_order(), carrier="fedex"))
    assert len(responses.calls) == 1
    assert json.loads(responses.calls[0].request.body)["self_shipment"]["shipping_provider_id"] == (
        "7000000000000000001")


@responses.activate
def test_an_already_shipped_package_gets_its_shipping_info_updated():
    responses.post(f"{BASE}/fulfillment/202309/packages/1152321127278713123/ship",
                   json=envelope(code=21011040, message="Package has already been shipped."))
    responses.post(f"{BASE}/fulfillment/202309/packages/1152321127278713123/shipping_info/update",
                   json=envelope())
    result = make_provider().write_back(ship_request(seller_order(), tracking="576460868968549926",
                                                     carrier="6965352555291346690"))
    body = json.loads(responses.calls[1].request.body)
    assert body == fixture("tiktok", "update_package_shipping_info_request.json")
    assert "update shipping info" in result.request_summary


@responses.activate
def test_an_order_without_any_package_is_marked_shipped_by_its_line_items():
    raw = seller_order()
    raw.pop("packages")
    cancelled = {**raw["line_items"][0], "id": "577086512123755999", "display_status": "CANCELLED"}
    raw["line_items"] = [{k: v for k, v in raw["line_items"][0].items() if k != "package_id"},
                         {k: v for k, v in cancelled.items() if k != "package_id"}]
    responses.get(f"{BASE}/order/202309/orders", json=envelope({"orders": [raw]}))
    responses.post(f"{BASE}/fulfillment/202309/orders/576461413038785752/packages", json=envelope(
        {"order_id": "576461413038785752", "order_line_item_ids": ["577086512123755123"],
         "package_id": "32141235124234"}))
    result = make_provider().write_back(ship_request(raw))
    call = responses.calls[-1]
    assert_signed(call, "/fulfillment/202309/orders/576461413038785752/packages")
    assert json.loads(call.request.body) == {"order_line_item_ids": ["577086512123755123"],
                                             "tracking_number": "JX12345",
                                             "shipping_provider_id": "6617675021119438849"}
    assert result.channel_reference == "32141235124234"


@responses.activate
def test_package_ids_come_from_a_fresh_detail_when_the_stored_order_has_none():
    raw = seller_order()
    raw.pop("packages")
    raw["line_items"][0].pop("package_id")
    fresh = seller_order()
    responses.get(f"{BASE}/order/202309/orders", json=envelope({"orders": [fresh]}))
    responses.post(f"{BASE}/fulfillment/202309/packages/1152321127278713123/ship", json=envelope())
    make_provider().write_back(ship_request(raw))
    assert query_of(responses.calls[0])["ids"] == "576461413038785752"


@responses.activate
def test_a_rejected_ship_is_permanent_and_a_transient_one_retryable():
    url = f"{BASE}/fulfillment/202309/packages/1152321127278713123/ship"
    responses.post(url, json=envelope(code=21011022, message="Invalid tracking number or provider ID."))
    with pytest.raises(PermanentChannelError):
        make_provider().write_back(ship_request(seller_order()))
    responses.replace(responses.POST, url, json=envelope(code=21001008, message="System process error, please "
                                                                                "try again later."))
    with pytest.raises(RetryableChannelError):
        make_provider().write_back(ship_request(seller_order()))


def test_shipping_without_a_tracking_number_is_refused_before_any_call():
    with pytest.raises(PermanentChannelError, match="tracking number"):
        make_provider().write_back(ship_request(seller_order(), tracking=None))


def test_statuses_tiktok_cannot_take_are_not_sent():
    provider = make_provider()
    assert "nothing sent" in provider.write_back(ship_request(seller_order(), status=CommonStatus.PROCESSING)
                                                 ).request_summary
    with pytest.raises(PermanentChannelError, match='TikTok takes no "cancelled" status'):
        provider.write_back(ship_request(seller_order(), status=CommonStatus.CANCELLED))


# --- against the simulator (real HTTP on localhost, the channel's wire format) -----------------------
@pytest.fixture
def tiktok_sim():
    from simulator.server import SimulatorServer

    server = SimulatorServer(host="127.0.0.1", port=0, order_count=45, names=["tiktok"]).start()
    sim = server.simulators["tiktok"]
    try:
        yield sim
    finally:
        server.stop()
        cache.delete(Provider(sim.demo_channel().config).token_cache_key)  # a later server may reuse the port


def sim_provider(sim, **overrides) -> Provider:
    sleeps: list[float] = []
    config = {**sim.demo_channel().config, "pageSize": 7, **overrides}
    provider = Provider(config, http=ChannelHttpClient(config["baseUrl"], sleep=sleeps.append))
    provider.sleeps = sleeps
    return provider


def test_simulator_full_pull_paged_signed_and_normalized(tiktok_sim):
    provider = sim_provider(tiktok_sim)
    fetched = list(provider.fetch_orders(None, None))
    assert sorted(order["id"] for order in fetched) == sorted(tiktok_sim.orders)   # every page, once each
    for raw in fetched:
        order = Provider.normalize(raw)
        payment = raw["payment"]
        assert order.grand_total == Decimal(payment["total_amount"]) == (
            order.subtotal - order.discount + order.shipping + order.tax)
        assert order.subtotal == Decimal(payment["original_total_product_price"])   # before the seller's discount
        assert order.discount == Decimal(payment["seller_discount"]) + Decimal(payment["platform_discount"])
        assert sum(line.quantity for line in order.lines) == len(raw["line_items"])
        assert (order.shipping_address is None) == (raw["status"] == "UNPAID")


def test_simulator_refuses_a_request_signed_with_another_secret(tiktok_sim):
    with pytest.raises(PermanentChannelError, match="401"):
        list(sim_provider(tiktok_sim, appSecret="not-the-app-secret").fetch_orders(None, None))


def test_simulator_429_and_expired_token_mid_run(tiktok_sim):
    provider = sim_provider(tiktok_sim)
    pages = provider.fetch_orders(None, None)
    first = [next(pages) for _ in range(7)]          # the first page (and its details) came in
    tiktok_sim.forced_429 = 1
    tiktok_sim.expire_access_tokens()
    rest = list(pages)
    assert len(first) + len(rest) == len(tiktok_sim.orders)
    assert provider.sleeps == [1.0]                  # the 429 waited out in place
    assert provider._access_token != provider.config["accessToken"]
    assert provider._access_token in tiktok_sim.access_tokens


@pytest.mark.parametrize("has_package", [True, False])
def test_simulator_ship_writeback_and_the_signed_push_that_follows(tiktok_sim, has_package):
    provider = sim_provider(tiktok_sim)
    raw = next(o for o in provider.fetch_orders(None, None, "AWAITING_SHIPMENT"))
    with tiktok_sim.lock:   # the same order with or without a package yet (both happen on TikTok)
        stored = tiktok_sim.orders[raw["id"]]
        stored["packages"] = [{"id": tiktok_sim._package_id(stored)}] if has_package else []
        raw = tiktok_sim.public(stored)
    result = provider.write_back(ship_request(raw, carrier="UPS", tracking="1Z999AA10123456784"))

    recorded = tiktok_sim.writebacks[-1]
    assert recorded["orderId"] == raw["id"]
    shipment = {"tracking_number": "1Z999AA10123456784", "shipping_provider_id": "7117858858072016687"}
    if has_package:
        assert recorded["kind"] == "ship_package" and recorded["body"] == {"self_shipment": shipment}
    else:
        assert recorded["kind"] == "mark_package_shipped"
        assert recorded["body"] == {"order_line_item_ids": [i["id"] for i in raw["line_items"]], **shipment}
    assert result.channel_reference == tiktok_sim.orders[raw["id"]]["packages"][0]["id"]
    after = Provider.normalize(provider.fetch_order(raw["id"]))
    assert (after.status, after.raw_status, after.tracking_number) == ("shipped", "IN_TRANSIT", "1Z999AA10123456784")

    hook = tiktok_sim.build_webhook(tiktok_sim.get_order(raw["id"]), "ORDER_STATUS_CHANGE")
    request = WebhookRequest(headers=hook.headers, body=hook.body, query={}, url="https://hub.test" + hook.path)
    provider.verify_webhook(request)
    assert Provider.webhook_identity(request) == provider.config["shopId"]
    assert provider.parse_webhook(request).order_refs == [raw["id"]]


def test_simulator_records_webhook_registration(tiktok_sim):
    url = "https://hub.test/upstream/webhooks/tiktok/orders?channel=demo-tiktok"
    sim_provider(tiktok_sim).register_webhooks(url)
    assert tiktok_sim.registered_webhooks == {"ORDER_STATUS_CHANGE": url}


@responses.activate
def test_an_http_401_with_an_expired_token_code_is_refreshed_but_a_bad_signature_is_not(expiring_token):
    responses.get(f"{BASE}/order/202309/orders", status=401, json=envelope(code=105002, message="Expired"))
    responses.get(f"{AUTH}/api/v2/token/refresh", json={"code": 0, "data": {"access_token": "TTP_token_2"}})
    responses.get(f"{BASE}/order/202309/orders", json=envelope({"orders": [{"id": "1"}]}))
    provider = make_provider(refreshToken="TTP_refresh_1", authUrl=AUTH, accessToken=expiring_token)
    assert provider.fetch_order("1") == {"id": "1"}

    responses.replace(responses.GET, f"{BASE}/order/202309/orders", status=401,
                      json=envelope(code=106001, message="Invalid signature"))
    with pytest.raises(PermanentChannelError, match="106001"):
        provider.fetch_order("1")
    assert len([c for c in responses.calls if "token/refresh" in c.request.url]) == 1


# --- the whole flow through the hub: one-shot sync, a signed push, a status PUT written back -----------
@pytest.mark.postgres
def test_whole_flow_through_the_simulator(org, tiktok_sim, client, django_capture_on_commit_callbacks):
    from channels_sync.models import AggregatedOrder, Channel, Outcome, WebhookDelivery
    from channels_sync.services.polling import sync_run, sync_start
    from channels_sync.services.webhooks import webhook_process
    from channels_sync.services.writeback import order_status_update, writeback_attempt

    demo = tiktok_sim.demo_channel()
    channel = Channel.objects.create(org=org, channel_id="tiktok-main", provider="tiktok", enabled=True,
                                     config=demo.config, webhook_secret=demo.webhook_secret)

    with django_capture_on_commit_callbacks():
        run = sync_start(channel=channel)
    run = sync_run(run_pk=run.pk)
    assert run.status == Outcome.SUCCEEDED, run.error
    assert run.fetched == run.created == len(tiktok_sim.orders)
    stored = AggregatedOrder.objects.filter(channel=channel)
    assert stored.count() == len(tiktok_sim.orders)

    # A new order arrives as a signed push naming it; the worker fetches and ingests it once.
    hooks = []
    while not hooks or hooks[0].order_id in set(stored.values_list("channel_order_id", flat=True)):
        hooks = tiktok_sim.tick()
    hook = hooks[0]
    headers = {"HTTP_AUTHORIZATION": hook.headers["Authorization"]}
    with django_capture_on_commit_callbacks():
        answer = client.post(hook.path, data=hook.body, content_type="application/json", **headers)
    assert answer.status_code == 200
    delivery = WebhookDelivery.objects.get(channel=channel)
    webhook_process(delivery_pk=delivery.pk)
    assert stored.filter(channel_order_id=hook.order_id).exists()
    again = client.post(hook.path, data=hook.body, content_type="application/json", **headers)
    assert again.status_code == 200 and WebhookDelivery.objects.filter(channel=channel).count() == 1
    forged = client.post(hook.path, data=hook.body.replace(b'"type":1', b'"type":4'),
                         content_type="application/json", **headers)
    assert forged.status_code == 401

    # Shipping it in the hub writes back a ship-package call in TikTok's format.
    target = stored.filter(raw_status="AWAITING_SHIPMENT").first()
    with django_capture_on_commit_callbacks():
        writeback = order_status_update(order=target, status="shipped", tracking_number="9400111202555842761234",
                                        carrier="USPS")
    writeback_attempt(writeback_pk=writeback.pk)
    writeback.refresh_from_db()
    assert writeback.status == Outcome.SUCCEEDED, writeback.last_error
    recorded = tiktok_sim.writebacks[-1]
    assert recorded["orderId"] == target.channel_order_id
    shipment = {"tracking_number": "9400111202555842761234", "shipping_provider_id": "7117858858072016686"}
    if recorded["kind"] == "ship_package":
        assert recorded["body"] == {"self_shipment": shipment}
    else:   # the order had no package yet: Mark Package As Shipped
        assert recorded["kind"] == "mark_package_shipped"
        assert {k: recorded["body"][k] for k in shipment} == shipment


@responses.activate
def test_a_stand_in_server_below_a_prefix_gets_the_path_it_receives_signed():
    base = "https://stand-in.test/tiktok"
    responses.get(f"{base}/order/202309/orders", json=envelope({"orders": [{"id": "1"}]}))
    provider = Provider({**CONFIG, "baseUrl": base}, http=ChannelHttpClient(base), clock=lambda: NOW)
    provider.fetch_order("1")
    assert_signed(responses.calls[0], "/tiktok/order/202309/orders")


def test_token_host_follows_the_api_host():
    assert Provider({}).auth_url == "https://auth.tiktok-shops.com"
    assert Provider({"baseUrl": "https://open-api-sandbox.tiktokglobalshop.com"}).auth_url == (
        "https://auth-sandbox.tiktok-shops.com")
    assert Provider({"baseUrl": "http://127.0.0.1:9000/tiktok/"}).auth_url == "http://127.0.0.1:9000/tiktok"
    assert Provider({"baseUrl": "http://x.test", "authUrl": "https://auth.x.test/"}).auth_url == "https://auth.x.test"


@responses.activate
def test_search_results_are_kept_when_a_server_has_no_detail_route_but_not_on_a_tiktok_error():
    detail = fixture("tiktok", "get_order_detail_response.json")["data"]["orders"][0]
    responses.post(f"{BASE}/order/202309/orders/search", json=search_page([detail]))
    responses.get(f"{BASE}/order/202309/orders", status=404, body="Not Found")
    assert [o["id"] for o in make_provider().fetch_orders(None, None)] == [detail["id"]]

    responses.replace(responses.GET, f"{BASE}/order/202309/orders", status=404,
                      json=envelope(code=21001001, message="Invalid parameters."))
    with pytest.raises(PermanentChannelError):
        list(make_provider().fetch_orders(None, None))
    responses.replace(responses.POST, f"{BASE}/order/202309/orders/search", json=search_page([{"id": "1"}]))
    responses.replace(responses.GET, f"{BASE}/order/202309/orders", status=404, body="Not Found")
    with pytest.raises(PermanentChannelError):   # summaries without lines: nothing to fall back on
        list(make_provider().fetch_orders(None, None))


def test_a_seller_discount_is_kept_apart_as_on_every_channel():
    """TikTok's sub_total is after discounts; the one money model wants the original price and the discount."""
    raw = order_with(tracking_number="")
    raw["payment"] = {"currency": "USD", "original_total_product_price": "25.00", "seller_discount": "4.00",
                      "platform_discount": "1.00", "sub_total": "20.00", "shipping_fee": "4.99", "tax": "2.00",
                      "total_amount": "26.99"}
    order = Provider.normalize(raw)
    assert (order.subtotal, order.discount, order.shipping, order.tax, order.grand_total) == (
        Decimal("25.00"), Decimal("5.00"), Decimal("4.99"), Decimal("2.00"), Decimal("26.99"))
    assert order.subtotal - order.discount + order.shipping + order.tax == order.grand_total
