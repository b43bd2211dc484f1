"""The channel simulator on its own: catalogues, rate limits, the ticker, outages and the request log.

No Django and no provider code: what our providers make of it is tested in tests/channels_sync/.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from simulator.base import LeakyBucket, SimRequest
from simulator.registry import SIMULATOR_MODULES, available_simulators, simulator_class
from simulator.server import SimulatorServer
from simulator.shopify import ACCESS_TOKEN
from tests.simulator.receiver import Receiver

NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
SHOPIFY = {"X-Shopify-Access-Token": ACCESS_TOKEN}


@pytest.fixture
def receiver():
    app = Receiver()
    yield app
    app.stop()


@pytest.fixture
def shop_server():
    server = SimulatorServer(port=0, order_count=0, names=["shopify"]).start()
    yield server
    server.stop()


# --- catalogue ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["shopify", "woocommerce"])
def test_catalogue_is_deterministic_for_a_seed(name):
    cls = simulator_class(name)
    first = cls(seed=3, order_count=30, now=lambda: NOW)
    again = cls(seed=3, order_count=30, now=lambda: NOW)
    other = cls(seed=4, order_count=30, now=lambda: NOW)
    assert json.dumps(list(first.orders.values())) == json.dumps(list(again.orders.values()))
    assert json.dumps(list(first.orders.values())) != json.dumps(list(other.orders.values()))


def test_shopify_ids_are_past_2_to_the_53():
    sim = simulator_class("shopify")(seed=1, order_count=5, now=lambda: NOW)
    assert all(order["id"] > 2**53 for order in sim.orders.values())


# --- rate limits -----------------------------------------------------------------------------------------
def test_shopify_leaky_bucket_is_40_leaking_2_per_second():
    clock = [0.0]
    sim = simulator_class("shopify")(seed=1, order_count=3, now=lambda: NOW, clock=lambda: clock[0])
    request = SimRequest("GET", "/admin/api/2024-10/orders/count.json", {}, {
        "X-Shopify-Access-Token": ACCESS_TOKEN})
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


# --- the live demo ---------------------------------------------------------------------------------------
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


# --- the registry ----------------------------------------------------------------------------------------
def test_registry_lists_the_simulators():
    assert {"shopify", "woocommerce"} <= set(SIMULATOR_MODULES)
    assert {"shopify", "woocommerce"} <= set(available_simulators())


# --- what the fault scripts (bench/chaos/) use -------------------------------------------------------------
def test_put_order_places_an_open_paid_order_with_the_chosen_id_and_version():
    sim = simulator_class("shopify")(order_count=0, now=lambda: NOW)
    at = NOW - timedelta(days=1)
    order = sim.put_order(5_100_000_001, updated_at=at, note="v1")
    assert sim.orders["5100000001"] is order
    assert (order["financial_status"], order["fulfillment_status"], order["cancelled_at"]) == ("paid", None, None)
    assert datetime.fromisoformat(order["updated_at"]) == at and order["note"] == "v1"
    assert any(item["requires_shipping"] for item in order["line_items"])
    changed = sim.put_order(5_100_000_001, updated_at=at + timedelta(hours=1), note="v2")
    assert len(sim.orders) == 1 and sim.orders["5100000001"] is changed


def test_an_outage_answers_each_phase_then_recovers_and_every_call_is_logged(shop_server):
    sim = shop_server.simulators["shopify"]
    order = sim.put_order(5_100_000_002, updated_at=NOW)
    url = f"{sim.base_url}/admin/api/2024-10/orders/{order['id']}/fulfillment_orders.json"
    sim.start_faults([(0.3, 500, None), (0.3, 429, 2.0)])
    statuses = [requests.get(url, headers=SHOPIFY, timeout=5).status_code]
    time.sleep(0.35)
    throttled = requests.get(url, headers=SHOPIFY, timeout=5)
    time.sleep(0.35)
    statuses += [throttled.status_code, requests.get(url, headers=SHOPIFY, timeout=5).status_code]
    assert statuses == [500, 429, 200]
    assert throttled.headers["Retry-After"] == "2.0"
    assert sim.fault_now() is None and sim.faults_end_at() == pytest.approx(sim.faults_started_at + 0.6)
    logged = list(sim.requests)
    assert [(e.method, e.order_id, e.status) for e in logged] == [("GET", "5100000002", s) for s in statuses]
    assert logged[1].retry_after == 2.0 and logged[0].at <= logged[1].at <= logged[2].at


def test_faults_over_http_and_the_fulfillment_calls_are_logged_with_their_order(shop_server):
    sim = shop_server.simulators["shopify"]
    order = sim.put_order(5_100_000_003, updated_at=NOW)
    api = f"{sim.base_url}/admin/api/2024-10"
    requests.post(f"{sim.base_url}/_sim/faults", json={"phases": [[60, 503, None]]}, timeout=5)
    assert requests.get(f"{api}/orders.json", headers=SHOPIFY, timeout=5).status_code == 503
    requests.post(f"{sim.base_url}/_sim/faults", json={"phases": []}, timeout=5)
    fo = requests.get(f"{api}/orders/{order['id']}/fulfillment_orders.json", headers=SHOPIFY,
                      timeout=5).json()["fulfillment_orders"][0]
    created = requests.post(f"{api}/fulfillments.json", headers=SHOPIFY, timeout=5, json={"fulfillment": {
        "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}],
        "tracking_info": {"number": "1ZCHAOS1", "company": "UPS"}}})
    assert created.status_code == 201
    fulfillment_id = created.json()["fulfillment"]["id"]
    requests.post(f"{api}/fulfillments/{fulfillment_id}/update_tracking.json", headers=SHOPIFY, timeout=5,
                  json={"fulfillment": {"tracking_info": {"number": "1ZCHAOS2"}}})
    assert [(e.path.rsplit("/", 1)[-1], e.order_id, e.status) for e in sim.requests] == [
        ("orders.json", None, 503), ("fulfillment_orders.json", "5100000003", 200),
        ("fulfillments.json", "5100000003", 201), ("update_tracking.json", "5100000003", 200)]
    assert [f["tracking_number"] for f in sim.orders["5100000003"]["fulfillments"]] == ["1ZCHAOS2"]


def test_a_slow_channel_caps_and_delays_each_page():
    server = SimulatorServer(port=0, order_count=0, names=["shopify"],
                             simulator_options={"page_limit": 2, "page_delay": 0.1}).start()
    try:
        sim = server.simulators["shopify"]
        for i in range(5):
            sim.put_order(5_200_000_000 + i, updated_at=NOW - timedelta(minutes=i))
        url, pages = f"{sim.base_url}/admin/api/2024-10/orders.json?status=any&limit=250", 0
        started = time.monotonic()
        while url:
            response = requests.get(url, headers=SHOPIFY, timeout=5)
            assert len(response.json()["orders"]) <= 2
            pages += 1
            url = response.links.get("next", {}).get("url")
        assert pages == 3 and time.monotonic() - started >= 0.3
    finally:
        server.stop()


def test_the_bucket_remembers_its_peak_and_what_it_refused():
    clock = [0.0]
    bucket = LeakyBucket(3, 1.0, clock=lambda: clock[0])
    assert [bucket.hit() is None for _ in range(4)] == [True, True, True, False]
    assert (bucket.max_level, bucket.refused) == (3, 1)
