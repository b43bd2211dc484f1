"""eBay marketplace account deletion at the per-app endpoint (no `?channel=`): eBay's challenge, then a signed
MARKETPLACE_ACCOUNT_DELETION that removes that buyer's personal data from every eBay channel's stored orders,
across orgs, recorded for staff; verified with eBay's key, never stored."""

from __future__ import annotations

import hashlib
import json

import pytest

from channels_sync.models import AggregatedOrder, Channel, ComplianceRequest, WebhookDelivery
from channels_sync.services import ingest
from simulator.server import SimulatorServer
from tests.channels_sync.providers.amazon_ebay_fixtures import fixture, isolated_tokens_and_buckets  # noqa: F401

ENDPOINT = "/upstream/webhooks/ebay/notifications"
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_tokens_and_buckets")]


@pytest.fixture
def sim():
    server = SimulatorServer(port=0, order_count=12, seed=5, webhook_target=None, names=["ebay"]).start()
    yield server.simulators["ebay"]
    server.stop()


@pytest.fixture
def channels(sim, org, other_org):
    """The same eBay keyset in two orgs, each with the simulator's orders; two orders bought by doomed_buyer."""
    for order in list(sim.orders.values())[:2]:
        order["buyer"]["username"] = "doomed_buyer"
    demo = sim.demo_channel()
    made = []
    for owner in (org, other_org):
        channel = Channel.objects.create(org=owner, channel_id="ebay", provider="ebay", enabled=True,
                                         config=demo.config)
        ingest(channel=channel, raw_orders=[json.loads(json.dumps(o)) for o in sim.orders.values()])
        made.append(channel)
    return made


def post(client, hook, path=ENDPOINT, **headers):
    return client.post(path, data=hook.body, content_type="application/json",
                       HTTP_X_EBAY_SIGNATURE=hook.headers["X-EBAY-SIGNATURE"], **headers)


@pytest.fixture
def doomed_ids(sim):
    return [order["orderId"] for order in list(sim.orders.values())[:2]]


def doomed(channel, ids):
    return AggregatedOrder.objects.filter(channel=channel, channel_order_id__in=ids)


def test_a_signed_deletion_removes_the_buyer_from_every_orgs_orders_and_is_recorded_per_channel(
        client, sim, channels, admin_client, doomed_ids):
    assert all(order.customer_name and order.shipping_address
               for channel in channels for order in doomed(channel, doomed_ids))
    response = post(client, sim.build_account_deletion("doomed_buyer"))
    assert response.status_code == 200 and response.json()["processed"] is True
    for channel in channels:
        orders = list(doomed(channel, doomed_ids))
        assert len(orders) == 2
        for order in orders:
            assert (order.customer_name, order.customer_email, order.shipping_address) == ("", "", None)
            assert order.channel_metadata["buyer"]["username"] is None and order.raw["buyer"]["username"] is None
            assert order.raw["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"] is None
            assert order.raw["lineItems"] and order.grand_total > 0          # the sale itself is kept
            assert "doomed_buyer" not in json.dumps(order.raw) + json.dumps(order.channel_metadata)
        others = AggregatedOrder.objects.filter(channel=channel).exclude(channel_order_id__in=doomed_ids)
        assert all(order.shipping_address for order in others)          # other buyers untouched
        record = ComplianceRequest.objects.get(channel=channel)
        assert (record.kind, record.org_id, record.redacted_orders) == ("account_deletion", channel.org_id, 2)
        assert record.processed_at and all(order_id in record.note for order_id in doomed_ids)
    assert not WebhookDelivery.objects.exists()     # the notification is the user's data too: not kept
    page = admin_client.get("/admin/channels_sync/compliancerequest/")
    assert page.status_code == 200 and "Marketplace account deletion (eBay)" in page.content.decode()


def test_a_repeated_notification_changes_nothing_and_an_unknown_user_leaves_no_record(client, sim, channels):
    hook = sim.build_account_deletion("doomed_buyer")
    assert post(client, hook).status_code == 200
    assert post(client, hook).status_code == 200
    assert post(client, sim.build_account_deletion("someone_we_never_sold_to")).status_code == 200
    assert ComplianceRequest.objects.count() == 2


def test_a_forged_or_unsigned_deletion_is_refused_and_deletes_nothing(client, sim, channels, doomed_ids):
    hook = sim.build_account_deletion("doomed_buyer")
    forged = hook.body.replace(b"doomed_buyer", b"other_buyer").replace(b"other_buyer", b"doomed_buyer ")
    response = client.post(ENDPOINT, data=forged, content_type="application/json",
                           HTTP_X_EBAY_SIGNATURE=hook.headers["X-EBAY-SIGNATURE"])
    assert response.status_code == 401
    assert client.post(ENDPOINT, data=hook.body, content_type="application/json").status_code == 401
    assert all(order.shipping_address for order in doomed(channels[0], doomed_ids))
    assert not ComplianceRequest.objects.exists()


def test_ebays_own_signed_test_vector_deletes_test_user(client, org):
    """eBay's published MARKETPLACE_ACCOUNT_DELETION test message and signature, with its public key."""
    vector = fixture("ebay", "notification_marketplace_account_deletion_signed_vector.json")
    config = {"clientId": "Acme-PRD", "clientSecret": "s", "refreshToken": "r", "verificationToken": "t" * 40,
              "publicKeys": {vector["public_key"]: vector["response"]}}
    channel = Channel.objects.create(org=org, channel_id="ebay", provider="ebay", enabled=True, config=config)
    order = fixture("ebay", "get_order_response.json")
    order["buyer"]["username"] = "test_user"
    ingest(channel=channel, raw_orders=[order])
    response = client.post(ENDPOINT, data=json.dumps(vector["message"], separators=(",", ":")),
                           content_type="application/json", HTTP_X_EBAY_SIGNATURE=vector["signature"])
    assert response.status_code == 200
    stored = AggregatedOrder.objects.get(channel=channel)
    assert stored.customer_name == "" and stored.raw["buyer"]["username"] is None
    assert ComplianceRequest.objects.get(channel=channel).delivery_id == vector["message"]["notification"][
        "notificationId"]


def test_the_challenge_is_answered_without_a_channel_with_the_keysets_token(client, sim, channels):
    response = client.get(ENDPOINT, {"challenge_code": "a8628072-3d33"})
    token = sim.demo_channel().config["verificationToken"]
    expected = hashlib.sha256(f"a8628072-3d33{token}http://testserver{ENDPOINT}".encode()).hexdigest()
    assert response.status_code == 200 and response.json() == {"challengeResponse": expected}


def test_two_keysets_on_one_endpoint_need_the_app_parameter(client, sim, channels, org):
    other = {**sim.demo_channel().config, "clientId": "Other-App-PRD", "verificationToken": "x" * 40}
    Channel.objects.create(org=org, channel_id="ebay-2", provider="ebay", enabled=False, config=other)
    refused = client.get(ENDPOINT, {"challenge_code": "abc"})
    assert refused.status_code == 409 and "?app=" in refused.json()["error"]["message"]
    answered = client.get(ENDPOINT, {"app": "Other-App-PRD", "challenge_code": "abc"})
    endpoint = f"http://testserver{ENDPOINT}?app=Other-App-PRD"
    assert answered.json() == {"challengeResponse": hashlib.sha256(f"abc{'x' * 40}{endpoint}".encode()).hexdigest()}


def test_the_app_challenge_hashes_the_app_endpoint_not_a_channels_own_notification_url(client, org):
    """A channel's `notificationEndpoint` is its per-channel URL; the keyset endpoint is hashed as received, or
    as `accountDeletionEndpoint` says behind a proxy."""
    config = {"clientId": "Acme-PRD", "clientSecret": "s", "refreshToken": "r", "verificationToken": "t" * 40,
              "notificationEndpoint": "https://hub.example.com/upstream/webhooks/ebay/notifications?channel=ebay"}
    channel = Channel.objects.create(org=org, channel_id="ebay", provider="ebay", enabled=True, config=config)
    answer = client.get(ENDPOINT, {"challenge_code": "abc"}).json()["challengeResponse"]
    assert answer == hashlib.sha256(f"abc{'t' * 40}http://testserver{ENDPOINT}".encode()).hexdigest()
    registered = "https://hub.example.com/upstream/webhooks/ebay/notifications"
    channel.config = {**config, "accountDeletionEndpoint": registered}
    channel.save()
    answer = client.get(ENDPOINT, {"challenge_code": "abc"}).json()["challengeResponse"]
    assert answer == hashlib.sha256(f"abc{'t' * 40}{registered}".encode()).hexdigest()


@pytest.fixture
def broken_keyset(sim, org):
    """Another keyset's channel, created first (so tried first), whose credentials eBay refuses."""
    broken = {"clientId": "Broken-PRD", "clientSecret": "nope", "refreshToken": "nope", "verificationToken": "b" * 40,
              "baseUrl": sim.base_url, "tokenUrl": f"{sim.base_url}/identity/v1/oauth2/token"}
    return Channel.objects.create(org=org, channel_id="ebay-broken", provider="ebay", enabled=True, config=broken)


def test_a_keyset_whose_key_lookup_fails_does_not_lose_the_deletion(client, sim, broken_keyset, channels, doomed_ids):
    """The first channel cannot fetch eBay's key (its app token is refused); the next keyset's channel verifies
    the notification, and the deletion is carried out."""
    assert broken_keyset.pk < channels[0].pk
    response = post(client, sim.build_account_deletion("doomed_buyer"))
    assert response.status_code == 200
    assert not any(order.shipping_address for order in doomed(channels[0], doomed_ids))


def test_a_deletion_sent_to_a_channels_own_url_is_carried_out_alike_and_its_stored_body_loses_the_user(
        client, sim, channels, doomed_ids, org):
    from channels_sync.services.webhooks import webhook_process

    hook = sim.build_account_deletion("doomed_buyer")
    response = post(client, hook, path=f"{ENDPOINT}?channel=ebay&org={org.slug}")
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    webhook_process(delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    assert b"doomed_buyer" not in bytes(delivery.body)
    for channel in channels:
        assert not any(order.shipping_address for order in doomed(channel, doomed_ids))
        assert ComplianceRequest.objects.get(channel=channel).redacted_orders == 2


def test_a_signed_body_that_is_not_a_notification_is_a_400(client, sim, channels):
    body = b'{"metadata": "nope"}'
    response = client.post(ENDPOINT, data=body, content_type="application/json",
                           HTTP_X_EBAY_SIGNATURE=sim.sign(body))
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_body"
