"""The order event mechanism: one table of subscribers, one task (and one run row) per subscriber, only after
commit."""

import time

import pytest
from django.db import transaction

from orders import events, services
from orders.models import EmailLog
from tests.orders.factories import checkout, order_in

SEEN: list = []


def remember(event):
    SEEN.append(event)


@pytest.fixture
def subscribed(monkeypatch):
    """`remember` listens to every event, after the table's own subscribers."""
    SEEN.clear()
    monkeypatch.setattr(events, "SUBSCRIBERS", {name: (*paths, "tests.orders.test_events.remember")
                                                for name, paths in events.SUBSCRIBERS.items()})


EMAIL, FOLLOW, WRITEBACK, WORKFLOWS = (
    "orders.notifications.on_order_event", "tracking.handlers.on_order_shipped",
    "channels_sync.services.storefront_link.on_order_shipped", "workflows.services.on_order_event")


def test_the_event_table():
    """Every order event and its subscribers, in the order their tasks are queued: the wiring in one place."""
    assert events.SUBSCRIBERS == {
        "order.created": (EMAIL, WORKFLOWS),
        "order.processed": (WORKFLOWS,),
        "order.partially_shipped": (EMAIL, FOLLOW, WRITEBACK, WORKFLOWS),
        "order.shipped": (EMAIL, FOLLOW, WRITEBACK, WORKFLOWS),
        "order.delivered": (EMAIL, WORKFLOWS),
        "order.completed": (WORKFLOWS,),
        "order.held": (WORKFLOWS,),
        "order.released": (WORKFLOWS,),
        "order.cancelled": (EMAIL, WORKFLOWS),
        "order.refunded": (EMAIL, WORKFLOWS),
        "order.updated": (WORKFLOWS,),
        "channel_order.created": (WORKFLOWS,),
        "channel_order.status_changed": (WORKFLOWS,),
        "channel_order.writeback_failed": (WORKFLOWS,),
        "channel_order.writeback_succeeded": (WORKFLOWS,),
    }


def test_every_subscriber_imports_and_emails_match_the_table():
    from django.utils.module_loading import import_string

    from orders.notifications import EVENT_EMAILS

    for path in {path for paths in events.SUBSCRIBERS.values() for path in paths}:
        assert callable(import_string(path)), path
    assert {name for name, paths in events.SUBSCRIBERS.items() if EMAIL in paths} == set(EVENT_EMAILS)


def test_publish_rejects_unknown_events(org, stocked):
    order = order_in(org, "new")
    with pytest.raises(ValueError):
        events.publish("order.exploded", order=order)


def test_one_task_per_subscriber_with_ids_and_a_small_payload(org, stocked, subscribed, dispatched,
                                                              django_capture_on_commit_callbacks):
    order = order_in(org, "processing")
    with django_capture_on_commit_callbacks(execute=True):
        services.order_ship(org=org, order_number=order.order_number, carrier="ups", tracking_number="1Z",
                            items=[{"sku": "A", "quantity": 1}])
    handlers = [(h, p["name"]) for h, p in dispatched.calls]
    # other apps subscribe too (tracking, channels_sync, workflows); ours are there exactly once each
    assert handlers.count(("orders.notifications.on_order_event", "order.partially_shipped")) == 1
    assert handlers.count(("tests.orders.test_events.remember", "order.partially_shipped")) == 1
    assert {name for _, name in handlers} == {"order.partially_shipped"}
    dispatched.run_all()
    event = SEEN[-1]
    assert (event.org_id, event.order_id, event.order_number) == (org.pk, order.pk, order.order_number)
    assert (event.from_status, event.to_status, event.actor) == ("processing", "processing", "staff")
    assert event.data["partial"] is True and event.data["trackingNumber"] == "1Z"
    assert isinstance(event.data["shipmentId"], int)


def test_every_verb_publishes_its_event(org, stocked, subscribed, dispatched, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = checkout(org)
        number = order.order_number
        services.order_hold(org=org, order_number=number, reason="check")
        services.order_release(org=org, order_number=number)
        services.order_process(org=org, order_number=number)
        services.order_ship(org=org, order_number=number, carrier="ups", tracking_number="1Z")
        services.order_deliver(org=org, order_number=number)
        services.order_complete(org=org, order_number=number)
        services.order_refund(org=org, order_number=number, reason="x")
        cancelled = checkout(org)
        services.order_cancel(org=org, order_number=cancelled.order_number, reason="no")
    names = [p["name"] for h, p in dispatched.calls if h.endswith("remember")]
    assert names == ["order.created", "order.held", "order.released", "order.processed", "order.shipped",
                     "order.delivered", "order.completed", "order.refunded", "order.created", "order.cancelled"]


def test_nothing_is_dispatched_when_the_transaction_rolls_back(org, stocked, subscribed, dispatched,
                                                               django_capture_on_commit_callbacks):
    order = order_in(org, "new")
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                services.order_process(org=org, order_number=order.order_number)
                raise RuntimeError("a later step failed")
        except RuntimeError:
            pass
    assert dispatched.calls == []
    order.refresh_from_db()
    assert order.status == "new"


def test_a_failed_batch_send_queues_every_task_again_one_by_one(org, stocked, subscribed, dispatched, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    """An event's tasks go to the broker in one batch; when Redis fails it (delivery uncertain),
    each is sent again on its own, so no subscriber misses the event (handlers are idempotent)."""
    from contextlib import contextmanager

    from kombu.exceptions import BatchPublishError

    import orders.tasks

    @contextmanager
    def failing_batch(app):
        yield
        raise BatchPublishError("Redis publish batch failed; delivery is uncertain")

    monkeypatch.setattr(orders.tasks, "event_task_batch", failing_batch)
    order = order_in(org, "processing")
    dispatched.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.order_ship(org=org, order_number=order.order_number, carrier="ups", tracking_number="1Z")
    handlers = [h for h, p in dispatched.calls if p["name"] == "order.shipped"]
    # once in the failed batch, once more on its own
    assert handlers.count("tests.orders.test_events.remember") == 2
    assert handlers.count("orders.notifications.on_order_event") == 2


@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_confirmation_email():
    from tests.accounts.factories import OrgFactory
    from tests.orders.factories import stock
    from tests.workers import running_worker

    org = OrgFactory()
    stock(org, A=5, B=5)
    with running_worker():
        order = checkout(org)  # commits: the on_commit dispatch goes through Redis
        deadline = time.monotonic() + 30
        while not EmailLog.objects.filter(order=order).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    log = EmailLog.objects.get(order=order)
    assert (log.kind, log.status, log.to) == ("confirmation", "sent", "buyer@example.com")
