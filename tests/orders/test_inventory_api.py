from orders.models import InventoryItem
from tests.api import error_code
from tests.orders.factories import checkout, stock


def test_inventory_list_shows_reserved_and_available(viewer):
    stock(viewer.org, A=10, B=3)
    checkout(viewer.org, {"A": 4})
    response = viewer.client.get("/storefront/inventory")
    assert response.status_code == 200
    rows = {row["sku"]: row for row in response.json()["results"]}
    assert (rows["A"]["onHand"], rows["A"]["reserved"], rows["A"]["available"]) == (10, 4, 6)
    assert rows["A"]["unitPrice"] == "10.00"
    assert response.json()["total"] == 2


def test_put_sets_on_hand_and_creates_new_skus(manager):
    response = manager.client.put("/storefront/inventory/NEW-1", {"onHand": 7, "unitPrice": "4.50", "name": "Sock"},
                                  format="json")
    assert response.status_code == 200
    assert response.json()["available"] == 7
    item = InventoryItem.objects.get(org=manager.org, sku="NEW-1")
    assert (item.on_hand, str(item.unit_price), item.name) == (7, "4.50", "Sock")


def test_put_below_reserved_is_409_and_negative_is_400(manager):
    stock(manager.org, A=10, B=10)
    checkout(manager.org, {"A": 6})
    response = manager.client.put("/storefront/inventory/A", {"onHand": 5}, format="json")
    assert response.status_code == 409
    assert error_code(response) == "below_reserved"
    response = manager.client.put("/storefront/inventory/A", {"onHand": -1}, format="json")
    assert response.status_code == 400
    assert InventoryItem.objects.get(org=manager.org, sku="A").on_hand == 10


def test_viewer_cannot_change_stock(viewer):
    stock(viewer.org, A=10)
    assert viewer.client.put("/storefront/inventory/A", {"onHand": 1}, format="json").status_code == 403
