from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from channels_sync.models import AggregatedOrder, OrderSummary
from channels_sync.services import ingest
from channels_sync.services.summary import summary_rebuild
from tests.channels_sync.fake_provider import raw_order


def summary_rows(org):
    return {(s.channel_id, s.status, s.currency): (s.order_count, s.grand_total)
            for s in OrderSummary.objects.filter(org=org) if s.order_count}


def recount(org):
    return {(r["channel_id"], r["status"], r["currency"]): (r["n"], r["total"])
            for r in AggregatedOrder.objects.filter(org=org).values("channel_id", "status", "currency")
            .annotate(n=Count("id"), total=Sum("grand_total")).order_by()}


@pytest.mark.postgres
def test_created_updated_unchanged_and_older_updates_skipped(org, channel):
    first = ingest(channel=channel, raw_orders=[raw_order(1), raw_order(2), raw_order(3)])
    assert (first.created, first.updated, first.unchanged, first.failed) == (3, 0, 0, 0)

    newer = raw_order(1, updated="2026-01-02T10:00:00Z", status="fulfilled", tracking="1Z999")
    older = raw_order(2, updated="2025-12-31T10:00:00Z", status="cancelled")
    same = raw_order(3)
    second = ingest(channel=channel, raw_orders=[newer, older, same, raw_order(4)])
    assert (second.created, second.updated, second.unchanged) == (1, 1, 2)

    one = AggregatedOrder.objects.get(channel=channel, channel_order_id="1")
    assert one.status == "shipped" and one.raw_status == "fulfilled" and one.tracking_number == "1Z999"
    assert AggregatedOrder.objects.get(channel=channel, channel_order_id="2").status == "processing"
    assert one.public_id.startswith("agg_")
    assert summary_rows(org) == recount(org)


@pytest.mark.postgres
def test_out_of_order_deliveries_keep_the_newest(org, channel):
    versions = [raw_order(9, updated=f"2026-01-0{day}T10:00:00Z", total=f"{day}0.00") for day in (3, 1, 2, 5, 4)]
    results = [ingest(channel=channel, raw_orders=[v]) for v in versions]
    assert [(r.created, r.updated, r.unchanged) for r in results] == [
        (1, 0, 0), (0, 0, 1), (0, 0, 1), (0, 1, 0), (0, 0, 1)]
    order = AggregatedOrder.objects.get(channel=channel, channel_order_id="9")
    assert order.grand_total == Decimal("50.00")
    assert summary_rows(org) == {(channel.pk, "processing", "USD"): (1, Decimal("50.00"))}


@pytest.mark.postgres
def test_public_id_and_local_data_survive_an_update(org, channel):
    ingest(channel=channel, raw_orders=[raw_order(1)])
    order = AggregatedOrder.objects.get(channel=channel)
    AggregatedOrder.objects.filter(pk=order.pk).update(data={"localOrderId": "ORD-1"}, carrier="ups")
    ingest(channel=channel, raw_orders=[raw_order(1, updated="2026-02-01T00:00:00Z")])
    order2 = AggregatedOrder.objects.get(channel=channel)
    assert (order2.public_id, order2.data, order2.carrier) == (order.public_id, {"localOrderId": "ORD-1"}, "ups")


@pytest.mark.postgres
def test_nul_characters_in_channel_text_do_not_sink_the_batch(org, channel):
    """PostgreSQL's text and jsonb refuse NUL: the order is stored with U+FFFD in its place, raw kept as sent,
    and a literal backslash-u0000 (no NUL at all) stays exactly as it was."""
    with_nul = raw_order(1)
    with_nul["name"] = "Ann\x00Buyer"
    with_nul["lines"][0]["sku"] = "SKU\x00-1"
    lookalike = raw_order(2)
    lookalike["name"] = "back\\u0000slash"
    result = ingest(channel=channel, raw_orders=[with_nul, lookalike, raw_order(3)])
    assert (result.created, result.failed) == (3, 0)
    stored = AggregatedOrder.objects.get(channel=channel, channel_order_id="1")
    assert stored.customer_name == "Ann\ufffdBuyer" and stored.lines[0]["sku"] == "SKU\ufffd-1"
    assert stored.raw["name"] == "Ann\x00Buyer"
    assert AggregatedOrder.objects.get(channel=channel, channel_order_id="2").customer_name == "back\\u0000slash"


def test_bad_order_counts_as_failed_and_the_rest_is_written(org, channel):
    broken = raw_order(2)
    del broken["currency"]
    result = ingest(channel=channel, raw_orders=[raw_order(1), broken, raw_order(3)])
    assert (result.created, result.failed) == (2, 1)
    assert "KeyError" in result.errors[0]
    assert set(AggregatedOrder.objects.values_list("channel_order_id", flat=True)) == {"1", "3"}


def test_same_order_twice_in_a_batch_keeps_the_newer(org, channel):
    result = ingest(channel=channel, raw_orders=[raw_order(1, updated="2026-01-05T00:00:00Z", status="fulfilled"),
                                                 raw_order(1, updated="2026-01-04T00:00:00Z")])
    assert (result.created, result.unchanged) == (1, 1)
    assert AggregatedOrder.objects.get().status == "shipped"


def test_batches_and_summary_match_a_recount(org, channel, make_channel):
    other = make_channel(org, "shop-eu", shop="eu.fake.example")
    ingest(channel=channel, raw_orders=[raw_order(i, total=f"{i}.25") for i in range(1, 8)], batch_size=3)
    ingest(channel=other, raw_orders=[raw_order(i, currency="EUR", status="open") for i in range(1, 4)])
    ingest(channel=channel, raw_orders=[raw_order(i, updated="2026-03-01T00:00:00Z", status="cancelled",
                                                  currency="EUR") for i in (2, 5)], batch_size=1)
    expected = recount(org)
    assert summary_rows(org) == expected
    assert expected[(channel.pk, "cancelled", "EUR")] == (2, Decimal("20.00"))
    summary_rebuild(org_id=org.pk)
    assert summary_rows(org) == expected
