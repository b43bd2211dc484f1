"""Fault: writebacks while the channel answers 500 for five minutes, then 429 with Retry-After, then recovers.

The channel simulator's Shopify (simulator/shopify.py: Shopify's 40-call / 2-per-second leaky bucket, outages on
demand, every request logged) serves the writeback endpoints; a Shopify channel points at it. The script queues one
`shipped` status change with tracking per order through the status service (what PUT
/sales-channel/orders/:id/status calls), and a Celery worker (-c 2) with beat runs them against the outage. When
every writeback is finished it checks: each landed at the channel exactly once with its tracking number; every
attempt is a WritebackAttempt row whose time and response code match what the server saw (sync history); retries
waited at least the jittered backoff and never less than a Retry-After; and the channel's rate limit was never
exceeded (the server's own bucket never overflowed).

    .venv/bin/python bench/chaos/writeback_outage.py [--fail-seconds 300 --throttle-seconds 60 --writebacks 200]

Shared PostgreSQL with its own database (chaos_writeback), a private redis-server on --redis-port (6392).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.chaos import harness
from bench.chaos.harness import log
from simulator.server import SimulatorServer
from simulator.shopify import ACCESS_TOKEN
from simulator.shopify import Simulator as ShopifySimulator

SHOP = "chaos-writeback.myshopify.com"
ORDER_ID_BASE = 5_100_000_000


def setup(shop: ShopifySimulator, count: int):
    from django.utils import timezone

    from accounts.models import Org
    from channels_sync.models import AggregatedOrder, Channel
    from channels_sync.services.ingest import ingest

    org = Org.objects.create(slug="chaos-writeback", name="Writeback outage")
    channel = Channel.objects.create(
        org=org, channel_id="outage", provider="shopify", enabled=True, webhook_secret="x",
        config={"shopDomain": SHOP, "accessToken": ACCESS_TOKEN, "baseUrl": shop.base_url},
        poll_interval_minutes=10_000, last_polled_at=timezone.now())
    updated = datetime.now(UTC) - timedelta(days=1)
    raws = [shop.put_order(ORDER_ID_BASE + i, updated_at=updated) for i in range(count)]
    result = ingest(channel=channel, raw_orders=raws)
    assert result.created == count, result
    return org, channel, list(AggregatedOrder.objects.filter(channel=channel).order_by("channel_order_id"))


def wait_finished(org, shop: ShopifySimulator, timeout: float) -> tuple[bool, float, list[str]]:
    from channels_sync.models import Outcome, Writeback

    started, notes, last = time.monotonic(), [], -1e9
    while True:
        counts = Counter(Writeback.objects.filter(org=org).values_list("status", flat=True))
        elapsed = time.monotonic() - started
        pending = counts.get(Outcome.QUEUED, 0) + counts.get(Outcome.RUNNING, 0)
        if pending == 0:
            return True, elapsed, notes
        if elapsed - last >= 30:
            last = elapsed
            fault = shop.fault_now()
            note = (f"{elapsed:5.0f} s: {dict(counts)}; channel answering "
                    f"{fault[0] if fault else 'normally'}; {len(shop.requests)} requests so far")
            log(note)
            notes.append(note)
        if elapsed > timeout:
            return False, elapsed, notes
        time.sleep(2)


def verify(checks: harness.Checks, org, orders, shop: ShopifySimulator, base: float, tracking: dict[str, str]) -> None:
    from channels_sync.models import Outcome, Writeback, WritebackAttempt
    from channels_sync.selectors import sync_history

    writebacks = list(Writeback.objects.filter(org=org).select_related("order"))
    statuses = Counter(w.status for w in writebacks)
    checks.check(statuses.get(Outcome.SUCCEEDED, 0) == len(orders) == len(writebacks),
                 f"writebacks succeeded: {statuses.get(Outcome.SUCCEEDED, 0)}/{len(orders)} ({dict(statuses)})")
    with shop.lock:
        landed = {order_id: list(order["fulfillments"]) for order_id, order in shop.orders.items()}
    once = [cid for cid in tracking if len(landed.get(cid, [])) == 1]
    twice = [cid for cid in tracking if len(landed.get(cid, [])) > 1]
    wrong = [cid for cid in once if landed[cid][0]["tracking_number"] != tracking[cid]]
    checks.check(len(once) == len(tracking) and not twice and not wrong,
                 f"landed at the channel exactly once with their tracking: {len(once) - len(wrong)}/{len(tracking)} "
                 f"(more than once: {len(twice)}, never: {len(tracking) - len(once) - len(twice)}, wrong tracking: "
                 f"{len(wrong)})")

    attempts = list(WritebackAttempt.objects.filter(writeback__org=org).select_related("writeback__order")
                    .order_by("writeback_id", "number"))
    by_writeback: dict[int, list] = defaultdict(list)
    for attempt in attempts:
        by_writeback[attempt.writeback_id].append(attempt)
    numbering = sum(1 for w in writebacks
                    if [a.number for a in by_writeback[w.pk]] != list(range(1, w.attempts + 1)))
    checks.check(numbering == 0, f"one WritebackAttempt row per try, numbered 1..attempts: {len(attempts)} rows, "
                                 f"{numbering} writebacks with a gap or extra row")
    # Every request the channel saw lies inside an attempt of its order's writeback, and every attempt that got an
    # answer has its requests at the channel: the history's times are the real ones.
    requests_by_order: dict[str, list] = defaultdict(list)
    for entry in shop.requests:
        if entry.order_id:
            requests_by_order[entry.order_id].append(entry)
    slack = 0.5
    unexplained, unseen, code_mismatch = 0, 0, 0
    for w in writebacks:
        windows = [(a, a.started_at.timestamp() - slack, a.started_at.timestamp() + a.duration_ms / 1000 + slack)
                   for a in by_writeback[w.pk]]
        seen = requests_by_order[w.order.channel_order_id]
        for entry in seen:
            if not any(lo <= entry.at <= hi for _, lo, hi in windows):
                unexplained += 1
        for attempt, lo, hi in windows:
            inside = [e for e in seen if lo <= e.at <= hi]
            if attempt.response_code is not None and not inside:
                unseen += 1
            if inside and attempt.response_code is not None and inside[-1].status != attempt.response_code:
                code_mismatch += 1
    checks.check(unexplained == 0 and unseen == 0 and code_mismatch == 0,
                 f"sync history matches the channel: {sum(len(v) for v in requests_by_order.values())} requests, "
                 f"{unexplained} outside any recorded attempt, {unseen} attempts with a response code the channel "
                 f"never saw, {code_mismatch} response codes that differ")
    history, total = sync_history(org=org, kind="writeback", page_size=200)
    logged = sum(len(item["details"]["attemptLog"]) for item in history)
    checks.check(total == len(writebacks) and all(
        len(item["details"]["attemptLog"]) == item["details"]["attempts"] for item in history),
        f"GET /sales-channel/sync/history?kind=writeback: {total} writebacks, each with its attempt log "
        f"({logged} attempts on the first page of {len(history)})")

    # Backoff: the pause after try n is at least the jittered lower bound base * 2^(n-1) / 2, and never shorter
    # than the Retry-After the channel gave.
    too_soon, before_retry_after, pauses = 0, 0, []
    for w in writebacks:
        rows = by_writeback[w.pk]
        for previous, current in zip(rows, rows[1:], strict=False):
            pause = (current.started_at - previous.started_at).total_seconds() - previous.duration_ms / 1000
            pauses.append(pause)
            if pause < base * 2 ** (previous.number - 1) / 2 - 1:
                too_soon += 1
        last_429: dict[str, tuple[float, float]] = {}
        for entry in requests_by_order[w.order.channel_order_id]:
            if entry.order_id in last_429:
                at, retry_after = last_429.pop(entry.order_id)
                if entry.at < at + retry_after - 0.05:
                    before_retry_after += 1
            if entry.status == 429 and entry.retry_after:
                last_429[entry.order_id] = (entry.at, entry.retry_after)
    checks.check(too_soon == 0 and before_retry_after == 0,
                 f"backoff respected: {len(pauses)} retries, {too_soon} sooner than the jittered backoff, "
                 f"{before_retry_after} sooner than the channel's Retry-After")
    if pauses:
        checks.figure(f"pause between tries: min {min(pauses):.1f} s, median {harness.percentile(pauses, 50):.1f} s, "
                      f"max {max(pauses):.1f} s")
    tries = Counter(w.attempts for w in writebacks)
    checks.figure(f"tries per writeback: {dict(sorted(tries.items()))}; max_attempts {writebacks[0].max_attempts}")
    codes = Counter(a.response_code for a in attempts)
    checks.figure(f"attempt outcomes (response code: tries): {dict(sorted(codes.items(), key=str))}")

    # The channel's rate limit, as the channel measures it.
    per_second = Counter(int(entry.at) for entry in shop.requests)
    peak = max(per_second.values()) if per_second else 0
    span = (shop.requests[-1].at - shop.requests[0].at) if shop.requests else 0
    bucket = shop.rate_limiter
    checks.check(bucket.refused == 0 and bucket.max_level <= bucket.capacity,
                 f"rate limit never exceeded: the channel's bucket (40, leaking 2/s) peaked at {bucket.max_level:.1f}, "
                 f"{bucket.refused} requests over it")
    windows_60 = _max_in_window(sorted(entry.at for entry in shop.requests), 60)
    seen = len(shop.requests)
    checks.figure(f"requests at the channel: {seen} over {span:.0f} s; peak {peak} in one second; at most "
                  f"{windows_60} in any 60 s (Shopify allows 40 + 2 x 60 = 160); by answer: "
                  f"{dict(sorted(Counter(e.status for e in shop.requests).items()))}")
    ends = shop.faults_end_at()
    finished = max((w.finished_at for w in writebacks if w.finished_at), default=None)
    if ends and finished:
        checks.figure(f"last writeback landed {finished.timestamp() - ends:.0f} s after the channel recovered")


def _max_in_window(times: list[float], seconds: float) -> int:
    best, start = 0, 0
    for end, at in enumerate(times):
        while times[start] < at - seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writebacks", type=int, default=200)
    parser.add_argument("--fail-seconds", type=float, default=300, help="how long the channel answers 500")
    parser.add_argument("--throttle-seconds", type=float, default=60, help="then how long it answers 429")
    parser.add_argument("--retry-after", type=float, default=20, help="the Retry-After its 429s carry")
    parser.add_argument("--backoff", type=float, default=None,
                        help="CHANNEL_WRITEBACK_BACKOFF_SECONDS for the run (default: the app's)")
    parser.add_argument("--max-attempts", type=int, default=None,
                        help="CHANNEL_WRITEBACK_MAX_ATTEMPTS for the run (default: the app's)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--port", type=int, default=8795)
    parser.add_argument("--redis-port", type=int, default=6392)
    parser.add_argument("--database", default="chaos_writeback")
    parser.add_argument("--pg", default=harness.SHARED_PG)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)

    checks = harness.Checks()
    checks.figure(f"machine: {harness.machine()}; started {datetime.now(UTC).isoformat(timespec='seconds')}")
    redis = harness.RedisServer(args.redis_port)
    extra = {}
    if args.backoff is not None:
        extra["CHANNEL_WRITEBACK_BACKOFF_SECONDS"] = str(int(args.backoff))
    if args.max_attempts is not None:
        extra["CHANNEL_WRITEBACK_MAX_ATTEMPTS"] = str(args.max_attempts)
    harness.configure(database_url=f"{args.pg}/{args.database}", redis_url=redis.url, **extra)
    worker, beat = harness.CeleryWorker(2, "writeback"), harness.CeleryBeat("writeback")
    server = SimulatorServer(port=args.port, order_count=0, names=["shopify"])
    shop = server.simulators["shopify"]
    try:
        redis.start()
        log(f"private Redis on {args.redis_port}; migrating {args.database}")
        harness.recreate_database(args.pg, args.database)
        harness.django_setup()
        from django.conf import settings

        from channels_sync.services.writeback import order_status_update

        base = float(settings.CHANNEL_WRITEBACK_BACKOFF_SECONDS)
        server.start()
        org, channel, orders = setup(shop, args.writebacks)
        worker.start()
        beat.start()
        checks.figure(f"{args.writebacks} shipped writebacks; channel answers 500 for {args.fail_seconds:.0f} s, then "
                      f"429 (Retry-After {args.retry_after:.0f}) for {args.throttle_seconds:.0f} s, then recovers; "
                      f"backoff base {base:.0f} s, max attempts {settings.CHANNEL_WRITEBACK_MAX_ATTEMPTS}; "
                      "celery worker -c 2 and beat")
        shop.start_faults([(args.fail_seconds, 500, None), (args.throttle_seconds, 429, args.retry_after)])
        tracking = {}
        for i, order in enumerate(orders):
            number = f"1ZCHAOS{i:010d}"
            order_status_update(order=order, status="shipped", tracking_number=number, carrier="ups")
            tracking[order.channel_order_id] = number
        log(f"queued {len(orders)} writebacks; the channel is down")
        finished, seconds, notes = wait_finished(org, shop, args.timeout)
        for note in notes:
            checks.figure("progress: " + note)
        checks.check(finished, f"every writeback finished {seconds:.0f} s after queueing"
                               + ("" if finished else f" (gave up after {args.timeout:.0f} s)"))
        verify(checks, org, orders, shop, base, tracking)
    finally:
        for process in (beat, worker):
            process.stop()
        server.stop()
        redis.stop()
        if not args.keep_db:
            harness.drop_database(args.pg, args.database)
    return checks.report("writebacks through a channel outage")


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.exit(main())
