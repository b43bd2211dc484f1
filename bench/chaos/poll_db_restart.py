"""Fault: the database restarts in the middle of a channel poll.

A private PostgreSQL cluster (initdb in /tmp, port --pg-port) holds the app's database, so restarting it disturbs
nobody. The channel simulator's Shopify serves the channel's orders slowly, page by page. A first poll sets the
cursor; then the channel gets --orders new and changed orders and a Celery worker polls again; after
--restart-after-pages pages the script restarts PostgreSQL (fast shutdown: every connection is cut; down --down
seconds). While it is down the channel changes a few more orders. Checks: the interrupted poll ends as a failed
SyncRun with the error, the cursor has not moved, the lease is free; the next poll catches up: every order the
channel has is stored once, at the channel's version, nothing missing, none inserted twice, the summary in step,
the cursor advanced.

    .venv/bin/python bench/chaos/poll_db_restart.py [--orders 1500 --page-size 50 --page-delay 0.3]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.chaos import harness
from bench.chaos.harness import log
from simulator.server import SimulatorServer
from simulator.shopify import ACCESS_TOKEN
from simulator.shopify import Simulator as ShopifySimulator

SHOP = "chaos-poll.myshopify.com"
ORDER_ID_BASE = 5_200_000_000



class PageCounter:
    """Counts the order pages the simulated channel served."""

    def __init__(self, shop: ShopifySimulator):
        self.shop = shop

    def pages(self) -> int:
        with self.shop.lock:
            log = list(self.shop.requests)
        return sum(1 for entry in log if entry.path.endswith("/orders.json") and entry.status == 200)


def wait_run(channel_pk: int, after_pk: int, timeout: float):
    """The first poll SyncRun of the channel newer than `after_pk` that is no longer running; None on timeout."""
    from django.db import connection

    from channels_sync.models import Outcome, SyncRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            run = SyncRun.objects.filter(channel_id=channel_pk, pk__gt=after_pk, kind=SyncRun.Kind.POLL).first()
            if run is not None and run.status not in (Outcome.RUNNING, Outcome.QUEUED):
                return run
        except Exception:  # our own connection was cut by the restart too
            connection.close()
        time.sleep(0.5)
    return None


def last_run_pk(channel_pk: int) -> int:
    from channels_sync.models import SyncRun

    return SyncRun.objects.filter(channel_id=channel_pk).order_by("-pk").values_list("pk", flat=True).first() or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1500, help="new and changed orders the interrupted poll reads")
    parser.add_argument("--initial", type=int, default=200, help="orders the first poll stores")
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--page-delay", type=float, default=0.3, help="seconds the channel takes per page")
    parser.add_argument("--restart-after-pages", type=int, default=24)
    parser.add_argument("--down", type=float, default=3.0, help="seconds PostgreSQL stays down")
    parser.add_argument("--pg-port", type=int, default=5499)
    parser.add_argument("--redis-port", type=int, default=6393)
    parser.add_argument("--port", type=int, default=8796)
    parser.add_argument("--database", default="chaos_poll")
    parser.add_argument("--keep", action="store_true", help="leave the private cluster running afterwards")
    args = parser.parse_args(argv)

    checks = harness.Checks()
    checks.figure(f"machine: {harness.machine()}; started {datetime.now(UTC).isoformat(timespec='seconds')}")
    pg = harness.PrivatePostgres(args.pg_port)
    redis = harness.RedisServer(args.redis_port)
    harness.configure(database_url=pg.url(args.database), redis_url=redis.url)
    worker = harness.CeleryWorker(1, "poll")
    server = SimulatorServer(port=args.port, order_count=0, names=["shopify"],
                             simulator_options={"page_limit": args.page_size, "page_delay": args.page_delay})
    shop = server.simulators["shopify"]
    try:
        pg.init().start()
        redis.start()
        log(f"private PostgreSQL on {args.pg_port}, Redis on {args.redis_port}; migrating")
        harness.recreate_database(f"postgres://postgres@127.0.0.1:{args.pg_port}", args.database)
        harness.django_setup()
        from django.db import connection
        from django.utils import timezone

        from accounts.models import Org
        from channels_sync.models import AggregatedOrder, Channel, OrderSummary, Outcome
        from channels_sync.tasks import poll_channel

        with connection.cursor() as cursor:
            cursor.execute(harness.ORDER_AUDIT_SQL)
        server.start()
        start = timezone.now() - timedelta(days=2)
        for i in range(args.initial):
            shop.put_order(ORDER_ID_BASE + i, updated_at=start + timedelta(seconds=i), note="v1")
        org = Org.objects.create(slug="chaos-poll", name="Poll under a DB restart")
        channel = Channel.objects.create(
            org=org, channel_id="slow-shop", provider="shopify", enabled=True, webhook_secret="x",
            config={"shopDomain": SHOP, "accessToken": ACCESS_TOKEN, "baseUrl": shop.base_url},
            poll_interval_minutes=10_000)
        worker.start()

        # 1. A clean poll sets the cursor.
        before = last_run_pk(channel.pk)
        poll_channel.delay(channel.pk)
        first = wait_run(channel.pk, before, 120)
        channel.refresh_from_db()
        checks.check(first is not None and first.status == Outcome.SUCCEEDED and first.created == args.initial,
                     f"first poll: {first.status if first else 'none'}, {first.created if first else 0} created; "
                     f"cursor {channel.cursor:%H:%M:%S}")
        cursor_before = channel.cursor

        # 2. The channel gets new and changed orders after the cursor; a poll starts and the DB restarts mid-way.
        changed = list(range(0, args.initial, 4))           # a quarter of the stored orders change
        new_ids = range(args.initial, args.initial + args.orders - len(changed))
        step = timedelta(seconds=1) / max(1, args.orders)   # every version after the cursor, none in the future
        for n, i in enumerate([*changed, *new_ids]):
            shop.put_order(ORDER_ID_BASE + i, updated_at=cursor_before + timedelta(milliseconds=1) + step * n,
                           note="v2")
        pages_before = PageCounter(shop).pages()
        before = last_run_pk(channel.pk)
        poll_channel.delay(channel.pk)
        counter = PageCounter(shop)
        deadline = time.monotonic() + 120
        while counter.pages() - pages_before < args.restart_after_pages and time.monotonic() < deadline:
            time.sleep(0.05)
        connection.close()
        written_before = _count_stored(pg, args.database)
        restart_started = time.monotonic()
        pg.stop("fast")
        log(f"PostgreSQL stopped after page {counter.pages() - pages_before} of the poll "
            f"({written_before} orders stored at that moment)")
        # While the database is down the channel keeps changing: two more orders, one of them new.
        late_at = datetime.now(UTC) - timedelta(milliseconds=500)
        shop.put_order(ORDER_ID_BASE + 1, updated_at=late_at, note="v3")
        shop.put_order(ORDER_ID_BASE + 999_999, updated_at=late_at, note="v1")
        time.sleep(args.down)
        pg.start()
        log(f"PostgreSQL back after {time.monotonic() - restart_started:.1f} s")
        checks.figure(f"PostgreSQL restarted (pg_ctl stop -m fast, {args.down:.0f} s down, start) after "
                      f"{args.restart_after_pages} of {-(-args.orders // args.page_size)} pages "
                      f"({args.page_size} orders, {args.page_delay:.1f} s each); {written_before} of the orders were "
                      "stored at that moment")
        interrupted = wait_run(channel.pk, before, 180)
        channel = Channel.objects.get(pk=channel.pk)
        ok = interrupted is not None and interrupted.status == Outcome.FAILED and bool(interrupted.error)
        checks.check(ok, "the interrupted poll is a failed SyncRun with its error: "
                         + (f"{interrupted.status}, error {interrupted.error[:160]!r}, counts fetched "
                            f"{interrupted.fetched} created {interrupted.created}" if interrupted
                            else "still running after 180 s"))
        checks.check(channel.cursor == cursor_before,
                     f"cursor did not advance: {channel.cursor:%H:%M:%S.%f} (before {cursor_before:%H:%M:%S.%f})")
        lease_free = channel.poll_lease_until is None or channel.poll_lease_until < timezone.now()
        checks.check(lease_free, f"poll lease free after the failure (until {channel.poll_lease_until})")

        # 3. The next poll catches up.
        before = last_run_pk(channel.pk)
        caught_up_started = time.monotonic()
        poll_channel.delay(channel.pk)
        catch_up = wait_run(channel.pk, before, 300)
        channel.refresh_from_db()
        checks.check(catch_up is not None and catch_up.status == Outcome.SUCCEEDED,
                     "the next poll succeeds: " + (f"fetched {catch_up.fetched}, created {catch_up.created}, updated "
                                                   f"{catch_up.updated}, unchanged {catch_up.unchanged} in "
                                                   f"{time.monotonic() - caught_up_started:.0f} s"
                                                   if catch_up else "no run finished"))
        stored = {o.channel_order_id: o for o in AggregatedOrder.objects.filter(channel=channel).only(
            "channel_order_id", "channel_updated_at", "raw")}
        with shop.lock:
            expected = dict(shop.orders)
        missing = sorted(set(expected) - set(stored))
        extra = sorted(set(stored) - set(expected))
        stale = [cid for cid, order in expected.items() if cid in stored
                 and stored[cid].channel_updated_at != datetime.fromisoformat(order["updated_at"])]
        checks.check(not missing and not extra and not stale,
                     f"no gap: {len(stored)} stored of {len(expected)} at the channel; missing {len(missing)}, "
                     f"unknown {len(extra)}, at an older version {len(stale)}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(DISTINCT channel_order_id) FROM chaos_order_audit "
                           "WHERE op = 'INSERT'")
            inserts, distinct = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM (SELECT channel_order_id, channel_updated_at FROM chaos_order_audit "
                           "GROUP BY 1, 2 HAVING count(*) > 1) twice")
            repeated = cursor.fetchone()[0]
        checks.check(inserts == distinct == len(expected) and repeated == 0,
                     f"no duplicate: {inserts} inserts for {distinct} orders, {repeated} versions written twice")
        summary = sum(OrderSummary.objects.filter(channel=channel).values_list("order_count", flat=True))
        checks.check(summary == len(expected), f"stats summary in step: {summary} orders counted")
        checks.check(channel.cursor is not None and catch_up is not None and channel.cursor == catch_up.window_to,
                     f"cursor advanced to the catch-up poll's end ({channel.cursor:%H:%M:%S})")
    finally:
        worker.stop()
        server.stop()
        redis.stop()
        if not args.keep:
            pg.destroy()
    return checks.report("database restart during a poll")


def _count_stored(pg: harness.PrivatePostgres, database: str) -> int:
    import psycopg

    with psycopg.connect(pg.url(database)) as conn:
        return conn.execute("SELECT count(*) FROM channels_sync_aggregatedorder").fetchone()[0]


if __name__ == "__main__":
    sys.exit(main())
