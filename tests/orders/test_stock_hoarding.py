"""Stock cannot be hoarded anonymously (issue 15, item 4): unpaid orders give their stock back after
ORDER_UNPAID_RESERVATION_TTL, an anonymous cart has quantity limits, and a short-stock 409 tells a stranger
which SKU is short but not how many are left."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders import services
from orders.models import Activity, InventoryItem, Order, Payment
from orders.tasks import expire_unpaid_orders
from tests.accounts.factories import OrgFactory
from tests.api import error_code
from tests.concurrency import race
from tests.orders.factories import checkout, stock
from tests.orders.test_checkout import CART

TTL = 30 * 60


def reserved(org, sku="A") -> int:
    return InventoryItem.objects.get(org=org, sku=sku).reserved


def after_ttl(seconds: int = 1):
    return timezone.now() + timedelta(seconds=TTL + seconds)


# --- the short-stock answer ---------------------------------------------------------------------------

def test_a_stranger_learns_which_sku_is_short_but_not_how_many_are_left(org, public_client):
    stock(org, A=3, B=5)
    response = public_client.post("/storefront/checkout-cart", {**CART, "lines": [{"sku": "A", "quantity": 4}]},
                                  format="json")
    assert response.status_code == 409
    assert error_code(response) == "insufficient_stock"
    error = response.json()["error"]
    assert error["details"] == {"skus": ["A"], "lines": [{"sku": "A", "requested": 4}]}
    assert "3" not in error["message"]
    assert "available" not in response.content.decode()


def test_staff_of_the_org_still_see_the_count(org, owner, other_owner):
    stock(org, A=3, B=5)
    cart = {**CART, "lines": [{"sku": "A", "quantity": 4}]}
    response = owner.client.post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["lines"] == [{"sku": "A", "requested": 4, "available": 3}]
    # another org's staff present a credential this org does not know: refused (orders/api/callers.py), no count
    stranger = other_owner.client.post("/storefront/checkout-cart", cart, format="json", HTTP_ORGID=org.slug)
    assert stranger.status_code == 404
    assert "available" not in stranger.content.decode()


# --- quantity limits ----------------------------------------------------------------------------------

def test_one_anonymous_cart_cannot_take_more_than_the_line_limit(org, public_client, settings):
    settings.ORDERS_CHECKOUT_MAX_LINE_QUANTITY = 5
    stock(org, A=100, B=100)
    # two lines of the same SKU count together
    cart = {**CART, "lines": [{"sku": "A", "quantity": 3}, {"sku": "A", "quantity": 3}]}
    response = public_client.post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert response.json()["error"]["details"]["lines"] == ["A: at most 5 units per order (6 asked)."]
    assert reserved(org) == 0 and not Order.objects.filter(org=org).exists()
    ok = public_client.post("/storefront/checkout-cart", {**CART, "lines": [{"sku": "A", "quantity": 5}]},
                            format="json")
    assert ok.status_code == 201
    assert reserved(org) == 5


def test_one_anonymous_cart_cannot_take_more_than_the_order_limit(org, public_client, settings):
    settings.ORDERS_CHECKOUT_MAX_ORDER_QUANTITY = 8
    stock(org, A=100, B=100)
    cart = {**CART, "lines": [{"sku": "A", "quantity": 5}, {"sku": "B", "quantity": 4}]}
    response = public_client.post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["lines"] == ["At most 8 units per order (9 asked)."]
    assert reserved(org, "A") == reserved(org, "B") == 0


def test_the_default_limits_refuse_a_shelf_sized_cart(org, public_client):
    stock(org, A=100_000, B=5)
    response = public_client.post("/storefront/checkout-cart", {**CART, "lines": [{"sku": "A", "quantity": 100_000}]},
                                  format="json")
    assert response.status_code == 400
    assert reserved(org) == 0


def test_channel_imports_and_staff_services_are_not_limited(org, settings):
    """The limits are for strangers: a channel order's quantities were sold on the channel."""
    settings.ORDERS_CHECKOUT_MAX_LINE_QUANTITY = 5
    stock(org, A=100, B=100)
    order = checkout(org, {"A": 50})
    assert order.lines.get().quantity == 50


# --- unpaid orders expire -----------------------------------------------------------------------------

def test_an_unpaid_order_past_the_ttl_is_cancelled_and_its_stock_released(org, dispatched):
    stock(org, A=10, B=10)
    order = checkout(org, {"A": 4}, payment={})  # nothing captured
    assert reserved(org) == 4
    assert services.orders_expire_unpaid(now=after_ttl(-60)) == []  # not yet
    assert services.orders_expire_unpaid(now=after_ttl()) == [order.order_number]
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.cancel_reason == "Payment not received in time."
    assert reserved(org) == 0
    activity = Activity.objects.filter(order=order).last()
    assert (activity.verb, activity.actor_label, activity.from_status, activity.to_status) == (
        "cancel", "system", "new", "cancelled")
    assert activity.data == {"expired": True, "unpaidForSeconds": TTL, "reason": "Payment not received in time.",
                             "released": {"A": 4}}
    # published like any cancel: the customer's cancellation email and the org's workflows run after commit
    assert set(order.event_runs.filter(event="order.cancelled").values_list("subscriber", flat=True)) == {
        "orders.notifications.on_order_event", "workflows.services.on_order_event"}
    assert services.orders_expire_unpaid(now=after_ttl(3600)) == []  # once


def test_paid_channel_renewal_processed_and_held_orders_keep_their_stock(org, dispatched):
    stock(org, A=50, B=50)
    paid = checkout(org, {"A": 1})
    channel = checkout(org, {"A": 1}, payment={}, source="channel:tiktok")
    renewal = checkout(org, {"A": 1}, payment={}, source="subscription")
    processing = checkout(org, {"A": 1}, payment={})
    services.order_process(org=org, order_number=processing.order_number)
    held = checkout(org, {"A": 1}, payment={})
    services.order_hold(org=org, order_number=held.order_number, reason="bank transfer announced")
    assert services.orders_expire_unpaid(now=after_ttl(86400)) == []
    statuses = dict(Order.objects.filter(org=org).values_list("order_number", "status"))
    assert statuses == {paid.order_number: "new", channel.order_number: "new", renewal.order_number: "new",
                        processing.order_number: "processing", held.order_number: "on-hold"}
    assert reserved(org) == 5


def test_an_authorized_payment_or_an_order_staff_entered_is_not_expired(org, owner, dispatched):
    """An authorized card (captured later in Stripe) is money promised, and staff chase their own phone orders."""
    stock(org, A=10, B=10)
    authorized = checkout(org, {"A": 1}, payment={})
    Payment.objects.create(order=authorized, gateway="stripe", reference="pi_authorized", status="authorized",
                           amount_captured=0, currency=authorized.currency)
    checkout(org, {"A": 1}, payment={}, actor=owner.user)
    anonymous = checkout(org, {"A": 1}, payment={})
    assert services.orders_expire_unpaid(now=after_ttl(86400)) == [anonymous.order_number]
    assert reserved(org) == 2


def test_the_ttl_is_a_setting_and_zero_turns_the_expiry_off(org, settings, dispatched):
    stock(org, A=10, B=10)
    order = checkout(org, {"A": 1}, payment={})
    settings.ORDER_UNPAID_RESERVATION_TTL = 0
    assert services.orders_expire_unpaid(now=after_ttl(86400)) == []
    settings.ORDER_UNPAID_RESERVATION_TTL = 60
    assert services.orders_expire_unpaid(now=timezone.now() + timedelta(seconds=61)) == [order.order_number]


def test_the_beat_task_expires_due_orders(org, dispatched, settings):
    settings.ORDER_UNPAID_RESERVATION_TTL = 1
    stock(org, A=10, B=10)
    order = checkout(org, {"A": 2}, payment={})
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=5))
    assert expire_unpaid_orders() == 1
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert reserved(org) == 0


def test_expiry_only_cancels_orders_of_their_own_org_stock(org, other_org, dispatched):
    stock(org, A=10, B=10)
    stock(other_org, A=10, B=10)
    mine = checkout(org, {"A": 3}, payment={})
    theirs = checkout(other_org, {"A": 2})  # paid
    assert services.orders_expire_unpaid(now=after_ttl()) == [mine.order_number]
    assert (reserved(org), reserved(other_org)) == (0, 2)
    assert Order.objects.get(pk=theirs.pk).status == "new"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("verb", ["process", "cancel"])
def test_expiry_racing_staff_gives_one_outcome_and_releases_stock_once(verb):
    """Under the row lock: either staff's verb wins (the expiry skips the order) or the expiry does (the verb is
    a 409); stock is never released twice nor kept by a cancelled order."""
    org = OrgFactory()
    stock(org, A=10, B=10)
    number = checkout(org, {"A": 4}, payment={}).order_number
    later = after_ttl()
    outcomes = race([lambda: services.orders_expire_unpaid(now=later),
                     lambda: services.order_transition(verb, org=org, order_number=number)])
    order = Order.objects.get(org=org, order_number=number)
    cancels = order.activities.filter(verb="cancel").count()
    if outcomes[1] == "ok":
        assert order.status == ("processing" if verb == "process" else "cancelled")
    else:
        assert outcomes[1] == 409 and order.status == "cancelled"
    assert outcomes[0] == "ok"
    assert cancels == (0 if order.status == "processing" else 1)
    assert reserved(org) == (4 if order.status == "processing" else 0)
