"""What staff read in the admin (issue 17's smaller defects), in a real browser: transition pages and buttons
without a literal "None", a refused ship explained in a sentence (not a Python list), the order's History
naming each transition and its data, an owner deleting a test order, and a customer's page with their orders."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import InventoryItem, Order
from tests.browser.conftest import staff_member
from tests.orders.factories import order_in, stock

pytestmark = [pytest.mark.xdist_group("browser")]

ORDERS = "/admin/orders/order/"


def change_url(order) -> str:
    return f"{ORDERS}{order.pk}/change/"


@pytest.fixture
def processing(org):
    stock(org, A=50, B=50)
    return order_in(org, "processing", email="ann@example.com")


def test_ship_page_has_no_none_and_a_refusal_reads_as_a_sentence(logged_in, shoot, processing):
    page, order = logged_in, processing
    page.goto(change_url(order))
    for button in page.locator("button[name=_fsm_transition_to]").all():
        assert button.get_attribute("title") in (None, "")
    # the page's Ship opens the dialog (bounded quantities); the transition form behind it must read as words too
    page.goto(f"{ORDERS}{order.pk}/transition/ship/")
    expect(page.locator("#content")).not_to_contain_text(re.compile(r"\bNone\b"))

    page.fill("#id_carrier", "ups")
    page.fill("#id_tracking", "1ZTOOMANY")
    page.fill("#id_items", "A: 9")
    page.get_by_role("button", name="Apply").click()
    message = page.locator(".messagelist")
    expect(message).to_have_text("Ship failed: Cannot ship more than is left. items: A: 9 requested, 2 left to ship.")
    expect(message).not_to_contain_text("[")
    shoot(page, "admin-ship-refused")
    assert not order.shipments.exists()


def test_history_names_each_transition_and_its_data(logged_in, shoot, processing):
    page, order = logged_in, processing
    page.goto(f"{ORDERS}{order.pk}/transition/ship/")
    page.fill("#id_carrier", "ups")
    page.fill("#id_tracking", "1ZHISTORY")
    page.fill("#id_items", "A: 1")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".messagelist")).to_contain_text(f"order {order.order_number} is now processing")
    page.get_by_role("button", name="Hold", exact=True).click()
    page.fill("#id_reason", "Customer asked to wait")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".field-status .readonly")).to_have_text("On hold")

    page.get_by_role("link", name="History").click()
    table = page.locator("#change-history")
    expect(table).not_to_contain_text("No fields changed.")
    expect(table).to_contain_text("Ship (stays processing).")
    expect(table).to_contain_text("trackingNumber: 1ZHISTORY")
    expect(table).to_contain_text("items: A 1")
    expect(table).to_contain_text("Hold: processing to on-hold. reason: Customer asked to wait")
    shoot(page, "admin-order-history")


def test_owner_deletes_a_test_order_and_a_real_one_offers_no_delete(page, live_server, shoot, org):
    from django.conf import settings
    from django.test import Client

    stock(org, A=50, B=50)
    real, test_order = order_in(org, "new"), order_in(org, "processing", is_test=True)
    owner = staff_member(org, username="owner", role="owner")
    client = Client()
    client.force_login(owner)
    name = settings.SESSION_COOKIE_NAME
    page.context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": live_server.url}])

    page.goto(change_url(real))
    expect(page.locator(".field-status .readonly")).to_have_text("New")
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)

    page.goto(change_url(test_order))
    page.get_by_role("link", name="Delete").click()
    shoot(page, "admin-delete-test-order")
    page.get_by_role("button", name=re.compile("Yes, I.m sure")).click()
    expect(page.locator(".messagelist")).to_contain_text("was deleted successfully")
    assert not Order.objects.filter(pk=test_order.pk).exists()
    assert InventoryItem.objects.get(org=org, sku="A").reserved == 2  # only the real order's units stay held


def test_customer_page_shows_orders_and_total_spent(logged_in, shoot, processing):
    page, order = logged_in, processing
    page.goto(f"/admin/orders/customer/{order.customer.pk}/change/")
    expect(page.locator(".field-total_spent .readonly")).to_have_text("30.00 USD")
    orders = page.locator(".inline-group")
    expect(orders).to_contain_text(order.order_number)
    expect(orders).to_contain_text("Processing")
    shoot(page, "admin-customer")
    orders.get_by_role("link", name=order.order_number).click()
    expect(page).to_have_url(re.compile(rf"{change_url(order)}$"))


def test_a_channel_order_imported_short_shows_as_a_backorder(logged_in, shoot, org):
    from orders import services

    stock(org, A=1)
    order, _ = services.checkout_cart(
        org=org, customer={"email": "mp@example.com", "name": "Marketplace Buyer"},
        lines=[{"sku": "A", "quantity": 3, "unit_price": "10.00"}], shipping_address={"city": "Springfield"},
        allow_backorder=True, source="channel:shopify")
    page = logged_in
    page.goto(f"{ORDERS}?is_backorder__exact=1")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.get_by_role("link", name=order.order_number).click()
    expect(page.locator(".field-backorder .readonly")).to_have_text(
        "Yes: A x2 not in stock yet (reserved when shipped)")
    shoot(page, "admin-order-backorder")
