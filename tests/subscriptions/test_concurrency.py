"""Two (or more) billing runs at once on PostgreSQL, with real threads on their own connections."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from orders.models import InventoryItem, Order
from subscriptions.models import BillingCycle
from subscriptions.services import subscriptions_bill_due
from tests.subscriptions.conftest import T0, subscribe

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_at_once(count: int, call):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(call())
        except Exception as exc:  # reported by the assertion in the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def test_concurrent_billing_runs_create_exactly_one_child_order_per_subscription(org, coffee, monkeypatch):
    from orders.tasks import run_event_handler

    monkeypatch.setattr(run_event_handler, "apply_async", lambda *a, **kw: None)
    subs = [subscribe(org, coffee, email=f"c{i}@example.com") for i in range(6)]
    now = T0 + timedelta(minutes=1)
    results, errors = run_at_once(4, lambda: subscriptions_bill_due(now=now))
    assert errors == []
    billed = [sid for result in results for sid in result.billed]
    assert sorted(billed) == sorted(s.subscription_id for s in subs)  # each billed by exactly one run
    assert Order.objects.filter(org=org).count() == 6
    assert BillingCycle.objects.filter(subscription__org=org).count() == 6
    assert all(c.child_order_id for c in BillingCycle.objects.filter(subscription__org=org))
    assert InventoryItem.objects.get(org=org, sku="COFFEE-1KG").reserved == 6
    # the same run again, twice at once: nothing more
    results, errors = run_at_once(2, lambda: subscriptions_bill_due(now=now))
    assert errors == [] and [r.billed for r in results] == [[], []]
    assert Order.objects.filter(org=org).count() == 6
