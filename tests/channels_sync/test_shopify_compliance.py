"""Shopify's mandatory compliance webhooks, received like any Shopify delivery (same receiver, HMAC-verified) and
acted on by the worker: customers/redact removes that customer's personal data from the stored orders, their
metadata and raw payloads and the stored webhook bodies; shop/redact does it for the whole channel;
customers/data_request is recorded. Every request is a ComplianceRequest row; another channel's orders are untouched.

Payloads: tests/fixtures/shopify/compliance_*.json (shopify.dev's examples), with `{shop}` and the order ids set to
this channel's so the request names orders we hold.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from django.db import connection

from channels_sync.models import AggregatedOrder, Channel, ComplianceRequest, WebhookDelivery
from channels_sync.services.webhooks import webhook_drain, webhook_process
from tests.channels_sync.providers.fixtures import fixture, shopify_order

SHOP = "jsmith.myshopify.com"
SECRET = "shpss_compliance"
URL = "/upstream/webhooks/shopify/orders"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliver(client, topic: str, body: bytes, *, delivery_id: str, signature: str | None = None):
    return client.post(URL, body, content_type="application/json", HTTP_X_SHOPIFY_TOPIC=topic,
                       HTTP_X_SHOPIFY_SHOP_DOMAIN=SHOP, HTTP_X_SHOPIFY_WEBHOOK_ID=delivery_id,
                       HTTP_X_SHOPIFY_HMAC_SHA256=signature or sign(body))


@pytest.fixture
def shop(org, other_org, client, django_capture_on_commit_callbacks):
    channel = Channel.objects.create(org=org, channel_id="shop", provider="shopify", enabled=True,
                                     webhook_secret=SECRET, config={"shopDomain": SHOP, "accessToken": "shpat_x"})
    other = Channel.objects.create(org=other_org, channel_id="shop", provider="shopify", enabled=True,
                                   webhook_secret="other-secret",
                                   config={"shopDomain": "other.myshopify.com", "accessToken": "shpat_y"})
    bob = shopify_order("order.json")                    # customer 207119551, bob.norman@mail.example.com
    jane = shopify_order("order_discount_code.json")     # another customer of the same shop
    with django_capture_on_commit_callbacks(execute=False):
        for raw, delivery_id in ((bob, "w-bob"), (jane, "w-jane")):
            response = deliver(client, "orders/create", json.dumps(raw).encode(), delivery_id=delivery_id)
            assert response.status_code == 200
        webhook_drain()
        from channels_sync.services.ingest import ingest
        ingest(channel=other, raw_orders=[shopify_order("order.json")])
    assert AggregatedOrder.objects.filter(channel=channel).count() == 2
    return channel, other


def redact_body(**changes) -> bytes:
    body = fixture("shopify", "compliance_customers_redact.json")
    body.update(shop_domain=SHOP, **changes)
    return json.dumps(body).encode()


def test_customers_redact_removes_that_customers_data_from_orders_payloads_and_deliveries(
        client, shop, django_capture_on_commit_callbacks):
    channel, other = shop
    body = redact_body(customer={"id": 207119551, "email": "bob.norman@mail.example.com", "phone": "555-625-1199"},
                       orders_to_redact=[450789469])
    with django_capture_on_commit_callbacks(execute=False):
        assert deliver(client, "customers/redact", body, delivery_id="c-1").status_code == 200
    delivery = WebhookDelivery.objects.get(delivery_id="c-1")
    webhook_process(delivery_pk=delivery.pk)

    bob = AggregatedOrder.objects.get(channel=channel, channel_order_id="450789469")
    assert (bob.customer_email, bob.customer_name, bob.shipping_address) == ("", "", None)
    stored = json.dumps(bob.raw) + json.dumps(bob.channel_metadata)
    for personal in ("bob.norman", "Chestnut Street", "Norman", "+1(502)-459-2181", "555-625-1199"):
        assert personal not in stored
    assert bob.raw["customer"] == {"id": 207119551} and bob.grand_total > 0 and bob.lines   # the order itself stays
    original = bytes(WebhookDelivery.objects.get(delivery_id="w-bob").body)
    assert b"bob.norman" not in original and b"Chestnut Street" not in original
    assert b"bob.norman" not in bytes(WebhookDelivery.objects.get(delivery_id="c-1").body)   # the request's own

    jane = AggregatedOrder.objects.get(channel=channel, channel_order_id="1073459981")
    assert jane.customer_email == "jane@example.com"                      # another customer: untouched
    assert AggregatedOrder.objects.get(channel=other).customer_email == "bob.norman@mail.example.com"  # other org

    record = ComplianceRequest.objects.get(channel=channel)
    assert (record.kind, record.customer_id, record.redacted_orders, record.customer_email) == (
        "customer_redact", "207119551", 1, "")
    assert record.processed_at is not None and record.redacted_deliveries >= 2
    assert WebhookDelivery.objects.get(delivery_id="c-1").status == "processed"
    webhook_process(delivery_pk=delivery.pk)                              # a repeat changes nothing
    assert ComplianceRequest.objects.count() == 1


def test_the_published_example_is_recorded_even_when_no_order_of_it_is_stored(client, shop,
                                                                               django_capture_on_commit_callbacks):
    channel, _ = shop
    with django_capture_on_commit_callbacks(execute=False):
        deliver(client, "customers/redact", redact_body(), delivery_id="c-2")
    webhook_process(delivery_pk=WebhookDelivery.objects.get(delivery_id="c-2").pk)
    record = ComplianceRequest.objects.get()
    assert (record.customer_id, record.order_ids, record.redacted_orders) == (
        "191167", ["299938", "280263", "220458"], 0)
    assert AggregatedOrder.objects.get(channel=channel, channel_order_id="450789469").customer_email


def test_shop_redact_removes_every_customers_data_of_that_channel_only(client, shop,
                                                                       django_capture_on_commit_callbacks):
    channel, other = shop
    body = json.dumps({**fixture("shopify", "compliance_shop_redact.json"), "shop_domain": SHOP}).encode()
    with django_capture_on_commit_callbacks(execute=False):
        deliver(client, "shop/redact", body, delivery_id="s-1")
    webhook_drain()
    assert set(AggregatedOrder.objects.filter(channel=channel).values_list("customer_email", flat=True)) == {""}
    assert AggregatedOrder.objects.get(channel=other).customer_email == "bob.norman@mail.example.com"
    assert ComplianceRequest.objects.get().redacted_orders == 2


def test_data_request_is_recorded_for_staff_and_changes_nothing(client, shop, django_capture_on_commit_callbacks):
    channel, _ = shop
    body = fixture("shopify", "compliance_customers_data_request.json")
    body.update(shop_domain=SHOP, customer={"id": 207119551, "email": "bob.norman@mail.example.com"})
    with django_capture_on_commit_callbacks(execute=False):
        deliver(client, "customers/data_request", json.dumps(body).encode(), delivery_id="d-1")
    webhook_drain()
    record = ComplianceRequest.objects.get()
    assert record.kind == "data_request" and "450789469" in record.note and "9999" in record.note
    assert AggregatedOrder.objects.get(channel=channel, channel_order_id="450789469").customer_email


def test_a_forged_compliance_request_is_refused_and_stores_nothing(client, shop):
    response = deliver(client, "customers/redact", redact_body(), delivery_id="f-1", signature=sign(b"x", "nope"))
    assert response.status_code == 401
    assert not WebhookDelivery.objects.filter(delivery_id="f-1").exists()
    assert not ComplianceRequest.objects.exists()
    assert connection.vendor in ("postgresql", "sqlite")
