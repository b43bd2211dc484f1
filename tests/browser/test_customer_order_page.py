"""A customer in a real browser (issue 18): the email's link opens the order page, a parcel with an unknown
carrier opens our HTML tracking page, the pages fit a 390 px phone, and axe-core finds no serious or critical
accessibility violation on them."""

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from orders import services
from orders.models import InventoryItem, Order, Shipment
from orders.notifications import send_order_email
from tests.browser.conftest import TIMEOUT_MS
from tracking.carriers.base import Scan, TrackingResult
from tracking.management.commands.seed_tracking_demo import TRACKING
from tracking.services import shipment_apply_tracking

pytestmark = [pytest.mark.xdist_group("browser")]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PHONE = {"width": 390, "height": 844}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _email_link(body: str, label: str) -> str:
    return _path(next(line.split(label, 1)[1].strip() for line in body.splitlines() if line.startswith(label)))


@pytest.fixture
def freight_order(org):
    """The demo's customer, shipped by a regional carrier we have no tracking page for, one scan in."""
    call_command("seed_tracking_demo", org=org.slug, email="jane@example.com", stdout=io.StringIO())
    order = Shipment.objects.get(org=org, tracking_number=TRACKING).order
    InventoryItem.objects.filter(org=org).update(on_hand=50)
    fresh, _ = services.checkout_cart(
        org=org, customer={"email": "jane@example.com", "name": "Jane Doe"},
        lines=[{"sku": order.lines.first().sku, "quantity": 2}],
        shipping_address={"name": "Jane Doe", "line1": "1 Main St", "city": "Springfield", "region": "IL",
                          "postalCode": "62701", "country": "US"},
        payment={"gateway": "manual"}, actor_label="test")
    services.order_process(org=org, order_number=fresh.order_number)
    _, shipment = services.order_ship(org=org, order_number=fresh.order_number, carrier="prairie-express",
                                      tracking_number="PX-20260501-77", service="Next day",
                                      ship_date=datetime(2026, 5, 1, 9, 0, tzinfo=UTC))
    # placed and prepared the day before it shipped, as the demo's order is
    Order.objects.filter(pk=fresh.pk).update(created_at=datetime(2026, 4, 30, 10, 0, tzinfo=UTC),
                                             processed_at=datetime(2026, 4, 30, 16, 0, tzinfo=UTC))
    scan = Scan(status="in_transit", raw_status="in_transit", description="Left the Peoria depot",
                location="Peoria, IL", occurred_at=datetime(2026, 5, 1, 17, 40, tzinfo=UTC))
    shipment_apply_tracking(shipment_id=shipment.pk, source="easypost", result=TrackingResult(
        tracking_number=shipment.tracking_number, carrier="prairie-express", status="in_transit",
        raw_status="in_transit", scans=(scan,), estimated_delivery=datetime(2026, 5, 2, 18, 0, tzinfo=UTC)))
    return Order.objects.get(pk=fresh.pk), shipment


def _shipped_email(order, shipment) -> str:
    mail.outbox = []
    send_order_email(order_id=order.pk, kind="shipped", dedupe_key=f"browser:{shipment.pk}",
                     extra={"shipmentId": shipment.pk})
    return mail.outbox[-1].body


def _axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [node["target"] for node in v["nodes"]][:5]}
            for v in result if v["impact"] in ("serious", "critical")]


def _fits(page) -> dict:
    return page.evaluate("() => ({scroll: document.documentElement.scrollWidth, view: window.innerWidth})")


def test_the_emails_links_open_the_order_page_and_the_parcels_html_tracking_page(page, shoot, org, freight_order):
    order, shipment = freight_order
    body = _shipped_email(order, shipment)
    page.goto(_email_link(body, "Your order:"))  # straight from the email: no email or number to type
    expect(page.locator("h1.order-number")).to_have_text(order.order_number)
    expect(page.locator("[data-headline]")).to_have_text("On its way")
    expect(page.locator('.progress [aria-current="step"]')).to_contain_text("Shipped")
    expect(page.locator("[data-eta]")).to_contain_text("Saturday 2 May 2026")
    expect(page.locator("[data-address]")).to_contain_text("Jane D.")
    expect(page.locator("[data-address]")).not_to_contain_text("Main St")
    parcel = page.locator("section.shipment")
    expect(parcel.locator("[data-latest-scan]")).to_contain_text("Left the Peoria depot")
    expect(parcel.locator("[data-status-source]")).to_contain_text("Last update from the carrier")
    expect(page.locator("[data-eta]")).to_have_count(1)  # one parcel: its estimate is the order's, shown once
    expect(page.locator(".progress [data-state=done]")).to_have_count(2)
    shoot(page, "customer-order-page")

    parcel.locator("[data-tracking-link]").click()  # unknown carrier: our page, in the same tab, not JSON
    expect(page.locator("h1")).to_have_text("PX-20260501-77")
    expect(page.locator("ol.timeline li")).to_have_count(1)
    expect(page.locator("ol.timeline")).to_contain_text("Peoria, IL")
    assert page.evaluate("document.contentType") == "text/html"
    shoot(page, "customer-parcel-page")

    page.goto(_email_link(body, "Track it:"))  # the email's tracking link is the same page
    expect(page.locator("h1")).to_have_text("PX-20260501-77")


def test_a_customer_asks_to_cancel_from_the_page(page, org, freight_order):
    order, _ = freight_order
    InventoryItem.objects.filter(org=org).update(on_hand=50)
    fresh, _ = services.checkout_cart(org=org, customer={"email": "kim@example.com"},
                                      lines=[{"sku": order.lines.first().sku, "quantity": 1}],
                                      shipping_address={"city": "Springfield"}, payment={"gateway": "manual"},
                                      actor_label="test")
    send_order_email(order_id=fresh.pk, kind="confirmation", dedupe_key="browser:confirm")
    page.goto(_email_link(mail.outbox[-1].body, "Follow your order:"))
    page.get_by_role("button", name="Ask to cancel this order").click()
    expect(page.get_by_role("alert")).to_contain_text("Please give a reason")
    page.get_by_label("Why do you want to cancel?").fill("Ordered the wrong size")
    page.get_by_role("button", name="Ask to cancel this order").click()
    expect(page.get_by_role("status")).to_contain_text("The store has your request to cancel")
    expect(page.locator("[data-headline]")).to_have_text("Cancellation requested")
    fresh.refresh_from_db()
    assert fresh.status == "on-hold" and fresh.hold_reason == "Customer asked to cancel: Ordered the wrong size"


def test_the_customer_pages_fit_a_phone_and_pass_axe(chromium, live_server, shoot, org, freight_order):
    order, shipment = freight_order
    body = _shipped_email(order, shipment)
    context = chromium.new_context(base_url=live_server.url, viewport=PHONE, locale="en-US", timezone_id="UTC",
                                   is_mobile=True, has_touch=True, device_scale_factor=2)
    context.set_default_timeout(TIMEOUT_MS)
    phone = context.new_page()
    try:
        pages = {"order": _email_link(body, "Your order:"), "parcel": _email_link(body, "Track it:"),
                 "lookup": f"/orders/lookup?org={org.slug}"}
        problems = {}
        for name, url in pages.items():
            phone.goto(url)
            expect(phone.locator("main")).to_be_visible()
            size = _fits(phone)
            assert size["scroll"] <= size["view"], f"{name} page scrolls sideways at 390 px: {size}"
            violations = _axe_violations(phone)
            if violations:
                problems[name] = violations
        phone.goto(pages["order"])
        shoot(phone, "customer-order-page-phone")
        assert not problems, "axe-core found serious/critical violations:\n" + json.dumps(problems, indent=1)
    finally:
        context.close()


def test_axe_catches_a_serious_violation_so_its_silence_means_something(page, org):
    """The check itself can fail: an image without alt text on a bare page is a critical violation."""
    page.set_content('<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
                     '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>')
    assert "image-alt" in [v["id"] for v in _axe_violations(page)]
