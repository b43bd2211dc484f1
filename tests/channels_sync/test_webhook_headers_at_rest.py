"""Secrets at rest (issue 15, item 15): a stored delivery keeps no signature or relay secret, and a failed one is
still retried: it was verified once at receipt and processing never verifies again."""

import base64
import hashlib
import hmac
import json

import pytest
from django.db import connection

from channels_sync.models import AggregatedOrder, Channel, WebhookDelivery
from channels_sync.providers import provider_class
from channels_sync.services import webhooks as webhook_services
from channels_sync.services.webhooks import storable_headers, webhook_process
from tests.channels_sync.providers.fixtures import fixture_bytes
from tests.channels_sync.timing import come_due

SHOP = "jsmith.myshopify.com"
SECRET = "shpss_test_secret"


def _stored_headers_text(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT headers FROM channels_sync_webhookdelivery WHERE id = %s", [pk])
        value = cursor.fetchone()[0]
    return value if isinstance(value, str) else json.dumps(value)


@pytest.fixture
def shopify_channel(org):
    return Channel.objects.create(org=org, channel_id="shopify", provider="shopify", enabled=True,
                                  config={"shopDomain": SHOP, "accessToken": "shpat_test"}, webhook_secret=SECRET)


def test_a_shopify_delivery_is_stored_without_its_signature_and_a_retry_still_processes_it(
        client, shopify_channel, monkeypatch):
    body = fixture_bytes("shopify", "webhook_orders_create.json")
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    response = client.post("/upstream/webhooks/shopify/orders", body, content_type="application/json",
                           HTTP_X_SHOPIFY_TOPIC="orders/create", HTTP_X_SHOPIFY_SHOP_DOMAIN=SHOP,
                           HTTP_X_SHOPIFY_WEBHOOK_ID="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
                           HTTP_X_SHOPIFY_HMAC_SHA256=signature, HTTP_AUTHORIZATION="Bearer proxy-token",
                           HTTP_X_RELAY_SECRET="relay-shared-secret")
    assert response.status_code == 200, response.content
    delivery = WebhookDelivery.objects.get()
    names = {name.lower() for name in delivery.headers}
    assert {"x-shopify-topic", "x-shopify-shop-domain", "x-shopify-webhook-id"} <= names
    assert not names & {"x-shopify-hmac-sha256", "authorization", "x-relay-secret"}
    stored = _stored_headers_text(delivery.pk)
    for secret_value in (signature, "proxy-token", "relay-shared-secret"):
        assert secret_value not in stored

    # The first try fails (the database hiccups); the retry, from the stored row alone, processes it.
    real_ingest = webhook_services.ingest
    calls = []

    def failing_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("connection reset")
        return real_ingest(**kwargs)

    monkeypatch.setattr(webhook_services, "ingest", failing_once)
    assert webhook_process(delivery_pk=delivery.pk) is not None
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    come_due(delivery)
    assert webhook_process(delivery_pk=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("processed", 2)
    assert AggregatedOrder.objects.get(channel=shopify_channel).channel_order_id == "820982911946154508"


@pytest.mark.parametrize(("provider", "config", "proof", "kept"), [
    ("woocommerce", {"baseUrl": "https://shop.example", "consumerKey": "ck", "consumerSecret": "cs"},
     "X-WC-Webhook-Signature", "X-WC-Webhook-Delivery-ID"),
    ("ebay", {"clientId": "c", "clientSecret": "s", "refreshToken": "r", "verificationToken": "v" * 32},
     "X-EBAY-SIGNATURE", "Content-Type"),
    ("tiktok", {"appKey": "k", "appSecret": "s", "accessToken": "a", "shopId": "1"}, "Authorization",
     "Content-Type"),
    ("amazon", {"sellerId": "A1", "relaySecretHeader": "X-Queue-Pass"}, "X-Queue-Pass", "Content-Type"),
    ("amazon", {"sellerId": "A1"}, "X-Relay-Secret", "Content-Type"),
])
def test_each_provider_s_proof_header_is_dropped_and_the_rest_kept(provider, config, proof, kept):
    instance = provider_class(provider)(config, webhook_secret="s")
    headers = {proof.lower(): "proof-value", kept: "kept-value", "X-Hmac-Sha256": "generic-proof"}
    assert storable_headers(headers, instance) == {kept: "kept-value"}


def test_rows_stored_before_the_change_lose_their_proof_headers(channel):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("channels_sync.migrations.0010_drop_stored_webhook_secrets")
    amazon = Channel.objects.create(org=channel.org, channel_id="amz", provider="amazon",
                                    config={"sellerId": "A1", "relaySecretHeader": "X-Queue-Pass"})
    old = WebhookDelivery.objects.create(org=channel.org, channel=channel, delivery_id="d-old", body=b"{}",
                                         headers={"X-Fake-Hmac": "sig", "X-Fake-Delivery": "d-old"})
    relayed = WebhookDelivery.objects.create(org=channel.org, channel=amazon, delivery_id="d-amz", body=b"{}",
                                             headers={"X-Queue-Pass": "pass", "Content-Type": "application/json"})
    migration.drop_secret_headers(apps, None)
    old.refresh_from_db()
    relayed.refresh_from_db()
    assert old.headers == {"X-Fake-Delivery": "d-old"}
    assert relayed.headers == {"Content-Type": "application/json"}
