"""Each transition's effects: inventory, shipments, emails (through events and Celery tasks), activity."""

import pytest
from django.conf import settings
from django.core import mail

from orders import services
from orders.models import Activity, EmailLog, InventoryItem, OrderLine, Shipment
from tests.orders.factories import checkout, order_in, stock


def stock_of(org, sku):
    item = InventoryItem.objects.get(org=org, sku=sku)
    return item.on_hand, item.reserved


def test_partial_shipments_keep_processing_until_every_unit_ships(manager, stocked, dispatched,
                                                                   django_capture_on_commit_callbacks):
    order = order_in(manager.org, "processing")  # A x2, B x1
    url = f"/storefront/order/ship/{order.order_number}"
    with django_capture_on_commit_callbacks(execute=True):
        first = manager.client.post(url, {"carrier": "UPS", "tracking": "1ZFIRST", "service": "ground", "cost": "7.10",
                                          "items": [{"sku": "A", "quantity": 1}]}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "processing"
    assert stock_of(manager.org, "A") == (9, 1)
    assert stock_of(manager.org, "B") == (10, 1)
    assert "order.partially_shipped" in dispatched.names()
    with django_capture_on_commit_callbacks(execute=True):
        second = manager.client.post(url, {"carrier": "usps", "tracking": "9400SECOND"}, format="json")
    body = second.json()
    assert body["status"] == "shipped"
    assert [(s["trackingNumber"], s["items"]) for s in body["shipments"]] == [
        ("1ZFIRST", [{"sku": "A", "quantity": 1}]),
        ("9400SECOND", [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}]),
    ]
    assert body["shipments"][0]["cost"] == "7.10"
    assert [(line["sku"], line["quantityShipped"]) for line in body["lines"]] == [("A", 2), ("B", 1)]
    assert stock_of(manager.org, "A") == (8, 0)
    assert stock_of(manager.org, "B") == (9, 0)
    shipped_events = [p for _, p in dispatched.calls if p["name"] == "order.shipped"]
    assert shipped_events and shipped_events[0]["data"]["shipmentId"] == Shipment.objects.last().pk


@pytest.mark.parametrize("items", [
    [{"sku": "A", "quantity": 3}],
    [{"sku": "A", "quantity": 2}, {"sku": "A", "quantity": 1}],
    [{"sku": "NOPE", "quantity": 1}],
])
def test_shipping_more_than_left_or_unknown_sku_is_400_and_changes_nothing(manager, stocked, items):
    order = order_in(manager.org, "processing")
    response = manager.client.post(f"/storefront/order/ship/{order.order_number}",
                                   {"carrier": "ups", "tracking": "1Z", "items": items}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()["error"]["details"]
    assert not Shipment.objects.filter(order=order).exists()
    assert stock_of(manager.org, "A") == (10, 2)


def test_cancel_releases_only_unshipped_stock(manager, stocked):
    order = order_in(manager.org, "processing")
    services.order_ship(org=manager.org, order_number=order.order_number, carrier="ups", tracking_number="1Z",
                        items=[{"sku": "A", "quantity": 1}])
    response = manager.client.post(f"/storefront/order/cancel/{order.order_number}", {"reason": "out of time"},
                                   format="json")
    assert response.json()["status"] == "cancelled"
    assert stock_of(manager.org, "A") == (9, 0)
    assert stock_of(manager.org, "B") == (10, 0)
    assert Activity.objects.filter(order=order).last().data["released"] == {"A": 1, "B": 1}


def test_cancel_from_hold_releases_stock(manager, stocked):
    order = order_in(manager.org, "on-hold")
    manager.client.post(f"/storefront/order/cancel/{order.order_number}", {}, format="json")
    assert stock_of(manager.org, "A") == (10, 0)


def test_hold_keeps_prior_state_and_reason(manager, stocked):
    order = order_in(manager.org, "processing")
    body = manager.client.post(f"/storefront/order/hold/{order.order_number}", {"reason": "fraud check"},
                               format="json").json()
    assert (body["status"], body["priorStatus"], body["holdReason"]) == ("on-hold", "processing", "fraud check")
    assert body["activity"][-1]["data"] == {"reason": "fraud check"}


def test_nothing_is_published_when_the_transition_fails(manager, stocked, dispatched,
                                                        django_capture_on_commit_callbacks):
    order = order_in(manager.org, "new")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        manager.client.post(f"/storefront/order/deliver/{order.order_number}", {}, format="json")
    assert callbacks == [] and dispatched.calls == []


def test_emails_are_sent_by_the_event_tasks_and_recorded(org, stocked, dispatched,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = checkout(org, email="ada@example.com")
    assert ("orders.notifications.on_order_event", "order.created") in [(h, p["name"]) for h, p in dispatched.calls]
    assert mail.outbox == []  # nothing is sent in the request: a worker sends it
    dispatched.run_all()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.com"]
    assert f"Order {order.order_number} confirmed" == mail.outbox[0].subject
    assert f"{settings.PUBLIC_BASE_URL}/orders/view/" in mail.outbox[0].body  # the order's own signed page
    with django_capture_on_commit_callbacks(execute=True):
        services.order_process(org=org, order_number=order.order_number)
        services.order_ship(org=org, order_number=order.order_number, carrier="ups",
                            tracking_number="1Z999AA10123456784")
        services.order_deliver(org=org, order_number=order.order_number)
        services.order_refund(org=org, order_number=order.order_number, reason="late", amount="5.00")
    dispatched.run_all()
    subjects = [m.subject for m in mail.outbox]
    assert subjects[1:] == [
        f"Your order {order.order_number} has shipped",
        f"Your order {order.order_number} was delivered",
        f"Refund of 5.00 USD for order {order.order_number}",
    ]
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in mail.outbox[1].body
    logs = EmailLog.objects.filter(order=order).order_by("id")
    assert [(log.kind, log.status) for log in logs] == [
        ("confirmation", "sent"), ("shipped", "sent"), ("delivered", "sent"), ("refunded", "sent")]


def test_a_retried_email_task_sends_once(org, stocked, dispatched, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        checkout(org)
    calls = list(dispatched.calls)
    dispatched.run_all()
    dispatched.calls = calls
    dispatched.run_all()
    assert len(mail.outbox) == 1
    assert EmailLog.objects.count() == 1


def test_cancelled_email_and_partial_shipment_email(org, stocked, dispatched, django_capture_on_commit_callbacks):
    order = order_in(org, "processing")
    with django_capture_on_commit_callbacks(execute=True):
        services.order_ship(org=org, order_number=order.order_number, carrier="fedex", tracking_number="7712",
                            items=[{"sku": "A", "quantity": 1}])
        services.order_cancel(org=org, order_number=order.order_number, reason="customer changed mind")
    dispatched.run_all()
    assert mail.outbox[0].subject == f"Part of your order {order.order_number} has shipped"
    assert "fedex.com" in mail.outbox[0].body
    assert mail.outbox[1].subject == f"Your order {order.order_number} was cancelled"
    assert "customer changed mind" in mail.outbox[1].body


def test_failed_email_is_recorded_and_its_run_retried(org, stocked, dispatched, settings,
                                                      django_capture_on_commit_callbacks):
    from orders.models import EventHandlerRun

    with django_capture_on_commit_callbacks(execute=True):
        checkout(org)
    settings.EMAIL_BACKEND = "tests.orders.broken_mail.Backend"
    dispatched.run_ids.clear()
    with django_capture_on_commit_callbacks(execute=True):
        dispatched.run_all()
    log = EmailLog.objects.get()
    assert log.status == "failed" and "ConnectionRefused" in log.error
    run = EventHandlerRun.objects.get(subscriber="orders.notifications.on_order_event")
    assert (run.status, run.attempts) == ("pending", 1) and "ConnectionRefused" in run.last_error
    assert dispatched.run_ids == [(run.subscriber, run.pk)] and dispatched.countdowns[-1] > 0


def test_send_welcome_queues_the_welcome_email(manager, stocked, django_capture_on_commit_callbacks, monkeypatch):
    from orders import tasks

    queued = []
    monkeypatch.setattr(tasks.send_welcome_email, "delay", lambda *args: queued.append(args))
    order = order_in(manager.org, "new")
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.client.post(f"/storefront/order/send-welcome/{order.order_number}")
    assert response.status_code == 202
    assert queued == [(order.pk, response.json()["requestId"])]
    tasks.send_welcome_email(*queued[0])
    assert mail.outbox[-1].subject.startswith("Welcome to")
    assert EmailLog.objects.filter(order=order, kind="welcome").count() == 1


def test_update_changes_addresses_notes_tags_until_shipping(manager, stocked):
    order = order_in(manager.org, "processing")
    url = f"/storefront/order/update/{order.order_number}"
    body = manager.client.post(url, {"shippingAddress": {"line1": "2 Elm"}, "notes": "call first",
                                     "tags": ["vip"]}, format="json").json()
    assert (body["shippingAddress"], body["internalNotes"], body["tags"]) == ({"line1": "2 Elm"}, "call first", ["vip"])
    services.order_ship(org=manager.org, order_number=order.order_number, carrier="ups", tracking_number="1Z",
                        items=[{"sku": "B", "quantity": 1}])
    response = manager.client.post(url, {"shippingAddress": {"line1": "3 Oak"}}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "address_locked"
    assert manager.client.post(url, {"tags": ["vip", "rush"]}, format="json").json()["tags"] == ["rush", "vip"]


def test_remove_is_owner_only_and_test_orders_only(owner, manager, stocked):
    real = order_in(owner.org, "new")
    test_order = order_in(owner.org, "processing", is_test=True)
    author = real.customer.sk
    assert manager.client.post(f"/storefront/order/remove/{author}/{test_order.order_number}").status_code == 403
    response = owner.client.post(f"/storefront/order/remove/{author}/{real.order_number}")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_test_order"
    response = owner.client.post(f"/storefront/order/remove/{author}/{test_order.order_number}")
    assert response.json() == {"removed": [test_order.order_number]}
    assert not OrderLine.objects.filter(order_id=test_order.pk).exists()
    assert stock_of(owner.org, "A") == (10, 2)  # the real order's reservation only
    assert owner.client.post(f"/storefront/order/remove/{author}/{test_order.order_number}").status_code == 404
    assert owner.client.post(f"/storefront/order/remove/{author}").status_code == 409  # only a real order left


def test_remove_all_test_orders_of_an_author(owner, stocked):
    one = checkout(owner.org, is_test=True, email="t@example.com")
    two = checkout(owner.org, is_test=True, email="t@example.com")
    response = owner.client.post(f"/storefront/order/remove/{one.customer.sk}")
    assert sorted(response.json()["removed"]) == sorted([one.order_number, two.order_number])
    assert stock_of(owner.org, "A") == (10, 0)


def test_stock_never_goes_negative_at_the_database(org):
    from django.db import IntegrityError, transaction

    stock(org, A=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryItem.objects.filter(org=org, sku="A").update(reserved=2)


def test_the_shipped_email_names_a_typed_carrier_as_typed_not_shouted(org, stocked, dispatched,
                                                                     django_capture_on_commit_callbacks):
    """A carrier staff typed ("Speedy Couriers") is stored lower-cased; the customer's email said
    "SPEEDY COURIERS" while their order page said "Speedy Couriers"."""
    order = order_in(org, "processing")
    with django_capture_on_commit_callbacks(execute=True):
        services.order_ship(org=org, order_number=order.order_number, carrier="Speedy Couriers",
                            tracking_number="SPD123456789", items=[{"sku": "A", "quantity": 1}])
        services.order_ship(org=org, order_number=order.order_number, carrier="fedex", tracking_number="7713")
    dispatched.run_all()
    assert "Carrier:  Speedy Couriers\n" in mail.outbox[0].body
    assert "Carrier:  FedEx\n" in mail.outbox[1].body
