"""Deleting orders in the admin: test orders only, owners only, through the API's remove service, so the stock
they held is given back; a real order offers no Delete and cannot be deleted by URL or bulk action."""

from django.urls import reverse

from orders.models import InventoryItem, Order
from tests.orders.factories import order_in
from tests.orders.test_admin import change_url, staff_of

CHANGELIST = reverse("admin:orders_order_changelist")


def delete_url(order):
    return reverse("admin:orders_order_delete", args=[order.pk])


def reserved(sku):
    return InventoryItem.objects.get(sku=sku).reserved


def test_owner_deletes_a_test_order_and_its_stock_comes_back(client, stocked, org):
    client.force_login(staff_of(org, "owner"))
    order = order_in(org, "processing", is_test=True)
    assert reserved("A") == 2
    assert delete_url(order) in client.get(change_url(order)).content.decode()
    response = client.post(delete_url(order), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not Order.objects.filter(pk=order.pk).exists()
    assert (reserved("A"), reserved("B")) == (0, 0)


def test_a_real_order_offers_no_delete_and_refuses_one(client, stocked, org):
    client.force_login(staff_of(org, "owner"))
    order = order_in(org, "new")
    assert delete_url(order) not in client.get(change_url(order)).content.decode()
    assert client.post(delete_url(order), {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists() and reserved("A") == 2


def test_bulk_delete_with_a_real_order_deletes_nothing_and_says_why(client, stocked, org):
    client.force_login(staff_of(org, "owner"))
    test_order, real = order_in(org, "new", is_test=True), order_in(org, "new")
    page = client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [test_order.pk, real.pk]})
    assert f"real orders ({real.order_number}): only test orders can be deleted" in page.content.decode()
    client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [test_order.pk, real.pk],
                             "post": "yes"})
    assert Order.objects.filter(pk__in=[test_order.pk, real.pk]).count() == 2
    client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [test_order.pk], "post": "yes"})
    assert list(Order.objects.values_list("pk", flat=True)) == [real.pk]
    assert reserved("A") == 2  # the real order's units only


def test_a_manager_cannot_delete_even_a_test_order(client, stocked, org):
    client.force_login(staff_of(org, "manager"))
    order = order_in(org, "new", is_test=True)
    assert delete_url(order) not in client.get(change_url(order)).content.decode()
    assert client.post(delete_url(order), {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()
