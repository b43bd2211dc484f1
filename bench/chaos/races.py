"""Fault: racing transitions, refunds, partial shipments and checkouts, ten times the storefront issue's counts.

The storefront issue asks for two racing transitions on one order (one success, one 409) and twenty concurrent
checkouts for five units (exactly five orders). Here every race is ten times that, on PostgreSQL, with real
threads each on its own connection, released together by a barrier:

- 20 racers per order on 10 orders for each of process, cancel and hold: one success per order, 19 409s, one
  Activity row, and a cancel releases the stock exactly once;
- 20 refunds of 3.00 at once on an order that captured 30.00: exactly 10 succeed, never more than captured;
- 20 partial shipments of one unit at once on an order of 10: exactly 10 ship, stock leaves the shelf once each;
- 200 checkouts at once for 50 units: exactly 50 orders, 150 409s, no negative stock, unique order numbers;
- 40 checkouts with one Idempotency-Key: one order, one reservation;
- a mix: 100 checkouts for the last 25 units while 20 earlier orders of the same SKU are cancelled: afterwards
  reserved equals what the live orders hold and available is never negative.

It runs on a private PostgreSQL cluster (max_connections 400: 200 threads hold a connection each, more than the
shared server allows), so nothing shared is disturbed.

    .venv/bin/python bench/chaos/races.py [--scale 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.chaos import harness
from bench.chaos.harness import log
from tests import concurrency

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "country": "US"}


def race(calls) -> list:
    """tests.concurrency's race at the chaos scale: "ok", the HTTP status raised, or a shortened repr."""
    return [outcome[:200] if isinstance(outcome, str) else outcome for outcome in concurrency.race(calls, timeout=300)]


def buy(org, sku: str, quantity: int = 1, n: int = 0, key: str | None = None):
    from orders import services

    return lambda: services.checkout_cart(org=org, customer={"email": f"buyer{n}@example.com", "name": "Buyer"},
                                          lines=[{"sku": sku, "quantity": quantity}], shipping_address=ADDRESS,
                                          payment={"gateway": "manual"}, idempotency_key=key)


def new_order(org, lines: dict[str, int]):
    from orders import services

    order, _ = services.checkout_cart(org=org, customer={"email": "setup@example.com", "name": "Setup"},
                                      lines=[{"sku": s, "quantity": q} for s, q in lines.items()],
                                      shipping_address=ADDRESS, payment={"gateway": "manual"})
    return order


def live_reserved(org, sku: str) -> int:
    """What open orders still hold of `sku`: ordered minus shipped, on orders that are not cancelled."""
    from django.db.models import F, Sum

    from orders.models import OrderLine

    held = (OrderLine.objects.filter(order__org=org, sku=sku).exclude(order__status="cancelled")
            .aggregate(n=Sum(F("quantity") - F("quantity_shipped")))["n"])
    return held or 0


def transitions(checks: harness.Checks, org, scale: int) -> None:
    from orders import services
    from orders.models import InventoryItem, Order

    racers, orders_per_verb = 2 * scale, scale
    for verb in ("process", "cancel", "hold"):
        numbers = [new_order(org, {"A": 1}).order_number for _ in range(orders_per_verb)]
        reserved_before = InventoryItem.objects.get(org=org, sku="A").reserved
        kwargs = {"reason": "race"} if verb == "hold" else {}
        calls = [(lambda number=number, verb=verb, kwargs=kwargs:
                  services.order_transition(verb, org=org, order_number=number, **kwargs))
                 for number in numbers for _ in range(racers)]
        started = time.perf_counter()
        outcomes = race(calls)
        seconds = time.perf_counter() - started
        per_order = [Counter(outcomes[i * racers:(i + 1) * racers]) for i in range(orders_per_verb)]
        exact = sum(1 for counts in per_order if counts == Counter({"ok": 1, 409: racers - 1}))
        activities = [Order.objects.get(org=org, order_number=n).activities.exclude(verb="checkout").count()
                      for n in numbers]
        reserved_after = InventoryItem.objects.get(org=org, sku="A").reserved
        released = reserved_before - reserved_after
        expected_release = orders_per_verb if verb == "cancel" else 0
        checks.check(exact == orders_per_verb and activities == [1] * orders_per_verb
                     and released == expected_release,
                     f"{verb}: {len(calls)} racers on {orders_per_verb} orders ({racers} each) in {seconds:.1f} s: "
                     f"{exact}/{orders_per_verb} orders with exactly one success and {racers - 1} 409s; one activity "
                     f"each: {activities == [1] * orders_per_verb}; stock released {released} (expected "
                     f"{expected_release})" + ("" if exact == orders_per_verb else f"; outcomes {per_order[:2]}"))


def refunds(checks: harness.Checks, org, scale: int) -> None:
    from orders import services
    from orders.models import Order

    order = new_order(org, {"A": 2, "B": 1})     # 30.00 captured
    services.order_transition("process", org=org, order_number=order.order_number)
    services.order_ship(org=org, order_number=order.order_number, carrier="ups", tracking_number="1Z")
    racers = 2 * scale
    outcomes = race([lambda: services.order_refund(org=org, order_number=order.order_number,
                                                   amount=Decimal("3.00"), reason="race")] * racers)
    order = Order.objects.get(pk=order.pk)
    counts = Counter(outcomes)
    checks.check(counts["ok"] == 10 and order.refunded_total == Decimal("30.00") == order.captured_total
                 and order.refunds.count() == 10,
                 f"refunds: {racers} refunds of 3.00 at once on 30.00 captured: {counts['ok']} succeeded "
                 f"({dict(counts)}), refunded {order.refunded_total} of {order.captured_total}, "
                 f"{order.refunds.count()} refund rows")


def partial_ships(checks: harness.Checks, org, scale: int) -> None:
    from orders import services
    from orders.models import InventoryItem, Order

    item_before = InventoryItem.objects.get(org=org, sku="S")
    order = new_order(org, {"S": 10})
    services.order_transition("process", org=org, order_number=order.order_number)
    racers = 2 * scale
    outcomes = race([(lambda i=i: services.order_ship(org=org, order_number=order.order_number, carrier="ups",
                                                      tracking_number=f"1ZRACE{i:04d}", items=[{"sku": "S",
                                                                                                "quantity": 1}]))
                     for i in range(racers)])
    order = Order.objects.get(pk=order.pk)
    item = InventoryItem.objects.get(org=org, sku="S")
    line = order.lines.get()
    counts = Counter(outcomes)
    checks.check(counts["ok"] == 10 and line.quantity_shipped == 10 and order.status == "shipped"
                 and order.shipments.count() == 10 and item.on_hand == item_before.on_hand - 10
                 and item.reserved == item_before.reserved,
                 f"partial shipments: {racers} one-unit shipments at once of an order of 10: {counts['ok']} shipped "
                 f"({dict(counts)}); line shipped {line.quantity_shipped}, status {order.status}, "
                 f"{order.shipments.count()} shipments; on hand {item_before.on_hand} -> {item.on_hand}, reserved "
                 f"{item.reserved}")


def checkouts(checks: harness.Checks, org, scale: int) -> None:
    from orders.models import InventoryItem, Order

    units, buyers = 5 * scale, 20 * scale
    before = set(Order.objects.filter(org=org).values_list("pk", flat=True))
    started = time.perf_counter()
    outcomes = race([buy(org, "HOT", n=n) for n in range(buyers)])
    seconds = time.perf_counter() - started
    counts = Counter(outcomes)
    item = InventoryItem.objects.get(org=org, sku="HOT")
    created = Order.objects.filter(org=org).exclude(pk__in=before)
    numbers = list(created.values_list("order_number", flat=True))
    checks.check(counts["ok"] == units and counts[409] == buyers - units
                 and (item.on_hand, item.reserved, item.available) == (units, units, 0)
                 and len(numbers) == len(set(numbers)) == units,
                 f"checkouts: {buyers} at once for {units} units in {seconds:.1f} s: {counts['ok']} orders, "
                 f"{counts[409]} 409s ({dict(counts) if len(counts) > 2 else 'nothing else'}); stock on hand "
                 f"{item.on_hand}, reserved {item.reserved}, available {item.available}; {len(set(numbers))} "
                 f"distinct order numbers")


def idempotent_checkouts(checks: harness.Checks, org, scale: int) -> None:
    from orders.models import InventoryItem, Order

    racers = 4 * scale
    reserved_before = InventoryItem.objects.get(org=org, sku="A").reserved
    outcomes = race([buy(org, "A", n=0, key="cart-chaos-1")] * racers)
    orders = Order.objects.filter(org=org, idempotency_key="cart-chaos-1").count()
    reserved = InventoryItem.objects.get(org=org, sku="A").reserved - reserved_before
    checks.check(outcomes == ["ok"] * racers and orders == 1 and reserved == 1,
                 f"idempotent checkout: {racers} at once with one Idempotency-Key: {Counter(outcomes)['ok']} answered "
                 f"with the order, {orders} order, {reserved} unit reserved")


def mixed(checks: harness.Checks, org, scale: int) -> None:
    """Checkouts for the last units while earlier orders of the same SKU are cancelled (stock comes back)."""
    from orders import services
    from orders.models import InventoryItem

    cancellers, buyers = 2 * scale, 10 * scale
    services.inventory_set_on_hand(org=org, sku="MIX", on_hand=cancellers + buyers // 4, unit_price=Decimal("5.00"))
    earlier = [new_order(org, {"MIX": 1}).order_number for _ in range(cancellers)]
    calls = [(lambda n=n: services.order_transition("cancel", org=org, order_number=n)) for n in earlier]
    calls += [buy(org, "MIX", n=1000 + n) for n in range(buyers)]
    outcomes = race(calls)
    item = InventoryItem.objects.get(org=org, sku="MIX")
    held = live_reserved(org, "MIX")
    cancels, bought = Counter(outcomes[:cancellers]), Counter(outcomes[cancellers:])
    checks.check(cancels == Counter({"ok": cancellers}) and item.reserved == held and item.available >= 0
                 and bought["ok"] >= buyers // 4 and set(bought) <= {"ok", 409},
                 f"mixed: {cancellers} cancels racing {buyers} checkouts for the last {buyers // 4} units: "
                 f"{cancels['ok']} cancelled, {bought['ok']} bought, {bought[409]} 409s; reserved {item.reserved} = "
                 f"held by live orders {held}; available {item.available}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=10, help="times the storefront issue's counts")
    parser.add_argument("--pg-port", type=int, default=5498)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    checks = harness.Checks()
    checks.figure(f"machine: {harness.machine()}; started {datetime.now(UTC).isoformat(timespec='seconds')}")
    pg = harness.PrivatePostgres(args.pg_port, max_connections=40 * args.scale + 50)
    # No Redis needed: events publish to an in-memory broker (no worker runs), the cache is local memory.
    harness.configure(database_url=pg.url("chaos_races"), redis_url="", CELERY_BROKER_URL="memory://localhost/",
                      DB_CONN_MAX_AGE="0")
    try:
        pg.init().start()
        log(f"private PostgreSQL on {args.pg_port} (max_connections {pg.max_connections}); migrating")
        harness.recreate_database(f"postgres://postgres@127.0.0.1:{args.pg_port}", "chaos_races")
        harness.django_setup()
        from accounts.models import Org
        from orders import services

        org = Org.objects.create(slug="chaos-races", name="Races")
        for sku, on_hand in (("A", 10_000), ("B", 10_000), ("S", 100), ("HOT", 5 * args.scale)):
            services.inventory_set_on_hand(org=org, sku=sku, on_hand=on_hand, unit_price=Decimal("10.00"))
        for step in (transitions, refunds, partial_ships, checkouts, idempotent_checkouts, mixed):
            log(f"racing: {step.__name__}")
            step(checks, org, args.scale)
    finally:
        if not args.keep:
            pg.destroy()
    return checks.report(f"racing transitions and checkouts at {args.scale}x")


if __name__ == "__main__":
    sys.exit(main())
