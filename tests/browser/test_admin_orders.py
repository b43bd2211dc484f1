"""Staff in a real browser: log into admin, filter the orders, press transition buttons."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Activity, Order
from tests.accounts.factories import PASSWORD
from tests.orders.factories import order_in, stock

pytestmark = [pytest.mark.xdist_group("browser")]

ORDERS = "/admin/orders/order/"


@pytest.fixture
def orders(org):
    """Two new orders, two being processed and one on hold, each with its own customer."""
    stock(org, A=50, B=50)
    states = ["new", "processing", "new", "processing", "on-hold"]
    return [order_in(org, state, email=f"buyer{n}@example.com") for n, state in enumerate(states)]


def change_url(order) -> str:
    return f"{ORDERS}{order.pk}/change/"


def test_staff_logs_in_and_filters_orders_by_status(page, shoot, staff, orders):
    page.goto(ORDERS)
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.fill("#id_username", staff.username)
    page.fill("#id_password", PASSWORD)
    shoot(page, "admin-login")
    page.get_by_role("button", name="Log in").click()

    expect(page.locator("#result_list")).to_be_visible()
    for order in orders:
        expect(page.locator("#result_list")).to_contain_text(order.order_number)

    page.locator("#changelist-filter").get_by_role("link", name="Processing", exact=True).click()
    expect(page).to_have_url(re.compile(r"status__exact=processing"))
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    processing = [o.order_number for o in orders if o.status == "processing"]
    for number in processing:
        expect(page.locator("#result_list")).to_contain_text(number)
    for order in orders:
        if order.status != "processing":
            expect(page.locator("#result_list")).not_to_contain_text(order.order_number)
    expect(page.locator(".paginator")).to_contain_text("2 orders")
    shoot(page, "admin-orders-filtered")


def test_process_button_moves_a_new_order_to_processing(logged_in, shoot, staff, orders):
    page, order = logged_in, orders[0]
    page.goto(ORDERS)
    page.get_by_role("link", name=order.order_number).click()
    expect(page.locator(".field-status .readonly")).to_have_text("New")

    page.get_by_role("button", name="Process", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text(f"Process: order {order.order_number} is now processing.")
    expect(page.locator(".field-status .readonly")).to_have_text("Processing")
    expect(page.get_by_role("button", name="Process", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Ship", exact=True)).to_be_visible()
    shoot(page, "admin-order-processed")
    order.refresh_from_db()
    assert order.status == "processing" and order.processed_at is not None
    last = Activity.objects.filter(order=order).last()
    assert (last.verb, last.actor_id) == ("process", staff.pk)


def test_hold_asks_for_a_reason_and_shows_it_on_the_order(logged_in, shoot, orders):
    page, order = logged_in, orders[1]
    page.goto(change_url(order))

    page.get_by_role("button", name="Hold", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/{order.pk}/transition/hold/$"))
    expect(page.locator("h1")).to_have_text("Hold")
    page.get_by_role("button", name="Apply").click()  # no reason: the browser will not send the form
    assert page.locator("#id_reason").evaluate("field => field.validity.valueMissing")
    expect(page).to_have_url(re.compile(rf"/{order.pk}/transition/hold/$"))
    assert Order.objects.get(pk=order.pk).status == "processing"

    page.fill("#id_reason", "Address does not match the card; calling the customer")
    shoot(page, "admin-hold-reason")
    page.get_by_role("button", name="Apply").click()

    expect(page).to_have_url(re.compile(rf"{change_url(order)}$"))
    expect(page.locator(".messagelist")).to_contain_text(f"Hold: order {order.order_number} is now on-hold.")
    expect(page.locator(".field-status .readonly")).to_have_text("On hold")
    expect(page.locator(".field-hold_reason .readonly")).to_have_text(
        "Address does not match the card; calling the customer")
    expect(page.get_by_role("button", name="Release", exact=True)).to_be_visible()
    shoot(page, "admin-order-on-hold")
    order.refresh_from_db()
    assert (order.status, order.prior_status, order.hold_reason) == (
        "on-hold", "processing", "Address does not match the card; calling the customer")
