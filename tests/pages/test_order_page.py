"""The customer order page (issue 18): progress, estimate, masked address, parcels that never contradict the
order, HTML tracking for every parcel, the signed link in emails, and the customer's cancellation request."""

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from django.core import signing
from rest_framework.test import APIClient

from orders import services
from orders.links import order_email_url, order_page_url
from orders.models import Activity, Order
from orders.notifications import send_order_email
from tests.orders.factories import checkout, stock
from tests.tracking.helpers import delivered_event, post_webhook, shipped_order
from tracking.services import shipment_add_scan

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _html(client, url: str, status: int = 200) -> str:
    response = client.get(_path(url))
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def _steps(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-step="(\w+)" data-state="(\w+)"', html))


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _placed(org, lines=None, **kwargs):
    lines = lines or {"A": 1}
    stock(org, **{sku: 50 for sku in lines})
    return checkout(org, lines, **kwargs)


def _link(body: str, label: str) -> str:
    return next(line.split(label, 1)[1].strip() for line in body.splitlines() if line.startswith(label))


# --- emails carry the order's own page -----------------------------------------------------------


def test_the_shipped_email_opens_the_order_page_and_an_html_parcel_page_for_an_unknown_carrier(
        org, client, mailoutbox, settings):
    order, [shipment] = shipped_order(org, carrier="acme-freight", email="uma@example.com")
    send_order_email(order_id=order.pk, kind="shipped", dedupe_key="t-shipped", extra={"shipmentId": shipment.pk})
    body = mailoutbox[-1].body
    order_link, track_link = _link(body, "Your order:"), _link(body, "Track it:")
    assert order_link.startswith(f"{settings.PUBLIC_BASE_URL}/orders/view/") and "?org=" not in order_link
    assert "/shipping/track/" not in body  # never the JSON API
    html = _html(client, order_link)
    assert order.order_number in html and "uma@example.com" not in html
    parcel = _html(client, track_link)
    assert track_link.startswith(f"{settings.PUBLIC_BASE_URL}/orders/view/") and "/parcels/shp-" in track_link
    assert shipment.tracking_number in parcel and "No scans from the carrier yet." in parcel
    assert f"Order {order.order_number}" in parcel  # the way back to the order


def test_a_known_carrier_links_to_its_own_tracking_page(org, client, mailoutbox):
    order, [shipment] = shipped_order(org, carrier="ups")
    send_order_email(order_id=order.pk, kind="shipped", dedupe_key="t-ups", extra={"shipmentId": shipment.pk})
    assert _link(mailoutbox[-1].body, "Track it:") == f"https://www.ups.com/track?tracknum={shipment.tracking_number}"
    html = _html(client, order_page_url(order))
    assert f'href="https://www.ups.com/track?tracknum={shipment.tracking_number}"' in html


def test_the_emailed_link_outlives_the_lookup_link_but_not_forever(org, client, settings, monkeypatch):
    order = _placed(org)
    emailed, looked_up = order_email_url(order), order_page_url(order)
    now = datetime.now(UTC).timestamp()
    monkeypatch.setattr(signing.time, "time", lambda: now + settings.ORDER_PAGE_LINK_MAX_AGE + 60)
    assert client.get(_path(looked_up)).status_code == 404
    assert client.get(_path(emailed)).status_code == 200
    monkeypatch.setattr(signing.time, "time", lambda: now + settings.ORDER_EMAIL_LINK_MAX_AGE + 60)
    expired = client.get(_path(emailed))
    assert expired.status_code == 404 and order.order_number not in expired.content.decode()


# --- progress, estimate, address -----------------------------------------------------------------


def test_the_progress_bar_follows_the_order_and_its_parcels(org, client):
    order = _placed(org, {"A": 1, "B": 1})
    assert _steps(_html(client, order_page_url(order))) == {
        "placed": "current", "processing": "todo", "shipped": "todo", "out_for_delivery": "todo", "delivered": "todo"}
    services.order_process(org=org, order_number=order.order_number)
    assert _steps(_html(client, order_page_url(order)))["processing"] == "current"
    _, first = services.order_ship(org=org, order_number=order.order_number, carrier="ups", tracking_number="1ZA",
                                   items=[{"sku": "A", "quantity": 1}])
    html = _html(client, order_page_url(order))
    assert _steps(html)["shipped"] == "current" and "Partly shipped" in html and "Still to ship: 1 × B" in html
    _, second = services.order_ship(org=org, order_number=order.order_number, carrier="ups", tracking_number="1ZB")
    for shipment in (first, second):
        shipment_add_scan(org=org, shipment_id=shipment.pk, status="out_for_delivery", description="On the van",
                          occurred_at=datetime(2026, 5, 2, 7, 0, tzinfo=UTC))
    html = _html(client, order_page_url(order))
    assert _steps(html)["out_for_delivery"] == "current" and 'data-headline>Out for delivery<' in html
    for shipment in (first, second):
        shipment_add_scan(org=org, shipment_id=shipment.pk, status="delivered", description="Left at door",
                          occurred_at=datetime(2026, 5, 2, 15, 0, tzinfo=UTC))
    html = _html(client, order_page_url(order))
    assert set(_steps(html).values()) == {"done", "current"} and _steps(html)["delivered"] == "current"
    assert 'data-order-status="delivered"' in html


def test_step_dates_never_run_backwards(org, client):
    """An order processed after its parcel's ship date (backfilled): the bar drops that date, not the order."""
    order, _ = shipped_order(org)
    Order.objects.filter(pk=order.pk).update(created_at=datetime(2026, 4, 21, tzinfo=UTC),
                                             processed_at=datetime(2030, 1, 1, tzinfo=UTC))
    html = _html(client, order_page_url(order))
    processing = re.search(r'data-step="processing".*?</li>', html, re.S).group(0)
    assert "<time" not in processing and "2030" not in html
    assert '<time class="step-date" datetime="2026-04-21' in html


def test_a_cancelled_order_shows_no_progress_bar(org, client):
    order = _placed(org)
    services.order_cancel(org=org, order_number=order.order_number, reason="out of stock at supplier")
    html = _html(client, order_page_url(order))
    assert _steps(html) == {} and "This order was cancelled" in html
    assert "supplier" not in html  # staff's reason stays with staff


def test_the_carriers_estimate_is_shown_until_delivery(org, client):
    order, [shipment] = shipped_order(org)
    event = delivered_event(tracking_code=shipment.tracking_number, event_id="evt_eta", status="in_transit")
    post_webhook(APIClient(), event)
    html = _html(client, order_page_url(order))
    assert "Estimated delivery: <strong>Friday 9 May 2025</strong>" in html
    post_webhook(APIClient(), delivered_event(tracking_code=shipment.tracking_number, event_id="evt_done"))
    html = _html(client, order_page_url(order))
    assert "Estimated delivery" not in html and 'data-headline>Delivered<' in html


def test_the_shipping_address_is_partly_masked(org, client):
    order = _placed(org)
    Order.objects.filter(pk=order.pk).update(shipping_address={
        "name": "Jane Doe", "line1": "1742 Evergreen Terrace", "city": "Springfield", "region": "IL",
        "postalCode": "62701", "country": "US"})
    html = _html(client, order_page_url(order))
    address = re.search(r"<address[^>]*>(.*?)</address>", html, re.S).group(1)
    assert "Jane D." in address and "Springfield, IL" in address and "US" in address
    assert "174" in address and "Evergreen" not in address and "Doe" not in address
    assert "62" in address and "62701" not in address


# --- parcels never contradict the order ----------------------------------------------------------


def test_an_order_the_store_marked_delivered_does_not_say_label_created(org, client):
    """The bug in the issue: "Delivered" beside "Label created" and "No carrier scans yet"."""
    order, [shipment] = shipped_order(org, carrier="ups")
    services.order_deliver(org=org, order_number=order.order_number)
    html = _html(client, order_page_url(order))
    assert 'data-order-status="delivered"' in html and 'data-parcel-status="delivered"' in html
    assert "Label created" not in html and "No carrier scans yet" not in html
    assert re.search(r"data-status-source>Confirmed by [^<]+ on \d", html)
    assert "own page may know more" in html  # says where to look, not that nothing happened


def test_each_parcel_shows_its_items_carrier_link_and_latest_scan_with_its_source(org, client):
    order, [first, second] = shipped_order(
        org, lines={"SNK-RUN-42": 1, "SOCK-3PK": 2},
        parcels=[("EZTL-1", [{"sku": "SNK-RUN-42", "quantity": 1}]), ("EZTL-2", [{"sku": "SOCK-3PK", "quantity": 2}])])
    shipment_add_scan(org=org, shipment_id=first.pk, status="in_transit", description="Departed sorting hub",
                      location="Memphis, TN", occurred_at=datetime(2026, 5, 1, 8, 30, tzinfo=UTC))
    html = _html(client, order_page_url(order))
    one, two = html.split('class="card shipment"')[1:3]
    assert "1 × " in one and "SNK-RUN-42" in one and "SOCK" not in one.split("</section>")[0]
    assert "2 × " in two and "SOCK-3PK" in two
    assert "Latest scan: <strong>Departed sorting hub</strong>, Memphis, TN" in one
    assert "USPS" in one and 'href="https://tools.usps.com/go/TrackConfirmAction?tLabels=EZTL-1"' in one
    assert "No scans from the carrier here yet" in two


def test_a_parcel_page_needs_the_orders_link_and_its_own_parcel(org, client):
    order, [shipment] = shipped_order(org, carrier="acme-freight")
    other, [foreign] = shipped_order(org, carrier="acme-freight", email="other@example.com", lines={"B": 1},
                                     parcels=[("ACME-2", None)])
    token = order_page_url(order).rsplit("/", 1)[1]
    assert client.get(f"/orders/view/{token}/parcels/{shipment.public_id}").status_code == 200
    stranger = client.get(f"/orders/view/{token}/parcels/{foreign.public_id}")
    assert stranger.status_code == 404 and "ACME-2" not in stranger.content.decode()
    assert client.get(f"/orders/view/{token[:-3]}abc/parcels/{shipment.public_id}").status_code == 404


# --- the customer asks to cancel ------------------------------------------------------------------


def _ask_to_cancel(browser, order, reason="Ordered the wrong size"):
    url = order_page_url(order)
    page = browser.get(url)
    return browser.post(f"{url}/cancel", {"csrfmiddlewaretoken": _csrf(page.content.decode()), "reason": reason})


def test_a_customer_asks_to_cancel_and_staff_see_a_hold_with_the_reason(org, browser):
    order = _placed(org)
    response = _ask_to_cancel(browser, order)
    assert response.status_code == 302
    page = browser.get(response["Location"]).content.decode()
    assert "The store has your request to cancel" in page
    assert re.search(r'data-order-status="on-hold">Cancellation requested<', page)  # badge and headline agree
    assert "Ask to cancel this order" not in page  # asked once
    order.refresh_from_db()
    assert order.status == "on-hold" and order.prior_status == "new"
    assert order.hold_reason == "Customer asked to cancel: Ordered the wrong size"
    hold = Activity.objects.get(order=order, verb="hold")
    assert hold.actor_label == "customer" and hold.actor is None
    assert {"release", "cancel"} <= set(services.allowed_verbs(order))  # staff decide
    services.order_cancel(org=org, order_number=order.order_number, reason="customer asked")  # staff decide
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_asking_again_or_on_a_staff_hold_keeps_the_hold_and_records_the_request(org, browser):
    order = _placed(org)
    services.order_hold(org=org, order_number=order.order_number, reason="address check")
    response = _ask_to_cancel(browser, order, "Found it cheaper")
    assert response.status_code == 302 and "done=noted" in response["Location"]
    order.refresh_from_db()
    assert order.hold_reason == "address check"
    assert Activity.objects.get(order=order, verb="cancel_request").data == {"reason": "Found it cheaper"}


def test_a_shipped_order_cannot_be_cancelled_from_its_page(org, browser):
    order, _ = shipped_order(org)
    page = browser.get(order_page_url(order)).content.decode()
    assert "Ask to cancel" not in page
    csrf = _csrf(browser.get(f"/orders/lookup?org={org.slug}").content.decode())  # a token from a form it can see
    response = browser.post(f"{order_page_url(order)}/cancel", {"csrfmiddlewaretoken": csrf, "reason": "late"})
    assert response.status_code == 409 and "already on its way" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "shipped"


def test_a_cancel_request_needs_a_reason_csrf_and_the_signed_link(org, browser):
    order = _placed(org)
    empty = _ask_to_cancel(browser, order, reason="  ")
    assert empty.status_code == 400 and "Please give a reason" in empty.content.decode()
    assert browser.post(f"{order_page_url(order)}/cancel", {"reason": "x"}).status_code == 403  # no CSRF token
    forged = browser.post(f"/orders/view/{order.order_number}/cancel", {"reason": "x"})
    assert forged.status_code in (403, 404)
    order.refresh_from_db()
    assert order.status == "new"


def test_cancel_requests_are_rate_limited(org, browser, settings):
    settings.ORDER_CANCEL_REQUEST_RATE_LIMIT = "2/hour"
    orders = [_placed(org, {f"S{i}": 1}, email=f"c{i}@example.com") for i in range(3)]
    codes = [_ask_to_cancel(browser, order).status_code for order in orders]
    assert codes == [302, 302, 429]
    orders[2].refresh_from_db()
    assert orders[2].status == "new"
