"""Issue 15 item 10: an unsigned delivery-id header cannot turn one signed body into many deliveries, and
WooCommerce's reachability ping is answered without being stored."""

import json

from channels_sync.models import Channel, WebhookDelivery
from tests.channels_sync.conftest import SECRET
from tests.channels_sync.fake_provider import raw_order, sign

URL = "/upstream/webhooks/fakeshop/orders"


def post(client, body: bytes, delivery: str):
    return client.post(URL, body, content_type="application/json", HTTP_X_FAKE_SHOP="main.fake.example",
                       HTTP_X_FAKE_DELIVERY=delivery, HTTP_X_FAKE_HMAC=sign(body, SECRET))


def test_one_signed_body_under_new_delivery_ids_is_stored_once(client, channel):
    body = json.dumps(raw_order(101)).encode()
    answers = [post(client, body, delivery=f"forged-{n}") for n in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["duplicate"] for a in answers] == [False, True, True, True, True]
    assert WebhookDelivery.objects.count() == 1
    # a different body is still a new delivery
    assert post(client, json.dumps(raw_order(102)).encode(), delivery="d-2").json()["duplicate"] is False


def test_woocommerce_ping_is_answered_and_not_stored(client, org):
    Channel.objects.create(org=org, channel_id="woo", provider="woocommerce", enabled=True,
                           config={"baseUrl": "https://woo-store.example", "consumerKey": "ck",
                                   "consumerSecret": "cs"}, webhook_secret=SECRET)
    response = client.post(f"/upstream/webhooks/woocommerce/orders?channel=woo&org={org.slug}", b"webhook_id=12",
                           content_type="application/x-www-form-urlencoded",
                           HTTP_X_WC_WEBHOOK_SOURCE="https://woo-store.example/")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "webhookId": "12"}
    assert WebhookDelivery.objects.count() == 0
