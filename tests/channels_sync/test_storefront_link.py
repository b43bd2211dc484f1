import json

import pytest

from channels_sync.models import AggregatedOrder, Writeback
from channels_sync.services import ingest
from channels_sync.services.writeback import writeback_attempt
from channels_sync.tasks import create_local_orders, run_writeback
from orders import events
from orders.models import EventHandlerRun, InventoryItem, Order
from orders.services import InsufficientStock, inventory_set_on_hand, order_cancel, order_ship
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
    assert linked.local_order == local and local.channel_order == linked
    assert "localOrderId" not in linked.data  # the link is the column, not a JSON key
    assert local.metadata["channelOrderId"] == "1" and local.source == "channel:fakeshop"
    assert local.status == "processing"  # paid on the channel
    assert [(li.sku, li.quantity) for li in local.lines.all()] == [("SKU-1", 2)]


def test_shipping_the_storefront_order_queues_the_channel_writeback(org, linked, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
    assert HANDLER in events.subscribers("order.shipped")
    assert HANDLER in events.subscribers("order.partially_shipped")
    dispatched = []
    monkeypatch.setattr(run_event_handler, "apply_async", lambda args: dispatched.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        order_ship(org=org, order_number=linked.local_order.order_number, carrier="ups", tracking_number="1Z777")
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


def test_short_stock_imports_the_order_as_a_backorder(org, make_channel, django_capture_on_commit_callbacks):
    """The marketplace has sold the units already: the order comes in, holding what stock there is, flagged as a
    backorder; it ships once stock arrives (and not before), which clears the flag."""
    channel = make_channel(org, create_local_orders=True)
    inventory_set_on_hand(org=org, sku="SKU-1", on_hand=1, unit_price="5.00")
    ingest(channel=channel, raw_orders=[raw_order(2)])
    aggregated = AggregatedOrder.objects.get()
    create_local_orders.run([aggregated.pk])
    aggregated.refresh_from_db()
    local = aggregated.local_order
    assert local is not None and "localOrderError" not in aggregated.data
    assert local.is_backorder and local.status == "processing"
    line = local.lines.get()
    assert (line.quantity, line.quantity_backordered) == (2, 1)
    assert InventoryItem.objects.get(org=org, sku="SKU-1").reserved == 1
    with pytest.raises(InsufficientStock):
        order_ship(org=org, order_number=local.order_number, carrier="ups", tracking_number="1ZSHORT")
    order_ship(org=org, order_number=local.order_number, carrier="ups", tracking_number="1ZONE",
               items=[{"sku": "SKU-1", "quantity": 1}])  # the unit in stock ships now
    local.refresh_from_db()
    assert local.is_backorder and local.status == "processing"
    inventory_set_on_hand(org=org, sku="SKU-1", on_hand=4)  # stock arrives
    order_ship(org=org, order_number=local.order_number, carrier="ups", tracking_number="1ZREST")
    local.refresh_from_db()
    assert not local.is_backorder and local.status == "shipped"
    assert local.lines.get().quantity_backordered == 0
    item = InventoryItem.objects.get(org=org, sku="SKU-1")
    assert (item.on_hand, item.reserved) == (3, 0)


def test_an_unknown_sku_is_wholly_backordered_and_cancel_gives_back_only_what_was_held(
        org, make_channel, django_capture_on_commit_callbacks):
    channel = make_channel(org, create_local_orders=True)
    ingest(channel=channel, raw_orders=[raw_order(5)])
    create_local_orders.run([AggregatedOrder.objects.get().pk])
    local = Order.objects.get()
    assert local.is_backorder and local.lines.get().quantity_backordered == 2
    assert not InventoryItem.objects.filter(org=org).exists()
    order_cancel(org=org, order_number=local.order_number, reason="cannot source")
    local.refresh_from_db()
    assert local.status == "cancelled"


def test_channels_without_the_flag_create_no_storefront_orders(org, channel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(channel=channel, raw_orders=[raw_order(3)])
    assert callbacks == [] and not Order.objects.exists()


FULFILL = "https://fake.example/orders/1/fulfillments.json"


def test_two_parcels_send_two_writebacks_with_both_tracking_numbers(org, linked, monkeypatch, responses_mock,
                                                                    django_capture_on_commit_callbacks):
    """The storefront order ships in two parcels: the channel hears of each one, with its own tracking number
    (the first as order.partially_shipped, the last as order.shipped)."""
    handler_tasks, writeback_tasks = [], []
    monkeypatch.setattr(run_event_handler, "apply_async", lambda args, **kw: handler_tasks.append(args))
    monkeypatch.setattr(run_writeback, "apply_async", lambda args, **kw: writeback_tasks.append(args[0]))
    responses_mock.post(FULFILL, json={"id": 501})
    responses_mock.post(FULFILL, json={"id": 502})
    number = linked.local_order.order_number
    with django_capture_on_commit_callbacks(execute=True):
        order_ship(org=org, order_number=number, carrier="ups", tracking_number="1ZFIRST",
                   items=[{"sku": "SKU-1", "quantity": 1}])
        order_ship(org=org, order_number=number, carrier="dhl", tracking_number="JDSECOND",
                   items=[{"sku": "SKU-1", "quantity": 1}])
    ours = [args for args in handler_tasks if args[0] == HANDLER]
    assert [args[1]["name"] for args in ours] == ["order.partially_shipped", "order.shipped"]
    with django_capture_on_commit_callbacks(execute=True):
        for args in ours:
            run_event_handler(*args)
        for args in ours:  # delivered again without its run (as a task queued before runs existed)
            run_event_handler(*args[:2])
    assert len(writeback_tasks) == 2  # still one writeback per parcel
    for pk in writeback_tasks:
        writeback_attempt(writeback_pk=pk)
    sent = [json.loads(call.request.body) for call in responses_mock.calls]
    assert [(body["status"], body["tracking"], body["carrier"]) for body in sent] == [
        ("shipped", "1ZFIRST", "ups"), ("shipped", "JDSECOND", "dhl")]
    rows = Writeback.objects.order_by("created_at", "id")
    assert [(w.tracking_number, w.status, w.channel_reference) for w in rows] == [
        ("1ZFIRST", "succeeded", "501"), ("JDSECOND", "succeeded", "502")]
    assert len({w.storefront_shipment_id for w in rows}) == 2
    # one run row per event; the redelivered task found its run succeeded and did not run it again
    runs = EventHandlerRun.objects.filter(subscriber=HANDLER).order_by("id")
    assert [(r.event, r.status, r.attempts) for r in runs] == [("order.partially_shipped", "succeeded", 1),
                                                               ("order.shipped", "succeeded", 1)]


def test_the_migration_fills_the_link_from_the_old_json_key(linked):
    """0005 turns `data.localOrderId` (order number, same org) into the local_order column and drops the key."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("channels_sync.migrations.0005_local_order_link")
    number = linked.local_order.order_number
    AggregatedOrder.objects.filter(pk=linked.pk).update(local_order=None, data={"localOrderId": number, "x": 1})
    migration.link_from_json(apps, None)
    linked.refresh_from_db()
    assert linked.local_order.order_number == number and linked.data == {"x": 1}
    migration.link_to_json(apps, None)
    linked.refresh_from_db()
    assert linked.data == {"x": 1, "localOrderId": number}


def test_a_parcel_of_an_order_the_channel_cancelled_is_not_written_back_and_says_why(
        org, linked, monkeypatch, django_capture_on_commit_callbacks):
    """The channel order was cancelled on the channel while the storefront shipped it: the channel cannot take a
    shipment now, so no writeback is made and the handler does not fail (a retry would change nothing)."""
    from tests.channels_sync import fake_provider

    monkeypatch.setattr(fake_provider.Provider, "writable_statuses", {"processing": ("shipped", "cancelled")})
    AggregatedOrder.objects.filter(pk=linked.pk).update(status="cancelled")
    dispatched = []
    monkeypatch.setattr(run_event_handler, "apply_async", lambda args: dispatched.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        order_ship(org=org, order_number=linked.local_order.order_number, carrier="ups", tracking_number="1Z888")
    ours = [args for args in dispatched if args[0] == HANDLER]
    run_event_handler.run(*ours[0])
    assert not Writeback.objects.exists()
    assert EventHandlerRun.objects.get(subscriber=HANDLER).status == "succeeded"
    linked.refresh_from_db()
    assert linked.status == "cancelled"
    assert linked.data["writebackRefused"].startswith("Fake shop cannot take this order from cancelled to shipped")


def test_a_parcel_whose_carrier_the_channel_cannot_take_ends_without_retries_and_staff_see_why(
        org, linked, monkeypatch, django_capture_on_commit_callbacks, admin_client):
    """Walmart takes a carrier outside its list only as otherCarrier with a tracking URL; a storefront parcel by a
    local courier with no tracking page can never be written back, so the handler must not fail (and retry for
    ever): it succeeds, no writeback is made, and the channel order and the storefront order say why."""
    from channels_sync.models import Channel
    from orders.timeline import order_timeline

    Channel.objects.filter(pk=linked.channel_id).update(provider="walmart")
    linked.refresh_from_db()
    dispatched = []
    monkeypatch.setattr(run_event_handler, "apply_async", lambda args: dispatched.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        order_ship(org=org, order_number=linked.local_order.order_number, carrier="Acme Couriers",
                   tracking_number="AC-555")
    ours = [args for args in dispatched if args[0] == HANDLER]
    run_event_handler.run(*ours[0])
    run = EventHandlerRun.objects.get(subscriber=HANDLER)
    assert run.status == "succeeded"
    assert not Writeback.objects.exists()
    linked.refresh_from_db()
    assert linked.status == "processing"
    refused = linked.data["writebackRefused"]
    assert refused.startswith('Walmart Marketplace takes the carrier "acme couriers" only with a tracking URL')
    assert "Accepted carriers: UPS, USPS, FedEx" in refused and refused.endswith("Deutsche Post.")
    assert linked.data["writebackRefusedParcel"] == "acme couriers AC-555"  # as the storefront keeps it

    run_event_handler.run(*ours[0])  # a redelivered event: still no writeback, still no failure
    assert not Writeback.objects.exists() and EventHandlerRun.objects.get(subscriber=HANDLER).status == "succeeded"

    from django.urls import reverse
    page = admin_client.get(reverse("admin:channels_sync_aggregatedorder_change", args=[linked.pk])).content.decode()
    assert 'data-testid="writeback-refused"' in page and "acme couriers AC-555 was not written back" in page
    entries = [e for e in order_timeline(linked.local_order) if e.problem and e.kind == "writeback"]
    channel_id = linked.channel.channel_id
    assert [e.title for e in entries] == [f"Parcel acme couriers AC-555 not written back to {channel_id}"]
    assert entries[0].detail == refused
