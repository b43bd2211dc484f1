"""Amazon and eBay end to end through the local simulator over real HTTP: our providers against the
simulated wire (paging, 429, expiring tokens, signed notifications, writebacks), then once through the
whole hub (one-shot sync, webhook receiver and worker body, status PUT written back)."""

from __future__ import annotations

import json
from dataclasses import replace
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
    if name == "amazon":   # what searchOrders hands an app without buyer PII: every dataset but the RDT's
        raws = [sim._public(raw, {"RECIPIENT", "PROCEEDS", "FULFILLMENT", "PACKAGES"}, set())
                for raw in sim.orders.values()]
    else:
        raws = list(sim.orders.values())
    orders = [provider_class(name).normalize(raw) for raw in raws]
    for order in orders:
        assert order.grand_total == order.subtotal - order.discount + order.shipping + order.tax
        assert order.lines and order.currency
    assert {o.status for o in orders} >= {CommonStatus.PENDING, CommonStatus.PROCESSING, CommonStatus.SHIPPED,
                                          CommonStatus.CANCELLED}
    if name == "amazon":   # without an RDT: no name, no street, no email; the city and country stay
        assert all(o.shipping_address.line1 is None and o.shipping_address.name is None and o.customer_email is None
                   and o.shipping_address.country == "US" for o in orders)


# --- Amazon ----------------------------------------------------------------------------------------------
def test_amazon_one_shot_pulls_every_page_of_search_orders_with_items_and_buyer(server):
    sleeps: list[float] = []
    provider = provider_for(server, "amazon", sleeps, pageSize=7)
    raws = list(provider.fetch_orders(datetime.now(UTC) - timedelta(days=40), None))
    sim = server.simulators["amazon"]
    assert sorted(r["orderId"] for r in raws) == sorted(sim.orders)
    for raw in raws:   # items come inside each order: no call per order
        assert [i["orderItemId"] for i in raw["orderItems"]] == [i["orderItemId"] for i in sim.orders[
            raw["orderId"]]["orderItems"]]
    paths = [entry.path for entry in sim.requests]
    assert paths.count("/orders/2026-01-01/orders") == -(-ORDER_COUNT // 7)
    assert not any("/orders/v0/" in path for path in paths)
    # Buyer and address came with the restricted data token, asked for once for the whole poll.
    assert paths.count("/tokens/2021-03-01/restrictedDataToken") == 1
    normalized = [provider.normalize(raw) for raw in raws]
    assert all(o.customer_name and o.customer_email and o.shipping_address.line1 for o in normalized)


def test_amazon_without_a_restricted_data_token_the_simulator_leaves_the_pii_out(server):
    sim = server.simulators["amazon"]
    token = requests.post(f"{sim.base_url}/auth/o2/token", timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": "Atzr|simulator-refresh-token",
        "client_id": "amzn1.application-oa2-client.simulator",
        "client_secret": "amzn1.oa2-cs.v1.simulator-secret"}).json()["access_token"]
    body = requests.get(f"{sim.base_url}/orders/2026-01-01/orders", timeout=5, headers={"x-amz-access-token": token},
                        params={"createdAfter": "2020-01-01T00:00:00Z", "includedData": "BUYER,RECIPIENT"}).json()
    order = body["orders"][0]
    assert "buyer" not in order
    assert set(order["recipient"]["deliveryAddress"]) == {"city", "stateOrRegion", "countryCode", "addressType"}


@pytest.mark.parametrize("params, message", [
    ({"createdAfter": "2020-01-01T00:00:00Z", "MarketplaceIds": "ATVPDKIKX0DER"}, "Unknown query parameter"),
    ({"marketplaceIds": "ATVPDKIKX0DER"}, "Exactly one of createdAfter and lastUpdatedAfter"),
    ({"createdAfter": "2020-01-01T00:00:00Z", "lastUpdatedAfter": "2020-01-01T00:00:00Z"}, "Exactly one"),
    ({"createdAfter": "2020-01-01T00:00:00Z", "fulfillmentStatuses": "Unshipped"}, "Invalid value"),
    ({"createdAfter": "2020-01-01T00:00:00Z", "includedData": "BUYER,ADDRESS"}, "Invalid value"),
    ({"createdAfter": "2020-01-01T00:00:00Z", "maxResultsPerPage": "101"}, "between 1 and 100"),
    ({"lastUpdatedAfter": "2020-01-01T00:00:00Z",
      # one minute ahead when the request is sent (a value taken at collection goes stale on a slow run)
      "lastUpdatedBefore": lambda: (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
     "two minutes"),
])
def test_amazon_simulator_refuses_what_search_orders_refuses_with_sp_api_errors(server, params, message):
    sim = server.simulators["amazon"]
    provider = provider_for(server, "amazon")
    params = {name: value() if callable(value) else value for name, value in params.items()}
    response = requests.get(f"{sim.base_url}/orders/2026-01-01/orders", params=params, timeout=5,
                            headers={"x-amz-access-token": provider.token.get()})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "InvalidInput" and message in error["message"] and "details" in error


def test_amazon_paging_while_orders_change_skips_and_doubles_nothing(server):
    """Orders change (their lastUpdatedTime jumps to now) after every page the poll reads; every order that
    did not change is still read exactly once, and the changed ones are read by the next poll."""
    sim = server.simulators["amazon"]
    sim.shift_per_page = 3
    provider = provider_for(server, "amazon", pageSize=5)
    since = datetime.now(UTC) - timedelta(days=40)
    before = {order_id: order["lastUpdatedTime"] for order_id, order in sim.orders.items()}
    first = [raw["orderId"] for raw in provider.fetch_orders(since, None, None)]
    sim.shift_per_page = 0
    unchanged = {order_id for order_id, stamp in before.items() if sim.orders[order_id]["lastUpdatedTime"] == stamp}
    assert len(first) == len(set(first))
    assert unchanged <= set(first)
    assert len(unchanged) < ORDER_COUNT   # orders did change during the poll
    # Three minutes later (Amazon shows nothing younger than two), the next poll, from the start of this one as
    # the cursor moves, reads every order that changed.
    later = sim.now() + timedelta(minutes=3)
    sim.now = lambda: later
    second = {raw["orderId"] for raw in provider.fetch_orders(datetime.now(UTC) - timedelta(minutes=1), None)}
    assert set(before) - unchanged <= second | set(first)


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
    assert len(sim.rdts) == 2              # the expired restricted data token was asked for once more
    assert sleeps and sleeps[0] >= 1       # the 429 was waited out


def test_amazon_relay_notification_is_verified_and_names_an_order_we_can_fetch(server):
    sim = server.simulators["amazon"]
    order = next(o for o in sim.orders.values() if o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED")
    hook = sim.build_webhook(order, "ORDER_CHANGE")
    request = as_request(hook)
    provider = provider_for(server, "amazon")
    assert provider.webhook_identity(request) == provider.config["sellerId"]
    provider.verify_webhook(request)
    event = provider.parse_webhook(request)
    assert event.order_refs == [order["orderId"]]
    fetched = provider.normalize(provider.fetch_order(order["orderId"]))
    assert fetched.status == CommonStatus.PROCESSING
    assert fetched.shipping_address and fetched.shipping_address.line1   # getOrder also read with the RDT
    forged = WebhookRequest({**hook.headers, "X-Relay-Secret": "guess"}, hook.body, {}, request.url)
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(forged)


def test_amazon_confirm_shipment_is_recorded_and_ships_the_order(server):
    sim = server.simulators["amazon"]
    raw_order = next(o for o in sim.orders.values() if o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED")
    provider = provider_for(server, "amazon")
    raw = provider.fetch_order(raw_order["orderId"])
    data = provider.normalize(raw)
    result = provider.write_back(WritebackRequest(channel_order_id=data.channel_order_id, status=CommonStatus.SHIPPED,
                                                  lines=data.lines, raw=raw, tracking_number="1Z999AA10123456784",
                                                  carrier="ups"))
    assert result.response_code == 204
    recorded = sim.writebacks[-1]
    assert recorded["kind"] == "confirmShipment" and recorded["orderId"] == data.channel_order_id
    assert recorded["body"]["packageDetail"]["carrierCode"] == "UPS"
    assert provider.normalize(provider.fetch_order(data.channel_order_id)).status == CommonStatus.SHIPPED


def test_amazon_partial_shipment_confirms_only_the_parcel_quantities(server):
    sim = server.simulators["amazon"]
    raw_order = next(o for o in sim.orders.values() if o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
                     and any(i["quantityOrdered"] > 1 for i in o["orderItems"]))
    provider = provider_for(server, "amazon")
    raw = provider.fetch_order(raw_order["orderId"])
    data = provider.normalize(raw)
    line = next(line for line in data.lines if line.quantity > 1)
    parcel = [replace(line, quantity=1)]
    provider.write_back(WritebackRequest(channel_order_id=data.channel_order_id, status=CommonStatus.SHIPPED,
                                         lines=parcel, raw=raw, tracking_number="RR123456789GB",
                                         carrier="Royal Mail", parcel=True))
    assert sim.writebacks[-1]["body"]["packageDetail"]["orderItems"] == [
        {"orderItemId": line.channel_line_id, "quantity": 1}]
    assert sim.writebacks[-1]["body"]["packageDetail"]["carrierCode"] == "Royal Mail"
    after = provider.fetch_order(data.channel_order_id)
    assert after["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    # The rest of the order, confirmed as a whole, sends only what is still unshipped (never the parcel's unit twice).
    provider.write_back(WritebackRequest(channel_order_id=data.channel_order_id, status=CommonStatus.SHIPPED,
                                         lines=data.lines, raw=after, tracking_number="RR987654321GB",
                                         carrier="Evri"))
    rest = {i["orderItemId"]: i["quantity"] for i in sim.writebacks[-1]["body"]["packageDetail"]["orderItems"]}
    assert rest[line.channel_line_id] == line.quantity - 1
    package = sim.writebacks[-1]["body"]["packageDetail"]
    assert (package["carrierCode"], package.get("carrierName")) == ("Hermes Logistik Gruppe", None)
    assert provider.fetch_order(data.channel_order_id)["fulfillment"]["fulfillmentStatus"] == "SHIPPED"


# --- eBay ------------------------------------------------------------------------------------------------
def test_ebay_pulls_every_page_with_limit_and_offset(server):
    provider = provider_for(server, "ebay", pageSize=6)
    raws = list(provider.fetch_orders(datetime.now(UTC) - timedelta(days=40), None))
    assert sorted(r["orderId"] for r in raws) == sorted(server.simulators["ebay"].orders)


def test_ebay_paging_while_orders_change_skips_and_doubles_nothing(server):
    """Orders change (lastModifiedDate jumps to now) after every page eBay serves; every order that did not change
    is still read exactly once, and the changed ones are read by the next poll, from this one's end."""
    sim = server.simulators["ebay"]
    until = sim.now() + timedelta(minutes=1)
    later = until + timedelta(minutes=2)
    sim.now = lambda: later
    sim.shift_per_page = 3
    before = {order_id: order["lastModifiedDate"] for order_id, order in sim.orders.items()}
    provider = provider_for(server, "ebay", pageSize=5)
    first = [raw["orderId"] for raw in provider.fetch_orders(until - timedelta(days=40), until)]
    sim.shift_per_page = 0
    unchanged = {order_id for order_id, stamp in before.items() if sim.orders[order_id]["lastModifiedDate"] == stamp}
    assert len(first) == len(set(first))
    assert unchanged <= set(first)
    assert len(unchanged) < ORDER_COUNT - 10      # many orders did change during the poll
    second = {raw["orderId"] for raw in provider.fetch_orders(until, None)}
    assert set(before) - unchanged <= second


def test_ebay_simulator_shifting_pages_does_skip_an_order_for_a_closed_window_walked_by_offset(server):
    """The knob is real: walking a closed lastmodifieddate window by offset, as the provider did, loses orders."""
    sim = server.simulators["ebay"]
    until = sim.now() + timedelta(minutes=1)
    later = until + timedelta(minutes=2)
    sim.now = lambda: later
    sim.shift_per_page = 3
    provider = provider_for(server, "ebay")
    window = f"lastmodifieddate:[{(until - timedelta(days=40)).strftime('%Y-%m-%dT%H:%M:%S.000Z')}.." \
             f"{until.strftime('%Y-%m-%dT%H:%M:%S.000Z')}]"
    before = {order_id: order["lastModifiedDate"] for order_id, order in sim.orders.items()}
    seen, offset = set(), 0
    while True:
        page = provider._call("GET", "/sell/fulfillment/v1/order",
                              params={"filter": window, "limit": 5, "offset": offset}).json()
        seen |= {order["orderId"] for order in page["orders"]}
        offset += 5
        if offset >= page["total"]:
            break
    unchanged = {order_id for order_id, stamp in before.items() if sim.orders[order_id]["lastModifiedDate"] == stamp}
    assert unchanged - seen


@pytest.mark.parametrize("params, error_id, message", [
    ({"filter": "orderfulfillmentstatus:{FULFILLED}"}, 30800, "Invalid filter value"),
    ({"filter": "orderfulfillmentstatus:{NOT_STARTED|FULFILLED}"}, 30800, "Invalid filter value"),
    ({"filter": "buyerusername:{someone}"}, 30700, "Invalid filter name"),
    ({"filter": "lastmodifieddate:[yesterday..]"}, 30810, "Invalid date format"),
    ({"filter": "lastmodifieddate:[..2026-01-01T00:00:00.000Z]"}, 30800, "Invalid filter value"),
    ({"sort": "lastmodifieddate"}, 30700, "Invalid query parameter: sort"),
])
def test_ebay_simulator_refuses_what_get_orders_refuses_with_ebays_error_shape(server, params, error_id, message):
    provider = provider_for(server, "ebay")
    response = requests.get(f"{server.simulators['ebay'].base_url}/sell/fulfillment/v1/order", params=params,
                            headers={"Authorization": f"Bearer {provider.user_token.get()}"}, timeout=5)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["errorId"] == error_id and message in error["message"]
    assert (error["domain"], error["category"]) == ("API_FULFILLMENT", "REQUEST")


@pytest.mark.parametrize("value", ["{NOT_STARTED|IN_PROGRESS}", "{IN_PROGRESS|FULFILLED}"])
def test_ebay_simulator_accepts_the_two_documented_fulfillment_sets(server, value):
    provider = provider_for(server, "ebay")
    response = requests.get(f"{server.simulators['ebay'].base_url}/sell/fulfillment/v1/order",
                            params={"filter": f"orderfulfillmentstatus:{value}"},
                            headers={"Authorization": f"Bearer {provider.user_token.get()}"}, timeout=5)
    assert response.status_code == 200 and response.json()["orders"]


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
    new_id = order["orderId"]
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

    # A shipment of an order the channel cancelled is refused before anything is saved or sent (issue 17).
    from channels_sync.services.writeback import StatusNotWritable

    cancelled = AggregatedOrder.objects.filter(channel=channel, status="cancelled").first()
    before = Writeback.objects.count()
    with pytest.raises(StatusNotWritable, match="from cancelled to shipped"):
        order_status_update(order=cancelled, status="shipped", tracking_number="TRACK999", carrier="UPS")
    cancelled.refresh_from_db()
    assert cancelled.status == "cancelled" and Writeback.objects.count() == before
    assert len(sim.writebacks) == 1


@pytest.mark.django_db(transaction=False)
def test_amazon_status_put_without_a_carrier_is_a_400_naming_amazons_carriers_and_a_named_one_is_mapped(
        server, demo_channel, owner, django_capture_on_commit_callbacks):
    from channels_sync.services.ingest import ingest
    from channels_sync.services.writeback import writeback_attempt

    channel = demo_channel("amazon")
    sim = server.simulators["amazon"]
    provider = provider_for(server, "amazon")
    raw_order = next(o for o in sim.orders.values() if o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED")
    ingest(channel=channel, raw_orders=[provider.fetch_order(raw_order["orderId"])])
    order = AggregatedOrder.objects.get(channel=channel)
    url = f"/sales-channel/orders/{order.public_id}/status"

    refused = owner.client.put(url, {"status": "shipped", "trackingNumber": "RR1GB"}, format="json")
    assert refused.status_code == 400
    message = refused.json()["error"]["details"]["carrier"][0]
    assert "Royal Mail" in message and "USPS" in message
    assert not Writeback.objects.filter(order=order).exists()
    assert AggregatedOrder.objects.get(pk=order.pk).status == "processing"

    with django_capture_on_commit_callbacks(execute=False):
        accepted = owner.client.put(url, {"status": "shipped", "trackingNumber": "RR1GB", "carrier": "royal mail"},
                                    format="json")
    assert accepted.status_code == 200, accepted.content
    assert writeback_attempt(writeback_pk=Writeback.objects.get(order=order).pk) is None
    assert sim.writebacks[-1]["body"]["packageDetail"]["carrierCode"] == "Royal Mail"
