"""A customer in a real browser: find the order on the public lookup page, follow its parcel's scans."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from orders.models import Shipment
from tracking.management.commands.seed_tracking_demo import TRACKING

pytestmark = [pytest.mark.xdist_group("browser")]


@pytest.fixture
def in_transit(org):
    """The demo's shipped order (seed_tracking_demo): one UPS parcel, label created then departed."""
    call_command("seed_tracking_demo", org=org.slug, email="jane@example.com", stdout=io.StringIO())
    return Shipment.objects.select_related("order").get(org=org, tracking_number=TRACKING).order


def test_customer_finds_the_order_and_sees_the_shipment_timeline(page, shoot, org, in_transit):
    order = in_transit
    page.goto(f"/orders/lookup?org={org.slug}")
    expect(page.get_by_role("heading", name="Find your order")).to_be_visible()

    page.get_by_label("Email address").fill("jane@example.com")
    page.get_by_label("Order number").fill("ORD-0000-9999")
    page.get_by_role("button", name="Show my order").click()
    expect(page.get_by_role("alert")).to_contain_text("We could not find an order with that number and email")
    shoot(page, "lookup-not-found")

    page.goto(f"/orders/lookup?org={org.slug}")
    page.get_by_label("Email address").fill("Jane@Example.com")
    page.get_by_label("Order number").fill(order.order_number.lower())  # typed as customers do
    shoot(page, "lookup-form")
    page.get_by_role("button", name="Show my order").click()

    expect(page).to_have_url(re.compile(r"/orders/view/"))
    expect(page.locator("h1.order-number")).to_have_text(order.order_number)
    expect(page.locator("[data-order-status]")).to_have_text("Shipped")
    expect(page.locator("body")).to_contain_text("Placed 21 Apr 2026")  # before it shipped, not the seeding day
    parcel = page.locator("section.shipment")
    expect(parcel).to_have_count(1)
    expect(parcel).to_contain_text(f"Tracking {TRACKING}")
    expect(parcel.locator(".badge")).to_have_text("In transit")
    expect(parcel.locator("[data-latest-scan]")).to_contain_text("Departed from facility")
    parcel.get_by_text("Scan history (2)").click()  # the full timeline folds under the latest scan
    scans = parcel.locator("ol.timeline li")
    expect(scans.nth(0)).to_be_visible()
    expect(scans).to_have_count(2)
    expect(scans.nth(0)).to_contain_text("23 Apr 2026, 03:10 UTC")  # newest first
    expect(scans.nth(0)).to_contain_text("Departed from facility")
    expect(scans.nth(0)).to_contain_text("Louisville, KY US")
    expect(scans.nth(1)).to_contain_text("Shipper created a label")
    expect(page.locator("table.lines")).to_contain_text("SNK-AIR-1-9-BLK")
    shoot(page, "order-status-timeline")
