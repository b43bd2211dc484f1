"""channels_sync's retry style: a task calls its service; a failed try comes back as a fresh message sent through
channels_sync/scheduling.py with the service's countdown, after commit (no Celery retry)."""

import pytest

from channels_sync import tasks
from channels_sync.models import AggregatedOrder, WebhookDelivery
from channels_sync.services import ingest, storefront_link
from channels_sync.services.storefront_link import LOCAL_ORDERS_MAX_ATTEMPTS
from channels_sync.services.writeback import order_status_update
from tests.channels_sync.fake_provider import raw_order
from tests.channels_sync.test_webhooks import post


@pytest.fixture
def sent(monkeypatch):
    """Messages sent with apply_async, per task name: [(args, kwargs, countdown)]."""
    calls = {}
    for name in ("process_webhook_delivery", "run_writeback", "create_local_orders"):
        task = getattr(tasks, name)
        monkeypatch.setattr(task, "apply_async", lambda args=None, kwargs=None, countdown=None, name=name, **_:
                            calls.setdefault(name, []).append((args, kwargs, countdown)))
    return calls


def test_a_failed_delivery_comes_back_with_the_services_countdown(client, channel, sent,
                                                                  django_capture_on_commit_callbacks):
    post(client, b'{"broken": true}')
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_webhook_delivery.run(delivery.pk)
    delivery.refresh_from_db()
    [(args, _, countdown)] = sent["process_webhook_delivery"]
    assert delivery.status == "failed" and args == [delivery.pk] and 15 <= countdown <= 30
    tasks.process_webhook_delivery.run(delivery.pk + 1000)  # deleted meanwhile: nothing to do


def test_a_retryable_writeback_failure_comes_back_with_its_countdown(channel, sent, responses_mock,
                                                                     django_capture_on_commit_callbacks):
    ingest(channel=channel, raw_orders=[raw_order(1)])
    with django_capture_on_commit_callbacks(execute=True):
        writeback = order_status_update(order=AggregatedOrder.objects.get(), status="shipped",
                                        tracking_number="1Z1", carrier="ups")
    assert sent["run_writeback"] == [([writeback.pk], None, None)]
    responses_mock.post("https://fake.example/orders/1/fulfillments.json", status=503)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_writeback.run(writeback.pk)
    (args, _, countdown) = sent["run_writeback"][-1]
    assert args == [writeback.pk] and countdown > 0


def test_storefront_orders_that_raised_are_sent_again_with_backoff_then_given_up(channel, sent, monkeypatch,
                                                                                 django_capture_on_commit_callbacks):
    created = []

    def create(*, aggregated_order_pk):
        if aggregated_order_pk == 2:
            raise RuntimeError("database went away")
        created.append(aggregated_order_pk)

    monkeypatch.setattr(storefront_link, "local_order_create", create)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.create_local_orders.run([1, 2, 3])
    assert created == [1, 3]
    [(args, kwargs, countdown)] = sent["create_local_orders"]
    assert args == [[2]] and kwargs == {"attempt": 2} and 15 <= countdown <= 30
    with django_capture_on_commit_callbacks(execute=True):
        tasks.create_local_orders.run([2], attempt=LOCAL_ORDERS_MAX_ATTEMPTS)
    assert len(sent["create_local_orders"]) == 1  # the last try: logged, not sent again


def test_beat_tasks_each_run_their_own_sweep(monkeypatch):
    from channels_sync.services import polling, webhooks, writeback

    ran = []
    monkeypatch.setattr(polling, "polls_send_due", lambda: ran.append("polls") or 0)
    monkeypatch.setattr(webhooks, "webhook_sweep", lambda: ran.append("deliveries") or 0)
    monkeypatch.setattr(writeback, "writeback_sweep", lambda: ran.append("writebacks") or 0)
    tasks.poll_due_channels()
    tasks.retry_stuck_webhook_deliveries()
    tasks.retry_due_writebacks()
    assert ran == ["polls", "deliveries", "writebacks"]
