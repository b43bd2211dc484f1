"""/orders/lookup: a CSRF-protected, rate-limited form leading to the order's status page."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from accounts.models import OrgBranding
from orders import services
from orders.models import Shipment
from tests.tracking.helpers import delivered_event, post_webhook, shipped_order
from tracking.services import shipment_add_scan

pytestmark = pytest.mark.django_db

LOOKUP = "/orders/lookup"


def _csrf(browser, org) -> str:
    page = browser.get(f"{LOOKUP}?org={org.slug}")
    assert page.status_code == 200
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()


def _lookup(browser, org, *, email: str, number: str, follow: bool = True):
    token = _csrf(browser, org)
    return browser.post(LOOKUP, {"csrfmiddlewaretoken": token, "org": org.slug, "email": email,
                                 "order_number": number}, follow=follow)


@pytest.fixture
def rich_order(org):
    """Shipped in two parcels with scans, partly refunded, with internal notes and staff-only details."""
    order, [first, second] = shipped_order(
        org, lines={"SNK-RUN-42": 1, "SOCK-3PK": 2}, email="ann@example.com",
        parcels=[("EZTL-1", [{"sku": "SNK-RUN-42", "quantity": 1}]), ("EZTL-2", [{"sku": "SOCK-3PK", "quantity": 2}])])
    Shipment.objects.filter(pk=first.pk).update(cost=Decimal("13.37"), service="Priority")
    shipment_add_scan(org=org, shipment_id=first.pk, status="in_transit", description="Departed sorting hub",
                      location="Memphis, TN", occurred_at=datetime(2026, 5, 1, 8, 30, tzinfo=UTC))
    shipment_add_scan(org=org, shipment_id=first.pk, status="out_for_delivery", description="Out with courier",
                      location="Springfield, IL", occurred_at=datetime(2026, 5, 2, 7, 5, tzinfo=UTC))
    services.order_update(org=org, order_number=order.order_number, internal_notes="VIP: margin is thin, call Bob")
    services.order_refund(org=org, order_number=order.order_number, amount=Decimal("5.00"),
                          reason="goodwill credit approved by supervisor Karen")
    order.refresh_from_db()
    return order


def test_lookup_form_is_csrf_protected(org, rich_order, browser):
    response = browser.post(LOOKUP, {"org": org.slug, "email": "ann@example.com",
                                     "order_number": rich_order.order_number})
    assert response.status_code == 403


def test_email_and_number_lead_to_the_right_orders_page(org, rich_order, browser):
    response = _lookup(browser, org, email="ANN@example.com", number=rich_order.order_number.lower())
    assert response.status_code == 200
    assert response.redirect_chain and response.redirect_chain[0][0].startswith("/orders/view/")
    html = response.content.decode()
    assert rich_order.order_number in html
    assert "SNK-RUN-42" in html and "SOCK-3PK" in html
    assert 'data-order-status="shipped"' in html
    # each parcel with carrier, tracking link and its timeline, newest first
    assert "EZTL-1" in html and "EZTL-2" in html and "USPS" in html
    assert 'href="https://tools.usps.com/go/TrackConfirmAction?tLabels=EZTL-1"' in html
    assert html.index("Out with courier") < html.index("Departed sorting hub")
    assert "Memphis, TN" in html
    # refunds: amount shown
    assert "Refunds" in html and "5.00 USD" in html


def test_nothing_internal_reaches_the_page(org, rich_order, browser):
    html = _lookup(browser, org, email="ann@example.com", number=rich_order.order_number).content.decode()
    for secret in ("VIP", "margin is thin", "call Bob", "13.37", "supervisor Karen", "goodwill credit",
                   "internal", "manual"):  # notes, parcel cost, refund reason, payment gateway
        assert secret not in html, secret


def test_wrong_email_and_missing_order_get_the_same_answer(org, rich_order, browser):
    wrong_email = _lookup(browser, org, email="mallory@example.com", number=rich_order.order_number)
    missing = _lookup(browser, org, email="ann@example.com", number="ORD-2026-9999")
    assert wrong_email.status_code == missing.status_code == 404

    def normalized(response) -> str:
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        return re.sub(r'value="[^"]*"', "", html)  # the echoed inputs differ by design

    assert normalized(wrong_email) == normalized(missing)
    assert rich_order.order_number not in wrong_email.content.decode().replace(
        f'value="{rich_order.order_number}"', "")


def test_another_orgs_lookup_never_finds_this_orgs_order(org, other_org, rich_order, browser):
    response = _lookup(browser, other_org, email="ann@example.com", number=rich_order.order_number)
    assert response.status_code == 404 and "SNK-RUN-42" not in response.content.decode()


def test_unknown_store_and_invalid_form(org, browser):
    assert browser.get(f"{LOOKUP}?org=nope").status_code == 404
    assert browser.get(LOOKUP).status_code == 404
    token = _csrf(browser, org)
    invalid = browser.post(LOOKUP, {"csrfmiddlewaretoken": token, "org": org.slug, "email": "not-an-email",
                                    "order_number": ""})
    assert invalid.status_code == 400 and b"field-error" in invalid.content


def test_lookup_attempts_are_rate_limited(org, rich_order, browser, settings):
    settings.ORDER_LOOKUP_RATE_LIMIT = "3/min"
    codes = [_lookup(browser, org, email="x@example.com", number=f"ORD-2026-{i:04d}").status_code for i in range(4)]
    assert codes == [404, 404, 404, 429]
    # even the right answer waits now, and a forged X-Forwarded-For does not help
    assert _lookup(browser, org, email="ann@example.com", number=rich_order.order_number).status_code == 429
    token = _csrf(browser, org)
    forged = browser.post(LOOKUP, {"csrfmiddlewaretoken": token, "org": org.slug, "email": "ann@example.com",
                                   "order_number": rich_order.order_number}, HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert forged.status_code == 429


def test_branding_name_and_logo(org, rich_order, browser):
    OrgBranding.objects.create(org=org, display_name="Sneaker Co", logo_url="https://cdn.example.com/logo.png")
    page = browser.get(f"{LOOKUP}?org={org.slug}").content.decode()
    assert "Sneaker Co" in page and 'src="https://cdn.example.com/logo.png"' in page
    order_page = _lookup(browser, org, email="ann@example.com", number=rich_order.order_number).content.decode()
    assert "Sneaker Co" in order_page
    assert 'href="/static/customer_pages/public.css"' in order_page


def test_delivered_by_the_carrier_shows_on_the_page(org, browser):
    from rest_framework.test import APIClient

    order, [shipment] = shipped_order(org, email="bo@example.com")
    post_webhook(APIClient(), delivered_event(tracking_code=shipment.tracking_number))
    html = _lookup(browser, org, email="bo@example.com", number=order.order_number).content.decode()
    assert 'data-order-status="delivered"' in html
    assert "Delivered, In/At Mailbox" in html and "CHARLESTON, SC 29401" in html
    assert 'href="https://track.easypost.com/' in html  # the aggregator's public page once known


def test_a_forged_or_expired_order_link_shows_nothing(org, rich_order, browser, settings, monkeypatch):
    from orders import links

    good = links.order_page_url(rich_order)
    assert browser.get(good).status_code == 200
    assert browser.get(good[:-2] + "xx").status_code == 404
    monkeypatch.setattr("django.core.signing.time.time", lambda: datetime.now(UTC).timestamp()
                        + settings.ORDER_PAGE_LINK_MAX_AGE + 5)
    expired = browser.get(good)
    assert expired.status_code == 404 and "SNK-RUN-42" not in expired.content.decode()
