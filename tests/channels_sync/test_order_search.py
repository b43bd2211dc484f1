"""Issue 18, API consumers: the aggregated order's top-level fields, `q`, `ordering` and the lookup by the
number a customer quotes."""

import pytest

from channels_sync.models import AggregatedOrder, Writeback
from channels_sync.services import ingest
from tests.api import error_code
from tests.channels_sync.fake_provider import raw_order

BASE = "/sales-channel"


def _order(order_id, **overrides):
    raw = raw_order(order_id, **{k: v for k, v in overrides.items() if k in {"created", "status", "total",
                                                                               "currency", "tracking", "updated"}})
    for key in ("email", "name"):
        if key in overrides:
            raw[key] = overrides[key]
    if "sku" in overrides:
        raw["lines"][0]["sku"] = overrides["sku"]
    return raw


@pytest.fixture
def shop_orders(org, channel, make_channel):
    ingest(channel=channel, raw_orders=[
        _order(1201, created="2026-01-01T09:00:00Z", total="30.00", name="Jane Doe", email="Jane.Doe@Example.com",
               sku="MUG-RED", updated="2026-01-05T10:00:00Z"),
        _order(1202, created="2026-01-02T09:00:00Z", total="10.00", name="Omar Khan", sku="TEE-L",
               updated="2026-01-03T10:00:00Z"),
        _order(1203, created="2026-01-03T09:00:00Z", total="20.00", name="Jane Smith", sku="TEE-L",
               updated="2026-01-04T10:00:00Z"),
    ])
    amazon = make_channel(org, "amazon-us", shop="amazon.fake.example")
    ingest(channel=amazon, raw_orders=[_order("112-0000001-1201", created="2026-01-04T09:00:00Z", total="5.00",
                                              name="Li Wei", sku="CAP", updated="2026-01-06T10:00:00Z")])
    eu = make_channel(org, "shop-eu", shop="eu.fake.example")
    ingest(channel=eu, raw_orders=[_order(1201, created="2026-01-05T09:00:00Z", total="7.00", name="Zoe Eu",
                                          sku="CAP", updated="2026-01-02T10:00:00Z")])
    return {(o.channel.channel_id, o.channel_order_id): o for o in AggregatedOrder.objects.select_related("channel")}


def _ids(response):
    assert response.status_code == 200, response.content
    return [(o["channel"], o["channelOrderId"]) for o in response.json()["results"]]


def test_channel_fields_are_top_level_and_channel_metadata_keeps_copies(owner, shop_orders):
    order = shop_orders[("shop-main", "1201")]
    AggregatedOrder.objects.filter(pk=order.pk).update(carrier="ups", tracking_number="1Z999")
    body = owner.client.get(f"{BASE}/orders/{order.public_id}").json()
    assert body["channelOrderNumber"] == "#1201" and body["rawStatus"] == "paid"
    assert body["carrier"] == "ups" and body["trackingNumber"] == "1Z999"
    assert body["channelUpdatedAt"] == "2026-01-05T10:00:00Z"
    assert body["writeback"] is None
    # Clients written before issue 18 read these from channelMetadata: still there.
    assert body["channelMetadata"]["rawStatus"] == "paid" and body["channelMetadata"]["channelOrderNumber"] == "#1201"
    assert body["channelMetadata"]["gift"] is True


def test_latest_writeback_state_is_on_the_order_in_list_and_detail(owner, org, shop_orders):
    from datetime import timedelta

    from django.utils import timezone

    order = shop_orders[("shop-main", "1202")]
    now = timezone.now()
    Writeback.objects.create(org=org, channel=order.channel, order=order, target_status="processing",
                             status="succeeded", created_at=now - timedelta(hours=2), finished_at=now)
    Writeback.objects.create(org=org, channel=order.channel, order=order, target_status="shipped",
                             tracking_number="1Z1", carrier="ups", status="queued", attempts=2,
                             next_attempt_at=now + timedelta(minutes=5), last_error="HTTP 503 from the channel",
                             created_at=now)
    listed = {o["orderId"]: o for o in owner.client.get(f"{BASE}/orders").json()["results"]}
    state = listed[order.public_id]["writeback"]
    assert state["targetStatus"] == "shipped" and state["status"] == "queued" and state["attempts"] == 2
    assert state["lastError"] == "HTTP 503 from the channel" and state["nextAttemptAt"] is not None
    assert state["trackingNumber"] == "1Z1" and state["carrier"] == "ups"
    assert listed[shop_orders[("shop-main", "1201")].public_id]["writeback"] is None
    detail = owner.client.get(f"{BASE}/orders/{order.public_id}").json()
    assert detail["writeback"] == state


@pytest.mark.parametrize("q, expected", [
    ("#1202", [("shop-main", "1202")]),                      # the number as the customer quotes it
    ("1202", [("shop-main", "1202")]),
    ("jane.doe@example.COM", [("shop-main", "1201")]),       # email: exact, any case
    ("jane", [("shop-main", "1203"), ("shop-main", "1201")]),  # part of the name
    ("TEE-L", [("shop-main", "1203"), ("shop-main", "1202")]),  # exact SKU
    ("112-0000001-1201", [("amazon-us", "112-0000001-1201")]),  # the channel's own order id
    ("nobody", []),
])
def test_q_searches_number_email_name_and_sku(owner, shop_orders, q, expected):
    assert _ids(owner.client.get(f"{BASE}/orders", {"q": q})) == expected
    assert owner.client.get(f"{BASE}/orders", {"q": q}).json()["total"] == len(expected)


def test_q_combines_with_filters(owner, shop_orders):
    assert _ids(owner.client.get(f"{BASE}/orders", {"q": "CAP", "channel": "shop-eu"})) == [("shop-eu", "1201")]


@pytest.mark.parametrize("ordering, expected", [
    ("grandTotal", ["112-0000001-1201", "1201@shop-eu", "1202", "1203", "1201"]),
    ("-grandTotal", ["1201", "1203", "1202", "1201@shop-eu", "112-0000001-1201"]),
    ("createdAt", ["1201", "1202", "1203", "112-0000001-1201", "1201@shop-eu"]),
    ("-channelUpdatedAt", ["112-0000001-1201", "1201", "1203", "1202", "1201@shop-eu"]),
])
def test_ordering(owner, shop_orders, ordering, expected):
    got = [f"{cid}@shop-eu" if channel == "shop-eu" else cid
           for channel, cid in _ids(owner.client.get(f"{BASE}/orders", {"ordering": ordering}))]
    assert got == expected


@pytest.mark.parametrize("params", [{"ordering": "customerName"}, {"ordering": "created_at"},
                                    {"q": "x" * 201}])
def test_unknown_ordering_or_huge_q_is_400(owner, shop_orders, params):
    response = owner.client.get(f"{BASE}/orders", params)
    assert response.status_code == 400 and set(params) <= set(response.json()["error"]["details"])


@pytest.mark.parametrize("number", ["#1202", "1202", " # 1202 ", "#1202\n"])
def test_lookup_by_quoted_number(owner, shop_orders, number):
    response = owner.client.get(f"{BASE}/orders/lookup", {"number": number})
    assert response.status_code == 200, response.content
    assert [o["orderId"] for o in response.json()["results"]] == [shop_orders[("shop-main", "1202")].public_id]


def test_lookup_amazon_order_id_and_several_channels(owner, shop_orders):
    amazon = owner.client.get(f"{BASE}/orders/lookup", {"number": "112-0000001-1201"}).json()["results"]
    assert [o["channel"] for o in amazon] == ["amazon-us"]
    both = owner.client.get(f"{BASE}/orders/lookup", {"number": "#1201"}).json()["results"]
    assert [o["channel"] for o in both] == ["shop-eu", "shop-main"]  # newest first
    narrowed = owner.client.get(f"{BASE}/orders/lookup", {"number": "#1201", "channel": "shop-main"}).json()
    assert [o["channel"] for o in narrowed["results"]] == ["shop-main"]


def test_lookup_none_is_404_and_number_is_required(owner, shop_orders):
    missing = owner.client.get(f"{BASE}/orders/lookup", {"number": "#9999"})
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    partial = owner.client.get(f"{BASE}/orders/lookup", {"number": "120"})  # exact, not a prefix
    assert partial.status_code == 404
    assert owner.client.get(f"{BASE}/orders/lookup").status_code == 400


def test_search_and_lookup_never_cross_orgs(other_owner, shop_orders):
    assert other_owner.client.get(f"{BASE}/orders/lookup", {"number": "#1201"}).status_code == 404
    assert _ids(other_owner.client.get(f"{BASE}/orders", {"q": "jane"})) == []


@pytest.mark.parametrize("ordering", ["-createdAt", "grandTotal", "-grandTotal", "createdAt", "-channelUpdatedAt"])
def test_search_pages_follow_the_ordering(owner, shop_orders, ordering):
    everything = _ids(owner.client.get(f"{BASE}/orders", {"ordering": ordering}))
    expected = [key for key in everything if key in {("shop-main", "1201"), ("shop-eu", "1201")}]
    pages = [owner.client.get(f"{BASE}/orders", {"q": "1201", "ordering": ordering, "pageSize": 1, "page": n})
             for n in (1, 2)]
    assert [_ids(page) for page in pages] == [[expected[0]], [expected[1]]]
    assert all(page.json()["total"] == 2 and page.json()["totalIsCapped"] is False for page in pages)


def test_search_total_is_capped_and_says_so(owner, shop_orders, monkeypatch):
    monkeypatch.setattr("channels_sync.selectors.SEARCH_COUNT_CAP", 2)
    broad = owner.client.get(f"{BASE}/orders", {"q": "Jane"}).json()  # two matches: at the cap, exact
    assert broad["total"] == 2 and broad["totalIsCapped"] is False
    monkeypatch.setattr("channels_sync.selectors.SEARCH_COUNT_CAP", 1)
    capped = owner.client.get(f"{BASE}/orders", {"q": "Jane"})
    assert capped.json()["total"] == 1 and capped.json()["totalIsCapped"] is True
    # The page is the newest match, not an arbitrary one; pages stop at the cap.
    assert _ids(capped) == [("shop-main", "1203")]
    unsearched = owner.client.get(f"{BASE}/orders").json()
    assert unsearched["total"] == 5 and unsearched["totalIsCapped"] is False


def test_name_search_needs_three_characters_but_identifiers_do_not(owner, shop_orders):
    assert _ids(owner.client.get(f"{BASE}/orders", {"q": "Ja"})) == []  # would read every order: no trigram
    assert _ids(owner.client.get(f"{BASE}/orders", {"q": "Jan"})) == [("shop-main", "1203"), ("shop-main", "1201")]
    assert _ids(owner.client.get(f"{BASE}/orders", {"q": "Li"})) == []
    amazon = shop_orders[("amazon-us", "112-0000001-1201")].channel
    ingest(channel=amazon, raw_orders=[_order("112-0000001-1201", created="2026-01-04T09:00:00Z", total="5.00",
                                              name="Li Wei", sku="B1", updated="2026-01-07T10:00:00Z")])
    assert _ids(owner.client.get(f"{BASE}/orders", {"q": "B1"})) == [("amazon-us", "112-0000001-1201")]


def test_sku_search_follows_changed_lines_and_status(owner, shop_orders):
    """The SKU rows are replaced with the order's lines and follow its status (the status PUT)."""
    amazon = shop_orders[("amazon-us", "112-0000001-1201")].channel
    assert _ids(owner.client.get(f"{BASE}/orders", {"q": "CAP"})) == [("shop-eu", "1201"), ("amazon-us",
                                                                                         "112-0000001-1201")]
    ingest(channel=amazon, raw_orders=[_order("112-0000001-1201", created="2026-01-04T09:00:00Z", total="5.00",
                                              name="Li Wei", sku="TEE-L", updated="2026-01-07T10:00:00Z")])
    assert _ids(owner.client.get(f"{BASE}/orders", {"q": "CAP"})) == [("shop-eu", "1201")]
    tee = owner.client.get(f"{BASE}/orders", {"q": "TEE-L"})
    assert tee.json()["total"] == 3 and tee.json()["totalIsCapped"] is False
    assert _ids(tee) == [
        ("amazon-us", "112-0000001-1201"), ("shop-main", "1203"), ("shop-main", "1202")]
    order = shop_orders[("shop-main", "1203")]
    response = owner.client.put(f"{BASE}/orders/{order.public_id}/status", {"status": "cancelled"}, format="json")
    assert response.status_code == 200, response.content
    assert _ids(owner.client.get(f"{BASE}/orders", {"q": "TEE-L", "status": "cancelled"})) == [("shop-main", "1203")]
    assert ("shop-main", "1203") not in _ids(owner.client.get(f"{BASE}/orders", {"q": "TEE-L", "status": "pending"}))


@pytest.mark.parametrize("ordering", ["-createdAt", "createdAt"])
def test_sku_pages_past_the_cap_are_newest_first_and_exact(owner, shop_orders, monkeypatch, ordering):
    """A SKU on more orders than the cap: total says capped, and every page up to the cap is in order."""
    monkeypatch.setattr("channels_sync.selectors.SEARCH_COUNT_CAP", 2)
    amazon = shop_orders[("amazon-us", "112-0000001-1201")].channel
    ingest(channel=amazon, raw_orders=[_order("112-0000001-1201", created="2026-01-04T09:00:00Z", total="5.00",
                                              name="Li Wei", sku="TEE-L", updated="2026-01-07T10:00:00Z")])
    everything = [key for key in _ids(owner.client.get(f"{BASE}/orders", {"ordering": ordering}))
                  if key in {("amazon-us", "112-0000001-1201"), ("shop-main", "1203"), ("shop-main", "1202")}]
    pages = [owner.client.get(f"{BASE}/orders", {"q": "TEE-L", "ordering": ordering, "pageSize": 1, "page": n})
             for n in (1, 2)]
    assert [_ids(page) for page in pages] == [everything[:1], everything[1:2]]
    assert all(page.json()["total"] == 2 and page.json()["totalIsCapped"] is True for page in pages)


def test_orders_stored_before_the_sku_table_are_found_after_the_backfill(owner, shop_orders):
    """Migration 0019 fills OrderSku from the stored lines (PostgreSQL in SQL, SQLite in Python)."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    from channels_sync.models import OrderSku

    rows = sorted(OrderSku.objects.values_list("org_id", "order_id", "sku", "created_at", "status"))
    OrderSku.objects.all().delete()
    AggregatedOrder.objects.filter(pk=shop_orders[("shop-main", "1201")].pk).update(
        lines=[{"sku": "MUG-RED"}, {"sku": "MUG-RED"}, {"sku": ""}, {"quantity": 1}, "odd"])
    import_module("channels_sync.migrations.0019_order_sku_search").backfill(apps, SimpleNamespace(
        connection=connection))
    assert sorted(OrderSku.objects.values_list("org_id", "order_id", "sku", "created_at", "status")) == rows
    tee = owner.client.get(f"{BASE}/orders", {"q": "TEE-L"})
    assert _ids(tee) == [("shop-main", "1203"), ("shop-main", "1202")] and tee.json()["total"] == 2
