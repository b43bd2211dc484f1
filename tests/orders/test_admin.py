"""Admin: transition buttons and forms run the services; staff see only their orgs' orders."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from orders.models import Activity, Order, Shipment
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.orders.factories import order_in


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        return client
    return login


@pytest.fixture
def superuser(db):
    return UserFactory(is_staff=True, is_superuser=True)


def staff_of(org, role):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["orders", "tracking"]))
    MembershipFactory(user=user, org=org, role=role)
    return user


def change_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def transition_url(order, verb):
    return reverse("admin:orders_order_transition", kwargs={"object_id": order.pk, "transition_name": verb})


def press(client, order, verb):
    """Press a transition button on the change form (with the inlines' management forms, as a browser would)."""
    page = client.get(change_url(order))
    data = {"_fsm_transition_to": verb}
    for inline in page.context["inline_admin_formsets"]:
        form = inline.formset.management_form
        data.update({f"{form.prefix}-{name}": value for name, value in form.initial.items()})
    return client.post(change_url(order), data, follow=True)


def test_change_page_offers_only_the_allowed_transitions(admin_client_for, superuser, stocked, org):
    order = order_in(org, "new")
    import re

    page = admin_client_for(superuser).get(change_url(order)).content.decode()
    names = set(re.findall(r'name="_fsm_transition_to"\s+value="([^"]+)"', page))
    assert names == {"process", "hold", "cancel"}


def test_button_runs_the_service_with_activity_and_actor(admin_client_for, stocked, org):
    user = staff_of(org, "manager")
    order = order_in(org, "new")
    response = press(admin_client_for(user), order, "process")
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "processing" and order.processed_at
    last = Activity.objects.filter(order=order).last()
    assert (last.verb, last.actor, last.actor_label) == ("process", user, user.username)


def test_hold_form_requires_a_reason(admin_client_for, stocked, org):
    client = admin_client_for(staff_of(org, "manager"))
    order = order_in(org, "processing")
    page = client.post(transition_url(order, "hold"), {"reason": ""})
    assert page.status_code == 200 and "reason" in page.context["transition_form"].errors
    client.post(transition_url(order, "hold"), {"reason": "address check"})
    order.refresh_from_db()
    assert (order.status, order.prior_status, order.hold_reason) == ("on-hold", "processing", "address check")


def test_ship_form_with_items_makes_a_partial_shipment(admin_client_for, stocked, org):
    client = admin_client_for(staff_of(org, "manager"))
    order = order_in(org, "processing")
    client.post(transition_url(order, "ship"), {"carrier": "ups", "tracking": "1ZADMIN", "items": "A: 1"})
    order.refresh_from_db()
    assert order.status == "processing"
    shipment = Shipment.objects.get(order=order)
    assert [(line.sku, line.quantity) for line in shipment.lines.all()] == [("A", 1)]
    client.post(transition_url(order, "ship"), {"carrier": "ups", "tracking": "1ZREST", "items": ""})
    order.refresh_from_db()
    assert order.status == "shipped"
    changelist = client.get(reverse("admin:orders_order_changelist"), {"q": "1ZREST"})
    assert list(changelist.context["cl"].result_list) == [order]


def test_refund_form_partial_amount_and_items(admin_client_for, stocked, org):
    client = admin_client_for(staff_of(org, "manager"))
    order = order_in(org, "delivered")
    client.post(transition_url(order, "refund"), {"amount": "4.00", "items": "B:1", "reason": "dent"})
    order.refresh_from_db()
    assert (order.status, str(order.refunded_total)) == ("delivered", "4.00")
    assert order.lines.get(sku="B").quantity_refunded == 1


def test_service_errors_show_as_messages_and_change_nothing(admin_client_for, stocked, org):
    client = admin_client_for(staff_of(org, "manager"))
    order = order_in(org, "processing")
    response = client.post(transition_url(order, "ship"), {"carrier": "ups", "tracking": "1Z", "items": "A:9"},
                           follow=True)
    assert any("Cannot ship more than is left" in str(m) for m in response.context["messages"])
    order.refresh_from_db()
    assert order.status == "processing" and not Shipment.objects.filter(order=order).exists()


def test_viewer_staff_cannot_transition(admin_client_for, stocked, org):
    order = order_in(org, "new")
    press(admin_client_for(staff_of(org, "viewer")), order, "process")
    order.refresh_from_db()
    assert order.status == "new"


def test_staff_see_only_their_orgs_orders(admin_client_for, stocked, org, other_org):
    order = order_in(org, "new")
    client = admin_client_for(staff_of(other_org, "owner"))
    changelist = client.get(reverse("admin:orders_order_changelist"))
    assert order not in list(changelist.context["cl"].result_list)
    assert client.get(change_url(order)).status_code in (302, 404)
    client.post(transition_url(order, "hold"), {"reason": "x"})
    assert Order.objects.get(pk=order.pk).status == "new"


def test_filters_and_inventory_list(admin_client_for, superuser, stocked, org):
    from orders import services

    order = order_in(org, "new", is_test=True)
    services.order_update(org=org, order_number=order.order_number, tags=["vip"])
    client = admin_client_for(superuser)
    for params in ({"status__exact": "new"}, {"tag": "vip"}, {"is_test__exact": "1"}, {"q": order.order_number},
                   {"q": order.customer.email}):
        result = client.get(reverse("admin:orders_order_changelist"), params).context["cl"].result_list
        assert list(result) == [order], params
    inventory = client.get(reverse("admin:orders_inventoryitem_changelist"))
    row = next(i for i in inventory.context["cl"].result_list if i.sku == "A")
    assert (row.on_hand, row.reserved, row.available) == (10, 2, 8)
    assert b"available" in inventory.content


def test_staff_find_the_orders_customers_asked_to_cancel(admin_client_for, stocked, org):
    from orders import services

    asked, held, new = (order_in(org, "new") for _ in range(3))
    services.order_request_cancel(org=org, order_id=asked.pk, reason="wrong size")
    services.order_hold(org=org, order_number=held.order_number, reason="fraud check")
    client = admin_client_for(staff_of(org, "manager"))
    page = client.get(reverse("admin:orders_order_changelist") + "?customer_request=cancel")
    assert page.status_code == 200
    html = page.content.decode()
    assert asked.order_number in html and held.order_number not in html and new.order_number not in html
    detail = client.get(change_url(asked)).content.decode()
    assert "Customer asked to cancel: wrong size" in detail
