"""Benchmark (not a test): the back office's one order list (admin) at 1,000,000 orders.

Rows: 900,000 channel orders (bench/reads.py's generator: 5 channels, 6 statuses, 100 SKUs) and 100,000
storefront orders (10,000 customers, one line each, every 4th shipped with a tracking number), one org, kept
between runs (`--regenerate` rebuilds them). Times the admin changelist through the whole Django stack
(session login, the view, filters, search, the page's annotations, template) in-process, and in the same run
the baseline: one page of the aggregated-orders API list (`GET /sales-channel/orders?pageSize=50`). Prints
each case's p50/p95 and its p95 as a ratio of the baseline's p95 (the ratio survives a busy machine, absolute
times do not); the target is a ratio of at most 3 (the admin renders 50 rows of HTML with a dozen columns,
filters and actions where the API serializes JSON). docs/performance.md has the last run.

    DATABASE_URL=postgres://... .venv/bin/python bench/order_list.py [--orders 1000000] [--requests 100]
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

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from accounts.models import Membership, Org  # noqa: E402
from accounts.services import user_admin_access_sync  # noqa: E402
from bench.reads import STATUSES, generate, percentile  # noqa: E402
from channels_sync.models import AggregatedOrder, Channel  # noqa: E402
from orders.models import Order  # noqa: E402

LIST = "/admin/backoffice/orderlistrow/"
TARGET_RATIO = 3.0


def generate_storefront(org: Org, total: int) -> None:
    Order.objects.filter(org=org).delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM orders_customer WHERE org_id = %s", [org.pk])
        cursor.execute(
            """INSERT INTO orders_customer (sk, email, name, created_at, org_id)
               SELECT 'cus_bench_' || g, 'shopper' || g || '@example.com', 'Shopper ' || g, now(), %(org)s
               FROM generate_series(1, %(customers)s) AS g""", {"org": org.pk, "customers": max(1, total // 10)})
        cursor.execute(
            """INSERT INTO orders_order (order_number, status, prior_status, currency, subtotal, shipping_total,
                   tax_total, grand_total, captured_total, refunded_total, shipping_address, billing_address,
                   customer_note, internal_notes, hold_reason, cancel_reason, is_test, source, metadata, created_at,
                   updated_at, shipped_at, customer_id, org_id, customer_name, idempotency_body_hash)
               SELECT 'BEN-' || lpad(g::text, 7, '0'),
                      CASE WHEN g %% 4 = 0 THEN 'shipped' WHEN g %% 4 = 1 THEN 'processing' ELSE 'new' END, '',
                      'USD', 30, 0, 0, 30, 30, 0, '{}'::jsonb, '{}'::jsonb, '', '', '', '', false, 'storefront',
                      '{}'::jsonb, now() - (g * 9 || ' minutes')::interval, now(),
                      CASE WHEN g %% 4 = 0 THEN now() END,
                      (SELECT id FROM orders_customer WHERE sk = 'cus_bench_' || (1 + g %% %(customers)s)),
                      %(org)s, 'Shopper ' || (1 + g %% %(customers)s), ''
               FROM generate_series(1, %(total)s) AS g""",
            {"org": org.pk, "total": total, "customers": max(1, total // 10)})
        cursor.execute(
            """INSERT INTO orders_orderline (sku, name, quantity, unit_price, quantity_shipped, quantity_refunded,
                   order_id)
               SELECT 'SF-' || (id %% 100), 'Item', 3, 10, CASE WHEN status = 'shipped' THEN 3 ELSE 0 END, 0, id
               FROM orders_order WHERE org_id = %(org)s""", {"org": org.pk})
        cursor.execute(
            """INSERT INTO tracking_shipment (carrier, tracking_number, service, cost, currency, status, ship_date,
                   created_at, order_id, org_id, provider, provider_ref, public_tracking_url, raw_status)
               SELECT 'ups', '1ZBENCH' || id, '', 0, 'USD', 'in_transit', now(), now(), id, org_id, '', '', '', ''
               FROM orders_order WHERE org_id = %(org)s AND status = 'shipped'""", {"org": org.pk})
        for table in ("orders_order", "orders_customer", "orders_orderline", "tracking_shipment"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def measure(label: str, client, urls, count: int, baseline: float | None = None) -> float:
    for url in urls(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    samples = []
    for url in urls(count):
        started = time.perf_counter()
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    p95 = percentile(samples, 95)
    ratio = f"{p95 / baseline:5.1f}x baseline" if baseline else "  (baseline)"
    verdict = "OK" if baseline is None or p95 <= TARGET_RATIO * baseline else "ABOVE TARGET"
    print(f"{label:<46} p50 {statistics.median(samples):6.1f} ms  p95 {p95:6.1f} ms  {ratio}  {verdict}")
    return p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/order_list.py needs DATABASE_URL pointing at PostgreSQL")
    storefront_total = args.orders // 10
    channel_total = args.orders - storefront_total
    org, _ = Org.objects.get_or_create(slug="bench-order-list", defaults={"name": "Order list benchmark"})
    if args.regenerate or AggregatedOrder.objects.filter(org=org).count() != channel_total:
        print(f"generating {channel_total} channel orders ...")
        generate(org, channel_total)
    if args.regenerate or Order.objects.filter(org=org).count() != storefront_total:
        print(f"generating {storefront_total} storefront orders ...")
        generate_storefront(org, storefront_total)
    print(f"{channel_total} channel + {storefront_total} storefront orders in org {org.slug}")

    user, _ = get_user_model().objects.get_or_create(username="bench-order-list")
    Membership.objects.get_or_create(user=user, org=org, defaults={"role": "manager"})
    user_admin_access_sync(user=user)
    admin = Client()
    admin.force_login(user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}", HTTP_ORGID=org.slug)
    rng = random.Random(11)
    channels = list(Channel.objects.filter(org=org).values_list("pk", "channel_id"))

    def n_channel():
        return rng.randint(1, channel_total)

    def n_store():
        return rng.randint(1, storefront_total)

    baseline = measure("baseline: API list, one page of 50", api,
                       lambda n: ["/sales-channel/orders?pageSize=50"] * n, args.requests)

    def case(label, make_params):
        measure(label, admin, lambda n: [f"{LIST}?{urlencode(make_params())}" for _ in range(n)], args.requests,
                baseline)

    case("admin list: first page, newest first", lambda: {})
    case("admin list: page 20", lambda: {"p": 20})
    case("admin list: channel filter", lambda: {"channel": rng.choice(channels)[0]})
    case("admin list: storefront only", lambda: {"channel": "storefront"})
    case("admin list: status filter", lambda: {"status": rng.choice(STATUSES + ["new"])})
    case("admin list: fulfilment=unfulfilled", lambda: {"fulfilment": "unfulfilled"})
    case("admin list: writeback failed", lambda: {"writeback": "failed"})
    case("admin list: placed date range", lambda: {"placed_from": "2000-01-01", "placed_to": "2100-01-01"})
    case("admin search: channel order number #n", lambda: {"q": f"#{n_channel()}"})
    case("admin search: our order number", lambda: {"q": f"BEN-{n_store():07d}"})
    case("admin search: customer email", lambda: {"q": f"buyer{n_channel()}@example.com"})
    case("admin search: customer name", lambda: {"q": f"Buyer {n_channel()}"})
    case("admin search: SKU (9,000 orders each)", lambda: {"q": f"SKU-{rng.randint(0, 99)}"})
    case("admin search: storefront SKU (1,000 each)", lambda: {"q": f"SF-{rng.randint(0, 99)}"})
    case("admin search: tracking number", lambda: {"q": f"1ZBENCH{rng.choice(shipped_ids)}"}) if (
        shipped_ids := list(Order.objects.filter(org=org, status="shipped").values_list("id", flat=True)[:5000])
    ) else None
    case("admin search + status filter", lambda: {"q": f"SKU-{rng.randint(0, 99)}", "status": "shipped"})


if __name__ == "__main__":
    main()
