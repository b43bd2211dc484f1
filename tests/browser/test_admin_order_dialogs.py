"""Staff in a real browser (issue 17): partially ship and refund a storefront order from its dialogs, and fulfil
a channel order with tracking and see the channel accept the writeback."""

import json

import pytest
import responses
from playwright.sync_api import expect

from channels_sync.models import AggregatedOrder, Channel, Writeback
from channels_sync.services import ingest, writeback_attempt
from orders.models import InventoryItem, Refund, Shipment
from tests.channels_sync.providers.fixtures import fixture, fixture_bytes
from tests.orders.factories import order_in, stock

pytestmark = [pytest.mark.xdist_group("browser")]

STORE = "https://shop.example.com"
API = f"{STORE}/wp-json/wc/v3"


def order_page(order) -> str:
    return f"/admin/orders/order/{order.pk}/change/"


@pytest.fixture
def processing_order(org):
    """A = 2 units, B = 1 unit, 10.00 each, paid, being processed."""
    stock(org, A=50, B=50)
    return order_in(org, "processing", email="ann@example.com")


def ship_from_dialog(page, quantities: dict, *, carrier: str, service: str, tracking: str):
    page.get_by_role("button", name="Ship", exact=True).click()
    dialog = page.locator("#ship-dialog")
    expect(dialog).to_be_visible()
    for sku, quantity in quantities.items():
        dialog.get_by_label(f"Ship now: {sku}").fill(str(quantity))
    dialog.get_by_label("Carrier", exact=True).select_option(label=carrier)
    dialog.get_by_label("Service").select_option(label=service)
    dialog.get_by_label("Tracking number").fill(tracking)
    return dialog


def test_partial_shipment_then_partial_refund_from_the_dialogs(logged_in, shoot, processing_order, org):
    page, order = logged_in, processing_order
    page.goto(order_page(order))
    expect(page.get_by_test_id("order-state")).to_have_text("Processing")
    expect(page.get_by_test_id("order-payment")).to_have_text("Paid (manual)")
    expect(page.get_by_test_id("order-fulfilment")).to_have_text("Unfulfilled")
    expect(page.get_by_test_id("shipping-address")).to_contain_text("1 Main St")
    expect(page.locator("input[name=_save]")).to_have_count(0)
    shoot(page, "admin-order-page")

    # A wrong UPS number is refused in the dialog's page, nothing shipped.
    dialog = ship_from_dialog(page, {"A": 1, "B": 0}, carrier="UPS", service="UPS Ground", tracking="12345")
    dialog.get_by_role("button", name="Ship", exact=True).click()
    expect(page.locator(".errorlist")).to_contain_text("not a UPS tracking number")
    assert not Shipment.objects.exists()
    page.goto(order_page(order))

    dialog = ship_from_dialog(page, {"A": 1, "B": 0}, carrier="UPS", service="UPS Ground",
                              tracking="1Z999AA10123456784")
    expect(dialog.get_by_label("Ship now: A")).to_have_attribute("max", "2")
    shoot(page, "admin-order-ship-dialog")
    dialog.get_by_role("button", name="Ship", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("Shipped 1 unit(s) with UPS 1Z999AA10123456784")
    expect(page.get_by_test_id("order-fulfilment")).to_have_text("Partially shipped (1 of 3 units)")
    expect(page.get_by_test_id("order-state")).to_have_text("Processing")
    expect(page.locator(".timeline")).to_contain_text("Ship")
    shoot(page, "admin-order-partially-shipped")

    dialog = ship_from_dialog(page, {"A": 1, "B": 1}, carrier="USPS", service="Priority Mail",
                              tracking="9400111899223197428490")
    expect(dialog.get_by_label("Ship now: A")).to_have_attribute("max", "1")
    dialog.get_by_role("button", name="Ship", exact=True).click()
    expect(page.get_by_test_id("order-state")).to_have_text("Shipped")

    page.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.locator("#refund-dialog")
    expect(dialog.get_by_test_id("refundable")).to_have_text("30.00 USD")
    dialog.get_by_label("Refund: B").fill("1")
    dialog.get_by_label("Reason").fill("Arrived damaged")
    dialog.get_by_label("Put the returned items back in stock").check()
    expect(dialog.get_by_label("Email the customer")).to_be_checked()
    shoot(page, "admin-order-refund-dialog")
    dialog.get_by_role("button", name="Refund", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("Refunded 10.00 USD")
    expect(page.get_by_test_id("order-payment")).to_have_text("Partially refunded (10.00 of 30.00 USD)")
    expect(page.locator(".timeline")).to_contain_text("Arrived damaged")
    shoot(page, "admin-order-refunded")
    refund = Refund.objects.get(order=order)
    assert refund.items == [{"sku": "B", "quantity": 1}] and refund.reason == "Arrived damaged"
    assert InventoryItem.objects.get(org=org, sku="B").on_hand == 50  # shipped one, restocked one
    assert list(Shipment.objects.filter(order=order).values_list("carrier", "service")) == [
        ("ups", "UPS Ground"), ("usps", "Priority Mail")]


def test_notes_tags_and_a_comment_from_the_page(logged_in, shoot, processing_order):
    page, order = logged_in, processing_order
    page.goto(order_page(order))
    page.get_by_label("Internal notes").fill("Leave at the back door")
    page.get_by_label("Tags").fill("vip, gift")
    page.get_by_role("button", name="Save notes and tags").click()
    expect(page.locator(".messagelist")).to_contain_text("Notes and tags saved.")
    expect(page.locator(".order-panels")).to_contain_text("vip")
    page.get_by_placeholder("Add a comment").fill("Customer called about the gift wrap")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".timeline-comment").first).to_contain_text("Customer called about the gift wrap")
    shoot(page, "admin-order-timeline")
    order.refresh_from_db()
    assert order.internal_notes == "Leave at the back door"


@pytest.fixture
def woo_order(org):
    """WooCommerce's published order 727 (processing), ingested into a WooCommerce channel."""
    channel = Channel.objects.create(org=org, channel_id="woo-main", provider="woocommerce", enabled=True,
                                     config={"baseUrl": STORE, "consumerKey": "ck_test", "consumerSecret": "cs_test"})
    ingest(channel=channel, raw_orders=[fixture("woocommerce", "order.json")])
    return AggregatedOrder.objects.get(channel=channel)


def test_channel_order_is_fulfilled_with_tracking_and_the_writeback_succeeds(logged_in, shoot, queued, woo_order):
    page, order = logged_in, woo_order
    page.goto(f"/admin/channels_sync/aggregatedorder/{order.pk}/change/")
    expect(page.get_by_test_id("channel-order-state")).to_have_text("Processing")
    expect(page.get_by_test_id("channel-shipping-address")).to_contain_text("969 Market")
    expect(page.get_by_role("button", name="Cancel on the channel")).to_be_visible()
    page.get_by_role("button", name="Fulfil with tracking").click()
    dialog = page.locator("#fulfil-dialog")
    dialog.get_by_label("Carrier", exact=True).select_option(label="UPS")
    dialog.get_by_label("Tracking number").fill("1Z999AA10123456784")
    shoot(page, "admin-channel-order-fulfil-dialog")
    dialog.get_by_role("button", name="Fulfil", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("Fulfil with tracking: saved; writeback")
    expect(page.get_by_test_id("channel-order-state")).to_have_text("Shipped")
    writeback = Writeback.objects.get(order=order)
    assert queued.args_of("channels_sync.run_writeback") == [(writeback.pk,)]

    with responses.RequestsMock() as woo:  # the queued task runs; WooCommerce answers as documented
        # A store without the Shipment Tracking extension (WordPress' rest_no_route): status, then a note.
        woo.add(responses.GET, f"{STORE}/wp-json/wc-shipment-tracking/v3/orders/727/shipment-trackings", status=404,
                body=fixture_bytes("woocommerce", "wp_rest_no_route.json"))
        woo.add(responses.PUT, f"{API}/orders/727",
                body=fixture_bytes("woocommerce", "order_completed_after_update.json"))
        woo.add(responses.POST, f"{API}/orders/727/notes", status=201,
                body=fixture_bytes("woocommerce", "order_note.json"))
        writeback_attempt(writeback_pk=writeback.pk)
        assert json.loads(woo.calls[1].request.body) == {"status": "completed"}
        assert "1Z999AA10123456784" in json.loads(woo.calls[2].request.body)["note"]

    page.reload()
    row = page.get_by_test_id("writeback-row")
    expect(row).to_contain_text("shipped (UPS 1Z999AA10123456784)")
    expect(row.locator(".writeback-succeeded")).to_have_text("Succeeded")
    expect(page.get_by_test_id("unavailable-actions")).to_contain_text("The order is shipped")
    expect(page.get_by_test_id("channel-order-writeback")).to_have_text("Succeeded")
    # The summary on top, as on a storefront order's page (it sat below the writebacks table).
    tops = [page.locator(selector).bounding_box()["y"]
            for selector in (".order-header", "[data-testid=unavailable-actions]", "#channel-writebacks")]
    assert tops == sorted(tops), tops
    shoot(page, "admin-channel-order-written-back")
