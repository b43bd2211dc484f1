"""Storefront lifecycle benchmark (not a test).

    DATABASE_URL=postgres://... CELERY_BROKER_URL=redis://... .venv/bin/python bench/lifecycle.py --n 500

Runs N full lifecycles (checkout, process, ship, deliver, complete) through orders.services, then
writes the same rows with bare ORM calls and no checks (the floor), and prints lifecycles per
second for both and their ratio. Target: services >= 1/3 of the floor and >= 100 lifecycles/s.

The floor writes exactly the rows the services write (counter, reserved stock, order, lines,
payment, activity; shipment, shipment lines, shipped quantities, stock; status and activity per
step), with no locks, checks or events, and commits once per step as the services do (each step
is its own request): five commits per lifecycle on both sides. DEBUG is forced off (Django would
otherwise keep every query in connection.queries). Queries per lifecycle, BEGIN/COMMIT included,
are counted on one extra lifecycle of each before timing.

Event dispatch (one Celery task per subscriber, after commit) is part of the measured path:
  --dispatch broker  (default) really sends each task to CELERY_BROKER_URL, on a private queue
                     that is purged at the end, so no worker runs the bench's emails;
  --dispatch count   replaces the send with a counter, to show what dispatch costs.
Each mode is measured in its own org, created and deleted by the run (--keep keeps the rows).
No worker consumes the tasks: this measures the request side only, not how fast workers drain them.

Every commit waits for PostgreSQL's WAL flush; on a slow or shared disk that flush, not our code,
bounds both runs. `--synchronous-commit off` sets it off for the bench's own session only (the
server and every other client keep theirs), to measure query and Python cost without the disk.

`--workers K` runs the lifecycles from K processes at once (each its own connection, all in the
same org, so they contend for the same stock and counter rows as concurrent requests would), the
floor likewise; the rate is N over the wall time from the common start to the last finish.

"client CPU" is the bench processes' own CPU time per lifecycle (Python, ORM, driver, Celery), not
PostgreSQL's or Redis's: on a shared machine it moves less than wall time when other jobs run.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # no query log: the bench measures what production runs

from decimal import Decimal  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Org  # noqa: E402
from config.celery import app as celery_app  # noqa: E402
from orders import services  # noqa: E402
from orders.models import (  # noqa: E402
    Activity,
    Customer,
    InventoryItem,
    Order,
    OrderLine,
    OrderNumberCounter,
    Payment,
    Shipment,
    ShipmentLine,
)
from orders.tasks import run_event_handler  # noqa: E402

BENCH_QUEUE = "bench-lifecycle"
SKUS = ("BENCH-A", "BENCH-B")
LINES = [{"sku": SKUS[0], "quantity": 2}, {"sku": SKUS[1], "quantity": 1}]
PRICE = Decimal("9.50")


def make_org(label: str, n: int) -> Org:
    org = Org.objects.create(slug=f"bench-{label}-{time.time_ns()}", name=f"Bench {label}")
    InventoryItem.objects.bulk_create(
        [InventoryItem(org=org, sku=sku, name=sku, unit_price=PRICE, on_hand=10 * n) for sku in SKUS]
    )
    return org


def service_lifecycle(org: Org, i: int) -> None:
    order, _ = services.checkout_cart(
        org=org, customer={"email": f"buyer{i % 50}@example.com", "name": "Bench"}, lines=LINES,
        shipping_address={"line1": "1 Main St"}, payment={"gateway": "manual"},
    )
    number = order.order_number
    services.order_process(org=org, order_number=number)
    services.order_ship(org=org, order_number=number, carrier="ups", tracking_number=f"1ZBENCH{i:08d}")
    services.order_deliver(org=org, order_number=number)
    services.order_complete(org=org, order_number=number)


def floor_setup(org: Org) -> dict:
    """The floor's counter and customers, created before timing (the services look customers up)."""
    counter = OrderNumberCounter.objects.create(org=org, year=timezone.now().year)
    customers = {i: Customer.objects.create(org=org, email=f"buyer{i}@example.com", name="Bench") for i in range(50)}
    return {"counter": counter, "customers": customers}


def floor_lifecycle(org: Org, i: int, ctx: dict) -> None:
    """The same rows, written with plain ORM calls: no locks, no checks, no events; one commit per step."""
    counter, year = ctx["counter"], ctx["counter"].year
    with transaction.atomic():
        OrderNumberCounter.objects.filter(pk=counter.pk).update(last_value=F("last_value") + 1)
        for sku, qty in ((SKUS[0], 2), (SKUS[1], 1)):
            InventoryItem.objects.filter(org=org, sku=sku).update(reserved=F("reserved") + qty)
        order = Order.objects.create(org=org, order_number=f"ORD-{year}-{i + 1:04d}",
                                     customer=ctx["customers"][i % 50], subtotal=PRICE * 3, grand_total=PRICE * 3,
                                     captured_total=PRICE * 3, shipping_address={"line1": "1 Main St"})
        order_lines = OrderLine.objects.bulk_create([
            OrderLine(order=order, sku=SKUS[0], name=SKUS[0], quantity=2, unit_price=PRICE),
            OrderLine(order=order, sku=SKUS[1], name=SKUS[1], quantity=1, unit_price=PRICE),
        ])
        Payment.objects.create(order=order, gateway="manual", amount_captured=PRICE * 3)
        Activity.objects.create(order=order, verb="checkout", to_status="new")
    for verb, status in (("process", "processing"), ("ship", "shipped"), ("deliver", "delivered"),
                         ("complete", "completed")):
        with transaction.atomic():
            if verb == "ship":
                shipment = Shipment.objects.create(org=org, order=order, carrier="ups",
                                                   tracking_number=f"1ZFLOOR{i:08d}", ship_date=timezone.now())
                ShipmentLine.objects.bulk_create([ShipmentLine(shipment=shipment, order_line=line, sku=line.sku,
                                                               quantity=line.quantity) for line in order_lines])
                OrderLine.objects.filter(order=order).update(quantity_shipped=F("quantity"))
                for sku, qty in ((SKUS[0], 2), (SKUS[1], 1)):
                    InventoryItem.objects.filter(org=org, sku=sku).update(on_hand=F("on_hand") - qty,
                                                                          reserved=F("reserved") - qty)
            Order.objects.filter(pk=order.pk).update(status=status)
            Activity.objects.create(order=order, verb=verb, to_status=status)


def patch_dispatch(mode: str, sent: list) -> None:
    """broker: really send (counting); count: only count. Restored by restore_dispatch()."""
    original = run_event_handler.__dict__.get("_bench_original") or run_event_handler.apply_async
    run_event_handler._bench_original = original
    if mode == "broker":
        celery_app.conf.task_default_queue = BENCH_QUEUE

        def apply_async(*a, **kw):
            sent[0] += 1
            return original(*a, **kw)
    else:
        def apply_async(*a, **kw):
            sent[0] += 1
    run_event_handler.apply_async = apply_async


def restore_dispatch() -> None:
    if "_bench_original" in run_event_handler.__dict__:
        run_event_handler.apply_async = run_event_handler.__dict__.pop("_bench_original")


def run_share(kind: str, org_pk: int, indices: range, sync: str, ctx_pk: int | None = None) -> tuple:
    """Run lifecycles `indices` of `kind` (floor | broker | count); returns (start, end, tasks sent, CPU s)."""
    org = Org.objects.get(pk=org_pk)
    set_synchronous_commit(sync)
    sent = [0]
    ctx = None
    if kind == "floor":
        ctx = {"counter": OrderNumberCounter.objects.get(pk=ctx_pk),
               "customers": {int(c.email[5:].split("@")[0]): c for c in Customer.objects.filter(org=org)}}
    else:
        patch_dispatch(kind, sent)
    try:
        cpu, started = time.process_time(), time.perf_counter()
        for i in indices:
            if ctx is not None:
                floor_lifecycle(org, i, ctx)
            else:
                service_lifecycle(org, i)
        ended, cpu = time.perf_counter(), time.process_time() - cpu
    finally:
        restore_dispatch()
    return started, ended, sent[0], cpu


def _child(kind, org_pk, indices, sync, ctx_pk, barrier, results):
    connections.close_all()
    barrier.wait()
    results.put(run_share(kind, org_pk, indices, sync, ctx_pk))
    connections.close_all()


def run_timed(kind: str, org: Org, n: int, workers: int, sync: str,
              ctx_pk: int | None = None) -> tuple[float, int, float]:
    """Seconds for n lifecycles from `workers` processes (first start to last end), tasks sent, and the
    bench processes' own CPU seconds (Python, ORM, drivers; less swayed by other jobs than wall time)."""
    if workers == 1:
        started, ended, sent, cpu = run_share(kind, org.pk, range(n), sync, ctx_pk)
        return ended - started, sent, cpu
    import multiprocessing

    mp = multiprocessing.get_context("fork")
    connections.close_all()  # children must not share the parent's socket
    barrier, results = mp.Barrier(workers), mp.Queue()
    procs = [mp.Process(target=_child, args=(kind, org.pk, range(w, n, workers), sync, ctx_pk, barrier, results))
             for w in range(workers)]
    for proc in procs:
        proc.start()
    shares = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode:
            raise SystemExit(f"a {kind} worker failed (exit code {proc.exitcode})")
    set_synchronous_commit(sync)
    return (max(share[1] for share in shares) - min(share[0] for share in shares), sum(share[2] for share in shares),
            sum(share[3] for share in shares))


def set_synchronous_commit(value: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET synchronous_commit = {value}")


def queries_per_lifecycle(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def check(org: Org, n: int) -> None:
    """The service run must have left every order completed and the stock exactly right."""
    assert Order.objects.filter(org=org, status="completed").count() == n
    for item in InventoryItem.objects.filter(org=org):
        shipped = n * (2 if item.sku == SKUS[0] else 1)
        assert (item.on_hand, item.reserved) == (10 * n - shipped, 0), (item.sku, item.on_hand, item.reserved)


def cleanup(*orgs: Org) -> None:
    for org in orgs:
        Order.objects.filter(org=org).delete()
        org.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500, help="lifecycles per run (default 500)")
    parser.add_argument("--dispatch", choices=["broker", "count", "both"], default="both")
    parser.add_argument("--workers", type=int, default=1, help="processes running lifecycles at once (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the bench orgs and their rows")
    parser.add_argument("--synchronous-commit", choices=["on", "off"], default="on",
                        help="PostgreSQL synchronous_commit for this session only (default on)")
    args = parser.parse_args()
    sync = args.synchronous_commit
    if connection.vendor != "postgresql":
        print(f"warning: measuring on {connection.vendor}, not PostgreSQL (set DATABASE_URL)", file=sys.stderr)
    call_command("migrate", verbosity=0)
    set_synchronous_commit(sync)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']} (synchronous_commit {sync}); "
          f"broker: {celery_app.conf.broker_url.split('@')[-1]}; n={args.n}; workers={args.workers}; "
          f"DEBUG {settings.DEBUG}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    orgs = []
    warm = make_org("warmup", 40)
    orgs.append(warm)
    sent = [0]
    patch_dispatch("count", sent)
    try:
        for i in range(20):  # imports, connection, caches
            service_lifecycle(warm, i)
        service_queries = queries_per_lifecycle(lambda: service_lifecycle(warm, 50))  # a known buyer
    finally:
        restore_dispatch()
    warm_floor = make_org("warmup-floor", 5)
    orgs.append(warm_floor)
    warm_ctx = floor_setup(warm_floor)
    floor_lifecycle(warm_floor, 0, warm_ctx)
    floor_queries = queries_per_lifecycle(lambda: floor_lifecycle(warm_floor, 1, warm_ctx))
    print(f"queries per lifecycle, BEGIN/COMMIT included: services {service_queries}, floor {floor_queries}; "
          f"event tasks per lifecycle: {sent[0] // 21}")

    floor_org = make_org("floor", args.n)
    orgs.append(floor_org)
    ctx = floor_setup(floor_org)
    floor_seconds, _, floor_cpu = run_timed("floor", floor_org, args.n, args.workers, sync, ctx["counter"].pk)
    floor_rate = args.n / floor_seconds
    print(f"floor (bare ORM, no checks):          {floor_rate:8.1f} lifecycles/s  ({floor_seconds:.2f} s, "
          f"client CPU {floor_cpu / args.n * 1000:.1f} ms per lifecycle)")

    modes = ["broker", "count"] if args.dispatch == "both" else [args.dispatch]
    results = {}
    for mode in modes:
        org = make_org(mode, args.n)
        orgs.append(org)
        seconds, tasks, cpu = run_timed(mode, org, args.n, args.workers, sync)
        check(org, args.n)
        results[mode] = args.n / seconds
        label = "sent to the broker" if mode == "broker" else "counted, not sent"
        print(f"services, dispatch {label:19s} {results[mode]:8.1f} lifecycles/s  ({seconds:.2f} s, "
              f"client CPU {cpu / args.n * 1000:.1f} ms per lifecycle, {tasks} event tasks, "
              f"ratio to floor {results[mode] / floor_rate:.2f})")
    if "broker" in modes:
        with celery_app.connection_for_write() as conn:
            purged = conn.default_channel.queue_purge(BENCH_QUEUE) or 0
        print(f"purged {purged} bench tasks from queue {BENCH_QUEUE!r}")

    headline = results.get("broker") or results[modes[0]]
    ok = headline >= 100 and headline / floor_rate >= 1 / 3
    print(f"RESULT: {headline:.1f} lifecycles/s through the services, {headline / floor_rate:.2f} of the floor "
          f"(target >= 100/s and >= 0.33): {'OK' if ok else 'BELOW TARGET'}; load average now "
          f"{os.getloadavg()[0]:.1f}")
    if not args.keep:
        cleanup(*orgs)


if __name__ == "__main__":
    main()
