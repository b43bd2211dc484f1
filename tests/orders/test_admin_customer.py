"""A customer's admin page lists their orders (number, date, state, total, each linking to the order) and what
they have spent per currency, leaving out test and cancelled orders and counting refunds off."""

import re

from django.urls import reverse

from orders import services
from tests.orders.factories import order_in
from tests.orders.test_admin import change_url, staff_of


def customer_page(client, customer):
    page = client.get(reverse("admin:orders_customer_change", args=[customer.pk]))
    assert page.status_code == 200
    return page.content.decode()


def test_customer_page_lists_orders_and_total_spent(client, stocked, org):
    client.force_login(staff_of(org, "viewer"))
    delivered = order_in(org, "delivered")  # 2 x A + 1 x B at 10.00 = 30.00
    services.order_refund(org=org, order_number=delivered.order_number, reason="dent", amount="4.00")
    newer = order_in(org, "new")
    cancelled = order_in(org, "cancelled")
    test_order = order_in(org, "new", is_test=True)
    page = customer_page(client, delivered.customer)
    numbers = re.findall(r"ORD-\d{4}-\d{4}", page)
    ordered = [test_order.order_number, cancelled.order_number, newer.order_number, delivered.order_number]
    assert [n for n in dict.fromkeys(numbers) if n in ordered] == ordered  # newest first
    assert change_url(delivered) in page  # each order links to its page
    assert re.search(r"Delivered.*?30\.00 USD", page, re.S)
    spent = re.search(r'field-total_spent.*?<div class="readonly">(.*?)</div>', page, re.S).group(1)
    assert spent.strip() == "56.00 USD"  # 30 - 4 refunded + 30 new; the cancelled and test orders do not count


def test_customer_without_orders_says_so_and_the_list_counts_orders(client, stocked, org):
    from orders.services import customer_get_or_create

    client.force_login(staff_of(org, "viewer"))
    quiet = customer_get_or_create(org=org, email="quiet@example.com", name="Quiet")
    assert "nothing yet" in customer_page(client, quiet)
    order_in(org, "new")
    listing = client.get(reverse("admin:orders_customer_changelist"))
    counts = {c.email: c.order_total for c in listing.context["cl"].result_list}
    assert counts == {"buyer@example.com": 1, "quiet@example.com": 0}
