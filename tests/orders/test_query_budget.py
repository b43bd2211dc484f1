"""A fixed number of queries per transition and per list page, so an N+1 cannot creep in."""

import pytest

from orders import services
from tests.orders.factories import checkout, order_in, stock

# The budgets are PostgreSQL's, the production database: on SQLite (the demo) stock changes take one
# UPDATE per row instead of one array-bound statement.
pytestmark = pytest.mark.postgres

# verb -> (state it starts from, extra kwargs, max queries). Counts measured, then fixed here; each
# includes the SAVEPOINT/RELEASE pair the test transaction adds (process is 4 real queries:
# SELECT ... FOR UPDATE, UPDATE, INSERT activity, and the event's one INSERT of its handler runs).
BUDGET = {
    "process": ("new", {}, 6),
    "hold": ("processing", {"reason": "x"}, 6),
    "release": ("on-hold", {}, 6),
    "cancel": ("processing", {}, 9),
    "ship": ("processing", {"carrier": "ups", "tracking_number": "1Z"}, 12),
    "deliver": ("shipped", {}, 6),
    "complete": ("delivered", {}, 6),
    "refund": ("completed", {"reason": "x"}, 10),
}


@pytest.mark.parametrize("verb", list(BUDGET))
def test_transition_query_budget(org, verb, django_assert_max_num_queries):
    stock(org, A=50, B=50)
    state, kwargs, budget = BUDGET[verb]
    order = order_in(org, state)
    with django_assert_max_num_queries(budget):
        services.order_transition(verb, org=org, order_number=order.order_number, **kwargs)


def test_checkout_query_budget(org, django_assert_max_num_queries):
    stock(org, **{f"S{i}": 10 for i in range(8)})
    checkout(org, {"S0": 1})  # the customer and the year's counter exist from now on
    # customer, stock lock, reserve, counter (one UPDATE ... RETURNING), order, lines, payment, activity,
    # the event's handler runs
    with django_assert_max_num_queries(11):
        checkout(org, {f"S{i}": 1 for i in range(8)})


def test_ship_queries_do_not_grow_with_lines(org, django_assert_max_num_queries):
    stock(org, **{f"S{i}": 10 for i in range(12)})
    order = checkout(org, {f"S{i}": 1 for i in range(12)})
    services.order_process(org=org, order_number=order.order_number)
    # the same 12 as for one line: stock rows locked in SKU order, then changed in one UPDATE
    with django_assert_max_num_queries(12):
        services.order_ship(org=org, order_number=order.order_number, carrier="ups", tracking_number="1Z")


@pytest.mark.parametrize("url", ["/storefront/orders", "/storefront/inventory"])
def test_staff_lists_do_not_grow_with_rows(manager, url, django_assert_max_num_queries):
    stock(manager.org, A=500, B=500)
    for _ in range(3):
        checkout(manager.org)
    with django_assert_max_num_queries(50) as few:
        manager.client.get(url)
    for _ in range(12):
        checkout(manager.org)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert manager.client.get(url).json()["total"] in (2, 15)


def test_detail_does_not_grow_with_shipments(manager, django_assert_max_num_queries):
    stock(manager.org, A=50, B=50)
    order = checkout(manager.org, {"A": 10})
    services.order_process(org=manager.org, order_number=order.order_number)
    services.order_ship(org=manager.org, order_number=order.order_number, carrier="ups", tracking_number="1",
                        items=[{"sku": "A", "quantity": 1}])
    with django_assert_max_num_queries(50) as few:
        manager.client.get(f"/storefront/order/{order.order_number}")
    for i in range(5):
        services.order_ship(org=manager.org, order_number=order.order_number, carrier="ups", tracking_number=str(i),
                            items=[{"sku": "A", "quantity": 1}])
    with django_assert_max_num_queries(len(few.captured_queries)):
        manager.client.get(f"/storefront/order/{order.order_number}")
