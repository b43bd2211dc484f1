"""What the receiver does to stay cheap per delivery, and what it must not lose for it."""

import json
import time

import pytest
from django.db import connection
from django.test import Client, override_settings

from channels_sync.models import WebhookDelivery
from channels_sync.services import webhooks
from tests.channels_sync.conftest import SECRET
from tests.channels_sync.fake_provider import raw_order, sign
from tests.channels_sync.test_webhook_storm_small import cut

URL = "/upstream/webhooks/fakeshop/orders"


def post(client, order: int, delivery: str):
    data = json.dumps(raw_order(order)).encode()
    return client.post(URL, data, content_type="application/json", HTTP_X_FAKE_SHOP="main.fake.example",
                       HTTP_X_FAKE_DELIVERY=delivery, HTTP_X_FAKE_HMAC=sign(data, SECRET))


@override_settings(CHANNEL_WEBHOOK_DRAIN_NUDGE_SECONDS=0.2)
def test_a_burst_nudges_the_drain_a_few_times_and_always_after_the_last_delivery(monkeypatch):
    """Ten deliveries in 0.3 s: two or three nudges instead of ten Redis round trips, the last one after the
    last delivery, so nothing waits for the minute sweep."""
    nudged = []
    monkeypatch.setattr(webhooks, "webhook_drain_nudge", lambda: nudged.append(time.monotonic()))
    requested = []
    for _ in range(10):
        requested.append(time.monotonic())
        webhooks.webhook_drain_soon()
        time.sleep(0.03)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and (not nudged or nudged[-1] < requested[-1]):
        time.sleep(0.02)
    time.sleep(0.3)  # nothing more comes once the burst is over
    assert 2 <= len(nudged) <= 4
    assert nudged[-1] >= requested[-1]
    assert all(later - earlier >= 0.19 for earlier, later in zip(nudged, nudged[1:], strict=False))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_delivery_after_the_database_dropped_the_connection_is_still_stored(channel, monkeypatch):
    """The receiver skips the per-request health check; a connection the server has closed (a restart) is
    replaced and the delivery stored, not answered 500."""
    monkeypatch.setattr(webhooks, "webhook_drain_soon", lambda: None)
    client = Client()
    assert post(client, 1, "before").status_code == 200
    assert connection.connection is not None  # kept between requests (CONN_MAX_AGE)
    cut(connection.connection.info.backend_pid)
    response = post(client, 2, "after")
    assert response.status_code == 200 and response.json()["duplicate"] is False
    assert set(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == {"before", "after"}


@override_settings(CHANNEL_WEBHOOK_DRAINERS=3)
def test_a_backlog_calls_helpers_once_each_and_a_helper_drains_then_frees_its_slot(
        client, channel, monkeypatch, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from channels_sync.tasks import process_webhook_deliveries

    for slot in (1, 2):
        cache.delete(webhooks._DRAIN_HELPER_KEY.format(slot))
    called = []
    monkeypatch.setattr(process_webhook_deliveries, "delay", lambda **kwargs: called.append(kwargs))
    for n in range(5):
        post(client, n + 1, f"first-{n}")
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhook_drain(batch_size=2) == 5
    assert called == [{"helper": 1}, {"helper": 2}]  # two full batches, but each helper called once

    for n in range(3):
        post(client, n + 10, f"second-{n}")
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhook_drain_help(slot=1, batch_size=2) == 3
    assert cache.get(webhooks._DRAIN_HELPER_KEY.format(1)) is None  # free for the next backlog
    assert cache.get(webhooks._DRAIN_HELPER_KEY.format(2)) is not None  # still taken: that helper has not run
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
