"""Staff scans API: /shipping/shipments/:id/scans (JWT + orgid; manager to add)."""

import pytest

from tests.api import assert_tenant_isolation, error_code
from tests.tracking.helpers import shipped_order
from tracking.models import ScanEvent

pytestmark = pytest.mark.django_db


def test_manager_adds_scans_and_the_order_follows(manager):
    order, [shipment] = shipped_order(manager.org)
    url = f"/shipping/shipments/{shipment.public_id}/scans"
    first = manager.client.post(url, {"status": "in_transit", "occurredAt": "2026-05-01T08:00:00Z",
                                      "description": "Picked up", "location": "Depot 4"}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "in_transit" and first.json()["orderStatus"] == "shipped"
    done = manager.client.post(url, {"status": "delivered", "occurredAt": "2026-05-02T08:00:00Z",
                                     "carrierStatus": "DL"}, format="json")
    assert done.json()["deliveredAt"] == "2026-05-02T08:00:00Z"
    assert done.json() | {"deliveredAt": None} == {
        "id": shipment.public_id, "orderNumber": order.order_number, "tracking": shipment.tracking_number,
        "carrier": "usps", "provider": "", "status": "delivered", "carrierStatus": "DL", "deliveredAt": None,
        "orderStatus": "delivered"}
    listed = manager.client.get(url).json()
    assert listed["total"] == 2 and [row["status"] for row in listed["results"]] == ["delivered", "in_transit"]
    assert listed["results"][0]["source"] == "manual"


def test_bad_scan_is_400_with_field_errors(manager):
    _, [shipment] = shipped_order(manager.org)
    response = manager.client.post(f"/shipping/shipments/{shipment.public_id}/scans",
                                   {"status": "teleported"}, format="json")
    assert response.status_code == 400 and error_code(response) == "invalid"
    assert set(response.json()["error"]["details"]) >= {"status", "occurredAt"}
    assert not ScanEvent.objects.exists()


def test_viewer_reads_but_cannot_add(viewer):
    _, [shipment] = shipped_order(viewer.org)
    url = f"/shipping/shipments/{shipment.public_id}/scans"
    assert viewer.client.get(url).status_code == 200
    assert viewer.client.post(url, {"status": "delivered", "occurredAt": "2026-05-02T08:00:00Z"},
                              format="json").status_code == 403


def test_another_org_sees_and_touches_nothing(owner, other_owner):
    _, [shipment] = shipped_order(owner.org)
    url = f"/shipping/shipments/{shipment.public_id}/scans"
    assert_tenant_isolation(other_owner, detail_urls=[url, "/shipping/shipments/shp-999999/scans",
                                                      "/shipping/shipments/not-an-id/scans"],
                            write_calls=[("post", url, {"status": "delivered",
                                                        "occurredAt": "2026-05-02T08:00:00Z"})])
    assert not ScanEvent.objects.exists()


def test_needs_a_login(org):
    from rest_framework.test import APIClient

    _, [shipment] = shipped_order(org)
    client = APIClient()
    client.defaults["HTTP_ORGID"] = org.slug
    assert client.get(f"/shipping/shipments/{shipment.public_id}/scans").status_code == 401
