"""What the schema fuzz found on staff endpoints, pinned as plain tests (each was a 500)."""

import pytest

from tests.fuzz.conftest import changed, row_counts
from tests.fuzz.world import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(db):
    return World().owner.client


def assert_400(response, field=None):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    if field:
        assert field in response.json()["error"]["details"], response.json()


def test_a_sync_history_page_beyond_any_offset_is_400(owner_client):
    assert_400(owner_client.get("/sales-channel/sync/history", {"page": "97305906862306434744320"}), "page")


def test_stock_beyond_the_integer_column_is_400(owner_client):
    before = row_counts()
    assert_400(owner_client.put("/storefront/inventory/NEW-SKU", {"onHand": 294224650833243196620800}, format="json"),
               "onHand")
    assert not changed(before)


def test_nul_in_an_order_update_address_is_400(owner_client):
    before = row_counts()
    response = owner_client.post("/storefront/order/update/ORD-1", {"shippingAddress": {"\u0000vV": {}}},
                                 format="json")
    assert_400(response)
    assert response.json()["error"]["code"] == "invalid_characters"
    assert not changed(before)


def test_nul_in_a_query_parameter_is_400(owner_client):
    response = owner_client.get("/sales-channel/orders/stats/summary?channel=oe3%00")
    assert_400(response)
    assert response.json()["error"] == {"code": "invalid_characters", "details": {"location": "query"},
                                        "message": response.json()["error"]["message"]}
