from decimal import Decimal

import pytest
from django.utils import timezone

from orders import services
from orders.models import Activity, InventoryItem, Order, Payment
from tests.api import error_code, make_actor
from tests.orders.factories import checkout, checkout_rules, stock

CART = {
    "customer": {"email": "Ada@Example.com", "name": "Ada"},
    "lines": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}],
    "shippingAddress": {"line1": "1 Main St", "city": "Springfield", "country": "US"},
}


def inventory(org):
    return {i.sku: (i.on_hand, i.reserved, i.available) for i in InventoryItem.objects.filter(org=org)}


def test_checkout_reserves_stock_and_answers_the_customer_view(org, public_client):
    stock(org, A=5, B=1)
    checkout_rules(org, flat_shipping="5.00", tax_rate="10")
    response = public_client.post("/storefront/checkout-cart", CART, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    year = timezone.now().year
    assert body["orderNumber"] == f"ORD-{year}-0001"
    assert body["status"] == "new"
    assert body["totals"] == {"subtotal": "30.00", "shipping": "5.00", "tax": "3.00", "grandTotal": "38.00",
                              "refunded": "0.00"}
    assert "customerId" not in body  # issue 15: an id is not handed to whoever knows an email
    assert "internalNotes" not in body
    assert inventory(org) == {"A": (5, 2, 3), "B": (1, 1, 0)}
    order = Order.objects.get(org=org)
    assert order.customer.email == "ada@example.com"
    assert not Payment.objects.filter(order=order).exists()  # nothing paid: no payment was sent
    assert order.captured_total == Decimal("0.00")
    assert Activity.objects.get(order=order).verb == "checkout"


def test_checkout_needs_no_login_but_an_existing_org(org):
    from rest_framework.test import APIClient

    stock(org, A=5, B=5)
    response = APIClient().post("/storefront/checkout-cart", CART, format="json", HTTP_ORGID="no-such-org")
    assert response.status_code == 404


def test_short_stock_is_409_naming_every_short_sku_and_reserves_nothing(org, public_client):
    stock(org, A=1, B=5)
    lines = [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}, {"sku": "GHOST", "quantity": 1}]
    cart = {**CART, "lines": lines}
    response = public_client.post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 409
    assert error_code(response) == "insufficient_stock"
    details = response.json()["error"]["details"]
    assert details["skus"] == ["A", "GHOST"]
    assert {"sku": "A", "requested": 2} in details["lines"]  # how many are left: staff only (test_stock_hoarding)
    assert "A" in response.json()["error"]["message"]
    assert inventory(org) == {"A": (1, 0, 1), "B": (5, 0, 5)}
    assert not Order.objects.filter(org=org).exists()


def test_idempotency_key_returns_the_same_order(org, public_client):
    stock(org, A=5, B=5)
    first = public_client.post("/storefront/checkout-cart", CART, format="json", HTTP_IDEMPOTENCY_KEY="cart-77")
    again = public_client.post("/storefront/checkout-cart", CART, format="json", HTTP_IDEMPOTENCY_KEY="cart-77")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["orderNumber"] == again.json()["orderNumber"]
    assert Order.objects.filter(org=org).count() == 1
    assert inventory(org)["A"] == (5, 2, 3)


def test_duplicate_skus_in_a_cart_are_merged(org):
    stock(org, A=5)
    order, _ = services.checkout_cart(org=org, customer={"email": "a@b.co"}, shipping_address={},
                                      lines=[{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 2}])
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("A", 3)]


def test_inventory_price_wins_and_only_staff_may_price_an_unpriced_sku(org, public_client):
    stock(org, A=5)
    InventoryItem.objects.create(org=org, sku="FREE", on_hand=5, unit_price=None)
    cart = {**CART, "lines": [{"sku": "A", "quantity": 1, "unitPrice": "0.01"}, {"sku": "FREE", "quantity": 1}]}
    response = public_client.post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 400
    assert "FREE" in str(response.json()["error"]["details"])
    assert inventory(org)["A"] == (5, 0, 5)
    cart["lines"][1]["unitPrice"] = "3.00"
    response = public_client.post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 400  # issue 15: a stranger's price for an unpriced SKU is no price
    assert response.json()["error"]["details"]["lines"] == ["FREE: has no price in the catalogue, so it cannot "
                                                            "be bought."]
    staff = make_actor(org, role="manager")
    response = staff.client.post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 201
    assert response.json()["totals"]["subtotal"] == "13.00"


@pytest.mark.parametrize("bad", [
    {"lines": []},
    {"lines": [{"sku": "A", "quantity": 0}]},
    {"customer": {"email": "not-an-email"}},
    {"shippingAddress": "nowhere"},
    {"payment": {"gateway": "bitcoin"}},
])
def test_invalid_cart_is_400_with_field_errors(org, public_client, bad):
    stock(org, A=5, B=5)
    response = public_client.post("/storefront/checkout-cart", {**CART, **bad}, format="json")
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert set(bad) & set(response.json()["error"]["details"])


def test_order_numbers_are_per_org_and_never_reused(org, other_org, owner):
    stock(org, A=50, B=50)
    stock(other_org, A=50, B=50)
    year = timezone.now().year
    first = checkout(org, is_test=True)
    second = checkout(org)
    foreign = checkout(other_org)
    assert (first.order_number, second.order_number) == (f"ORD-{year}-0001", f"ORD-{year}-0002")
    assert foreign.order_number == f"ORD-{year}-0001"
    response = owner.client.post(f"/storefront/order/remove/{first.customer.sk}/{first.order_number}")
    assert response.status_code == 200
    assert checkout(org).order_number == f"ORD-{year}-0003"


def test_tags_and_test_flag_are_kept(org, public_client):
    stock(org, A=5, B=5)
    response = public_client.post("/storefront/checkout-cart", {**CART, "tags": ["vip", "gift"], "isTest": True},
                                  format="json")
    order = Order.objects.get(order_number=response.json()["orderNumber"], org=org)
    assert order.is_test is True
    assert sorted(order.tag_rows.values_list("name", flat=True)) == ["gift", "vip"]


def test_checkouts_are_rate_limited_per_client_address(org, public_client, settings):
    """No login is needed to check out, so one address cannot flood it; a refused checkout reserves nothing."""
    settings.ORDERS_CHECKOUT_RATE_LIMIT = "2/min"
    stock(org, A=50, B=50)
    codes = [public_client.post("/storefront/checkout-cart", CART, format="json", REMOTE_ADDR="203.0.113.21",
                                HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(3)]
    assert codes == [201, 201, 429]
    assert Order.objects.filter(org=org).count() == 2
    assert inventory(org)["A"] == (50, 4, 46)
    other = public_client.post("/storefront/checkout-cart", CART, format="json", REMOTE_ADDR="198.51.100.21")
    assert other.status_code == 201
