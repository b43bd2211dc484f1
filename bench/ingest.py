"""Benchmark (not a test): 10,000 Shopify-shaped orders through `ingest()` on PostgreSQL.

Reports orders/s for a first pass (all created), a second pass with newer versions (all updated)
and a third with the same versions (all unchanged), and compares the first pass with a floor:
the same rows, already normalized, written by one `INSERT ... ON CONFLICT` per batch straight
through psycopg (no normalization, no summary, no locks). Targets: >= 2,000 orders/s, ratio >= 1/3.

    DATABASE_URL=postgres://... .venv/bin/python bench/ingest.py [--orders 10000] [--batch 500]
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import Org  # noqa: E402
from channels_sync.models import Channel  # noqa: E402
from channels_sync.providers.shopify import Provider as Shopify  # noqa: E402
from channels_sync.services.ingest import (  # noqa: E402
    _pg_upsert_sql,
    ingest,
    order_row,
    pg_upsert_params,
    serialize_row,
)

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "shopify" / "order.json"
STATUSES = [("paid", None), ("paid", "fulfilled"), ("pending", None), ("refunded", None), ("paid", "partial")]


def shopify_orders(count: int, *, start_id: int, updated: datetime) -> list[dict]:
    """Orders shaped like Shopify's Admin REST order (the fixture), each with its own ids, money and times."""
    template = json.loads(FIXTURE.read_text())["order"]
    orders = []
    for n in range(count):
        order = copy.deepcopy(template)
        order_id = start_id + n
        financial, fulfillment = STATUSES[n % len(STATUSES)]
        order.update(id=order_id, name=f"#{1000 + n}", order_number=1000 + n, financial_status=financial,
                     fulfillment_status=fulfillment,
                     created_at=(updated - timedelta(minutes=n)).isoformat(),
                     updated_at=updated.isoformat(), total_price=f"{10 + n % 500}.{n % 100:02d}",
                     currency="USD" if n % 3 else "EUR", email=f"buyer{n}@example.com")
        for index, line in enumerate(order.get("line_items", [])):
            line["id"] = order_id * 10 + index
        orders.append(order)
    return orders


def channel_for(org, name: str) -> Channel:
    Channel.objects.filter(org=org, channel_id=name).delete()
    return Channel.objects.create(org=org, channel_id=name, provider="shopify", enabled=False,
                                  config={"shopDomain": f"{name}.myshopify.com", "accessToken": "x"})


def timed(label: str, count: int, fn) -> float:
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    rate = count / seconds
    print(f"{label:<44} {seconds:7.2f} s  {rate:8.0f} orders/s  {result if result is not None else ''}")
    return rate


def floor_write(channel: Channel, raws: list[dict], batch: int):
    """The floor: rows already normalized and serialized, one INSERT ... ON CONFLICT per batch through
    psycopg on its own connection (ingest's statement and parameters, without its lock, read or summary)."""
    now = datetime.now(UTC)
    rows = [serialize_row(order_row(channel=channel, data=Shopify.normalize(raw), raw=raw, now=now)) for raw in raws]
    sql = _pg_upsert_sql()
    dsn = settings.DATABASES["default"]
    conninfo = f"host={dsn['HOST']} port={dsn['PORT'] or 5432} dbname={dsn['NAME']} user={dsn['USER']}"
    if dsn.get("PASSWORD"):
        conninfo += f" password={dsn['PASSWORD']}"

    def run():
        with psycopg.connect(conninfo) as conn:
            for start in range(0, len(rows), batch):
                chunk = rows[start:start + batch]
                with conn.transaction():
                    conn.execute(sql, pg_upsert_params(chunk), prepare=False)
        return None

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/ingest.py needs DATABASE_URL pointing at PostgreSQL")
    org, _ = Org.objects.get_or_create(slug="bench-ingest", defaults={"name": "Ingest benchmark"})
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    first = shopify_orders(args.orders, start_id=10_000_000, updated=t0)
    newer = shopify_orders(args.orders, start_id=10_000_000, updated=t0 + timedelta(hours=1))
    # The inputs (20,000 orders of ~500 objects each) are the bench's, not ingest's: out of the cyclic GC's
    # reach, or every collection during the timed runs walks them all. A poll or a drain holds one page.
    gc.collect()
    gc.freeze()
    print(f"{args.orders} Shopify-shaped orders (~{len(json.dumps(first[0])) // 1024} KiB raw each), "
          f"batches of {args.batch}, PostgreSQL {connection.pg_version}")

    channel = channel_for(org, "bench-ingest")

    def counts(result):
        return f"created {result.created} updated {result.updated} unchanged {result.unchanged} failed {result.failed}"

    rate_create = timed("ingest(): first pass (all created)", args.orders,
                        lambda: counts(ingest(channel=channel, raw_orders=iter(first), batch_size=args.batch)))
    timed("ingest(): newer versions (all updated)", args.orders,
          lambda: counts(ingest(channel=channel, raw_orders=iter(newer), batch_size=args.batch)))
    timed("ingest(): same versions again (unchanged)", args.orders,
          lambda: counts(ingest(channel=channel, raw_orders=iter(newer), batch_size=args.batch)))

    floor_channel = channel_for(org, "bench-floor")
    rate_floor = timed("floor: pre-normalized, 1 INSERT/batch (psycopg)", args.orders,
                       floor_write(floor_channel, first, args.batch))
    ratio = rate_create / rate_floor
    print(f"\ningest {rate_create:.0f} orders/s (target >= 2000): {'OK' if rate_create >= 2000 else 'BELOW TARGET'}")
    print(f"ratio to floor {ratio:.2f} (target >= 0.33): {'OK' if ratio >= 1 / 3 else 'BELOW TARGET'}")
    Channel.objects.filter(org=org).delete()


if __name__ == "__main__":
    main()
