"""Fault: a webhook storm while the Celery worker is SIGKILLed twice and the broker's Redis restarts once.

10,000 signed Shopify `orders/*` deliveries (built from the published orders/create sample) for 3,000 distinct
orders: each order gets one create and a few `orders/updated` versions with increasing `updated_at`; 30% of the
deliveries are sent twice with the same X-Shopify-Webhook-Id; for 10% of the updates the version they supersede
is sent later. 32 client threads post them to the app under gunicorn -w 2 and, like Shopify, retry a delivery that
was not answered 200 within 5 s (same id, same body). Meanwhile a Celery worker (-c 2) drains the deliveries and
beat runs the minute sweep; the worker's process group is SIGKILLed twice and the private Redis (broker and cache)
is restarted once without persistence, so queued and unacknowledged messages are lost. By default: a kill at 40%
of the sends (a drain batch in flight rolls back), a kill at 97% with the worker kept down 15 s, and the Redis
restart right after the last answer while that worker is still down, so the last drain message is lost and only
beat's sweep (deliveries waiting over a minute) can recover the backlog. `--kill-at 0.4,1.0 --redis-restart-at 0.7
--worker-down 3` puts the Redis restart in the middle of the storm instead (the receivers then answer 200 without
a broker).

When the queue drains, it checks: exactly one aggregated order per order, each at its newest version; every
delivery stored once and processed (or failed with a retry scheduled); no delivery recorded as processed twice and
no order version applied twice or out of order (audit triggers installed in the run's own database).

    .venv/bin/python bench/chaos/storm.py [--deliveries 10000 --orders 3000 --clients 32]

Uses the shared PostgreSQL with its own database (chaos_storm, dropped at the end unless --keep-db) and a private
redis-server on --redis-port (default 6391). Nothing shared is restarted.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import http.client
import json
import random
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.chaos import harness
from bench.chaos.harness import log

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "shopify" / "webhook_orders_create.json"
SHOP = "chaos-storm.myshopify.com"
SECRET = "chaos-storm-webhook-secret"
ORDER_ID_BASE = 6_200_000_000_000_000_000   # past 2**53, like Shopify's ids
SHOP_TZ = timezone(timedelta(hours=-5))


@dataclass
class Delivery:
    order: int
    version: int
    webhook_id: str
    key: float
    topic: str = "orders/updated"
    body: bytes = b""
    signature: str = ""
    # filled while sending
    answers: list = field(default_factory=list)


@dataclass
class Plan:
    unique: list[Delivery]
    sends: list[Delivery]           # in send order; a duplicate is the same Delivery object twice
    versions: list[int]             # newest version per order
    reordered: int                  # updates scheduled before the version they supersede
    duplicated: int


def version_time(order: int, version: int, start: datetime) -> datetime:
    return start + timedelta(seconds=order) + timedelta(minutes=version)


def order_body(template: dict, order: int, version: int, start: datetime) -> dict:
    """The published sample as order `order` at `version`: id, name, note, total and updated_at change."""
    body = copy.copy(template)
    body["id"] = ORDER_ID_BASE + order
    body["admin_graphql_api_id"] = f"gid://shopify/Order/{ORDER_ID_BASE + order}"
    body["name"] = f"#S{order}"
    body["order_number"] = body["number"] = 10_000 + order
    body["note"] = f"storm v{version}"
    body["financial_status"] = "pending" if version == 1 else "paid"
    body["total_price"] = f"{100 + version}.00"
    created = version_time(order, 0, start)
    body["created_at"] = created.astimezone(SHOP_TZ).isoformat()
    body["updated_at"] = version_time(order, version, start).astimezone(SHOP_TZ).isoformat()
    return body


def build_plan(*, orders: int, total: int, dup_fraction: float, reorder_fraction: float, rng: random.Random,
               start: datetime, template: dict) -> Plan:
    unique_count = round(total / (1 + dup_fraction))
    if unique_count < orders:
        raise SystemExit("fewer unique deliveries than orders")
    versions = [1] * orders
    for _ in range(unique_count - orders):
        versions[rng.randrange(orders)] += 1
    unique: list[Delivery] = []
    by_version: dict[tuple[int, int], Delivery] = {}
    for order in range(orders):
        keys = sorted(rng.random() for _ in range(versions[order]))
        for version, key in enumerate(keys, start=1):
            delivery = Delivery(order, version, str(uuid.uuid4()), key,
                                topic="orders/create" if version == 1 else "orders/updated")
            unique.append(delivery)
            by_version[(order, version)] = delivery
    # Reordering: the update goes first, the version it supersedes well after it (so 32 clients cannot undo it).
    updates = [d for d in unique if d.version > 1]
    wanted, touched, reordered = round(len(updates) * reorder_fraction), set(), 0
    for update in rng.sample(updates, len(updates)):
        if reordered == wanted:
            break
        previous = by_version[(update.order, update.version - 1)]
        if update.webhook_id in touched or previous.webhook_id in touched:
            continue
        first = min(update.key, previous.key)
        later = first + rng.uniform(0.03, 0.25)
        if later >= 0.999:
            continue
        update.key, previous.key = first, later
        touched.update((update.webhook_id, previous.webhook_id))
        reordered += 1
    # Duplicates: 30% of deliveries again, with the same webhook id; a tenth of them at the same moment.
    sends = [(d.key, d) for d in unique]
    duplicated = rng.sample(unique, total - unique_count)
    for delivery in duplicated:
        later = 1e-7 if rng.random() < 0.1 else rng.uniform(0.0, min(0.3, 0.99999 - delivery.key))
        sends.append((delivery.key + later, delivery))
    sends.sort(key=lambda pair: pair[0])
    for delivery in unique:
        raw = json.dumps(order_body(template, delivery.order, delivery.version, start)).encode()
        delivery.body = raw
        delivery.signature = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    return Plan(unique=unique, sends=[d for _, d in sends], versions=versions, reordered=reordered,
                duplicated=len(duplicated))


class Sender:
    """Client threads posting the plan in order; a delivery not answered 200 is retried like Shopify does."""

    def __init__(self, plan: Plan, port: int, url: str, clients: int, timeout: float, max_tries: int):
        self.plan, self.port, self.url, self.clients = plan, port, url, clients
        self.timeout, self.max_tries = timeout, max_tries
        self.lock = threading.Lock()
        self.next_index = 0
        self.done = 0
        self.latencies: list[float] = []
        self.first_try_ok = 0
        self.retried = 0
        self.failures_by_kind: dict[str, int] = {}
        self.gave_up: list[Delivery] = []
        self.duplicates_acknowledged = 0

    def progress(self) -> float:
        return self.done / len(self.plan.sends)

    def _post(self, conn, delivery: Delivery):
        headers = {"Content-Type": "application/json", "X-Shopify-Topic": delivery.topic,
                   "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Hmac-Sha256": delivery.signature,
                   "X-Shopify-Webhook-Id": delivery.webhook_id, "X-Shopify-API-Version": "2024-10",
                   "X-Shopify-Triggered-At": datetime.now(UTC).isoformat()}
        conn.request("POST", self.url, body=delivery.body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response.status, payload

    def client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        latencies, kinds = [], {}
        while True:
            with self.lock:
                if self.next_index >= len(self.plan.sends):
                    break
                delivery = self.plan.sends[self.next_index]
                self.next_index += 1
            ok = False
            for attempt in range(self.max_tries):
                started = time.perf_counter()
                try:
                    status, payload = self._post(conn, delivery)
                    kind = None if status == 200 else f"HTTP {status}"
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                    status, payload, kind = 0, b"", type(exc).__name__
                latencies.append((time.perf_counter() - started) * 1000)
                if kind is None:
                    ok = True
                    if b'"duplicate": true' in payload:
                        with self.lock:
                            self.duplicates_acknowledged += 1
                    with self.lock:
                        self.first_try_ok += attempt == 0
                        self.retried += attempt > 0
                    break
                kinds[kind] = kinds.get(kind, 0) + 1
                time.sleep(min(5.0, 0.25 * 2 ** attempt))
            with self.lock:
                self.done += 1
                if not ok:
                    self.gave_up.append(delivery)
        with self.lock:
            self.latencies.extend(latencies)
            for kind, count in kinds.items():
                self.failures_by_kind[kind] = self.failures_by_kind.get(kind, 0) + count

    def run(self) -> float:
        threads = [threading.Thread(target=self.client, daemon=True) for _ in range(self.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


class Chaos(threading.Thread):
    """Fires the faults when the sender's progress crosses the given fractions."""

    def __init__(self, sender: Sender, worker: harness.CeleryWorker, redis: harness.RedisServer, *,
                 kill_at: list[float], redis_at: list[float], worker_down: float, redis_down: float):
        super().__init__(daemon=True)
        self.sender, self.worker, self.redis = sender, worker, redis
        events = [(at, "kill") for at in kill_at] + [(at, "redis") for at in redis_at]
        self.events = sorted(events)
        self.worker_down, self.redis_down = worker_down, redis_down
        self.log: list[str] = []
        self.restarts: list[threading.Timer] = []
        self.stopped = threading.Event()

    def backlog(self) -> int:
        from channels_sync.models import WebhookDelivery

        return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.RECEIVED).count()

    def run(self) -> None:
        """Faults due at the same fraction fire together: a kill, then a Redis restart while the worker is down."""
        from django.db import connection

        try:
            due = sorted({at for at, _ in self.events})
            for at in due:
                kinds = {kind for when, kind in self.events if when == at}
                while self.sender.progress() < at and not self.stopped.is_set():
                    time.sleep(0.02)
                if self.stopped.is_set():
                    return
                progress = self.sender.progress()
                backlog = self.backlog()
                when = "after the last delivery was answered" if at >= 1 else f"at {progress:.0%} sent"
                if "kill" in kinds:
                    busy = _worker_busy_connections()
                    self.worker.kill()
                    note = (f"SIGKILL worker process group {when} (undrained backlog {backlog}, worker DB sessions "
                            f"busy: {busy}); restarted {self.worker_down:.0f} s later")
                    log(note)
                    self.log.append(note)
                if "redis" in kinds:
                    self.redis.restart(self.redis_down)
                    note = (f"Redis restarted {when} (down {self.redis_down:.0f} s, no persistence: queue, unacked "
                            f"messages and cache lost; undrained backlog {backlog})")
                    log(note)
                    self.log.append(note)
                if "kill" in kinds:  # back after worker_down, while later faults may already fire
                    restart = threading.Timer(self.worker_down, self.worker.start)
                    restart.start()
                    self.restarts.append(restart)
        finally:
            connection.close()


def _worker_busy_connections() -> int:
    """The worker's sessions that are inside a transaction or running a query: evidence the kill lands mid-batch."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND application_name = 'chaos-worker' AND state IN ('active', 'idle in transaction')")
        return cursor.fetchone()[0]


DELIVERY_AUDIT_SQL = """
CREATE TABLE chaos_delivery_audit (id bigserial PRIMARY KEY, delivery_pk bigint, old_status text, new_status text,
                                   old_attempts int, new_attempts int, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION chaos_delivery_audit() RETURNS trigger AS $$
BEGIN
  INSERT INTO chaos_delivery_audit (delivery_pk, old_status, new_status, old_attempts, new_attempts)
  VALUES (NEW.id, OLD.status, NEW.status, OLD.attempts, NEW.attempts);
  RETURN NEW;
END $$ LANGUAGE plpgsql;
-- Every update: a second processing that read the row stale would write processed over processed, with the same
-- attempts count; only a row per write shows it.
CREATE TRIGGER chaos_delivery_audit AFTER UPDATE ON channels_sync_webhookdelivery FOR EACH ROW
  EXECUTE FUNCTION chaos_delivery_audit();
"""


def setup_channel():
    from django.db import connection
    from django.utils import timezone as dj_tz

    from accounts.models import Org
    from channels_sync.models import Channel

    org = Org.objects.create(slug="chaos-storm", name="Webhook storm")
    # A poll would only hit a dead port: last_polled_at now and a long interval keep beat from trying.
    channel = Channel.objects.create(org=org, channel_id="storm", provider="shopify", enabled=True,
                                     config={"shopDomain": SHOP, "accessToken": "x", "baseUrl": "http://127.0.0.1:9"},
                                     webhook_secret=SECRET, poll_interval_minutes=10_000, last_polled_at=dj_tz.now())
    with connection.cursor() as cursor:
        cursor.execute(DELIVERY_AUDIT_SQL + harness.ORDER_AUDIT_SQL)
    return org, channel


def wait_drained(channel, timeout: float) -> tuple[bool, float, list[str]]:
    """Until no delivery is waiting (received) or waiting for a retry (failed with next_retry_at)."""
    from channels_sync.models import WebhookDelivery

    started, notes, last_report = time.monotonic(), [], 0.0
    while True:
        rows = WebhookDelivery.objects.filter(channel=channel)
        waiting = rows.filter(status=WebhookDelivery.Status.RECEIVED).count()
        retrying = rows.filter(status=WebhookDelivery.Status.FAILED, next_retry_at__isnull=False).count()
        elapsed = time.monotonic() - started
        if waiting == 0 and retrying == 0:
            return True, elapsed, notes
        if elapsed - last_report >= 10:
            last_report = elapsed
            note = f"{elapsed:4.0f} s after the last send: {waiting} waiting, {retrying} failed awaiting a retry"
            log(note)
            notes.append(note)
        if elapsed > timeout:
            return False, elapsed, notes
        time.sleep(1)


def verify(checks: harness.Checks, plan: Plan, channel, start: datetime, sender: Sender) -> None:
    from django.db import connection
    from django.db.models import Count, Sum

    from channels_sync.models import AggregatedOrder, OrderSummary, WebhookDelivery

    orders = len(plan.versions)
    stored = {o.channel_order_id: o for o in AggregatedOrder.objects.filter(channel=channel).only(
        "channel_order_id", "channel_updated_at", "raw", "grand_total", "status")}
    checks.check(len(stored) == orders, f"aggregated orders: {len(stored)} (expected exactly {orders})")
    stale = []
    for order, newest in enumerate(plan.versions):
        row = stored.get(str(ORDER_ID_BASE + order))
        if row is None:
            continue
        expected_time = version_time(order, newest, start)
        if (row.channel_updated_at != expected_time or (row.raw or {}).get("note") != f"storm v{newest}"
                or str(row.grand_total) != f"{100 + newest}.00"):
            stale.append((order, newest, row.channel_updated_at, (row.raw or {}).get("note")))
    checks.check(not stale, f"orders at their newest version (updated_at, note, total): {orders - len(stale)}"
                            f"/{orders}" + (f"; first stale: {stale[:3]}" if stale else ""))

    deliveries = WebhookDelivery.objects.filter(channel=channel)
    by_status = dict(deliveries.values_list("status").annotate(n=Count("id")))
    checks.figure(f"stored deliveries by status: {by_status}")
    ids = set(deliveries.values_list("delivery_id", flat=True))
    missing = [d for d in plan.unique if d.webhook_id not in ids]
    checks.check(len(ids) == len(plan.unique) and not missing,
                 f"deliveries stored: {len(ids)} distinct webhook ids of {len(plan.unique)} sent (each once; "
                 f"{plan.duplicated} repeats not stored again); missing: {len(missing)}")
    processed = by_status.get(WebhookDelivery.Status.PROCESSED, 0)
    failed_with_retry = deliveries.filter(status=WebhookDelivery.Status.FAILED, next_retry_at__isnull=False).count()
    stuck = deliveries.exclude(status=WebhookDelivery.Status.PROCESSED).exclude(
        status=WebhookDelivery.Status.FAILED, next_retry_at__isnull=False).count()
    checks.check(stuck == 0, f"no delivery lost: {processed} processed, {failed_with_retry} failed with a retry "
                             f"scheduled, {stuck} neither")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM (SELECT delivery_pk FROM chaos_delivery_audit WHERE new_status = "
                       "'processed' GROUP BY delivery_pk HAVING count(*) > 1) twice")
        twice = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM chaos_delivery_audit WHERE old_status = 'processed'")
        after_processed = cursor.fetchone()[0]
        cursor.execute("SELECT count(*), count(DISTINCT delivery_pk) FROM chaos_delivery_audit "
                       "WHERE new_status = 'failed'")
        failures, failed_deliveries = cursor.fetchone()
    checks.check(twice == 0 and after_processed == 0,
                 f"none processed twice: {twice} deliveries recorded as processed more than once, {after_processed} "
                 "changes to an already processed delivery (audit trigger)")
    late = [d for d in deliveries.only("received_at", "processed_at")
            if d.processed_at and (d.processed_at - d.received_at).total_seconds() > 30]
    checks.figure(f"deliveries processed more than 30 s after they were stored (recovered after a fault, by a "
                  f"later drain or beat's sweep): {len(late)}")
    attempts = dict(deliveries.values_list("attempts").annotate(n=Count("id")))
    checks.figure(f"processing attempts per delivery: {attempts}; failed attempts recorded: {failures} "
                  f"on {failed_deliveries} deliveries")
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FILTER (WHERE prev IS NOT NULL AND channel_updated_at <= prev), count(*),
                   count(*) FILTER (WHERE op = 'INSERT')
            FROM (SELECT channel_order_id, channel_updated_at, op,
                         lag(channel_updated_at) OVER (PARTITION BY channel_order_id ORDER BY id) AS prev
                  FROM chaos_order_audit) writes""")
        regressions, writes, inserts = cursor.fetchone()
    checks.check(regressions == 0 and inserts == orders,
                 f"order writes: {writes} ({inserts} inserts), {regressions} that repeated or went back to an older "
                 f"version (each order's versions strictly increase)")
    checks.figure(f"versions applied: {writes} of {len(plan.unique)} distinct deliveries; the other "
                  f"{len(plan.unique) - writes} carried a version older than or equal to the stored one and were "
                  "skipped")
    # Reordering that really happened, from the server's receive times.
    received = dict(deliveries.values_list("delivery_id", "received_at"))
    by_version = {(d.order, d.version): d for d in plan.unique}
    updates = [d for d in plan.unique if d.version > 1]
    inverted = sum(1 for d in updates if received.get(d.webhook_id) and received.get(
        by_version[(d.order, d.version - 1)].webhook_id) and received[d.webhook_id] < received[
        by_version[(d.order, d.version - 1)].webhook_id])
    checks.check(inverted >= 0.09 * len(updates),
                 f"updates received before the version they supersede: {inverted} of {len(updates)} "
                 f"({inverted / max(1, len(updates)):.1%}; planned {plan.reordered})")
    summary = OrderSummary.objects.filter(channel=channel).aggregate(n=Sum("order_count"), total=Sum("grand_total"))
    actual = AggregatedOrder.objects.filter(channel=channel).aggregate(total=Sum("grand_total"))
    checks.check(summary["n"] == orders and summary["total"] == actual["total"],
                 f"stats summary in step: {summary['n']} orders, {summary['total']} total (orders table: "
                 f"{actual['total']})")
    checks.check(not sender.gave_up, f"every send answered 200 in the end: {len(plan.sends) - len(sender.gave_up)}"
                                     f"/{len(plan.sends)} ({sender.retried} after a retry)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=3_000)
    parser.add_argument("--duplicates", type=float, default=0.30, help="fraction of deliveries sent twice")
    parser.add_argument("--reordered", type=float, default=0.10, help="fraction of updates sent before the "
                                                                      "version they supersede")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=5.0, help="client timeout, as Shopify's 5 s")
    parser.add_argument("--kill-at", default="0.4,0.97",
                        help="progress fractions at which to SIGKILL the worker (1.0: after the last answer)")
    parser.add_argument("--redis-restart-at", default="1.0",
                        help="progress fractions at which to restart Redis (1.0: after the last answer, while the "
                             "second killed worker is still down, so the last drain message is lost with it)")
    parser.add_argument("--worker-down", type=float, default=15.0, help="seconds a killed worker stays down")
    parser.add_argument("--redis-down", type=float, default=2.0)
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--port", type=int, default=8794)
    parser.add_argument("--redis-port", type=int, default=6391)
    parser.add_argument("--database", default="chaos_storm")
    parser.add_argument("--pg", default=harness.SHARED_PG, help="PostgreSQL server URL (without database)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)

    checks = harness.Checks()
    checks.figure(f"machine: {harness.machine()}; started {datetime.now(UTC).isoformat(timespec='seconds')}")
    redis = harness.RedisServer(args.redis_port)
    harness.configure(database_url=f"{args.pg}/{args.database}", redis_url=redis.url)
    worker, beat, web = harness.CeleryWorker(2, "storm"), harness.CeleryBeat("storm"), harness.Gunicorn(args.port, 2)
    try:
        redis.start()
        log(f"private Redis on {args.redis_port}; migrating {args.database}")
        harness.recreate_database(args.pg, args.database)
        harness.django_setup()
        org, channel = setup_channel()
        rng = random.Random(args.seed)
        start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
        plan = build_plan(orders=args.orders, total=args.deliveries, dup_fraction=args.duplicates,
                          reorder_fraction=args.reordered, rng=rng, start=start,
                          template=json.loads(FIXTURE.read_text()))
        checks.figure(f"plan: {len(plan.sends)} sends = {len(plan.unique)} distinct deliveries + {plan.duplicated} "
                      f"repeats ({plan.duplicated / len(plan.unique):.0%}) for {len(plan.versions)} orders; "
                      f"{sum(v - 1 for v in plan.versions)} updates, {plan.reordered} scheduled before the version "
                      f"they supersede; {args.clients} clients")
        web.start()
        worker.start()
        beat.start()
        log("gunicorn -w 2, celery worker -c 2 and beat started; storming")
        url = f"/upstream/webhooks/shopify/orders?channel={channel.channel_id}&org={org.slug}"
        sender = Sender(plan, args.port, url, args.clients, args.timeout, max_tries=12)
        chaos = Chaos(sender, worker, redis, kill_at=[float(x) for x in args.kill_at.split(",") if x],
                      redis_at=[float(x) for x in args.redis_restart_at.split(",") if x],
                      worker_down=args.worker_down, redis_down=args.redis_down)
        chaos.start()
        seconds = sender.run()
        chaos.join(60)
        chaos.stopped.set()
        for restart in chaos.restarts:
            restart.join()
        lat = sender.latencies
        checks.figure(f"storm: {len(plan.sends)} sends in {seconds:.1f} s = {len(plan.sends) / seconds:.0f}/s; "
                      f"{len(lat)} requests, p50 {harness.percentile(lat, 50):.0f} ms, "
                      f"p99 {harness.percentile(lat, 99):.0f} ms, max {max(lat):.0f} ms")
        checks.figure(f"first answer 200: {sender.first_try_ok}; retried by the client: {sender.retried}; "
                      f"failed requests by kind: {sender.failures_by_kind or 'none'}; "
                      f"repeats answered as duplicates: {sender.duplicates_acknowledged}")
        for note in chaos.log:
            checks.figure("fault: " + note)
        checks.check(len(chaos.log) == len(chaos.events), f"faults fired: {len(chaos.log)} of {len(chaos.events)}")
        log("storm sent; waiting for the queue to drain (the beat sweep recovers lost drains after a minute)")
        drained, drain_seconds, notes = wait_drained(channel, args.drain_timeout)
        for note in notes:
            checks.figure("drain: " + note)
        checks.check(drained, f"queue drained {drain_seconds:.0f} s after the last send"
                              + ("" if drained else f" (gave up after {args.drain_timeout:.0f} s)"))
        verify(checks, plan, channel, start, sender)
    finally:
        for process in (web, beat, worker):
            process.stop()
        redis.stop()
        if not args.keep_db:
            harness.drop_database(args.pg, args.database)
    return checks.report("webhook storm under worker kills and a Redis restart")


if __name__ == "__main__":
    sys.exit(main())
