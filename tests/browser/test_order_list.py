"""Staff in a real browser on the one order list (issue 17): from the admin index to an order found by
customer name and by SKU, a filtered list exported to CSV, and tracking entered per order when shipping."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from channels_sync.models import AggregatedOrder, Channel, Writeback
from orders.models import OrderTag
from tests.orders.factories import order_in, stock

pytestmark = [pytest.mark.xdist_group("browser")]

LIST = "/admin/backoffice/orderlistrow/"


def channel_order(channel, n, *, name, sku, status="pending", minutes_ago=0, **extra):
    placed = timezone.now() - timezone.timedelta(minutes=minutes_ago)
    return AggregatedOrder.objects.create(
        org=channel.org, channel=channel, channel_order_id=f"{channel.channel_id}-{n}", channel_order_number=f"#{n}",
        status=status, raw_status=status, customer_email=f"{name.split()[0].lower()}@example.com", customer_name=name,
        lines=[{"sku": sku, "channelSku": f"V-{sku}", "quantity": 1, "unitPrice": "34.00", "name": sku,
                "channelLineId": f"L{n}"}],
        subtotal=Decimal("34.00"), grand_total=Decimal("34.00"), currency="USD", created_at=placed,
        channel_updated_at=placed, **extra)


@pytest.fixture
def orders(org):
    """A storefront order per state and orders from two channels, like the demo after a few minutes."""
    stock(org, A=50, B=50)
    storefront = [order_in(org, state, email=f"buyer{n}@example.com")
                  for n, state in enumerate(["new", "processing", "shipped"])]
    OrderTag.objects.create(order=storefront[0], name="vip")
    shopify = Channel.objects.create(org=org, channel_id="shopify-main", provider="shopify", config={})
    amazon = Channel.objects.create(org=org, channel_id="amazon-us", provider="amazon", config={})
    remote = [
        channel_order(shopify, 1001, name="Grace Hopper", sku="MUG-COBOL", minutes_ago=5),
        channel_order(shopify, 1002, name="Alan Turing", sku="TEE-ENIGMA", status="shipped", minutes_ago=15,
                      tracking_number="1Z999AA10123456784", carrier="UPS"),
        channel_order(amazon, 1003, name="Ada Lovelace", sku="MUG-COBOL", status="processing", minutes_ago=25),
    ]
    # As in the demo: the longest channel name and a channel's tags in the last column.
    woo = Channel.objects.create(org=org, channel_id="demo-woocommerce", provider="woocommerce", config={})
    remote.append(channel_order(woo, 5131, name="Maria Garcia", sku="SOCK-3PK", minutes_ago=35,
                                channel_metadata={"tags": "repeat, wholesale"}))
    Writeback.objects.create(org=org, channel=shopify, order=remote[1], target_status="shipped", status="failed",
                             last_error="422 Unprocessable Entity")
    return {"storefront": storefront, "channel": remote, "shopify": shopify, "amazon": amazon}


def test_find_orders_by_customer_and_sku_and_export_the_filtered_list(logged_in, shoot, orders):
    page = logged_in
    page.goto("/admin/")
    expect(page.locator("#backoffice-orders")).to_be_visible()
    shoot(page, "admin-index")

    page.get_by_label("Search orders").fill("Grace Hopper")
    page.get_by_role("button", name="Find orders").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("#1001")
    expect(rows.first).to_contain_text("shopify-main")

    page.fill("#searchbar", "MUG-COBOL")
    page.locator("#searchbar").press("Enter")
    expect(rows).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("Ada Lovelace")
    expect(page.locator("#result_list")).to_contain_text("Grace Hopper")

    page.goto(LIST)
    expect(rows).to_have_count(7)
    shoot(page, "admin-order-list")
    # Readable at 1280 px: the list fits the window without a sideways scroll.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # ... nor inside it: the list's own box scrolled sideways and hid the tags column behind the filters.
    fit = page.evaluate("() => ({table: document.querySelector('#result_list').scrollWidth,"
                        " box: document.querySelector('#changelist .results').clientWidth})")
    assert fit["table"] <= fit["box"], fit

    page.locator("#changelist-filter").get_by_role("link", name="amazon-us (amazon)").click()
    expect(page).to_have_url(re.compile(rf"channel={orders['amazon'].pk}"))
    expect(rows).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export this list (CSV)").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    exported = list(csv.DictReader(io.StringIO(text)))
    assert [(row["number"], row["channel number"], row["customer"]) for row in exported] == [
        (orders["channel"][2].public_id, "#1003", "Ada Lovelace")]


def test_mark_shipped_with_tracking_per_order(logged_in, shoot, orders):
    page = logged_in
    processing = orders["storefront"][1]
    remote = orders["channel"][2]  # amazon, processing
    page.goto(f"{LIST}?status=processing")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    page.locator("#action-toggle").check()
    page.select_option("select[name=action]", "ship_orders")
    page.locator(".actions button[type=submit]").click()

    expect(page.locator("h1")).to_have_text("Mark orders shipped")
    # Amazon's accepted carriers are offered for the Amazon order (the status service checks the same list).
    assert "USPS" in page.locator(f"#carriers-c-{remote.pk} option").evaluate_all("els => els.map(e => e.value)")
    page.get_by_label(f"Carrier for {processing.order_number}").fill("ups")
    page.get_by_label(f"Tracking number for {processing.order_number}").fill("1Z999AA10123456784")
    page.get_by_label(f"Carrier for {remote.public_id}").fill("USPS")
    page.get_by_label(f"Tracking number for {remote.public_id}").fill("9400111899223197428490")
    shoot(page, "admin-order-list-ship")
    page.get_by_role("button", name="Mark shipped").click()

    expect(page.locator(".messagelist")).to_contain_text("Shipped 2 order(s)")
    processing.refresh_from_db()
    remote.refresh_from_db()
    assert processing.status == "shipped"
    assert (remote.status, remote.tracking_number) == ("shipped", "9400111899223197428490")


def test_each_row_opens_its_own_order_page(logged_in, shoot, orders):
    page = logged_in
    remote, storefront = orders["channel"][0], orders["storefront"][0]
    page.goto(LIST)
    page.locator("#result_list").get_by_role("link", name="#1001").click()
    expect(page).to_have_url(re.compile(rf"/admin/channels_sync/aggregatedorder/{remote.pk}/change/$"))
    expect(page.locator("#content")).to_contain_text(remote.public_id)
    shoot(page, "admin-channel-order")

    page.goto(LIST)
    page.locator("#result_list").get_by_role("link", name=storefront.order_number).click()
    expect(page).to_have_url(re.compile(rf"/admin/orders/order/{storefront.pk}/change/$"))
    expect(page.locator("#content")).to_contain_text(storefront.order_number)
    shoot(page, "admin-storefront-order")
