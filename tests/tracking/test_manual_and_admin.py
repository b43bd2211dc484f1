"""The `manual` provider: staff add scans (service and admin inline); status and order follow."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import OrgBranding
from orders.models import Activity
from tests.tracking.helpers import shipped_order
from tracking.models import ScanEvent
from tracking.services import shipment_add_scan

pytestmark = pytest.mark.django_db


def test_manual_scans_drive_the_status_and_the_order(org, settings):
    settings.TRACKING_PROVIDER = "manual"
    order, [shipment] = shipped_order(org, carrier="dhl", parcels=[("DHL-1", None)])
    shipment_add_scan(org=org, shipment_id=shipment.pk, status="in_transit", description="Picked up",
                      occurred_at=datetime(2026, 5, 1, 9, tzinfo=UTC))
    outcome = shipment_add_scan(org=org, shipment_id=shipment.pk, status="delivered", description="Left at door",
                                location="Berlin DE", occurred_at=datetime(2026, 5, 2, 9, tzinfo=UTC))
    assert outcome.order_delivered is True
    # the same scan typed twice is dropped
    shipment_add_scan(org=org, shipment_id=shipment.pk, status="delivered", description="Left at door",
                      location="Berlin DE", occurred_at=datetime(2026, 5, 2, 9, tzinfo=UTC))
    assert ScanEvent.objects.filter(shipment=shipment).count() == 2
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == "delivered" and order.status == "delivered"
    assert Activity.objects.filter(order=order, verb="deliver").count() == 1


def test_an_older_scan_entered_late_does_not_move_the_status_back(org):
    _, [shipment] = shipped_order(org)
    shipment_add_scan(org=org, shipment_id=shipment.pk, status="out_for_delivery",
                      occurred_at=datetime(2026, 5, 2, 7, tzinfo=UTC))
    shipment_add_scan(org=org, shipment_id=shipment.pk, status="in_transit",
                      occurred_at=datetime(2026, 5, 1, 7, tzinfo=UTC))
    shipment.refresh_from_db()
    assert shipment.status == "out_for_delivery"


def test_add_scan_for_another_orgs_shipment_is_refused(org, other_org):
    _, [shipment] = shipped_order(org)
    with pytest.raises(Exception):  # noqa: B017 - DoesNotExist: the shipment is not this org's
        shipment_add_scan(org=other_org, shipment_id=shipment.pk, status="delivered",
                          occurred_at=datetime(2026, 5, 2, tzinfo=UTC))
    assert not ScanEvent.objects.exists()


@pytest.fixture
def staff_client(client, org, membership_factory, user_factory):
    user = user_factory(is_staff=True, is_superuser=True)
    membership_factory(org=org, user=user, role="owner")
    client.force_login(user)
    return client


def test_admin_inline_adds_a_scan_and_delivers_the_order(org, staff_client):
    order, [shipment] = shipped_order(org)
    url = reverse("admin:orders_shipment_change", args=[shipment.pk])
    page = staff_client.get(url)
    assert page.status_code == 200 and b"scans-TOTAL_FORMS" in page.content
    data = {
        "carrier": shipment.carrier, "tracking_number": shipment.tracking_number, "service": "", "cost": "0.00",
        "currency": "USD", "ship_date_0": "2026-05-01", "ship_date_1": "10:00:00", "provider": "",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "0",
        "lines-0-id": str(shipment.lines.first().pk), "lines-0-shipment": str(shipment.pk),
        "scans-TOTAL_FORMS": "1", "scans-INITIAL_FORMS": "0", "scans-MIN_NUM_FORMS": "0",
        "scans-MAX_NUM_FORMS": "1000",
        "scans-0-occurred_at_0": "2026-05-03", "scans-0-occurred_at_1": "12:00:00", "scans-0-status": "delivered",
        "scans-0-raw_status": "", "scans-0-description": "Handed to customer", "scans-0-location": "Springfield",
        "scans-0-shipment": str(shipment.pk),
    }
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    scan = ScanEvent.objects.get(shipment=shipment)
    assert scan.org_id == org.pk and scan.source == "manual"
    order.refresh_from_db()
    assert order.status == "delivered"


def test_admin_lists_shipments_and_branding(org, staff_client):
    shipped_order(org)
    OrgBranding.objects.create(org=org, display_name="Sneaker Co", logo_url="https://cdn.example.com/logo.png")
    assert staff_client.get(reverse("admin:orders_shipment_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:accounts_orgbranding_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:tracking_carrierwebhookdelivery_changelist")).status_code == 200


def test_admin_skips_a_scan_typed_twice(org, staff_client):
    _, [shipment] = shipped_order(org)
    shipment_add_scan(org=org, shipment_id=shipment.pk, status="in_transit", description="Hub",
                      occurred_at=datetime(2026, 5, 3, 12, tzinfo=UTC))
    url = reverse("admin:orders_shipment_change", args=[shipment.pk])
    existing = ScanEvent.objects.get(shipment=shipment)
    data = {
        "carrier": shipment.carrier, "tracking_number": shipment.tracking_number, "service": "", "cost": "0.00",
        "currency": "USD", "ship_date_0": "2026-05-01", "ship_date_1": "10:00:00", "provider": "",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "0",
        "lines-0-id": str(shipment.lines.first().pk), "lines-0-shipment": str(shipment.pk),
        "scans-TOTAL_FORMS": "2", "scans-INITIAL_FORMS": "1", "scans-MIN_NUM_FORMS": "0",
        "scans-MAX_NUM_FORMS": "1000",
        "scans-0-id": str(existing.pk), "scans-0-shipment": str(shipment.pk),
        "scans-0-occurred_at_0": "2026-05-03", "scans-0-occurred_at_1": "12:00:00", "scans-0-status": "in_transit",
        "scans-0-raw_status": "in_transit", "scans-0-description": "Hub", "scans-0-location": "",
        "scans-1-occurred_at_0": "2026-05-03", "scans-1-occurred_at_1": "12:00:00", "scans-1-status": "in_transit",
        "scans-1-raw_status": "", "scans-1-description": "Hub", "scans-1-location": "",
        "scans-1-shipment": str(shipment.pk),
    }
    response = staff_client.post(url, data, follow=True)
    assert response.status_code == 200 and b"already recorded" in response.content
    assert ScanEvent.objects.filter(shipment=shipment).count() == 1
