"""The local channel simulator, driven over real HTTP by our own providers."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.core.management import call_command

from channels_sync.models import Channel, normalize_identity
from channels_sync.normalized import CommonStatus, WebhookRequest, WritebackRequest
from channels_sync.providers import provider_class
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.simulator.base import LeakyBucket, SimRequest
from channels_sync.simulator.registry import SIMULATOR_MODULES, available_simulators, simulator_class
from channels_sync.simulator.server import SimulatorServer

NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)


class _Receiver:
    """A stand-in for our app: records every POST and answers 200."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    app = _Receiver()
    yield app
    app.stop()


@pytest.fixture
def server(receiver):
    sim = SimulatorServer(port=0, order_count=120, seed=7, webhook_target=receiver.url,
                          names=["shopify", "woocommerce"], simulator_options={"now": lambda: NOW}).start()
    yield sim
    sim.stop()


def provider_for(server, name, sleeps=None):
    demo = server.simulators[name].demo_channel()
    http = ChannelHttpClient(demo.config["baseUrl"], sleep=(sleeps.append if sleeps is not None else lambda s: None))
    return provider_class(name)(demo.config, webhook_secret=demo.webhook_secret, http=http)


def as_webhook_request(delivery) -> WebhookRequest:
    return WebhookRequest(headers=delivery["headers"], body=delivery["body"], query={}, url=delivery["path"])


# --- catalogue ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["shopify", "woocommerce"])
def test_catalogue_is_deterministic_for_a_seed(name):
    cls = simulator_class(name)
    first = cls(seed=3, order_count=30, now=lambda: NOW)
    again = cls(seed=3, order_count=30, now=lambda: NOW)
    other = cls(seed=4, order_count=30, now=lambda: NOW)
    assert json.dumps(list(first.orders.values())) == json.dumps(list(again.orders.values()))
    assert json.dumps(list(first.orders.values())) != json.dumps(list(other.orders.values()))


@pytest.mark.parametrize("name", ["shopify", "woocommerce"])
def test_generated_orders_normalize_with_consistent_totals_and_cover_the_variations(name):
    sim = simulator_class(name)(seed=11, order_count=300, now=lambda: NOW)
    provider = provider_class(name)
    orders = [provider.normalize(raw) for raw in sim.orders.values()]
    for order, raw in zip(orders, sim.orders.values(), strict=True):
        discount = Decimal(raw.get("discount_total", "0"))  # Woo's subtotal is before the coupon
        assert order.grand_total == order.subtotal - discount + order.shipping + order.tax
        assert order.created_at <= order.updated_at <= NOW
    assert any(o.customer_email is None for o in orders)                  # guest / no customer
    assert any(o.shipping_address is None for o in orders)                # nothing to ship
    assert len({o.currency for o in orders}) >= 3                         # several currencies
    assert any(o.tax == 0 for o in orders) and any(o.tax > 0 for o in orders)
    assert any(line.sku is None for o in orders for line in o.lines)      # a line without a SKU
    assert {o.status for o in orders} >= {CommonStatus.PENDING, CommonStatus.PROCESSING, CommonStatus.SHIPPED,
                                          CommonStatus.CANCELLED}


def test_shopify_ids_are_past_2_to_the_53():
    sim = simulator_class("shopify")(seed=1, order_count=5, now=lambda: NOW)
    assert all(order["id"] > 2**53 for order in sim.orders.values())


# --- paging and filters over HTTP ------------------------------------------------------------------------
def test_shopify_pages_with_link_cursors(server, monkeypatch):
    monkeypatch.setattr("channels_sync.providers.shopify.client.PAGE_LIMIT", 25)
    provider = provider_for(server, "shopify")
    raws = list(provider.fetch_orders(None, None))
    sim = server.simulators["shopify"]
    assert sorted(r["id"] for r in raws) == sorted(o["id"] for o in sim.orders.values())
    assert len(raws) == 120  # status=any: cancelled and closed orders too


def test_shopify_window_filter_and_cursor_rules(server):
    sim = server.simulators["shopify"]
    base = f"{sim.base_url}/admin/api/2024-10/orders.json"
    headers = {"X-Shopify-Access-Token": sim.demo_channel().config["accessToken"]}
    since = NOW - timedelta(days=3)
    first = requests.get(base, params={"status": "any", "limit": 5, "updated_at_min": since.isoformat()},
                         headers=headers, timeout=5)
    expected = sum(1 for o in sim.orders.values() if sim.order_updated_at(o) >= since)
    raws = list(provider_for(server, "shopify").fetch_orders(since, None))
    assert len(raws) == expected and 0 < expected < 120
    next_url = first.links["next"]["url"]
    assert "updated_at_min" not in next_url
    refused = requests.get(next_url + "&status=any", headers=headers, timeout=5)
    assert refused.status_code == 400 and "page_info" in refused.json()["errors"]


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
    for name, bad in (("shopify", {"accessToken": "nope"}), ("woocommerce", {"consumerSecret": "nope"})):
        demo = server.simulators[name].demo_channel()
        provider = provider_class(name)({**demo.config, **bad})
        with pytest.raises(PermanentChannelError) as info:
            list(provider.fetch_orders(None, None))
        assert info.value.status_code == 401


# --- rate limits -----------------------------------------------------------------------------------------
def test_shopify_leaky_bucket_is_40_leaking_2_per_second():
    clock = [0.0]
    sim = simulator_class("shopify")(seed=1, order_count=3, now=lambda: NOW, clock=lambda: clock[0])
    request = SimRequest("GET", "/admin/api/2024-10/orders/count.json", {}, {
        "X-Shopify-Access-Token": sim.demo_channel().config["accessToken"]})
    answers = [sim.handle(request) for _ in range(41)]
    assert [a.status for a in answers].count(200) == 40
    assert answers[-1].status == 429 and float(answers[-1].header("Retry-After")) >= 0.5
    assert answers[39].header("X-Shopify-Shop-Api-Call-Limit") == "40/40"
    clock[0] += 0.5  # one call's worth leaked out
    assert sim.handle(request).status == 200
    assert sim.handle(request).status == 429


def test_leaky_bucket_retry_after_says_when_the_next_call_fits():
    clock = [10.0]
    bucket = LeakyBucket(2, 1.0, clock=lambda: clock[0])
    assert bucket.hit() is None and bucket.hit() is None
    assert bucket.hit() == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["shopify", "woocommerce"])
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


def test_the_ticker_thread_keeps_sending(receiver):
    sim = SimulatorServer(port=0, order_count=5, seed=2, webhook_target=receiver.url, tick_seconds=0.05,
                          names=["shopify", "woocommerce"]).start()
    try:
        deadline = time.monotonic() + 5
        while len(receiver.received) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sim.stop()
    paths = {d["path"] for d in receiver.received}
    assert paths == {"/upstream/webhooks/shopify/orders", "/upstream/webhooks/woocommerce/orders"}


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
def test_registry_lists_the_simulators():
    assert {"shopify", "woocommerce"} <= set(SIMULATOR_MODULES)
    assert {"shopify", "woocommerce"} <= set(available_simulators())


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
