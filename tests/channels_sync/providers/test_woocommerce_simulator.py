"""WooCommerce against the local simulator over real HTTP: paging while the shop changes orders, the strict
order list, and tracking written to the Shipment Tracking extension when the store has it (a note otherwise),
remembered on the channel through the writeback service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from channels_sync.models import AggregatedOrder, Channel, Writeback
from channels_sync.normalized import CommonStatus, WritebackRequest
from channels_sync.providers import provider_class
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.services import ingest
from channels_sync.services.writeback import order_status_update, writeback_attempt
from simulator.server import SimulatorServer
from tests.channels_sync.providers.amazon_ebay_fixtures import isolated_tokens_and_buckets  # noqa: F401

NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
ORDER_COUNT = 60

# The store's tracking providers are cached per store URL: a cache private to this test process.
pytestmark = pytest.mark.usefixtures("isolated_tokens_and_buckets")


@pytest.fixture
def server():
    sim = SimulatorServer(port=0, order_count=ORDER_COUNT, seed=11, webhook_target=None, names=["woocommerce"],
                          simulator_options={"now": lambda: NOW}).start()
    yield sim
    sim.stop()


@pytest.fixture
def sim(server):
    return server.simulators["woocommerce"]


def provider_for(sim, **config):
    demo = sim.demo_channel()
    return provider_class("woocommerce")({**demo.config, **config}, webhook_secret=demo.webhook_secret,
                                         http=ChannelHttpClient(demo.config["baseUrl"], sleep=lambda s: None))


def get_orders(sim, **params):
    return requests.get(f"{sim.base_url}/wp-json/wc/v3/orders", params=params,
                        auth=("ck_simulator_demo_key", "cs_simulator_demo_secret"), timeout=5)


# --- paging -------------------------------------------------------------------------------------------------
def test_paging_while_orders_change_skips_and_doubles_nothing(sim, monkeypatch):
    """After every page the store serves, three of the window's orders change (their modification jumps past the
    window's end). Every order that did not change is read exactly once; the next poll reads the changed ones."""
    monkeypatch.setattr("channels_sync.providers.woocommerce.client.PER_PAGE", 7)
    until = NOW + timedelta(minutes=1)
    later = until + timedelta(minutes=2)
    sim.now = lambda: later
    sim.shift_per_page = 3
    before = {order_id: order["date_modified_gmt"] for order_id, order in sim.orders.items()}
    provider = provider_for(sim)
    first = [raw["id"] for raw in provider.fetch_orders(NOW - timedelta(days=40), until)]
    sim.shift_per_page = 0
    unchanged = {int(i) for i, stamp in before.items() if sim.orders[i]["date_modified_gmt"] == stamp}
    assert len(first) == len(set(first))
    assert unchanged <= set(first)
    assert len(unchanged) < ORDER_COUNT - 10       # many orders did change during the poll
    second = {raw["id"] for raw in provider.fetch_orders(until, None)}
    assert {int(i) for i in before} - unchanged <= second


def test_page_numbers_over_the_same_shifting_window_do_lose_orders(sim):
    """The knob is real: the old way (orderby=id, page numbers, a closed window) misses unchanged orders."""
    until = NOW + timedelta(minutes=1)
    later = until + timedelta(minutes=2)
    sim.now = lambda: later
    sim.shift_per_page = 3
    before = {order_id: order["date_modified_gmt"] for order_id, order in sim.orders.items()}
    seen, page = set(), 1
    window = {"modified_after": (NOW - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%S"),
              "modified_before": until.strftime("%Y-%m-%dT%H:%M:%S"), "dates_are_gmt": "true"}
    while True:
        response = get_orders(sim, per_page=7, page=page, orderby="id", order="asc", **window)
        if response.status_code == 400:
            break
        seen |= {order["id"] for order in response.json()}
        if page >= int(response.headers["X-WP-TotalPages"]):
            break
        page += 1
    unchanged = {int(i) for i, stamp in before.items() if sim.orders[i]["date_modified_gmt"] == stamp}
    assert unchanged - seen


@pytest.mark.parametrize("params, message", [
    ({"orderby": "date_modified"}, "Invalid parameter(s): orderby"),
    ({"order": "ascending"}, "Invalid parameter(s): order"),
    ({"modified_since": "2026-01-01T00:00:00"}, "Invalid parameter(s): modified_since"),
    ({"dates_are_gmt": "yes"}, "Invalid parameter(s): dates_are_gmt"),
])
def test_the_order_list_refuses_unknown_parameters_and_values_with_wordpress_error_shape(sim, params, message):
    response = get_orders(sim, **params)
    assert response.status_code == 400
    assert response.json() == {"code": "rest_invalid_param", "message": message, "data": {"status": 400}}


# --- tracking -----------------------------------------------------------------------------------------------
def shipped(order_id, carrier="UPS", tracking="1Z999AA10123456784", url=None) -> WritebackRequest:
    return WritebackRequest(channel_order_id=str(order_id), status=CommonStatus.SHIPPED, lines=[], raw={},
                            tracking_number=tracking, carrier=carrier, tracking_url=url,
                            ship_date=datetime(2026, 4, 19, 15, 0, tzinfo=UTC))


def an_order(sim, status="processing") -> str:
    return next(order_id for order_id, order in sim.orders.items() if order["status"] == status)


def test_with_the_extension_tracking_is_a_shipment_tracking_item_before_the_status(sim):
    sim.shipment_tracking = True
    order_id = an_order(sim)
    result = provider_for(sim).write_back(shipped(order_id))
    kinds = [(entry["kind"], entry["orderId"]) for entry in sim.writebacks]
    assert kinds == [("shipment_tracking", order_id), ("status", order_id)]   # the Completed email has it
    item = sim.trackings[order_id][0]
    assert (item["tracking_provider"], item["tracking_number"], item["date_shipped"]) == (
        "UPS", "1Z999AA10123456784", "2026-04-19")
    assert item["tracking_link"].endswith("1Z999AA10123456784")
    assert sim.orders[order_id]["status"] == "completed" and order_id not in sim.notes
    assert result.channel_reference == item["tracking_id"] and result.learned_config == {"shipmentTracking": True}


def test_a_carrier_the_store_does_not_list_is_a_custom_provider_with_our_link_and_a_retry_adds_nothing(sim):
    sim.shipment_tracking = True
    order_id = an_order(sim)
    provider = provider_for(sim, shipmentTracking=True)
    request = shipped(order_id, carrier="Speedy Couriers", tracking="SC-42", url="https://speedy.example/t/SC-42")
    provider.write_back(request)
    result = provider.write_back(request)     # a retry after the status call failed, say
    items = sim.trackings[order_id]
    assert len(items) == 1
    assert (items[0]["tracking_provider"], items[0]["tracking_link"]) == ("Speedy Couriers",
                                                                        "https://speedy.example/t/SC-42")
    assert result.learned_config == {} and "already on the order" in result.request_summary


def test_without_the_extension_tracking_is_a_customer_note_and_that_is_remembered(sim):
    order_id = an_order(sim)
    result = provider_for(sim).write_back(shipped(order_id))
    note = sim.notes[order_id][0]
    assert note["customer_note"] is True and "1Z999AA10123456784" in note["note"]
    assert result.learned_config["shipmentTracking"] is False
    # Remembered: the next writeback goes straight to the note, without asking the extension's route.
    sim.requests.clear()
    provider_for(sim, **result.learned_config).write_back(shipped(an_order(sim), tracking="1Z2"))
    assert not [r for r in sim.requests if "shipment-tracking" in r.path]


def test_an_absence_remembered_long_ago_is_checked_again(sim):
    sim.shipment_tracking = True   # the merchant installed it since
    order_id = an_order(sim)
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    result = provider_for(sim, shipmentTracking=False, shipmentTrackingCheckedAt=old).write_back(shipped(order_id))
    assert sim.trackings[order_id] and result.learned_config == {"shipmentTracking": True}


@pytest.mark.django_db
def test_the_writeback_service_remembers_the_extension_on_the_channel(sim, org, django_capture_on_commit_callbacks):
    demo = sim.demo_channel()
    channel = Channel.objects.create(org=org, channel_id="woo", provider="woocommerce", enabled=True,
                                     config=demo.config, webhook_secret=demo.webhook_secret)
    order_id = an_order(sim)
    ingest(channel=channel, raw_orders=[sim.orders[order_id]])
    order = AggregatedOrder.objects.get(channel=channel)
    with django_capture_on_commit_callbacks():
        writeback = order_status_update(order=order, status="shipped", tracking_number="1Z1", carrier="UPS")
    writeback_attempt(writeback_pk=writeback.pk)
    channel.refresh_from_db()
    assert Writeback.objects.get(pk=writeback.pk).status == "succeeded"
    assert channel.config["shipmentTracking"] is False and channel.config["consumerKey"] == demo.config["consumerKey"]
    assert "1Z1" in sim.notes[order_id][0]["note"]


def test_the_knobs_are_reachable_over_http(sim):
    """`_sim/shift` (every simulator) and `_sim/extensions` (WooCommerce), as a demo or a fault script uses them."""
    assert requests.post(f"{sim.base_url}/_sim/shift", json={"perPage": 2}, timeout=5).json() == {"shiftPerPage": 2}
    before = {order_id: order["date_modified_gmt"] for order_id, order in sim.orders.items()}
    assert get_orders(sim, per_page=5).status_code == 200
    assert sum(sim.orders[i]["date_modified_gmt"] != stamp for i, stamp in before.items()) == 2
    providers = f"{sim.base_url}/wp-json/wc-shipment-tracking/v3/shipment-trackings/providers"
    assert requests.get(providers, timeout=5).json()["code"] == "rest_no_route"
    requests.post(f"{sim.base_url}/_sim/extensions", json={"shipmentTracking": True}, timeout=5)
    assert "USPS" in requests.get(providers, timeout=5).json()["United States"]
    requests.post(f"{sim.base_url}/_sim/reset", timeout=5)
    assert sim.shift_per_page == 0
