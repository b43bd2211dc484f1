"""No missed orders while paging, on the channels whose paging is not covered beside their own simulator tests
(Amazon, eBay: test_amazon_ebay_simulators.py; WooCommerce: test_woocommerce_simulator.py): after every page the
simulator serves, some of the window's orders change (`shift_per_page`, simulator/base.py), their modification
jumping past the poll's end. Every order that did not change is read exactly once; the next poll, from this one's
end, reads the ones that did."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from channels_sync.providers import provider_class
from channels_sync.providers.http import ChannelHttpClient
from simulator.server import SimulatorServer
from tests.channels_sync.providers.amazon_ebay_fixtures import isolated_tokens_and_buckets  # noqa: F401

ORDER_COUNT = 45
CLOCK = [0.0]   # added to the simulator's clock by the provider's sleeps: a rate bucket refills without waiting
pytestmark = pytest.mark.usefixtures("isolated_tokens_and_buckets")


@pytest.fixture(params=["shopify", "walmart", "tiktok"])
def sim(request):
    server = SimulatorServer(host="127.0.0.1", port=0, order_count=ORDER_COUNT, seed=3, webhook_target=None,
                             names=[request.param],
                             simulator_options={"clock": lambda: time.monotonic() + CLOCK[0]}).start()
    yield server.simulators[request.param]
    server.stop()


def provider_for(sim):
    demo = sim.demo_channel()
    config = {**demo.config, "pageSize": 6}
    return provider_class(sim.name)(config, webhook_secret=demo.webhook_secret or None, channel_id=demo.channel_id,
                                    http=ChannelHttpClient(config["baseUrl"], sleep=_advance))


def _advance(seconds: float) -> None:
    CLOCK[0] += seconds


def stamps(sim) -> dict[str, object]:
    return {order_id: sim.order_updated_at(order) for order_id, order in sim.orders.items()}


def test_orders_changing_mid_poll_make_no_unchanged_order_skipped_or_doubled(sim):
    provider = provider_for(sim)
    until = sim.now() + timedelta(minutes=1)
    later = until + timedelta(minutes=2)
    sim.now = lambda: later
    before = stamps(sim)
    sim.shift_per_page = 3
    first = [provider.normalize(raw).channel_order_id for raw in provider.fetch_orders(until - timedelta(days=25),
                                                                                         until)]
    sim.shift_per_page = 0
    after = stamps(sim)
    unchanged = {order_id for order_id in before if after[order_id] == before[order_id]}
    in_window = {order_id for order_id in unchanged if before[order_id] >= until - timedelta(days=25)}
    assert set(first) <= set(sim.orders)
    assert len(first) == len(set(first)), "an order was read twice in one poll"
    assert in_window <= set(first), f"unchanged orders skipped: {sorted(in_window - set(first))}"
    assert len(unchanged) < len(before) - 6          # orders did change during the poll
    second = {provider.normalize(raw).channel_order_id for raw in provider.fetch_orders(until, None)}
    assert set(before) - unchanged <= second
