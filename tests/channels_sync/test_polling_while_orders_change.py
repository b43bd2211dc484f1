"""Through the app: two polls of a channel whose orders change while the first one pages (the simulator's
`shift_per_page`). After both, every order is stored once, in its latest state; the first poll read none twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels_sync.models import AggregatedOrder, Channel
from channels_sync.services.polling import channel_poll
from simulator.server import SimulatorServer
from tests.channels_sync.providers.amazon_ebay_fixtures import isolated_tokens_and_buckets  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_tokens_and_buckets")]


@pytest.fixture(params=["woocommerce", "ebay", "walmart", "tiktok", "shopify", "amazon"])
def sim(request):
    server = SimulatorServer(host="127.0.0.1", port=0, order_count=40, seed=9, webhook_target=None,
                             names=[request.param]).start()
    yield server.simulators[request.param]
    server.stop()


def test_two_polls_store_every_order_once_in_its_latest_state(sim, org, monkeypatch):
    monkeypatch.setattr("channels_sync.providers.woocommerce.client.PER_PAGE", 6)   # its page size is fixed
    demo = sim.demo_channel()
    channel = Channel.objects.create(org=org, channel_id="shifting", provider=sim.name, enabled=True,
                                     config={**demo.config, "pageSize": 6}, webhook_secret=demo.webhook_secret)
    start = sim.now() + timedelta(minutes=1)
    later = start + timedelta(minutes=2)
    sim.now = lambda: later
    Channel.objects.filter(pk=channel.pk).update(cursor=start - timedelta(days=29))
    sim.shift_per_page = 3
    first = channel_poll(channel_pk=channel.pk, now=start)
    sim.shift_per_page = 0
    assert first.status == "succeeded", first.error
    assert first.created == first.fetched            # nothing read twice
    if sim.name == "amazon":   # the next poll a few minutes on: Amazon shows nothing younger than two minutes
        sim.now = lambda: later + timedelta(minutes=5)
    second = channel_poll(channel_pk=channel.pk, now=later + timedelta(minutes=6))
    assert second.status == "succeeded", second.error
    stored = dict(AggregatedOrder.objects.filter(channel=channel).values_list("channel_order_id",
                                                                            "channel_updated_at"))
    expected = {sim.order_id(order): sim.order_updated_at(order) for order in sim.orders.values()
                if sim.order_updated_at(order) >= start - timedelta(days=29)}
    assert set(expected) <= set(stored), f"never stored: {sorted(set(expected) - set(stored))}"
    stale = [order_id for order_id, moment in expected.items() if stored[order_id] < moment]
    assert not stale, f"stored in an older state: {stale}"
