import pytest

from channels_sync.models import AggregatedOrder, Writeback
from channels_sync.services import ingest
from channels_sync.tasks import create_local_orders
from orders import events
from orders.models import Order
from orders.services import inventory_set_on_hand, order_ship
from orders.tasks import run_event_handler
from tests.channels_sync.fake_provider import raw_order

HANDLER = "channels_sync.services.storefront_link.on_order_shipped"


@pytest.fixture
def linked(org, make_channel, django_capture_on_commit_callbacks):
    channel = make_channel(org, create_local_orders=True)
    inventory_set_on_hand(org=org, sku="SKU-1", on_hand=10, unit_price="5.00")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest(channel=channel, raw_orders=[raw_order(1)])
    assert len(callbacks) == 1  # the storefront order is created by a task, after commit
    aggregated = AggregatedOrder.objects.get()
    create_local_orders.run([aggregated.pk])
    create_local_orders.run([aggregated.pk])  # a retried task makes no second order
    aggregated.refresh_from_db()
    return aggregated


def test_channel_order_creates_one_linked_storefront_order(linked):
    local = Order.objects.get()
    assert linked.data["localOrderId"] == local.order_number
    assert local.metadata["channelOrderId"] == "1" and local.source == "channel:fakeshop"
    assert local.status == "processing"  # paid on the channel
    assert [(li.sku, li.quantity) for li in local.lines.all()] == [("SKU-1", 2)]


def test_shipping_the_storefront_order_queues_the_channel_writeback(org, linked, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
    assert HANDLER in events.subscribers("order.shipped")
    dispatched = []
    monkeypatch.setattr(run_event_handler, "apply_async", lambda args: dispatched.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        order_ship(org=org, order_number=linked.data["localOrderId"], carrier="ups", tracking_number="1Z777")
    ours = [args for args in dispatched if args[0] == HANDLER]
    assert len(ours) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        run_event_handler.run(*ours[0])
        run_event_handler.run(*ours[0])  # redelivered event: still one writeback
    writeback = Writeback.objects.get()
    assert (writeback.target_status, writeback.tracking_number, writeback.carrier, writeback.source) == (
        "shipped", "1Z777", "ups", "storefront")
    assert len(callbacks) == 1
    linked.refresh_from_db()
    assert linked.status == "shipped" and linked.tracking_number == "1Z777"


def test_short_stock_is_recorded_not_raised(org, make_channel, django_capture_on_commit_callbacks):
    channel = make_channel(org, create_local_orders=True)
    ingest(channel=channel, raw_orders=[raw_order(2)])
    aggregated = AggregatedOrder.objects.get()
    create_local_orders.run([aggregated.pk])
    aggregated.refresh_from_db()
    assert "localOrderId" not in aggregated.data and aggregated.data["localOrderError"]
    assert not Order.objects.exists()


def test_channels_without_the_flag_create_no_storefront_orders(org, channel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(channel=channel, raw_orders=[raw_order(3)])
    assert callbacks == [] and not Order.objects.exists()
