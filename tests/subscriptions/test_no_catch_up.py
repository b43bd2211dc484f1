"""A past startAt bills the current period only, and a billing run charges a subscription at most one period
(issue 15, item 16): missed periods are skipped, not charged one after another by the following runs."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orders.models import InventoryItem, Order
from subscriptions import services
from subscriptions.models import BillingCycle
from subscriptions.services import subscriptions_bill_due
from subscriptions.services.periods import current_period_start
from tests.concurrency import at_once, results_and_errors
from tests.subscriptions.conftest import T0, subscribe

FIVE_MONTHS_AGO = T0.replace(month=1)  # 2026-01-01, the anchor; T0 is 2026-05-01
NOW = T0 + timedelta(days=10)          # inside the period 2026-05-01 .. 2026-06-01


def cycles(sub) -> list[tuple]:
    return [(c.period_start, c.outcome) for c in BillingCycle.objects.filter(subscription=sub).order_by("period_start")]


def test_a_start_months_ago_bills_the_current_period_once_then_the_next_when_due(org, coffee, dispatched, bill):
    sub = subscribe(org, coffee, start_at=FIVE_MONTHS_AGO)
    assert bill(now=NOW).billed == [sub.subscription_id]
    assert cycles(sub) == [(T0, "success")]
    for minutes in (1, 2, 3):  # the next runs find nothing due: no catch-up of January..April
        assert bill(now=NOW + timedelta(minutes=minutes)).billed == []
    assert Order.objects.filter(org=org).count() == 1
    sub.refresh_from_db()
    assert (sub.current_period_start, sub.current_period_end, sub.next_billing_at) == (
        T0, T0.replace(month=6), T0.replace(month=6))
    assert bill(now=T0.replace(month=6) + timedelta(seconds=1)).billed == [sub.subscription_id]
    assert cycles(sub) == [(T0, "success"), (T0.replace(month=6), "success")]


def test_a_daily_subscription_a_month_late_is_charged_one_day(org, dispatched, bill):
    InventoryItem.objects.create(org=org, sku="BREAD", name="Bread", unit_price=Decimal("3.00"), on_hand=100)
    price = services.price_create(org=org, price_id="bread-daily", product_sku="BREAD", amount=Decimal("3.00"),
                                  interval="day", interval_count=1)
    sub = subscribe(org, price, start_at=T0 - timedelta(days=30, hours=-2))  # anchor at 11:00
    bill(now=T0 + timedelta(hours=3))
    bill(now=T0 + timedelta(hours=4))
    assert cycles(sub) == [(T0 + timedelta(hours=2), "success")]
    assert InventoryItem.objects.get(org=org, sku="BREAD").reserved == 1


def test_a_retry_that_outlives_its_period_moves_to_the_current_one(org, dispatched, bill, settings):
    """The retries go on (their count too, so the schedule still ends in past_due), for the current period."""
    settings.SUBSCRIPTIONS_RETRY_SCHEDULE = [26 * 3600, 3600]
    InventoryItem.objects.create(org=org, sku="BREAD", name="Bread", unit_price=Decimal("3.00"), on_hand=0)
    price = services.price_create(org=org, price_id="bread-daily", product_sku="BREAD", amount=Decimal("3.00"),
                                  interval="day", interval_count=1)
    sub = subscribe(org, price, start_at=T0)
    assert bill(now=T0).retrying == [sub.subscription_id]
    InventoryItem.objects.filter(org=org, sku="BREAD").update(on_hand=10)
    retry_at = T0 + timedelta(hours=26)
    assert bill(now=retry_at).billed == [sub.subscription_id]
    assert cycles(sub) == [(T0, "failed"), (T0 + timedelta(days=1), "success")]
    old, new = BillingCycle.objects.filter(subscription=sub).order_by("period_start")
    assert "the period ended before a charge succeeded" in old.error and old.child_order_id is None
    assert new.attempts == 2
    assert Order.objects.filter(org=org).count() == 1


def test_the_current_period_keeps_the_anchor_day():
    anchor = datetime(2026, 1, 31, 9, tzinfo=UTC)
    assert current_period_start(anchor, interval="month", count=1, now=datetime(2026, 4, 15, tzinfo=UTC)) == \
        datetime(2026, 3, 31, 9, tzinfo=UTC)
    assert current_period_start(anchor, interval="month", count=1, now=datetime(2026, 3, 1, tzinfo=UTC)) == \
        datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert current_period_start(anchor, interval="month", count=1, now=anchor) == anchor
    assert current_period_start(anchor, interval="week", count=2, now=anchor + timedelta(days=29)) == \
        anchor + timedelta(days=28)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_charge_each_late_subscription_one_period(org, coffee, monkeypatch):
    from orders.tasks import run_event_handler

    monkeypatch.setattr(run_event_handler, "apply_async", lambda *a, **kw: None)
    subs = [subscribe(org, coffee, email=f"late{i}@example.com", start_at=FIVE_MONTHS_AGO) for i in range(4)]
    results, errors = results_and_errors(at_once([lambda: subscriptions_bill_due(now=NOW)] * 4, timeout=120))
    assert errors == []
    billed = sorted(sid for result in results for sid in result.billed)
    assert billed == sorted(s.subscription_id for s in subs)
    assert Order.objects.filter(org=org).count() == 4
    assert sorted(BillingCycle.objects.filter(subscription__org=org).values_list("period_start", flat=True)) == \
        [T0] * 4
