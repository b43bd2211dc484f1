import json

import pytest
from django.test import override_settings

from channels_sync.models import AggregatedOrder, WebhookDelivery, WebhookRejection
from channels_sync.services.webhooks import webhook_process, webhook_retry
from channels_sync.tasks import process_webhook_delivery
from tests.channels_sync.conftest import SECRET
from tests.channels_sync.fake_provider import raw_order, sign
from tests.channels_sync.timing import come_due

URL = "/upstream/webhooks/fakeshop/orders"


def post(client, body: bytes, *, secret=SECRET, shop="main.fake.example", delivery="d-1", signature=None,
         url=URL):
    headers = {"HTTP_X_FAKE_SHOP": shop, "HTTP_X_FAKE_DELIVERY": delivery,
               "HTTP_X_FAKE_HMAC": signature if signature is not None else sign(body, secret)}
    return client.post(url, body, content_type="application/json", **headers)


def body_of(order) -> bytes:
    return json.dumps(order).encode()


def test_signed_delivery_is_stored_answered_and_processed_by_the_task(client, channel,
                                                                      django_capture_on_commit_callbacks):
    body = body_of(raw_order(101))
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, body)
    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    delivery = WebhookDelivery.objects.get()
    assert (bytes(delivery.body), delivery.delivery_id, delivery.status) == (body, "d-1", "received")
    assert len(callbacks) == 1 and not AggregatedOrder.objects.exists()

    process_webhook_delivery.run(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.orders_count) == ("processed", 1, 1)
    assert AggregatedOrder.objects.get().channel_order_id == "101"


def test_duplicate_delivery_is_acknowledged_and_not_processed_twice(client, channel,
                                                                     django_capture_on_commit_callbacks):
    body = body_of(raw_order(101))
    with django_capture_on_commit_callbacks() as first:
        post(client, body)
    with django_capture_on_commit_callbacks() as second:
        response = post(client, body)
    assert response.status_code == 200 and response.json()["duplicate"] is True
    assert (len(first), len(second)) == (1, 0)
    assert WebhookDelivery.objects.count() == 1
    delivery = WebhookDelivery.objects.get()
    webhook_process(delivery_pk=delivery.pk)
    webhook_process(delivery_pk=delivery.pk)  # a redelivered task: no second processing
    delivery.refresh_from_db()
    assert delivery.attempts == 1


@pytest.mark.parametrize("case", ["wrong_secret", "missing", "body_changed_by_one_byte"])
def test_forged_delivery_is_401_and_only_counted(client, channel, case):
    body = body_of(raw_order(5))
    signature = {"wrong_secret": sign(body, "other"), "missing": "", "body_changed_by_one_byte": sign(body, SECRET)}
    sent = body[:-2] + b" }" if case == "body_changed_by_one_byte" else body
    response = post(client, sent, signature=signature[case])
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_signature"
    assert not WebhookDelivery.objects.exists()
    assert WebhookRejection.objects.get(channel=channel).count == 1


def test_unknown_or_disabled_channel_is_404_and_stores_nothing(client, channel, make_channel, org):
    assert post(client, body_of(raw_order(1)), shop="nobody.fake.example").status_code == 404
    make_channel(org, "off", shop="off.fake.example", enabled=False)
    assert post(client, body_of(raw_order(1)), shop="off.fake.example").status_code == 404
    assert post(client, body_of(raw_order(1)), url="/upstream/webhooks/nosuch/orders").status_code == 404
    assert not WebhookDelivery.objects.exists() and not WebhookRejection.objects.exists()


def test_channel_query_routes_between_orgs_by_signature(client, org, other_org, make_channel):
    mine = make_channel(org, "shop", shop="a.fake.example")
    theirs = make_channel(other_org, "shop", shop="b.fake.example")
    theirs.webhook_secret = "their-secret"
    theirs.save()
    response = post(client, body_of(raw_order(7)), secret="their-secret", shop="", url=URL + "?channel=shop")
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().channel == theirs
    response = post(client, body_of(raw_order(8)), shop="", delivery="d-2",
                    url=URL + f"?channel=shop&org={org.slug}")
    assert response.status_code == 200
    assert WebhookDelivery.objects.get(delivery_id="d-2").channel == mine


@override_settings(CHANNEL_WEBHOOK_MAX_BODY_BYTES=1000)
def test_oversized_body_is_413(client, channel):
    big = body_of({**raw_order(1), "note": "x" * 2000})
    assert post(client, big).status_code == 413
    assert not WebhookDelivery.objects.exists()


@pytest.mark.postgres
def test_failing_delivery_stays_stored_is_retried_with_backoff_then_by_admin(
        client, channel, responses_mock, django_capture_on_commit_callbacks):
    post(client, json.dumps({"ref": "555"}).encode())
    delivery = WebhookDelivery.objects.get()
    responses_mock.get("https://fake.example/orders/555.json", status=503, headers={"Retry-After": "90"})
    delay = webhook_process(delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 1 and "503" in delivery.last_error
    assert delay >= 90 and delivery.next_retry_at is not None

    responses_mock.replace("GET", "https://fake.example/orders/555.json", json={"order": raw_order(555)})
    assert webhook_process(delivery_pk=delivery.pk) is None  # a second task before the retry is due: no effect
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    come_due(delivery)
    assert webhook_process(delivery_pk=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("processed", 2)
    assert AggregatedOrder.objects.filter(channel_order_id="555").exists()


@override_settings(CHANNEL_WEBHOOK_MAX_ATTEMPTS=2)
def test_delivery_failing_for_good_stops_retrying_and_admin_retry_requeues(client, channel,
                                                                           django_capture_on_commit_callbacks):
    post(client, b'{"not": "an order"}')
    delivery = WebhookDelivery.objects.get()
    assert webhook_process(delivery_pk=delivery.pk) is not None
    come_due(delivery)
    assert webhook_process(delivery_pk=delivery.pk) is None  # last attempt: no further retry
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_retry_at) == ("failed", 2, None)
    with django_capture_on_commit_callbacks() as callbacks:
        assert webhook_retry(delivery=delivery) is True
    assert len(callbacks) == 1
    delivery.refresh_from_db()
    assert delivery.status == "received"


def test_drain_processes_the_backlog_in_batches_and_isolates_a_bad_delivery(
        client, org, channel, make_channel, django_capture_on_commit_callbacks, monkeypatch):
    from django.core.cache import cache

    from channels_sync.services import webhooks
    from channels_sync.tasks import process_webhook_delivery as single

    other = make_channel(org, "second", shop="second.fake.example")
    post(client, body_of(raw_order(1)), delivery="a")
    post(client, body_of(raw_order(2, updated="2026-01-02T00:00:00Z")), delivery="b")
    post(client, body_of(raw_order(2)), delivery="c")  # an older version of order 2, delivered late
    post(client, b'{"broken": true}', delivery="d")
    post(client, body_of(raw_order(3)), delivery="e", shop="second.fake.example")
    scheduled = []
    monkeypatch.setattr(single, "apply_async", lambda args, countdown: scheduled.append((args, countdown)))
    cache.set(webhooks._DRAIN_PENDING_KEY, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhook_drain(batch_size=3) == 5
    statuses = dict(WebhookDelivery.objects.values_list("delivery_id", "status"))
    assert statuses == {"a": "processed", "b": "processed", "c": "processed", "d": "failed", "e": "processed"}
    broken = WebhookDelivery.objects.get(delivery_id="d")
    assert scheduled == [([broken.pk], pytest.approx(scheduled[0][1]))] and broken.next_retry_at
    assert AggregatedOrder.objects.get(channel=channel, channel_order_id="2").channel_updated_at.day == 2
    assert AggregatedOrder.objects.filter(channel=other).count() == 1
    assert cache.get(webhooks._DRAIN_PENDING_KEY) is None  # the next delivery queues a new drain


def test_sweep_recovers_lost_drains_and_lost_retries(client, channel, monkeypatch):
    """After a broker restart: a delivery stored but never drained, and a failed one whose retry message was lost."""
    from datetime import timedelta

    from django.core.cache import cache

    from channels_sync.services import webhooks
    from channels_sync.tasks import process_webhook_deliveries, process_webhook_delivery

    drains, retries = [], []
    monkeypatch.setattr(process_webhook_deliveries, "delay", lambda: drains.append(1))
    monkeypatch.setattr(process_webhook_delivery, "delay", lambda pk: retries.append(pk))
    post(client, body_of(raw_order(1)), delivery="stored")
    post(client, b'{"not": "an order"}', delivery="failing")
    failing = WebhookDelivery.objects.get(delivery_id="failing")
    webhook_process(delivery_pk=failing.pk)
    failing.refresh_from_db()
    cache.set(webhooks._DRAIN_PENDING_KEY, 1)  # the nudge's flag is set, but its message is gone
    drains.clear()

    assert webhooks.webhook_sweep() == 0 and drains == []  # nothing is late yet
    later = failing.next_retry_at + timedelta(minutes=3)
    assert webhooks.webhook_sweep(now=later) == 1
    assert drains == [1] and retries == [failing.pk]


@pytest.mark.parametrize("body", [b'{"id": 1, "line_items": [', b"<order/>", b'{"id": "\xff"}', b""],
                         ids=["truncated", "xml", "bad-utf8", "empty"])
def test_authentic_delivery_that_is_not_json_is_400_and_not_stored(client, channel, body):
    """Correctly signed, but no retry could ever read it: the channel hears so at once, nothing is kept."""
    response = post(client, body, delivery="unreadable")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_body"
    assert not WebhookDelivery.objects.exists()


def test_delivery_is_kept_and_answered_while_the_broker_is_down(client, channel, monkeypatch, caplog,
                                                               django_capture_on_commit_callbacks):
    """Redis down: the delivery is stored and answered 200 with one warning line; the sweep drains it later."""
    from django.core.cache import cache

    from channels_sync.services.webhooks import _DRAIN_PENDING_KEY
    from channels_sync.tasks import process_webhook_deliveries

    cache.delete(_DRAIN_PENDING_KEY)  # no drain pending, so this delivery tries to queue one

    def broker_down():
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(process_webhook_deliveries, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body_of(raw_order(1)), delivery="while-down")
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().status == "received"
    warnings = [r for r in caplog.records if "could not queue a webhook drain" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].exc_info is None
