"""The channel normalizers are pure: importing one loads no Django, and they run on the published payloads
(tests/fixtures/<channel>/, read here with json and pathlib) with no database and no Django settings.

Each provider package keeps its normalizer in `normalize.py` (channels_sync/providers/__init__.py); the
per-channel test modules keep what needs HTTP, the cache or the database.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import channels_sync.providers.amazon.normalize as amazon
import channels_sync.providers.ebay.normalize as ebay
import channels_sync.providers.shopify.normalize as shopify
import channels_sync.providers.tiktok.normalize as tiktok
import channels_sync.providers.walmart.normalize as walmart
import channels_sync.providers.woocommerce.normalize as woocommerce
from channels_sync.normalized import AggregatedOrderData, CommonStatus

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures"
NORMALIZERS = {"shopify": shopify, "woocommerce": woocommerce, "amazon": amazon, "ebay": ebay, "tiktok": tiktok,
               "walmart": walmart}


def fixture(channel: str, name: str):
    return json.loads((FIXTURES / channel / name).read_text())


def _amazon_orders() -> list[dict]:
    with_items = {**fixture("amazon", "get_order_response.json")["payload"],
                  "OrderItems": fixture("amazon", "get_order_items_response.json")["payload"]["OrderItems"]}
    listed = [order for name in ("get_orders_response.json", "get_orders_response_2.json",
                                 "get_orders_response_3.json", "get_orders_response_spec_example.json")
              for order in fixture("amazon", name)["payload"]["Orders"]]
    return [with_items, fixture("amazon", "get_order_response_2.json")["payload"], *listed]


def _shopify_orders() -> list[dict]:
    orders = []
    for path in sorted((FIXTURES / "shopify").glob("*.json")):
        data = json.loads(path.read_text())
        if "orders" in data:
            orders.extend(data["orders"])
        elif "order" in data and "line_items" in data["order"]:
            orders.append(data["order"])
        elif "line_items" in data and "id" in data:  # a webhook body: the bare order
            orders.append(data)
    return orders


def _woocommerce_orders() -> list[dict]:
    orders = list(fixture("woocommerce", "orders.json"))
    for path in sorted((FIXTURES / "woocommerce").glob("order_*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and {"id", "line_items", "billing"} <= data.keys():  # not a refund or request
            orders.append(data)
    return [fixture("woocommerce", "order.json"), *orders]


# channel -> (the raw orders of its published payloads, the raw field that is the channel order id)
PUBLISHED = {
    "shopify": (_shopify_orders, "id"),
    "woocommerce": (_woocommerce_orders, "id"),
    "amazon": (_amazon_orders, "AmazonOrderId"),
    "ebay": (lambda: [*fixture("ebay", "get_orders_response.json")["orders"],
                      fixture("ebay", "get_order_response.json")], "orderId"),
    "tiktok": (lambda: [order for name in ("get_order_detail_response.json", "get_order_detail_202507_response.json",
                                           "search_orders_response.json")
                        for order in fixture("tiktok", name)["data"]["orders"]], "id"),
    "walmart": (lambda: [*fixture("walmart", "get_orders_response.json")["list"]["elements"]["order"],
                         fixture("walmart", "get_order_response.json")["order"]], "purchaseOrderId"),
}


def published_orders(channel: str) -> list[dict]:
    load, _ = PUBLISHED[channel]
    return load()


# --- no Django on the import path ------------------------------------------------------------------------
@pytest.mark.parametrize("channel", sorted(NORMALIZERS))
def test_importing_a_normalizer_imports_no_django(channel):
    code = (f"import channels_sync.providers.{channel}.normalize, sys; "
            "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), "
            "sorted(m for m in sys.modules if m.startswith('django'))[:5]")
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_every_published_order_normalizes_in_a_process_without_django():
    """The sweep below, run where Django is never imported and no settings module is named."""
    code = ("import sys\n"
            "from tests.channels_sync.providers.test_normalizers_pure import NORMALIZERS, published_orders\n"
            "count = sum(1 for channel, module in NORMALIZERS.items() for raw in published_orders(channel)\n"
            "            if module.normalize(raw))\n"
            "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules)\n"
            "print(count)\n")
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == sum(len(published_orders(channel)) for channel in NORMALIZERS)


# --- every published order --------------------------------------------------------------------------------
@pytest.mark.parametrize("channel", sorted(NORMALIZERS))
def test_every_published_order_normalizes_to_the_common_shape(channel):
    orders = published_orders(channel)
    _, id_field = PUBLISHED[channel]
    assert orders, f"no published {channel} orders found in tests/fixtures/{channel}"
    for raw in orders:
        data = NORMALIZERS[channel].normalize(copy.deepcopy(raw))
        assert isinstance(data, AggregatedOrderData)
        assert data.channel_order_id == str(raw[id_field])
        assert isinstance(data.status, CommonStatus) and data.raw_status
        assert data.created_at.tzinfo is not None and data.created_at.utcoffset() == UTC.utcoffset(None)
        for amount in (data.subtotal, data.tax, data.shipping, data.grand_total):
            assert isinstance(amount, Decimal)
        for line in data.lines:
            assert isinstance(line.quantity, int) and isinstance(line.unit_price, Decimal)


@pytest.mark.parametrize("channel", sorted(NORMALIZERS))
def test_normalizing_does_not_change_the_raw_order(channel):
    for raw in published_orders(channel):
        before = copy.deepcopy(raw)
        NORMALIZERS[channel].normalize(raw)
        assert raw == before


# --- status maps (moved here from the per-channel modules) ------------------------------------------------
@pytest.mark.parametrize(("financial", "fulfillment", "cancelled", "shipment", "expected"), [
    ("pending", None, None, None, CommonStatus.PENDING),
    ("authorized", None, None, None, CommonStatus.PENDING),
    ("partially_paid", None, None, None, CommonStatus.PENDING),
    ("paid", None, None, None, CommonStatus.PROCESSING),
    ("paid", "partial", None, None, CommonStatus.PROCESSING),
    ("paid", "fulfilled", None, "in_transit", CommonStatus.SHIPPED),
    ("paid", "fulfilled", None, "delivered", CommonStatus.DELIVERED),
    ("authorized", "fulfilled", None, None, CommonStatus.SHIPPED),
    ("voided", None, "2024-01-01T00:00:00Z", None, CommonStatus.CANCELLED),
    ("paid", None, "2024-01-01T00:00:00Z", None, CommonStatus.CANCELLED),
    ("refunded", None, "2024-01-01T00:00:00Z", None, CommonStatus.REFUNDED),
    ("refunded", "fulfilled", None, "delivered", CommonStatus.REFUNDED),
    ("partially_refunded", "fulfilled", None, None, CommonStatus.SHIPPED),
])
def test_shopify_status_map(financial, fulfillment, cancelled, shipment, expected):
    raw = fixture("shopify", "order_fulfilled.json")["order"]
    raw.update(financial_status=financial, fulfillment_status=fulfillment, cancelled_at=cancelled)
    raw["fulfillments"][0]["shipment_status"] = shipment
    assert shopify.normalize(raw).status == expected


@pytest.mark.parametrize(("status", "expected"), [
    ("pending", CommonStatus.PENDING), ("on-hold", CommonStatus.PENDING), ("checkout-draft", CommonStatus.PENDING),
    ("processing", CommonStatus.PROCESSING), ("completed", CommonStatus.SHIPPED),
    ("cancelled", CommonStatus.CANCELLED), ("failed", CommonStatus.CANCELLED), ("trash", CommonStatus.CANCELLED),
    ("refunded", CommonStatus.REFUNDED), ("some-plugin-status", CommonStatus.PENDING),
])
def test_woocommerce_status_map_keeps_the_raw_status(status, expected):
    raw = fixture("woocommerce", "order.json")
    raw["status"] = status
    order = woocommerce.normalize(raw)
    assert (order.status, order.raw_status) == (expected, status)


@pytest.mark.parametrize(("raw_status", "common"), [
    ("Pending", CommonStatus.PENDING), ("PendingAvailability", CommonStatus.PENDING),
    ("Unshipped", CommonStatus.PROCESSING), ("PartiallyShipped", CommonStatus.PROCESSING),
    ("Shipped", CommonStatus.SHIPPED), ("InvoiceUnconfirmed", CommonStatus.SHIPPED),
    ("Canceled", CommonStatus.CANCELLED), ("Unfulfillable", CommonStatus.CANCELLED),
])
def test_every_documented_amazon_order_status_maps_and_the_raw_one_is_kept(raw_status, common):
    order = _amazon_orders()[0]
    order["OrderStatus"] = raw_status
    data = amazon.normalize(order)
    assert data.status == common
    assert data.raw_status == raw_status


@pytest.mark.parametrize(("fulfillment", "payment", "cancel", "common"), [
    ("NOT_STARTED", "PENDING", "NONE_REQUESTED", CommonStatus.PENDING),
    ("NOT_STARTED", "FAILED", "NONE_REQUESTED", CommonStatus.PENDING),
    ("NOT_STARTED", "PAID", "NONE_REQUESTED", CommonStatus.PROCESSING),
    ("NOT_STARTED", "PAID", "IN_PROGRESS", CommonStatus.PROCESSING),    # a cancel request is not a cancel
    ("IN_PROGRESS", "PAID", "NONE_REQUESTED", CommonStatus.PROCESSING),
    ("FULFILLED", "PAID", "NONE_REQUESTED", CommonStatus.SHIPPED),
    ("FULFILLED", "PARTIALLY_REFUNDED", "NONE_REQUESTED", CommonStatus.SHIPPED),
    ("FULFILLED", "FULLY_REFUNDED", "NONE_REQUESTED", CommonStatus.REFUNDED),
    ("NOT_STARTED", "PAID", "CANCELED", CommonStatus.CANCELLED),
])
def test_ebay_status_from_fulfillment_payment_and_cancel_state(fulfillment, payment, cancel, common):
    order = fixture("ebay", "get_orders_response.json")["orders"][0]
    order.update(orderFulfillmentStatus=fulfillment, orderPaymentStatus=payment, cancelStatus={"cancelState": cancel})
    data = ebay.normalize(order)
    assert data.status == common
    assert data.raw_status == f"{fulfillment}/{payment}/{cancel}"


@pytest.mark.parametrize("raw,common", [
    ("UNPAID", "pending"), ("ON_HOLD", "pending"), ("AWAITING_SHIPMENT", "processing"),
    ("PARTIALLY_SHIPPING", "processing"), ("AWAITING_COLLECTION", "shipped"), ("IN_TRANSIT", "shipped"),
    ("DELIVERED", "delivered"), ("COMPLETED", "delivered"), ("CANCELLED", "cancelled"), ("CANCEL", "cancelled"),
])
def test_every_tiktok_status_maps_and_the_raw_one_is_kept(raw, common):
    order = {**fixture("tiktok", "get_order_detail_response.json")["data"]["orders"][0], "status": raw}
    data = tiktok.normalize(order)
    assert data.status == CommonStatus(common)
    assert data.raw_status == raw


@given(st.lists(st.sampled_from(list(CommonStatus)), min_size=1, max_size=6))
def test_walmart_derived_status_rules_hold_for_any_mix_of_line_states(states):
    derived = walmart.derive_status(states)
    live = [state for state in states if state != CommonStatus.CANCELLED]
    assert (derived == CommonStatus.CANCELLED) == (not live)
    if live and len(set(live)) == 1:
        assert derived == live[0]                      # lines that agree give their status
    if CommonStatus.PROCESSING in live or (CommonStatus.PENDING in live and len(set(live)) > 1):
        assert derived == CommonStatus.PROCESSING      # work is under way but not all shipped
    if derived in (CommonStatus.SHIPPED, CommonStatus.DELIVERED):
        assert not {CommonStatus.PENDING, CommonStatus.PROCESSING} & set(live)


def test_walmart_orders_needing_acknowledgement_are_those_with_a_created_line():
    orders = fixture("walmart", "get_orders_response.json")["list"]["elements"]["order"]
    for raw in orders:
        created = any(status.get("status") == "Created" for line in walmart.order_lines(raw)
                      for status in walmart.line_statuses(line))
        assert walmart.needs_acknowledgement(raw) == created


# --- the README's worked examples of the one money model ---------------------------------------------------------
def _walmart_line_total(order: dict) -> Decimal:
    """Walmart has no order total: its own figure is the sum of every line's charges and their tax."""
    return sum((Decimal(str(charge["chargeAmount"]["amount"])) + Decimal(str((charge.get("tax") or {}).get(
        "taxAmount", {}).get("amount", 0))) for line in order["orderLines"]["orderLine"]
        for charge in line["charges"]["charge"]), Decimal("0"))


# channel -> (raw order, the channel's own total read from the raw order, README's subtotal/discount/shipping/tax/
# grandTotal). README.md "One money model" shows exactly these numbers; change both together.
MONEY_EXAMPLES = {
    "amazon": (lambda: fixture("amazon", "get_order_2026_response_spec_example.json")["order"],
               lambda o: o["proceeds"]["grandTotal"]["amount"], ("89.97", "0.00", "10.00", "4.00", "103.97")),
    "shopify": (lambda: fixture("shopify", "order.json")["order"], lambda o: o["current_total_price"],
                ("199.00", "3.33", "0.00", "3.98", "199.65")),
    "ebay": (lambda: fixture("ebay", "get_orders_response.json")["orders"][3],
             lambda o: o["pricingSummary"]["total"]["value"], ("54.00", "5.40", "3.99", "0.00", "52.59")),
    "walmart": (lambda: fixture("walmart", "get_order_response.json")["order"], _walmart_line_total,
                ("5.00", "0.00", "0.00", "0.34", "5.34")),
    "tiktok": (lambda: fixture("tiktok", "get_order_detail_response.json")["data"]["orders"][0],
               lambda o: o["payment"]["total_amount"], ("5000", "0", "5000", "5000", "5000")),
    "woocommerce": (lambda: fixture("woocommerce", "order.json"), lambda o: o["total"],
                    ("18.00", "0.00", "10.00", "1.35", "29.35")),
}


@pytest.mark.parametrize("channel", sorted(MONEY_EXAMPLES))
def test_readme_money_example_is_what_the_normalizer_gives_and_grand_total_is_the_channels_own(channel):
    load, channel_total, expected = MONEY_EXAMPLES[channel]
    raw = load()
    data = NORMALIZERS[channel].normalize(copy.deepcopy(raw))
    got = (data.subtotal, data.discount, data.shipping, data.tax, data.grand_total)
    assert got == tuple(Decimal(value) for value in expected)
    assert data.grand_total == Decimal(str(channel_total(raw)))
    if channel != "tiktok":   # TikTok's published sample uses the placeholder 5000 for every amount
        assert data.subtotal - data.discount + data.shipping + data.tax == data.grand_total


def test_the_readme_shows_the_tested_money_examples():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## One money model"):]
    for channel, (_, _, expected) in MONEY_EXAMPLES.items():
        row = next((line for line in section.splitlines() if line.startswith(f"| {channel} |")), None)
        assert row is not None, f"README has no money example row for {channel}"
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert tuple(cells[-5:]) == expected, (channel, cells)
