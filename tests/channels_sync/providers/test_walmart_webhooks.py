"""Walmart order notifications: HMAC subscription with the channel's webhook secret, the signature checked at our
receiver, PO_CREATED (legacy and as an ORDER_UPDATES sub-event) naming the purchase order the worker reads,
stores and acknowledges; polling stays the backstop."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from urllib.parse import urlsplit

import pytest
import responses
from django.core.cache import cache

from channels_sync.normalized import WebhookRequest
from channels_sync.providers.errors import WebhookRejected
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.walmart import Provider
from tests.channels_sync.providers.tiktok_walmart_fixtures import fixture, fixture_bytes

BASE = "https://walmart.test"
SECRET = "whsec-walmart-channel"


def make_provider(webhook_secret=SECRET) -> Provider:
    config = {"clientId": f"client-{uuid.uuid4().hex[:8]}", "clientSecret": "api-secret", "baseUrl": BASE}
    return Provider(config, webhook_secret=webhook_secret, http=ChannelHttpClient(BASE, sleep=lambda _s: None))


def signed(body: bytes, *, secret=SECRET, encoding="hex", header="WM-SEC-SIGNATURE") -> WebhookRequest:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    value = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    return WebhookRequest(headers={header: value, "Content-Type": "application/json"}, body=body, query={},
                          url="https://hub.test/upstream/webhooks/walmart/orders")


@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_a_delivery_signed_with_the_channel_secret_verifies(encoding):
    make_provider().verify_webhook(signed(fixture_bytes("walmart", "webhook_po_created_constructed.json"),
                                          encoding=encoding))


@pytest.mark.parametrize("tamper", ["other secret", "body changed", "no header", "api secret", "no channel secret"])
def test_forged_or_unsigned_deliveries_are_refused(tamper):
    body = fixture_bytes("walmart", "webhook_po_created_constructed.json")
    provider = make_provider(webhook_secret=None if tamper == "no channel secret" else SECRET)
    request = {
        "other secret": lambda: signed(body, secret="guess"),
        "body changed": lambda: WebhookRequest(headers=signed(body).headers, query={}, url="",
                                               body=body.replace(b"1796277083022", b"1796277083023")),
        "no header": lambda: signed(body, header="X-Other"),
        "api secret": lambda: signed(body, secret="api-secret"),   # the API client secret proves nothing here
        "no channel secret": lambda: signed(body),
    }[tamper]()
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(request)


@pytest.mark.parametrize("name,topic,event_id", [
    ("webhook_po_created_constructed.json", "PO_CREATED", "9b3e2f10-c8a1-11f0-a1b2-0242ac120002"),
    ("webhook_order_updates_po_created_constructed.json", "PO_CREATED", "a41c7d52-c8a1-11f0-a1b2-0242ac120002"),
])
def test_po_created_names_the_purchase_order_to_read_with_walmarts_event_id(name, topic, event_id):
    event = make_provider().parse_webhook(signed(fixture_bytes("walmart", name)))
    assert (event.delivery_id, event.topic, event.order_refs) == (event_id, topic, ["1796277083022"])


def test_a_non_order_notification_reads_nothing():
    body = json.dumps({"source": {"eventType": "OFFER_UNPUBLISHED", "eventId": "e-1"},
                       "payload": {"sku": "test1"}}).encode()
    event = make_provider().parse_webhook(signed(body))
    assert (event.topic, event.order_refs) == ("OFFER_UNPUBLISHED", [])


@responses.activate
def test_enabling_subscribes_order_updates_with_hmac_keyed_by_the_webhook_secret():
    responses.post(f"{BASE}/v3/token", json=fixture("walmart", "token_response.json"))
    responses.post(f"{BASE}/v3/webhooks/subscriptions", json=fixture("walmart", "create_subscription_response.json"))
    url = "https://hub.test/upstream/webhooks/walmart/orders?channel=wm&org=acme"
    registered = make_provider().register_webhooks(url)

    body = json.loads(responses.calls[-1].request.body)
    documented = fixture("walmart", "create_subscription_request.json")["events"][0]
    (event,) = body["events"]
    assert set(documented) <= set(event)
    assert (event["eventType"], event["eventVersion"], event["resourceName"]) == ("ORDER_UPDATES", "V1", "ORDER")
    assert (event["eventUrl"], event["status"]) == (url, "ACTIVE")
    assert event["authDetails"] == {"authMethod": "HMAC", "authHeaderName": "WM-SEC-SIGNATURE",
                                    "clientSecret": SECRET}
    assert registered[0]["subscriptionId"] == "620b45a0-b321-11ea-ac13-1f88d6025b7d"


@responses.activate
def test_without_a_webhook_secret_nothing_is_subscribed_and_polling_carries_on():
    assert make_provider(webhook_secret=None).register_webhooks("https://hub.test/x") == []
    assert len(responses.calls) == 0


# --- through the hub with the simulator -------------------------------------------------------------------
@pytest.fixture
def walmart_sim():
    from simulator.server import SimulatorServer

    server = SimulatorServer(host="127.0.0.1", port=0, order_count=5, names=["walmart"]).start()
    try:
        yield server.simulators["walmart"]
    finally:
        server.stop()


@pytest.mark.postgres
def test_po_created_through_the_receiver_stores_and_acknowledges_the_order(org, walmart_sim, client,
                                                                           django_capture_on_commit_callbacks):
    from channels_sync.models import AggregatedOrder, Channel, WebhookDelivery
    from channels_sync.services.channels import channel_disable, channel_enable
    from channels_sync.services.webhooks import webhook_process

    demo = walmart_sim.demo_channel()
    channel = Channel.objects.create(org=org, channel_id="walmart-hooks", provider="walmart", enabled=False,
                                     config=demo.config, webhook_secret=SECRET)
    cache.delete(channel.provider_instance().token_cache_key)
    channel = channel_enable(channel=channel)
    (subscription,) = walmart_sim.subscriptions.values()
    assert subscription["authDetails"]["clientSecret"] == SECRET
    assert channel.webhooks_registered[0]["subscriptionId"] == subscription["subscriptionId"]

    order = walmart_sim.add_order()
    hook = walmart_sim.build_webhook(order, "PO_CREATED")
    target = urlsplit(hook.path)
    assert target.path == "/upstream/webhooks/walmart/orders" and "channel=walmart-hooks" in target.query
    headers = {"HTTP_WM_SEC_SIGNATURE": hook.headers["WM-SEC-SIGNATURE"]}
    with django_capture_on_commit_callbacks():
        answer = client.post(f"{target.path}?{target.query}", data=hook.body, content_type="application/json",
                             **headers)
    assert answer.status_code == 200, answer.content
    delivery = WebhookDelivery.objects.get(channel=channel)
    assert delivery.topic == "PO_CREATED"
    with django_capture_on_commit_callbacks(execute=True):
        webhook_process(delivery_pk=delivery.pk)
    stored = AggregatedOrder.objects.get(channel=channel, channel_order_id=order["purchaseOrderId"])
    assert (stored.status, stored.raw_status) == ("pending", "Created")
    # Stored first, then acknowledged at Walmart (as PO_CREATED asks), without waiting for the next poll.
    assert ("acknowledge", order["purchaseOrderId"]) in {(w["kind"], w["orderId"]) for w in walmart_sim.writebacks}

    again = client.post(f"{target.path}?{target.query}", data=hook.body, content_type="application/json", **headers)
    assert again.status_code == 200 and json.loads(again.content)["duplicate"] is True
    forged = client.post(f"{target.path}?{target.query}", data=hook.body.replace(b"PO_CREATED", b"FRAUD_CANCEL"),
                         content_type="application/json", **headers)
    assert forged.status_code == 401

    channel_disable(channel=channel)
    assert walmart_sim.subscriptions == {}
    cache.delete(channel.provider_instance().token_cache_key)
