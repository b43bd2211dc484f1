"""Storefront lifecycle benchmark (not a test).

    DATABASE_URL=postgres://... .venv/bin/python bench/lifecycle.py --n 500

Runs N full lifecycles (checkout, process, ship, deliver, complete) through orders.services, then
writes the same rows with bare ORM calls and no checks (the floor), and prints lifecycles per
second for both and their ratio. Target: services >= 1/3 of the floor and >= 100 lifecycles/s.

Event dispatch (one Celery task per subscriber, after commit) is part of the measured path:
  --dispatch broker  (default) really sends each task to CELERY_BROKER_URL, on a private queue
                     that is purged at the end, so no worker runs the bench's emails;
  --dispatch count   replaces the send with a counter, to show what dispatch costs.
Each mode is measured in its own org, created and deleted by the run (--keep keeps the rows).

Every commit waits for PostgreSQL's WAL flush; on a slow or shared disk that flush, not our code,
bounds both runs. `--synchronous-commit off` sets it off for the bench's own session only (the
server and every other client keep theirs), to measure query and Python cost without the disk.
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

from decimal import Decimal  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
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
)
from orders.tasks import run_event_handler  # noqa: E402
from tracking.models import Shipment, ShipmentLine  # noqa: E402

BENCH_QUEUE = "bench-lifecycle"
SKUS = ("BENCH-A", "BENCH-B")


def make_org(label: str, n: int) -> Org:
    org = Org.objects.create(slug=f"bench-{label}-{time.time_ns()}", name=f"Bench {label}")
    InventoryItem.objects.bulk_create(
        [InventoryItem(org=org, sku=sku, name=sku, unit_price=Decimal("9.50"), on_hand=10 * n) for sku in SKUS]
    )
    return org


def run_services(org: Org, n: int) -> float:
    lines = [{"sku": SKUS[0], "quantity": 2}, {"sku": SKUS[1], "quantity": 1}]
    started = time.perf_counter()
    for i in range(n):
        order, _ = services.checkout_cart(
            org=org, customer={"email": f"buyer{i % 50}@example.com", "name": "Bench"}, lines=lines,
            shipping_address={"line1": "1 Main St"}, payment={"gateway": "manual"},
        )
        number = order.order_number
        services.order_process(org=org, order_number=number)
        services.order_ship(org=org, order_number=number, carrier="ups", tracking_number=f"1ZBENCH{i:08d}")
        services.order_deliver(org=org, order_number=number)
        services.order_complete(org=org, order_number=number)
    return time.perf_counter() - started


def run_floor(org: Org, n: int) -> float:
    """The same rows, written with plain ORM calls: no locks, no checks, no transactions, no events."""
    year = timezone.now().year
    counter = OrderNumberCounter.objects.create(org=org, year=year)
    customers = {i: Customer.objects.create(org=org, email=f"buyer{i}@example.com", name="Bench") for i in range(50)}
    price = Decimal("9.50")
    started = time.perf_counter()
    for i in range(n):
        OrderNumberCounter.objects.filter(pk=counter.pk).update(last_value=F("last_value") + 1)
        for sku, qty in ((SKUS[0], 2), (SKUS[1], 1)):
            InventoryItem.objects.filter(org=org, sku=sku).update(reserved=F("reserved") + qty)
        order = Order.objects.create(org=org, order_number=f"ORD-{year}-{i + 1:04d}", customer=customers[i % 50],
                                     subtotal=price * 3, grand_total=price * 3, captured_total=price * 3,
                                     shipping_address={"line1": "1 Main St"})
        order_lines = OrderLine.objects.bulk_create([
            OrderLine(order=order, sku=SKUS[0], name=SKUS[0], quantity=2, unit_price=price),
            OrderLine(order=order, sku=SKUS[1], name=SKUS[1], quantity=1, unit_price=price),
        ])
        Payment.objects.create(order=order, gateway="manual", amount_captured=price * 3)
        Activity.objects.create(order=order, verb="checkout", to_status="new")
        for verb, status in (("process", "processing"), ("ship", "shipped"), ("deliver", "delivered"),
                             ("complete", "completed")):
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
    return time.perf_counter() - started


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
    parser.add_argument("--keep", action="store_true", help="keep the bench orgs and their rows")
    parser.add_argument("--synchronous-commit", choices=["on", "off"], default="on",
                        help="PostgreSQL synchronous_commit for this session only (default on)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print(f"warning: measuring on {connection.vendor}, not PostgreSQL (set DATABASE_URL)", file=sys.stderr)
    call_command("migrate", verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET synchronous_commit = {args.synchronous_commit}")
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']} (synchronous_commit "
          f"{args.synchronous_commit}); broker: {celery_app.conf.broker_url.split('@')[-1]}; n={args.n}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    orgs = []
    warm = make_org("warmup", 20)
    orgs.append(warm)
    run_services(warm, 20)  # imports, connection, prepared caches

    floor_org = make_org("floor", args.n)
    orgs.append(floor_org)
    floor_seconds = run_floor(floor_org, args.n)
    floor_rate = args.n / floor_seconds
    print(f"floor (bare ORM, no checks):     {floor_rate:8.1f} lifecycles/s  ({floor_seconds:.2f} s)")

    modes = ["broker", "count"] if args.dispatch == "both" else [args.dispatch]
    results = {}
    original_apply_async = run_event_handler.apply_async
    sent = {"count": 0}
    for mode in modes:
        org = make_org(mode, args.n)
        orgs.append(org)
        sent["count"] = 0
        if mode == "broker":
            celery_app.conf.task_default_queue = BENCH_QUEUE

            def apply_async(*a, **kw):
                sent["count"] += 1
                return original_apply_async(*a, **kw)
        else:
            def apply_async(*a, **kw):
                sent["count"] += 1
        run_event_handler.apply_async = apply_async
        try:
            seconds = run_services(org, args.n)
        finally:
            run_event_handler.apply_async = original_apply_async
        check(org, args.n)
        results[mode] = args.n / seconds
        label = "sent to the broker" if mode == "broker" else "counted, not sent"
        print(f"services, dispatch {label:19s} {results[mode]:8.1f} lifecycles/s  ({seconds:.2f} s, "
              f"{sent['count']} event tasks, ratio to floor {results[mode] / floor_rate:.2f})")
    if "broker" in modes:
        with celery_app.connection_for_write() as conn:
            purged = conn.default_channel.queue_purge(BENCH_QUEUE) or 0
        print(f"purged {purged} bench tasks from queue {BENCH_QUEUE!r}")

    headline = results.get("broker") or results[modes[0]]
    ok = headline >= 100 and headline / floor_rate >= 1 / 3
    print(f"RESULT: {headline:.1f} lifecycles/s through the services, {headline / floor_rate:.2f} of the floor "
          f"(target >= 100/s and >= 0.33): {'OK' if ok else 'BELOW TARGET'}")
    if not args.keep:
        cleanup(*orgs)


if __name__ == "__main__":
    main()
