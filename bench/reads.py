"""Benchmark (not a test): the orders list and the stats summary at 1,000,000 aggregated orders.

Generates the rows with SQL (generate_series) for one org spread over 5 channels, 6 statuses and
2 currencies (kept between runs; `--regenerate` rebuilds them), then times requests through the
full Django/DRF stack (JWT, orgid, permission, serializer) in-process:
  - GET /sales-channel/orders?channel=..&status=..  (one page of 50, random channel/status)
  - GET /sales-channel/orders/stats/summary
  - the list's search (issue 18): `q` as an order number, an email, part of a name, a SKU (each SKU is on
    10,000 orders: the broad case), and `ordering` by grandTotal / channelUpdatedAt with a status filter
  - GET /sales-channel/orders/lookup?number=%23<n>
Targets: p95 < 50 ms for the list (every filter), < 20 ms for the summary.

    DATABASE_URL=postgres://... .venv/bin/python bench/reads.py [--orders 1000000] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from accounts.models import Membership, Org  # noqa: E402
from channels_sync.models import AggregatedOrder, Channel  # noqa: E402
from channels_sync.services.summary import summary_rebuild  # noqa: E402

CHANNELS = ["shopify-main", "woo-eu", "amazon-us", "ebay-us", "tiktok-us"]
PROVIDERS = ["shopify", "woocommerce", "amazon", "ebay", "tiktok"]
STATUSES = ["pending", "processing", "shipped", "delivered", "cancelled", "refunded"]


def generate(org: Org, total: int) -> None:
    AggregatedOrder.objects.filter(org=org).delete()
    channels = []
    for name, provider in zip(CHANNELS, PROVIDERS, strict=True):
        channel, _ = Channel.objects.get_or_create(org=org, channel_id=name,
                                                   defaults={"provider": provider, "config": {}})
        channels.append(channel.pk)
    started = time.perf_counter()
    per_statement = 200_000
    with connection.cursor() as cursor:
        for offset in range(0, total, per_statement):
            cursor.execute(
                """
                INSERT INTO channels_sync_aggregatedorder (
                    public_id, org_id, channel_id, channel_order_id, channel_order_number, status, raw_status,
                    customer_email, customer_name, shipping_address, lines, subtotal, discount, tax, shipping,
                    grand_total, currency, created_at, channel_updated_at, tracking_number, carrier, channel_metadata,
                    data, raw, ingested_at, updated_at)
                SELECT 'agg_' || left(md5(g::text || 'bench'), 20), %(org)s, (%(channels)s::bigint[])[1 + g %% 5],
                       'B' || g, '#' || g, (%(statuses)s::text[])[1 + (g / 7) %% 6], 'raw',
                       'buyer' || g || '@example.com', 'Buyer ' || g,
                       '{"city": "Berlin", "country": "DE"}'::jsonb,
                       jsonb_build_array(jsonb_build_object('sku', 'SKU-' || g %% 100, 'channelSku', 'V' || g %% 100,
                                                            'quantity', 1 + g %% 3, 'unitPrice', '19.99')),
                       19.99, 0, 1.00, 4.95, 25.94 + (g %% 50),
                       CASE WHEN g %% 4 = 0 THEN 'EUR' ELSE 'USD' END,
                       now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval,
                       '', '', '{}'::jsonb, '{}'::jsonb, '{}'::json, now(), now()
                FROM generate_series(%(start)s, %(stop)s) AS g
                """,
                {"org": org.pk, "channels": channels, "statuses": STATUSES, "start": offset + 1,
                 "stop": min(offset + per_statement, total)},
            )
            print(f"  {min(offset + per_statement, total):>9} rows ({time.perf_counter() - started:.0f} s)")
        # The SKU search rows (channels_sync.OrderSku) that ingest keeps: one line, so one SKU, per order.
        cursor.execute(
            "INSERT INTO channels_sync_ordersku (org_id, order_id, created_at, status, sku) "
            "SELECT org_id, id, created_at, status, lines -> 0 ->> 'sku' FROM channels_sync_aggregatedorder "
            "WHERE org_id = %s", [org.pk])
    summary_rebuild(org_id=org.pk)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE channels_sync_aggregatedorder")
        cursor.execute("VACUUM ANALYZE channels_sync_ordersku")
        cursor.execute("VACUUM ANALYZE channels_sync_ordersummary")


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def measure(label: str, client: APIClient, urls, count: int, target_ms: float) -> None:
    for url in urls(5):  # warm caches and connections
        assert client.get(url).status_code == 200
    samples = []
    for url in urls(count):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
    p95 = percentile(samples, 95)
    print(f"{label:<52} p50 {statistics.median(samples):6.1f} ms  p95 {p95:6.1f} ms  max {max(samples):6.1f} ms  "
          f"target p95 < {target_ms:.0f} ms: {'OK' if p95 < target_ms else 'ABOVE TARGET'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/reads.py needs DATABASE_URL pointing at PostgreSQL")
    org, _ = Org.objects.get_or_create(slug="bench-reads", defaults={"name": "Reads benchmark"})
    existing = AggregatedOrder.objects.filter(org=org).count()
    if args.regenerate or existing != args.orders:
        print(f"generating {args.orders} aggregated orders ...")
        generate(org, args.orders)
    print(f"{AggregatedOrder.objects.filter(org=org).count()} aggregated orders in org {org.slug}; "
          f"{AggregatedOrder.objects.count()} in the table")

    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-reads")
    Membership.objects.get_or_create(user=user, org=org, defaults={"role": "viewer"})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}", HTTP_ORGID=org.slug)
    rng = random.Random(7)

    def list_urls(n):
        return [f"/sales-channel/orders?channel={rng.choice(CHANNELS)}&status={rng.choice(STATUSES)}&pageSize=50"
                for _ in range(n)]

    def summary_urls(n):
        return ["/sales-channel/orders/stats/summary"] * n

    measure("list: channel + status filter, one page of 50", client, list_urls, args.requests, 50)
    measure("stats summary", client, summary_urls, args.requests, 20)

    def order_no():
        return rng.randint(1, args.orders)

    def search(label, make_q, extra=""):
        measure(label, client,
                lambda n: [f"/sales-channel/orders?{urlencode({'q': make_q()})}&pageSize=50{extra}" for _ in range(n)],
                args.requests, 50)

    search("list q: order number as quoted (#n)", lambda: f"#{order_no()}")
    search("list q: customer email (exact)", lambda: f"buyer{order_no()}@example.com")
    search("list q: part of the customer name", lambda: f"Buyer {order_no()}")
    search("list q: SKU (10,000 orders each)", lambda: f"SKU-{rng.randint(0, 99)}")
    search("list q: SKU + status filter", lambda: f"SKU-{rng.randint(0, 99)}", f"&status={rng.choice(STATUSES)}")
    for ordering in ("grandTotal", "-grandTotal", "-channelUpdatedAt", "createdAt"):
        measure(f"list ordering={ordering} + status filter", client,
                lambda n, o=ordering: [f"/sales-channel/orders?ordering={o}&status={rng.choice(STATUSES)}"
                                       "&pageSize=50" for _ in range(n)], args.requests, 50)
    measure("lookup ?number=%23n", client,
            lambda n: [f"/sales-channel/orders/lookup?number=%23{order_no()}" for _ in range(n)], args.requests, 50)


if __name__ == "__main__":
    main()
