"""The acceptance walk from the issue, as an API client: every step checks status and stock."""

from rest_framework.test import APIClient

from orders.links import account_token
from orders.models import Order
from tests.api import assert_tenant_isolation


def stock(actor):
    rows = actor.client.get("/storefront/inventory").json()["results"]
    return {row["sku"]: (row["onHand"], row["reserved"], row["available"]) for row in rows}


def test_full_storefront_walk(owner, other_owner):
    api = owner.client
    for sku, on_hand, price in (("SNK-AIR-1-9-BLK", 5, "129.00"), ("SOCK-3PK", 20, "12.00")):
        assert api.put(f"/storefront/inventory/{sku}", {"onHand": on_hand, "unitPrice": price},
                       format="json").status_code == 200
    shopper = APIClient()
    shopper.defaults["HTTP_ORGID"] = owner.org.slug
    # The merchant's storefront server checks out (its key lets it pass the shipping it computed); the
    # payment was taken by staff outside any gateway, so staff record it (manual is staff only).
    storefront = APIClient()
    storefront.defaults["HTTP_ORGID"] = owner.org.slug
    key = api.post("/org/storefront-keys", {"name": "web shop"}, format="json").json()["key"]
    storefront.credentials(HTTP_AUTHORIZATION=f"StorefrontKey {key}")
    cart = {"customer": {"email": "ada@example.com", "name": "Ada"},
            "lines": [{"sku": "SNK-AIR-1-9-BLK", "quantity": 1}, {"sku": "SOCK-3PK", "quantity": 2}],
            "shippingAddress": {"line1": "1 Main St", "country": "US"}, "shippingTotal": "5.00"}
    assert storefront.post("/storefront/checkout-cart", {**cart, "payment": {"gateway": "manual"}},
                           format="json").status_code == 403
    created = api.post("/storefront/checkout-cart", {**cart, "payment": {"gateway": "manual"}}, format="json").json()
    number = created["orderNumber"]
    assert created["totals"]["grandTotal"] == "158.00"
    assert stock(owner) == {"SNK-AIR-1-9-BLK": (5, 1, 4), "SOCK-3PK": (20, 2, 18)}

    def verb(name, body=None, expect=200):
        response = api.post(f"/storefront/order/{name}/{number}", body or {}, format="json")
        assert response.status_code == expect, response.content
        return response.json()

    assert verb("deliver", expect=409)["error"]["details"]["currentState"] == "new"
    assert verb("process")["status"] == "processing"
    assert verb("hold", {"reason": "address check"})["status"] == "on-hold"
    assert verb("ship", {"carrier": "ups", "tracking": "1Z1"}, expect=409)["error"]["code"] == "invalid_transition"
    assert verb("release")["status"] == "processing"
    part = verb("ship", {"carrier": "ups", "tracking": "1Z1", "items": [{"sku": "SOCK-3PK", "quantity": 2}]})
    assert part["status"] == "processing"
    assert stock(owner) == {"SNK-AIR-1-9-BLK": (5, 1, 4), "SOCK-3PK": (18, 0, 18)}
    assert verb("ship", {"carrier": "ups", "tracking": "1Z2"})["status"] == "shipped"
    assert stock(owner) == {"SNK-AIR-1-9-BLK": (4, 0, 4), "SOCK-3PK": (18, 0, 18)}
    assert verb("deliver")["status"] == "delivered"
    assert verb("complete")["status"] == "completed"
    assert verb("cancel", expect=409)["error"]["details"]["allowedVerbs"] == ["refund"]
    partial = verb("refund", {"items": [{"sku": "SOCK-3PK", "quantity": 1}], "reason": "torn"})
    assert (partial["status"], partial["totals"]["refunded"]) == ("completed", "12.00")
    full = verb("refund", {"reason": "goodwill"})
    assert (full["status"], full["totals"]["refunded"], full["frozen"]) == ("refunded", "158.00", True)

    other = storefront.post("/storefront/checkout-cart", {**cart, "lines": [{"sku": "SNK-AIR-1-9-BLK", "quantity": 3}]},
                            format="json").json()
    assert stock(owner)["SNK-AIR-1-9-BLK"] == (4, 3, 1)
    api.post(f"/storefront/order/cancel/{other['orderNumber']}", {"reason": "changed mind"}, format="json")
    assert stock(owner)["SNK-AIR-1-9-BLK"] == (4, 0, 4)

    seen = shopper.get(f"/storefront/order/email/ada@example.com/{number}").json()
    assert seen["status"] == "refunded" and len(seen["shipments"]) == 2
    assert "internalNotes" not in seen and "activity" not in seen
    assert shopper.get(f"/storefront/order/email/eve@example.com/{number}").status_code == 404
    customer = Order.objects.get(org=owner.org, order_number=number).customer
    assert len(shopper.get(f"/storefront/orders/get/{customer.sk}", {"token": account_token(customer)}
                           ).json()["results"]) == 2

    assert_tenant_isolation(
        other_owner,
        list_urls=["/storefront/orders", "/storefront/inventory"],
        foreign_ids=[created.get("id"), full["id"]],
        detail_urls=[f"/storefront/order/{number}"],
        write_calls=[("post", f"/storefront/order/refund/{number}", {"reason": "x"}),
                     ("post", f"/storefront/order/update/{number}", {"notes": "x"})],
    )
    assert other_owner.client.get("/storefront/inventory").json()["total"] == 0
