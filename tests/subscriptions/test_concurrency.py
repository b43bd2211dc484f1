"""Two (or more) billing runs at once on PostgreSQL, with real threads on their own connections."""

from datetime import timedelta

import pytest

from orders.models import InventoryItem, Order
from subscriptions.models import BillingCycle
from subscriptions.services import subscriptions_bill_due
from tests.concurrency import at_once, results_and_errors
from tests.subscriptions.conftest import T0, subscribe

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_billing_runs_create_exactly_one_child_order_per_subscription(org, coffee, monkeypatch):
    from orders.tasks import run_event_handler

    monkeypatch.setattr(run_event_handler, "apply_async", lambda *a, **kw: None)
    subs = [subscribe(org, coffee, email=f"c{i}@example.com") for i in range(6)]
    now = T0 + timedelta(minutes=1)
    results, errors = results_and_errors(at_once([lambda: subscriptions_bill_due(now=now)] * 4, timeout=120))
    assert errors == []
    billed = [sid for result in results for sid in result.billed]
    assert sorted(billed) == sorted(s.subscription_id for s in subs)  # each billed by exactly one run
    assert Order.objects.filter(org=org).count() == 6
    assert BillingCycle.objects.filter(subscription__org=org).count() == 6
    assert all(c.child_order_id for c in BillingCycle.objects.filter(subscription__org=org))
    assert InventoryItem.objects.get(org=org, sku="COFFEE-1KG").reserved == 6
    # the same run again, twice at once: nothing more
    results, errors = results_and_errors(at_once([lambda: subscriptions_bill_due(now=now)] * 2, timeout=120))
    assert errors == [] and [r.billed for r in results] == [[], []]
    assert Order.objects.filter(org=org).count() == 6
