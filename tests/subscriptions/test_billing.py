"""The billing run: one child order per subscription and period, retries, past_due, plan changes."""

from datetime import timedelta
from decimal import Decimal

from django.core import mail

from orders.models import EmailLog, InventoryItem, Order
from subscriptions.models import BillingCycle
from subscriptions.services import subscription_apply_action
from subscriptions.tasks import bill_due_subscriptions
from tests.subscriptions.conftest import ADDRESS, T0, subscribe


def child_orders(sub):
    return list(Order.objects.filter(billing_cycle__subscription=sub).order_by("id"))


def test_due_subscription_becomes_one_child_order_with_stock_reserved_and_confirmation(org, coffee, dispatched, bill):
    sub = subscribe(org, coffee, quantity=2)
    result = bill(now=T0 + timedelta(minutes=1))
    assert result.billed == [sub.subscription_id]
    [order] = child_orders(sub)
    assert (order.status, order.source, order.currency) == ("new", "subscription", "USD")
    assert order.shipping_address == ADDRESS
    assert order.customer_id == sub.customer_id
    [line] = order.lines.all()
    assert (line.sku, line.quantity, line.unit_price) == ("COFFEE-1KG", 2, Decimal("19.90"))
    # the subscription's price is the contract, not the SKU's list price (25.00)
    assert order.grand_total == order.captured_total == Decimal("39.80")
    assert order.payments.get().reference.startswith("manual_")
    assert InventoryItem.objects.get(org=org, sku="COFFEE-1KG").reserved == 2
    assert "subscription" in {tag.name for tag in order.tag_rows.all()}
    # the normal lifecycle starts: order.created goes out after commit, the confirmation email is sent
    assert "order.created" in dispatched.names()
    dispatched.run_all()
    assert EmailLog.objects.filter(order=order, kind="confirmation", status="sent").count() == 1
    assert [m.to for m in mail.outbox] == [["sub@example.com"]]
    cycle = BillingCycle.objects.get(subscription=sub)
    assert (cycle.outcome, cycle.attempts, cycle.child_order_id, cycle.amount) == ("success", 1, order.pk,
                                                                                 Decimal("39.80"))
    sub.refresh_from_db()
    assert (sub.current_period_start, sub.current_period_end) == (T0, T0.replace(month=6))
    assert sub.next_billing_at == T0.replace(month=6)


def test_running_twice_bills_a_period_once_and_the_next_period_when_it_is_due(org, coffee, dispatched, bill):
    sub = subscribe(org, coffee)
    bill(now=T0 + timedelta(minutes=1))
    again = bill(now=T0 + timedelta(minutes=2))
    assert again.billed == []
    assert len(child_orders(sub)) == 1
    bill(now=T0.replace(month=6) + timedelta(seconds=1))
    orders = child_orders(sub)
    assert len(orders) == 2
    assert [c.period_start for c in BillingCycle.objects.filter(subscription=sub).order_by("period_start")] == [
        T0, T0.replace(month=6)]


def test_not_yet_due_paused_and_cancelled_subscriptions_are_not_billed(org, coffee, dispatched, bill):
    future = subscribe(org, coffee, email="later@example.com", start_at=T0 + timedelta(days=3))
    paused = subscribe(org, coffee, email="paused@example.com")
    cancelled = subscribe(org, coffee, email="gone@example.com")
    subscription_apply_action(org=org, subscription_id=paused.subscription_id, action="pause", now=T0)
    subscription_apply_action(org=org, subscription_id=cancelled.subscription_id, action="cancel", now=T0)
    assert bill(now=T0 + timedelta(hours=1)).billed == []
    assert not Order.objects.filter(org=org).exists()
    assert bill(now=T0 + timedelta(days=3)).billed == [future.subscription_id]


def test_plan_change_applies_from_the_next_cycle_only(org, coffee, dispatched, bill):
    from subscriptions.services import price_create

    bigger = price_create(org=org, price_id="coffee-monthly-xl", product_sku="COFFEE-1KG", amount=Decimal("17.00"))
    sub = subscribe(org, coffee)
    bill(now=T0 + timedelta(minutes=1))
    subscription_apply_action(org=org, subscription_id=sub.subscription_id, action="change-plan",
                              price_id=bigger.price_id, quantity=3)
    sub.refresh_from_db()
    assert (sub.price_id, sub.quantity, sub.pending_price_id, sub.pending_quantity) == (coffee.pk, 1, bigger.pk, 3)
    bill(now=T0.replace(month=6))
    first, second = child_orders(sub)
    assert (first.grand_total, second.grand_total) == (Decimal("19.90"), Decimal("51.00"))
    sub.refresh_from_db()
    assert (sub.price_id, sub.quantity, sub.pending_price_id, sub.pending_quantity) == (bigger.pk, 3, None, None)


def test_the_beat_task_bills_and_is_scheduled(org, coffee, dispatched, settings, bill):
    sub = subscribe(org, coffee, start_at=None)  # starts now, so it is due now
    assert bill_due_subscriptions() == {"billed": 1, "retrying": 0, "pastDue": 0, "errors": 0}
    assert len(child_orders(sub)) == 1
    entry = settings.CELERY_BEAT_SCHEDULE["subscriptions-bill-due"]
    assert entry["task"] == bill_due_subscriptions.name and entry["schedule"] <= 60


def test_short_stock_fails_the_attempt_without_an_order_and_retries(org, coffee, dispatched, bill):
    InventoryItem.objects.filter(org=org, sku="COFFEE-1KG").update(on_hand=1)
    sub = subscribe(org, coffee, quantity=2)
    result = bill(now=T0)
    assert result.retrying == [sub.subscription_id]
    assert not Order.objects.filter(org=org).exists()
    assert dispatched.calls == []  # no order.created, so no confirmation email
    assert InventoryItem.objects.get(org=org, sku="COFFEE-1KG").reserved == 0
    cycle = BillingCycle.objects.get(subscription=sub)
    assert cycle.outcome == "pending" and "COFFEE-1KG" in cycle.error
    assert cycle.next_retry_at == T0 + timedelta(hours=1)


def test_an_unexpected_error_skips_only_that_subscription_and_leaves_it_due(org, coffee, dispatched, bill,
                                                                            monkeypatch):
    from subscriptions.services import billing

    broken = subscribe(org, coffee, email="broken@example.com")
    fine = subscribe(org, coffee, email="fine@example.com")
    real = billing.checkout_cart

    def checkout(**kwargs):
        if kwargs["customer"]["email"] == "broken@example.com":
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(billing, "checkout_cart", checkout)
    result = bill(now=T0)
    assert (result.billed, result.errors) == ([fine.subscription_id], [broken.subscription_id])
    assert not BillingCycle.objects.filter(subscription=broken).exists()  # rolled back, attempt not counted
    monkeypatch.setattr(billing, "checkout_cart", real)
    assert bill(now=T0 + timedelta(minutes=1)).billed == [broken.subscription_id]
