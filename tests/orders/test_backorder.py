"""Backorders: an order sold elsewhere (a marketplace's, imported by channels_sync) is taken even when stock is
short; the short units are backordered on their lines, hold no stock, and the order says so (API and admin)."""

from django.urls import reverse

from orders import services
from orders.models import InventoryItem
from tests.orders.factories import checkout
from tests.orders.test_admin import change_url, staff_of


def import_short(org):
    """As channels_sync imports a marketplace order: a system checkout that allows a backorder."""
    order, _ = services.checkout_cart(
        org=org, customer={"email": "mp@example.com", "name": "Marketplace Buyer"},
        lines=[{"sku": "A", "quantity": 3, "unit_price": "10.00"}, {"sku": "B", "quantity": 1}],
        shipping_address={"city": "Springfield"}, allow_backorder=True)
    return order


def test_short_stock_is_held_as_far_as_it_goes_and_the_rest_backordered(org):
    from tests.orders.factories import stock

    stock(org, A=1, B=5)
    order = import_short(org)
    lines = {line.sku: line.quantity_backordered for line in order.lines.all()}
    assert order.is_backorder and lines == {"A": 2, "B": 0}
    assert dict(InventoryItem.objects.values_list("sku", "reserved")) == {"A": 1, "B": 1}
    services.order_cancel(org=org, order_number=order.order_number, reason="cannot source")
    assert dict(InventoryItem.objects.values_list("sku", "reserved")) == {"A": 0, "B": 0}


def test_a_buyer_checkout_is_still_refused_when_short(org):
    from tests.orders.factories import stock

    stock(org, A=1, B=5)
    try:
        checkout(org, {"A": 3}, allow_backorder=True, caller="staff")
    except services.InsufficientStock as exc:
        assert exc.details["skus"] == ["A"]
    else:
        raise AssertionError("a storefront checkout must not backorder")


def test_the_api_and_the_admin_show_the_backorder(org, owner):
    from tests.orders.factories import stock

    stock(org, A=1, B=5)
    order = import_short(org)
    body = owner.client.get(f"/storefront/order/{order.order_number}").json()
    assert body["backorder"] is True
    assert {line["sku"]: line["quantityBackordered"] for line in body["lines"]} == {"A": 2, "B": 0}
    listed = owner.client.get("/storefront/orders").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["backorder"] for row in rows] == [True]

    from django.test import Client

    client = Client()
    client.force_login(staff_of(org, "viewer"))
    page = client.get(change_url(order)).content.decode()
    assert "Yes: A x2 not in stock yet" in page and "Quantity backordered" in page
    flagged = client.get(reverse("admin:orders_order_changelist"), {"is_backorder__exact": "1"})
    assert list(flagged.context["cl"].result_list) == [order]
