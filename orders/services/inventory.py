"""Stock arithmetic. Rows are always locked in SKU order (one order everywhere => no deadlocks),
and the CheckConstraints on InventoryItem back every rule here at the database."""

from django.db import transaction
from django.db.models import F

from orders.models import InventoryItem
from orders.services.errors import InsufficientStock, OrderLocked


def inventory_lock(*, org, skus) -> dict[str, InventoryItem]:
    """SELECT ... FOR UPDATE the org's rows for `skus`, taken in sorted SKU order."""
    rows = InventoryItem.objects.select_for_update().filter(org=org, sku__in=sorted(set(skus))).order_by("sku")
    return {row.sku: row for row in rows}


def inventory_reserve(*, org, quantities: dict[str, int]) -> dict[str, InventoryItem]:
    """Reserve every quantity or nothing: 409 naming each short SKU (unknown SKUs have 0 available)."""
    items = inventory_lock(org=org, skus=quantities)
    short = []
    for sku in sorted(quantities):
        available = items[sku].available if sku in items else 0
        if quantities[sku] > available:
            short.append({"sku": sku, "requested": quantities[sku], "available": max(available, 0)})
    if short:
        raise InsufficientStock(short)
    for sku, quantity in quantities.items():
        items[sku].reserved += quantity
    InventoryItem.objects.bulk_update(items.values(), ["reserved"])
    return items


def inventory_release(*, org, quantities: dict[str, int]) -> None:
    """Give reserved units back (cancel, removal). Never below zero."""
    for sku in sorted(quantities):
        if quantities[sku] > 0:
            InventoryItem.objects.filter(org=org, sku=sku, reserved__gte=quantities[sku]).update(
                reserved=F("reserved") - quantities[sku]
            )


def inventory_commit_shipped(*, org, quantities: dict[str, int]) -> None:
    """Shipped units leave the shelf: on_hand and reserved both drop."""
    for sku in sorted(quantities):
        if quantities[sku] > 0:
            InventoryItem.objects.filter(org=org, sku=sku).update(
                on_hand=F("on_hand") - quantities[sku], reserved=F("reserved") - quantities[sku]
            )


def inventory_set_on_hand(*, org, sku: str, on_hand: int, name: str | None = None, unit_price=None) -> InventoryItem:
    """Staff count: create the SKU or set its on-hand; below what open orders hold is a 409."""
    with transaction.atomic():
        InventoryItem.objects.bulk_create([InventoryItem(org=org, sku=sku)], ignore_conflicts=True)
        item = InventoryItem.objects.select_for_update().get(org=org, sku=sku)
        if on_hand < item.reserved:
            raise OrderLocked(
                f"{sku}: {item.reserved} units are reserved by open orders; onHand cannot go below that.",
                code="below_reserved",
                details={"sku": sku, "reserved": item.reserved, "onHand": on_hand},
            )
        item.on_hand = on_hand
        if name is not None:
            item.name = name
        if unit_price is not None:
            item.unit_price = unit_price
        item.save()
    return item
