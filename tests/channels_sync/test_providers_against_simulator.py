"""Our own providers against the local channel simulator (simulator/), over real HTTP.

The simulator is an independent implementation of each wire format (it imports no provider code); its own
behaviour, without the app, is tested in tests/simulator/.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.management import call_command

from channels_sync.models import Channel, normalize_identity
from channels_sync.normalized import CommonStatus, WebhookRequest, WritebackRequest
from channels_sync.providers import provider_class
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.http import ChannelHttpClient
from simulator.registry import simulator_class
from simulator.server import SimulatorServer
from tests.simulator.receiver import Receiver

NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def receiver():
    app = Receiver()
    yield app
    app.stop()


CLOCK = [0.0]   # added to the simulators' clock by a provider's sleep, so a cost bucket refills without waiting


@pytest.fixture
def server(receiver):
    sim = SimulatorServer(port=0, order_count=120, seed=7, webhook_target=receiver.url,
                          names=["shopify", "woocommerce"],
                          simulator_options={"now": lambda: NOW, "clock": lambda: time.monotonic() + CLOCK[0]}).start()
    yield sim
    sim.stop()


def provider_for(server, name, sleeps=None):
    demo = server.simulators[name].demo_channel()

    def sleep(seconds):
        CLOCK[0] += seconds
        if sleeps is not None:
            sleeps.append(seconds)

    http = ChannelHttpClient(demo.config["baseUrl"], sleep=sleep)
    return provider_class(name)(demo.config, webhook_secret=demo.webhook_secret, http=http)


def as_webhook_request(delivery) -> WebhookRequest:
    return WebhookRequest(headers=delivery["headers"], body=delivery["body"], query={}, url=delivery["path"])


# --- catalogue ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["shopify", "woocommerce"])
def test_generated_orders_normalize_with_consistent_totals_and_cover_the_variations(name):
    sim = simulator_class(name)(seed=11, order_count=300, now=lambda: NOW)
    provider = provider_class(name)
    orders = [provider.normalize(raw) for raw in sim.orders.values()]
    for order, raw in zip(orders, sim.orders.values(), strict=True):
        # The one money model: subtotal before the coupon / order discount, which is kept apart on both
        assert order.grand_total == order.subtotal - order.discount + order.shipping + order.tax
        if name == "woocommerce":
            assert order.discount == Decimal(raw.get("discount_total", "0"))
        assert order.created_at <= order.updated_at <= NOW
    assert any(o.customer_email is None for o in orders)                  # guest / no customer
    assert any(o.shipping_address is None for o in orders)                # nothing to ship
    assert len({o.currency for o in orders}) >= 3                         # several currencies
    assert any(o.tax == 0 for o in orders) and any(o.tax > 0 for o in orders)
    assert any(line.sku is None for o in orders for line in o.lines)      # a line without a SKU
    assert {o.status for o in orders} >= {CommonStatus.PENDING, CommonStatus.PROCESSING, CommonStatus.SHIPPED,
                                          CommonStatus.CANCELLED}


# --- paging and filters over HTTP ------------------------------------------------------------------------
def test_shopify_reads_every_order_through_graphql_cursor_pages(server):
    provider = provider_for(server, "shopify")
    raws = list(provider.fetch_orders(None, None))
    sim = server.simulators["shopify"]
    assert sorted(r["legacyResourceId"] for r in raws) == sorted(sim.orders)
    assert len(raws) == 120  # cancelled and closed orders too
    calls = [c for c in sim.graphql_calls if c["operation"] == "orders"]
    assert len(calls) == 24 and calls[0]["version"] == "2026-10"   # 5 a page: ~850 of the 1000 a query may ask
    assert calls[1]["variables"]["after"]


def _gql(sim, query, variables=None, version="2026-10", token=None):
    token = token or requests.post(f"{sim.base_url}/admin/oauth/access_token", timeout=5, data={
        "grant_type": "client_credentials", "client_id": sim.demo_channel().config["clientId"],
        "client_secret": sim.demo_channel().config["clientSecret"]}).json()["access_token"]
    return requests.post(f"{sim.base_url}/admin/api/{version}/graphql.json", timeout=5,
                         headers={"X-Shopify-Access-Token": token}, json={"query": query, "variables": variables or {}})


def test_shopify_window_search_and_what_the_simulator_refuses(server):
    from channels_sync.providers.shopify import queries

    sim = server.simulators["shopify"]
    since = NOW - timedelta(days=3)
    expected = sum(1 for o in sim.orders.values() if sim.order_updated_at(o) >= since)
    raws = list(provider_for(server, "shopify").fetch_orders(since, NOW))
    assert len(raws) == expected and 0 < expected < 120
    stamps = [r["updatedAt"] for r in raws]
    assert [datetime.fromisoformat(t) for t in stamps] == sorted(datetime.fromisoformat(t) for t in stamps)
    too_costly = _gql(sim, queries.ORDERS, {"first": 250}).json()
    assert too_costly["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    bad_sort = _gql(sim, queries.ORDERS.replace("UPDATED_AT", "UPDATED"), {"first": 1}).json()
    assert "sortKey" in bad_sort["errors"][0]["message"]
    unknown_field = _gql(sim, queries.ORDERS, {"first": 1, "query": "colour:red"}).json()
    assert unknown_field["extensions"]["search"][0]["warnings"][0]["field"] == "colour"
    assert _gql(sim, queries.SHOP, version="2026-13").status_code == 404
    old = _gql(sim, queries.SHOP, version="2024-10")
    assert old.status_code == 200 and old.headers["X-Shopify-API-Version"] == "2026-01"


def test_woocommerce_pages_with_total_pages(server, monkeypatch):
    monkeypatch.setattr("channels_sync.providers.woocommerce.client.PER_PAGE", 25)
    provider = provider_for(server, "woocommerce")
    raws = list(provider.fetch_orders(None, None))
    sim = server.simulators["woocommerce"]
    assert sorted(r["id"] for r in raws) == sorted(o["id"] for o in sim.orders.values())
    response = requests.get(f"{sim.base_url}/wp-json/wc/v3/orders", params={"per_page": 25},
                            auth=("ck_simulator_demo_key", "cs_simulator_demo_secret"), timeout=5)
    assert (response.headers["X-WP-Total"], response.headers["X-WP-TotalPages"]) == ("120", "5")
    assert 'rel="next"' in response.headers["Link"]


def test_wrong_credentials_are_refused(server):
    for name, bad, status in (("shopify", {"accessToken": "nope"}, 401), ("shopify", {"clientSecret": "nope"}, 400),
                              ("woocommerce", {"consumerSecret": "nope"}, 401)):
        demo = server.simulators[name].demo_channel()
        provider = provider_class(name)({**demo.config, **bad})
        with pytest.raises(PermanentChannelError) as info:
            list(provider.fetch_orders(None, None))
        assert info.value.status_code == status


# --- rate limits -----------------------------------------------------------------------------------------
def test_shopify_throttled_is_waited_out_until_the_bucket_holds_the_query(server):
    """Another app emptied the bucket: the THROTTLED answer says how much is left and the restore rate; the provider
    waits for exactly the refill its query needs, then reads every page."""
    sleeps: list[float] = []
    provider = provider_for(server, "shopify", sleeps)
    provider.access_token()   # the client-credentials grant first: the throttle is for the GraphQL call
    requests.post(f"{server.simulators['shopify'].base_url}/_sim/throttle", json={"count": 1}, timeout=5)
    raws = list(provider.fetch_orders(None, None))
    assert len(raws) == 120
    requested = 2 + 5 * (38 + 4 * 30)
    assert sleeps[0] == pytest.approx(requested / 100.0)


def test_shopify_throttled_longer_than_the_bound_is_a_retryable_error(server):
    from channels_sync.providers.errors import RetryableChannelError

    provider = provider_for(server, "shopify")
    provider.access_token()
    requests.post(f"{server.simulators['shopify'].base_url}/_sim/throttle", json={"count": 10}, timeout=5)
    provider.max_throttle_wait = 10
    with pytest.raises(RetryableChannelError) as info:
        list(provider.fetch_orders(None, None))
    assert info.value.status_code == 429 and info.value.retry_after > 0


@pytest.mark.parametrize("name", ["woocommerce"])
def test_a_429_in_the_middle_of_paging_is_waited_out(server, name):
    requests.post(f"{server.simulators[name].base_url}/_sim/throttle", json={"count": 1}, timeout=5)
    sleeps: list[float] = []
    raws = list(provider_for(server, name, sleeps).fetch_orders(None, None))
    assert len(raws) == 120
    assert len(sleeps) == 1 and sleeps[0] >= 1


# --- signed webhooks --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["shopify", "woocommerce"])
def test_tick_sends_a_signed_webhook_our_provider_verifies(server, receiver, name):
    sim = server.simulators[name]
    before = len(sim.orders)
    requests.post(f"{sim.base_url}/_sim/tick", timeout=5)
    server.drain()
    assert len(receiver.received) == 1
    delivery = receiver.received[0]
    assert delivery["path"] == sim.webhook_path
    provider = provider_for(server, name)
    hook = as_webhook_request(delivery)
    provider.verify_webhook(hook)
    identity = provider.webhook_identity(hook)
    assert normalize_identity(identity) == normalize_identity(provider.config[provider.identity_config_key])
    event = provider.parse_webhook(hook)
    assert event.delivery_id and event.topic in ("orders/create", "orders/paid", "orders/fulfilled",
                                                 "orders/cancelled", "orders/updated", "order.created",
                                                 "order.updated")
    order = provider.normalize(event.orders[0])
    assert order.channel_order_id in sim.orders
    assert len(sim.orders) in (before, before + 1)
    tampered = WebhookRequest(hook.headers, hook.body.replace(b'"', b"'", 1), {}, hook.url)
    with pytest.raises(Exception, match="bad|missing"):
        provider.verify_webhook(tampered)
    sent = requests.get(f"{sim.base_url}/_sim/webhooks", timeout=5).json()["webhooks"]
    assert sent[-1]["status"] == 200


def test_woocommerce_registration_pings_then_delivers_to_the_registered_url(server, receiver):
    provider = provider_for(server, "woocommerce")
    callback = f"{receiver.url}/upstream/webhooks/woocommerce/orders?channel=demo-woocommerce&org=demo"
    provider.register_webhooks(callback)
    server.drain()
    pings = [d for d in receiver.received if d["body"].startswith(b"webhook_id=")]
    assert len(pings) == 4
    assert provider.webhook_challenge(as_webhook_request(pings[0]))["ok"] is True
    receiver.received.clear()
    sim = server.simulators["woocommerce"]
    order = sim.add_order()
    sim.deliver([sim.build_webhook(order, "order.created")])
    server.drain()
    assert receiver.received[0]["path"] == "/upstream/webhooks/woocommerce/orders?channel=demo-woocommerce&org=demo"
    provider.verify_webhook(as_webhook_request(receiver.received[0]))


# --- writeback endpoints ----------------------------------------------------------------------------------
def _processing(provider, sim) -> str:
    return next(oid for oid, raw in sim.orders.items() if provider.normalize(raw).status == CommonStatus.PROCESSING
                and provider.normalize(raw).shipping_address is not None)


def test_shopify_fulfillment_is_recorded_and_changes_the_order(server):
    sim = server.simulators["shopify"]
    provider = provider_for(server, "shopify")
    order_id = _processing(provider, sim)
    result = provider.write_back(WritebackRequest(channel_order_id=order_id, status=CommonStatus.SHIPPED, lines=[],
                                                  raw={}, tracking_number="1Z999AA10123456784", carrier="ups"))
    recorded = requests.get(f"{sim.base_url}/_sim/writebacks", timeout=5).json()["writebacks"]
    assert recorded[-1]["kind"] == "fulfillment" and recorded[-1]["orderId"] == order_id
    body = recorded[-1]["body"]["fulfillment"]
    assert body["tracking_info"] == {"number": "1Z999AA10123456784", "company": "UPS"}
    assert body["line_items_by_fulfillment_order"][0]["fulfillment_order_line_items"]
    refreshed = provider.normalize(provider.fetch_order(order_id))
    assert (refreshed.status, refreshed.tracking_number) == (CommonStatus.SHIPPED, "1Z999AA10123456784")
    assert result.channel_reference == str(sim.orders[order_id]["fulfillments"][-1]["id"])


def test_woocommerce_status_and_note_are_recorded(server):
    sim = server.simulators["woocommerce"]
    provider = provider_for(server, "woocommerce")
    order_id = _processing(provider, sim)
    provider.write_back(WritebackRequest(channel_order_id=order_id, status=CommonStatus.SHIPPED, lines=[], raw={},
                                         tracking_number="940010000000000000", carrier="usps"))
    recorded = requests.get(f"{sim.base_url}/_sim/writebacks", timeout=5).json()["writebacks"]
    assert [(w["kind"], w["orderId"]) for w in recorded[-2:]] == [("status", order_id), ("note", order_id)]
    assert recorded[-2]["body"] == {"status": "completed"}
    assert "940010000000000000" in recorded[-1]["body"]["note"] and recorded[-1]["body"]["customer_note"] is True
    assert provider.normalize(provider.fetch_order(order_id)).status == CommonStatus.SHIPPED


# --- the registry and the demo channels -------------------------------------------------------------------------
@pytest.mark.django_db
def test_seed_demo_channels_is_idempotent_and_matches_what_the_simulator_signs(server):
    call_command("seed_demo_channels", simulator_url=server.base_url, channels="shopify,woocommerce")
    call_command("seed_demo_channels", simulator_url=server.base_url, channels="shopify,woocommerce")
    channels = {c.provider: c for c in Channel.objects.filter(org__slug="demo")}
    assert set(channels) == {"shopify", "woocommerce"}
    assert Channel.objects.filter(org__slug="demo").count() == 2
    for name, channel in channels.items():
        sim = server.simulators[name]
        assert channel.enabled
        assert channel.config["baseUrl"] == sim.base_url
        assert channel.webhook_secret == sim.webhook_secret
        provider = channel.provider_instance()
        assert len(list(provider.fetch_orders(NOW - timedelta(days=10), None))) > 0
    assert channels["woocommerce"].account_identity == normalize_identity(f"{server.base_url}/woocommerce/")
    assert channels["shopify"].account_identity == "demo-shop.myshopify.com"


@pytest.mark.django_db
def test_seed_demo_channels_points_at_SIMULATOR_PORT_by_default(settings, monkeypatch):
    monkeypatch.delenv("SIMULATOR_URL", raising=False)
    settings.SIMULATOR_PORT = 9876
    call_command("seed_demo_channels", channels="shopify")
    channel = Channel.objects.get(org__slug="demo", provider="shopify")
    assert channel.config["baseUrl"] == "http://127.0.0.1:9876/shopify"


def test_shopify_delivered_and_a_repeated_shipment_against_the_simulator(server):
    sim = server.simulators["shopify"]
    provider = provider_for(server, "shopify")
    order_id = _processing(provider, sim)

    def send(status, number):
        return provider.write_back(WritebackRequest(channel_order_id=order_id, status=status, lines=[], raw={},
                                                    tracking_number=number, carrier="usps"))

    send(CommonStatus.SHIPPED, "9400100000000000000001")
    send(CommonStatus.SHIPPED, "9400100000000000000002")   # already fulfilled: the tracking moves instead
    send(CommonStatus.DELIVERED, "9400100000000000000002")
    kinds = [w["kind"] for w in requests.get(f"{sim.base_url}/_sim/writebacks", timeout=5).json()["writebacks"]]
    assert kinds[-3:] == ["fulfillment", "update_tracking", "fulfillment_event"]
    refreshed = provider.normalize(provider.fetch_order(order_id))
    assert (refreshed.status, refreshed.tracking_number) == (CommonStatus.DELIVERED, "9400100000000000000002")
    assert len(sim.orders[order_id]["fulfillments"]) == 1


def test_shopify_two_parcels_make_two_fulfillments_against_the_simulator(server):
    """One storefront parcel at a time (`parcel=True`): the simulator, like Shopify, fulfils only the line items
    named; the first fulfillment keeps its tracking number when the second parcel ships."""
    sim = server.simulators["shopify"]
    provider = provider_for(server, "shopify")
    order_id = next(oid for oid, raw in sim.orders.items()
                    if provider.normalize(raw).status == CommonStatus.PROCESSING
                    and sum(item["quantity"] for item in raw["line_items"] if item["requires_shipping"]) >= 2)
    shipping = {str(item["id"]) for item in sim.orders[order_id]["line_items"] if item["requires_shipping"]}
    lines = [line for line in provider.normalize(sim.orders[order_id]).lines if line.channel_line_id in shipping]
    first = [replace(lines[0], quantity=1)]
    rest = ([replace(lines[0], quantity=lines[0].quantity - 1)] if lines[0].quantity > 1 else []) + lines[1:]

    def send(parcel, number):
        return provider.write_back(WritebackRequest(channel_order_id=order_id, status=CommonStatus.SHIPPED,
                                                    lines=parcel, raw={}, tracking_number=number, carrier="usps",
                                                    parcel=True))

    results = [send(first, "9400100000000000000011"), send(rest, "9400100000000000000012")]
    fulfillments = sim.orders[order_id]["fulfillments"]
    assert [f["tracking_number"] for f in fulfillments] == ["9400100000000000000011", "9400100000000000000012"]
    assert [r.channel_reference for r in results] == [str(f["id"]) for f in fulfillments]
    assert [sum(item["quantity"] for item in f["line_items"]) for f in fulfillments] == [
        1, sum(line.quantity for line in lines) - 1]
    kinds = [w["kind"] for w in requests.get(f"{sim.base_url}/_sim/writebacks", timeout=5).json()["writebacks"]]
    assert "update_tracking" not in kinds[-2:]
    assert sim.orders[order_id]["fulfillment_status"] == "fulfilled"


@pytest.mark.django_db
def test_shopify_oauth_install_then_a_token_refresh_against_the_simulator(server):
    """The whole install over real HTTP: the simulator's authorize page signs its redirect as Shopify does, the hub
    checks it and exchanges the code for an expiring token; once Shopify refuses that token, the hub refreshes it
    and keeps the rotated refresh token."""
    from simulator.shopify_graphql import CLIENT_ID, CLIENT_SECRET
    from tests.accounts.factories import OrgFactory
    from tests.api import make_actor

    sim = server.simulators["shopify"]
    demo = sim.demo_channel().config
    owner = make_actor(OrgFactory(), role="owner")
    started = owner.client.post("/sales-channel/shopify/install", {
        "shop": demo["shopDomain"], "channelId": "agency-store", "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
        "redirectUri": "https://agency.example/installed", "baseUrl": demo["baseUrl"]}, format="json")
    assert started.status_code == 201, started.content
    redirect = requests.get(started.json()["installUrl"], allow_redirects=False, timeout=5)
    assert redirect.status_code == 302 and redirect.headers["Location"].startswith("https://agency.example/installed?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(redirect.headers["Location"]).query).items()}
    done = owner.client.post("/sales-channel/shopify/install/callback", params, format="json")
    assert done.status_code == 201, done.content
    channel = Channel.objects.get(channel_id="agency-store")
    assert channel.provider_instance().reported_identities() == [demo["shopDomain"]]
    first_refresh = channel.config["refreshToken"]

    sim.expire_tokens()                                   # Shopify now refuses the hour-long token
    assert channel.provider_instance().reported_identities() == [demo["shopDomain"]]
    channel.refresh_from_db()
    assert channel.config["refreshToken"] != first_refresh
