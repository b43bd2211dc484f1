"""Amazon and eBay end to end through the local simulator over real HTTP: our providers against the
simulated wire (paging, 429, expiring tokens, signed notifications, writebacks), then once through the
whole hub (one-shot sync, webhook receiver and worker body, status PUT written back)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from channels_sync.models import AggregatedOrder, Channel, SyncRun, WebhookDelivery, Writeback
from channels_sync.normalized import CommonStatus, WebhookRequest, WritebackRequest
from channels_sync.providers import provider_class
from channels_sync.providers.errors import WebhookRejected
from channels_sync.providers.http import ChannelHttpClient
from simulator.registry import available_simulators, simulator_class
from simulator.server import SimulatorServer
from tests.channels_sync.providers.amazon_ebay_fixtures import isolated_tokens_and_buckets  # noqa: F401

ORDER_COUNT = 40


# Tokens and rate buckets private to this test process (never a flush of the shared Redis).
pytestmark = pytest.mark.usefixtures("isolated_tokens_and_buckets")


@pytest.fixture
def server():
    sim = SimulatorServer(port=0, order_count=ORDER_COUNT, seed=5, webhook_target=None,
                          names=["amazon", "ebay"]).start()
    yield sim
    sim.stop()


def provider_for(server, name, sleeps=None, **config):
    demo = server.simulators[name].demo_channel()
    http = ChannelHttpClient(demo.config["baseUrl"], sleep=(sleeps.append if sleeps is not None else lambda s: None))
    return provider_class(name)({**demo.config, **config}, webhook_secret=demo.webhook_secret or None,
                                channel_id=demo.channel_id, http=http)


def as_request(hook, base="http://testserver") -> WebhookRequest:
    query = dict(part.split("=", 1) for part in hook.path.partition("?")[2].split("&") if part)
    return WebhookRequest(headers=hook.headers, body=hook.body, query=query, url=base + hook.path)


def test_both_simulators_are_registered():
    assert {"amazon", "ebay"} <= set(available_simulators())


@pytest.mark.parametrize("name", ["amazon", "ebay"])
def test_catalogue_normalizes_with_consistent_totals_and_varied_statuses(name):
    sim = simulator_class(name)(seed=11, order_count=150)
    if name == "amazon":   # what fetch_orders hands over: the order with its items attached
        raws = [{**sim._public(raw), "OrderItems": raw["_items"]} for raw in sim.orders.values()]
    else:
        raws = list(sim.orders.values())
    orders = [provider_class(name).normalize(raw) for raw in raws]
    for order in orders:
        assert order.grand_total == order.subtotal + order.shipping + order.tax
        assert order.lines and order.currency
    assert {o.status for o in orders} >= {CommonStatus.PENDING, CommonStatus.PROCESSING, CommonStatus.SHIPPED,
                                          CommonStatus.CANCELLED}
    assert any(o.shipping_address is None for o in orders) or name == "ebay"


# --- Amazon ----------------------------------------------------------------------------------------------
def test_amazon_one_shot_pulls_every_page_and_every_item_page(server):
    sleeps: list[float] = []
    provider = provider_for(server, "amazon", sleeps, pageSize=7)
    raws = list(provider.fetch_orders(datetime.now(UTC) - timedelta(days=40), None))
    sim = server.simulators["amazon"]
    assert sorted(r["AmazonOrderId"] for r in raws) == sorted(sim.orders)
    for raw in raws:   # items were fetched across their pages (the simulator pages them 5 at a time)
        assert [i["OrderItemId"] for i in raw["OrderItems"]] == [i["OrderItemId"] for i in sim.orders[
            raw["AmazonOrderId"]]["_items"]]
    assert any(len(raw["OrderItems"]) > 5 for raw in raws)


def test_amazon_429_and_token_expiry_mid_run_are_survived(server):
    sim = server.simulators["amazon"]
    sleeps: list[float] = []
    provider = provider_for(server, "amazon", sleeps, pageSize=10)
    orders = provider.fetch_orders(datetime.now(UTC) - timedelta(days=40), None)
    first = next(orders)
    sim.expire_tokens()
    requests.post(f"{sim.base_url}/_sim/throttle", json={"count": 1}, timeout=5)
    rest = list(orders)
    assert len(rest) + 1 == ORDER_COUNT and first
    assert len(sim.tokens) == 2            # the expired token was exchanged once more
    assert sleeps and sleeps[0] >= 1       # the 429 was waited out


def test_amazon_relay_notification_is_verified_and_names_an_order_we_can_fetch(server):
    sim = server.simulators["amazon"]
    order = next(o for o in sim.orders.values() if o["OrderStatus"] == "Unshipped")
    hook = sim.build_webhook(order, "ORDER_CHANGE")
    request = as_request(hook)
    provider = provider_for(server, "amazon")
    assert provider.webhook_identity(request) == provider.config["sellerId"]
    provider.verify_webhook(request)
    event = provider.parse_webhook(request)
    assert event.order_refs == [order["AmazonOrderId"]]
    fetched = provider.normalize(provider.fetch_order(order["AmazonOrderId"]))
    assert fetched.status == CommonStatus.PROCESSING
    forged = WebhookRequest({**hook.headers, "X-Relay-Secret": "guess"}, hook.body, {}, request.url)
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(forged)


def test_amazon_confirm_shipment_is_recorded_and_ships_the_order(server):
    sim = server.simulators["amazon"]
    raw_order = next(o for o in sim.orders.values() if o["OrderStatus"] == "Unshipped")
    provider = provider_for(server, "amazon")
    raw = provider.fetch_order(raw_order["AmazonOrderId"])
    data = provider.normalize(raw)
    result = provider.write_back(WritebackRequest(channel_order_id=data.channel_order_id, status=CommonStatus.SHIPPED,
                                                  lines=data.lines, raw=raw, tracking_number="1Z999AA10123456784",
                                                  carrier="UPS"))
    assert result.response_code == 204
    recorded = sim.writebacks[-1]
    assert recorded["kind"] == "confirmShipment" and recorded["orderId"] == data.channel_order_id
    assert recorded["body"]["packageDetail"]["carrierCode"] == "UPS"
    assert provider.normalize(provider.fetch_order(data.channel_order_id)).status == CommonStatus.SHIPPED


# --- eBay ------------------------------------------------------------------------------------------------
def test_ebay_pulls_every_page_with_limit_and_offset(server):
    provider = provider_for(server, "ebay", pageSize=6)
    raws = list(provider.fetch_orders(datetime.now(UTC) - timedelta(days=40), None))
    assert sorted(r["orderId"] for r in raws) == sorted(server.simulators["ebay"].orders)


def test_ebay_429_and_token_expiry_mid_run_are_survived(server):
    sim = server.simulators["ebay"]
    sleeps: list[float] = []
    orders = provider_for(server, "ebay", sleeps, pageSize=5).fetch_orders(None, None)
    next(orders)
    sim.expire_tokens()
    requests.post(f"{sim.base_url}/_sim/throttle", json={"count": 1}, timeout=5)
    assert len(list(orders)) + 1 == ORDER_COUNT
    assert sleeps == [1.0]


def test_ebay_signed_notification_verifies_with_the_key_the_simulator_publishes(server):
    sim = server.simulators["ebay"]
    order = next(iter(sim.orders.values()))
    hook = sim.build_webhook(order, "ORDER_CONFIRMATION")
    # No configured key: the provider fetches it from getPublicKey with an app token, as from eBay.
    provider = provider_for(server, "ebay", publicKeys={})
    provider.verify_webhook(as_request(hook))
    assert provider.parse_webhook(as_request(hook)).order_refs == [order["orderId"]]
    tampered = as_request(hook)
    tampered = WebhookRequest(tampered.headers, tampered.body.replace(b"ORDER", b"ORDEr"), tampered.query,
                              tampered.url)
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(tampered)


def test_ebay_shipping_fulfillment_is_recorded_with_the_location_id(server):
    sim = server.simulators["ebay"]
    provider = provider_for(server, "ebay")
    raw = next(o for o in sim.orders.values() if o["cancelStatus"]["cancelState"] == "NONE_REQUESTED")
    data = provider.normalize(raw)
    result = provider.write_back(WritebackRequest(channel_order_id=data.channel_order_id, status=CommonStatus.SHIPPED,
                                                  lines=data.lines, raw=raw, tracking_number="9400111899560000000001",
                                                  carrier="USPS"))
    assert result.response_code == 201 and result.channel_reference == "9400111899560000000001"
    assert sim.writebacks[-1]["body"]["lineItems"] == [{"lineItemId": line.channel_line_id,
                                                        "quantity": line.quantity} for line in data.lines]
    assert provider.normalize(provider.fetch_order(data.channel_order_id)).status == CommonStatus.SHIPPED


def test_ebay_registration_creates_destination_and_subscription(server):
    sim = server.simulators["ebay"]
    provider = provider_for(server, "ebay", notificationTopics=["ORDER_CONFIRMATION"])
    registered = provider.register_webhooks("https://hub.example.com/upstream/webhooks/ebay/notifications?channel=x")
    assert registered == [{"topicId": "ORDER_CONFIRMATION", "destinationId": "dest-1", "subscriptionId": "sub-1"}]
    assert sim.destinations[0]["deliveryConfig"]["verificationToken"] == provider.config["verificationToken"]


# --- the whole hub, once per provider ---------------------------------------------------------------------
@pytest.fixture
def demo_channel(org, server):
    def make(name):
        demo = server.simulators[name].demo_channel()
        return Channel.objects.create(org=org, channel_id=demo.channel_id, provider=name, enabled=True,
                                      config=demo.config, webhook_secret=demo.webhook_secret)
    return make


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("name", ["amazon", "ebay"])
def test_whole_flow_sync_webhook_and_writeback(name, server, demo_channel, client,
                                               django_capture_on_commit_callbacks):
    from channels_sync.services.polling import sync_run, sync_start
    from channels_sync.services.webhooks import webhook_process
    from channels_sync.services.writeback import order_status_update, writeback_attempt

    channel = demo_channel(name)
    sim = server.simulators[name]

    # One-shot sync: every order of the catalogue lands normalized.
    with django_capture_on_commit_callbacks(execute=False):
        run = sync_start(channel=channel, from_date=datetime.now(UTC) - timedelta(days=40))
    run = sync_run(run_pk=run.pk)
    assert run.status == "succeeded", run.error
    assert AggregatedOrder.objects.filter(channel=channel).count() == ORDER_COUNT
    assert SyncRun.objects.get(pk=run.pk).status == "succeeded"

    # A change arrives as a notification: receiver answers 200 and stores it; the worker fetches the order.
    order = sim.add_order()
    hook = sim.build_webhook(order, sim.new_order_topic())
    headers = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in hook.headers.items()
               if key.lower() != "content-type"}
    path = hook.path if "?" in hook.path else f"{hook.path}?channel={channel.channel_id}"
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(path, data=hook.body, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    delivery = WebhookDelivery.objects.get(channel=channel)
    webhook_process(delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "processed", delivery.last_error
    new_id = order["AmazonOrderId"] if name == "amazon" else order["orderId"]
    stored = AggregatedOrder.objects.get(channel=channel, channel_order_id=new_id)

    # The same notification again is acknowledged and not processed twice.
    with django_capture_on_commit_callbacks(execute=False):
        again = client.post(path, data=hook.body, content_type="application/json", **headers)
    assert again.status_code == 200 and json.loads(again.content)["duplicate"] is True

    # A forged one is refused.
    forged = dict(headers)
    forged_key = "HTTP_X_RELAY_SECRET" if name == "amazon" else "HTTP_X_EBAY_SIGNATURE"
    forged[forged_key] = "forged"
    # (an unreadable X-EBAY-SIGNATURE is a 400 since issue 15, item 8; a readable forged one a 401)
    refused = client.post(path, data=hook.body, content_type="application/json", **forged).status_code
    assert refused == (401 if name == "amazon" else 400)

    # Shipped locally: written back in the channel's own format.
    target = stored if stored.status in ("processing",) else AggregatedOrder.objects.filter(
        channel=channel, status="processing").first()
    with django_capture_on_commit_callbacks(execute=False):
        writeback = order_status_update(order=target, status="shipped", tracking_number="TRACK123456", carrier="UPS")
    assert writeback_attempt(writeback_pk=writeback.pk) is None
    writeback = Writeback.objects.get(pk=writeback.pk)
    assert writeback.status == "succeeded", writeback.last_error
    recorded = sim.writebacks[-1]
    assert recorded["orderId"] == target.channel_order_id
    if name == "amazon":
        assert recorded["body"]["packageDetail"]["trackingNumber"] == "TRACK123456"
    else:
        assert recorded["body"]["trackingNumber"] == "TRACK123456"

    # The channel refuses a shipment of an order it cancelled: a permanent failure, visible in history.
    cancelled = AggregatedOrder.objects.filter(channel=channel, status="cancelled").first()
    with django_capture_on_commit_callbacks(execute=False):
        refused = order_status_update(order=cancelled, status="shipped", tracking_number="TRACK999", carrier="UPS")
    assert writeback_attempt(writeback_pk=refused.pk) is None
    refused = Writeback.objects.get(pk=refused.pk)
    assert refused.status == "failed" and "PermanentChannelError" in refused.last_error
    assert len(sim.writebacks) == 1
