"""Issue 15, item 10: a TikTok Shop push whose signed timestamp is outside the replay window is refused with a
401 at the receiver and leaves nothing behind (no delivery to process or retry); a fresh one is stored."""

import json
import time

import pytest

from channels_sync.models import Channel, WebhookDelivery
from channels_sync.providers.tiktok import webhook_signature
from tests.channels_sync.providers.tiktok_walmart_fixtures import fixture

APP_KEY, APP_SECRET = "replaykey", "replaysecret"


@pytest.fixture
def tiktok_channel(org):
    return Channel.objects.create(org=org, channel_id="tt-replay", provider="tiktok", enabled=True,
                                  config={"appKey": APP_KEY, "appSecret": APP_SECRET, "accessToken": "a",
                                          "shopCipher": "c", "shopId": "7494049642642441621"})


def push(client, org, *, timestamp: int, notification: str):
    """The published ORDER_STATUS_CHANGE push with its own timestamp and id, signed as TikTok signs it."""
    payload = {**fixture("tiktok", "webhook_order_status_change.json"), "timestamp": timestamp,
               "tts_notification_id": notification}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return client.post(f"/upstream/webhooks/tiktok/orders?channel=tt-replay&org={org.slug}", raw,
                       content_type="application/json", HTTP_AUTHORIZATION=webhook_signature(APP_KEY, APP_SECRET, raw))


def test_a_stale_push_is_a_401_and_stores_nothing(client, org, tiktok_channel):
    stale = push(client, org, timestamp=int(time.time()) - 16 * 60, notification="n-stale")
    assert stale.status_code == 401
    assert WebhookDelivery.objects.count() == 0
    published = push(client, org, timestamp=1644412885, notification="n-2022")  # the doc's own 2022 sample
    assert published.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_a_fresh_push_is_stored(client, org, tiktok_channel):
    fresh = push(client, org, timestamp=int(time.time()) - 60, notification="n-fresh")
    assert fresh.status_code == 200, fresh.content
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.delivery_id == "n-fresh"
