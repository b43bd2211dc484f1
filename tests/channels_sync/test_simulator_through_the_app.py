"""The simulator's deliveries and API through our real receiver, ingest and writeback services.

Task bodies are called directly (no broker): what is checked is that the Shopify and WooCommerce
wire formats the simulator speaks land as correct aggregated orders, and a status goes back.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from django.core.management import call_command

from channels_sync.models import AggregatedOrder, Channel, WebhookDelivery
from channels_sync.normalized import CommonStatus
from channels_sync.services.polling import sync_run, sync_start
from channels_sync.services.webhooks import webhook_process
from channels_sync.services.writeback import order_status_update, writeback_attempt
from simulator.server import SimulatorServer

NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def sim():
    server = SimulatorServer(port=0, order_count=30, seed=5, names=["shopify", "woocommerce"],
                             simulator_options={"now": lambda: NOW}).start()
    yield server
    server.stop()


@pytest.fixture
def channels(sim):
    call_command("seed_demo_channels", simulator_url=sim.base_url, channels="shopify,woocommerce")
    return {c.provider: c for c in Channel.objects.filter(org__slug="demo")}


def post(client, hook):
    headers = {k: v for k, v in hook.headers.items() if k.lower() != "content-type"}
    return client.post(hook.path, data=hook.body, content_type=hook.headers.get("Content-Type", "application/json"),
                       headers=headers)


@pytest.mark.parametrize("name", ["shopify", "woocommerce"])
def test_a_signed_delivery_lands_once_as_a_normalized_order(client, sim, channels, name,
                                                          django_capture_on_commit_callbacks):
    simulator = sim.simulators[name]
    raw = simulator.add_order()
    hook = simulator.build_webhook(raw, simulator.new_order_topic())
    with django_capture_on_commit_callbacks(execute=False):
        first = post(client, hook)
        again = post(client, hook)
    assert first.status_code == 200 and first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True
    delivery = WebhookDelivery.objects.get(channel=channels[name])
    webhook_process(delivery_pk=delivery.pk)
    order = AggregatedOrder.objects.get(channel=channels[name], channel_order_id=str(raw["id"]))
    expected_total = raw["total_price"] if name == "shopify" else raw["total"]
    assert f"{order.grand_total:.2f}" == expected_total
    assert order.currency == raw["currency"]


@pytest.mark.parametrize("name", ["shopify", "woocommerce"])
def test_a_forged_delivery_is_refused_and_stored_nowhere(client, sim, channels, name):
    simulator = sim.simulators[name]
    hook = simulator.build_webhook(simulator.add_order(), simulator.new_order_topic())
    hook.body = hook.body.replace(b'"currency":', b'"currency" :', 1)
    assert post(client, hook).status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_the_woocommerce_creation_ping_is_answered_200(client, sim, channels):
    response = client.post("/upstream/webhooks/woocommerce/orders?channel=demo-woocommerce&org=demo",
                           data=b"webhook_id=140", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["shopify", "woocommerce"])
def test_one_shot_sync_pulls_every_order_and_a_shipped_status_is_written_back(sim, channels, name,
                                                                            django_capture_on_commit_callbacks):
    channel = channels[name]
    with django_capture_on_commit_callbacks(execute=False):
        run = sync_start(channel=channel)
    sync_run(run_pk=run.pk)
    assert AggregatedOrder.objects.filter(channel=channel).count() == 30
    order = AggregatedOrder.objects.filter(channel=channel, status=CommonStatus.PROCESSING).first()
    with django_capture_on_commit_callbacks(execute=False):
        writeback = order_status_update(order=order, status="shipped", tracking_number="1Z999AA10123456784",
                                        carrier="ups")
    writeback_attempt(writeback_pk=writeback.pk)
    writeback.refresh_from_db()
    assert writeback.status == "succeeded", writeback.last_error
    recorded = requests.get(f"{sim.simulators[name].base_url}/_sim/writebacks", timeout=5).json()["writebacks"]
    assert recorded and recorded[-1]["orderId"] == order.channel_order_id
    assert "1Z999AA10123456784" in str(recorded[-1]["body"])
