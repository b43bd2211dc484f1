"""Another org sees and touches nothing of ours, on every storefront endpoint."""

from orders.models import InventoryItem, Order
from tests.api import assert_tenant_isolation
from tests.orders.factories import order_in

VERB_BODIES = {
    "process": {}, "ship": {"carrier": "ups", "tracking": "1Z"}, "deliver": {}, "complete": {},
    "hold": {"reason": "x"}, "release": {}, "cancel": {}, "refund": {"reason": "x"},
}


def test_staff_endpoints_are_isolated(owner, other_owner, stocked):
    order = order_in(owner.org, "processing", is_test=True)
    number, author = order.order_number, order.customer.sk
    assert_tenant_isolation(
        other_owner,
        list_urls=["/storefront/orders", f"/storefront/orders?q={number}", "/storefront/inventory"],
        foreign_ids=[order.pk],
        detail_urls=[],
        write_calls=[
            *[("post", f"/storefront/order/{verb}/{number}", body) for verb, body in VERB_BODIES.items()
              if verb not in {"process", "cancel", "hold"}],
            ("post", f"/storefront/order/update/{number}", {"notes": "pwned"}),
            ("post", f"/storefront/order/send-welcome/{number}", {}),
            ("post", f"/storefront/order/remove/{author}/{number}", {}),
            ("post", f"/storefront/order/remove/{author}", {}),
        ],
    )
    order.refresh_from_db()
    assert (order.status, order.internal_notes) == ("processing", "")
    assert Order.objects.filter(pk=order.pk).exists()


def test_detail_and_stock_are_isolated(owner, other_owner, stocked):
    order = order_in(owner.org, "new")
    assert_tenant_isolation(
        other_owner,
        list_urls=["/storefront/inventory"],
        foreign_ids=["A", "B"],
        id_field="sku",
        detail_urls=[f"/storefront/order/{order.order_number}"],
        write_calls=[("post", f"/storefront/order/{verb}/{order.order_number}", VERB_BODIES[verb])
                     for verb in ("process", "hold", "cancel")],
    )
    # PUT on a SKU creates it in the caller's org only; ours is untouched
    other_owner.client.put("/storefront/inventory/A", {"onHand": 0}, format="json")
    assert InventoryItem.objects.get(org=owner.org, sku="A").on_hand == 10
    order.refresh_from_db()
    assert order.status == "new"


def test_staff_endpoints_need_a_login(client, org):
    assert client.get("/storefront/orders", HTTP_ORGID=org.slug).status_code == 401
    assert client.post("/storefront/order/process/ORD-2026-0001", HTTP_ORGID=org.slug).status_code == 401
    assert client.get("/storefront/inventory", HTTP_ORGID=org.slug).status_code == 401


def test_same_order_number_in_two_orgs_acts_only_on_the_callers(owner, other_owner, stocked):
    ours = order_in(owner.org, "new")
    InventoryItem.objects.create(org=other_owner.org, sku="A", on_hand=5, unit_price="1.00")
    InventoryItem.objects.create(org=other_owner.org, sku="B", on_hand=5, unit_price="1.00")
    theirs = order_in(other_owner.org, "new")
    assert theirs.order_number == ours.order_number
    response = other_owner.client.post(f"/storefront/order/process/{theirs.order_number}", {}, format="json")
    assert response.json()["id"] == theirs.pk
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.status, theirs.status) == ("new", "processing")
