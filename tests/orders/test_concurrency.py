"""Races on PostgreSQL with real threads, each on its own connection."""

import pytest

from orders import services
from orders.models import InventoryItem, Order
from tests.accounts.factories import OrgFactory
from tests.concurrency import race
from tests.orders.factories import checkout, stock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("verb", ["process", "cancel", "hold"])
def test_two_racing_transitions_give_one_success_and_one_409(verb):
    org = OrgFactory()
    stock(org, A=10, B=10)
    number = checkout(org).order_number
    outcomes = race([lambda: _verb(verb, org, number), lambda: _verb(verb, org, number)])
    assert sorted(outcomes, key=str) == [409, "ok"]
    order = Order.objects.get(org=org, order_number=number)
    assert order.activities.exclude(verb="checkout").count() == 1
    if verb == "cancel":
        assert InventoryItem.objects.get(org=org, sku="A").reserved == 0  # released once, not twice


def _verb(verb, org, number):
    kwargs = {"reason": "check"} if verb == "hold" else {}
    return services.order_transition(verb, org=org, order_number=number, **kwargs)


def test_racing_refunds_never_refund_more_than_captured():
    org = OrgFactory()
    stock(org, A=10, B=10)
    order = checkout(org)
    for verb in ("process", "ship"):
        _verb(verb, org, order.order_number) if verb != "ship" else services.order_ship(
            org=org, order_number=order.order_number, carrier="ups", tracking_number="1Z")
    outcomes = race([lambda: services.order_refund(org=org, order_number=order.order_number, amount="20.00",
                                                   reason="race")] * 2)
    assert sorted(outcomes, key=str) == [400, "ok"]
    order.refresh_from_db()
    assert str(order.refunded_total) == "20.00"


def test_twenty_concurrent_checkouts_for_five_units_make_exactly_five_orders():
    org = OrgFactory()
    stock(org, HOT=5)

    def buy(i):
        return lambda: services.checkout_cart(org=org, customer={"email": f"buyer{i}@example.com"},
                                              lines=[{"sku": "HOT", "quantity": 1}], shipping_address={})

    outcomes = race([buy(i) for i in range(20)])
    assert outcomes.count("ok") == 5, outcomes
    assert outcomes.count(409) == 15, outcomes
    item = InventoryItem.objects.get(org=org, sku="HOT")
    assert (item.on_hand, item.reserved, item.available) == (5, 5, 0)
    numbers = list(Order.objects.filter(org=org).values_list("order_number", flat=True))
    assert len(numbers) == len(set(numbers)) == 5


def test_concurrent_checkouts_with_one_idempotency_key_make_one_order():
    org = OrgFactory()
    stock(org, A=50, B=50)

    def buy():
        return services.checkout_cart(org=org, customer={"email": "same@example.com"}, idempotency_key="cart-1",
                                      lines=[{"sku": "A", "quantity": 1}], shipping_address={})

    outcomes = race([buy] * 4)
    assert outcomes == ["ok"] * 4
    assert Order.objects.filter(org=org).count() == 1
    assert InventoryItem.objects.get(org=org, sku="A").reserved == 1
