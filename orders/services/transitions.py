"""One service per verb of the storefront state machine.

Each: one transaction; the order row locked with SELECT ... FOR UPDATE (so of two racing calls
the second waits, then sees the new state and gets a 409); the pure @transition method; save;
an Activity row; the `order.*` event published for after commit.
"""

from decimal import Decimal

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django_fsm import can_proceed

from orders import events
from orders.history import history_log
from orders.models import ZERO, Activity, Order, OrderLine, OrderStatus, Refund, Shipment, ShipmentLine
from orders.payments import GatewayError, get_gateway
from orders.services.errors import InvalidRequest, InvalidTransition
from orders.services.inventory import (
    add_by_id,
    inventory_commit_shipped,
    inventory_release,
    inventory_reserve,
    inventory_restock,
)

CENT = Decimal("0.01")
VERBS = ("process", "ship", "deliver", "complete", "hold", "release", "cancel", "refund")
VERB_EVENTS = {
    "process": "order.processed",
    "deliver": "order.delivered",
    "complete": "order.completed",
    "hold": "order.held",
    "release": "order.released",
    "cancel": "order.cancelled",
}
STATUS_TIMESTAMPS = {
    OrderStatus.PROCESSING: "processed_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.COMPLETED: "completed_at",
    OrderStatus.CANCELLED: "cancelled_at",
}


def order_lock(*, org, order_number: str) -> Order:
    """The org's order, row-locked until commit; 404 alike for missing and other orgs' orders."""
    # order_by(): (org, order_number) is unique, so the model's default ordering would only cost a sort clause
    found = list(Order.objects.select_for_update(of=("self",)).filter(org=org, order_number=order_number).order_by())
    if not found:
        raise Http404
    return found[0]


def allowed_verbs(order: Order) -> list[str]:
    return [t.name for t in order.get_available_status_transitions()]


def _require(order: Order, verb: str) -> None:
    if not can_proceed(getattr(order, verb)):
        raise InvalidTransition(verb=verb, current=order.status, allowed=allowed_verbs(order))


def _actor_label(actor, actor_label: str) -> str:
    return getattr(actor, "username", "") or actor_label


def _finish(order: Order, *, verb: str, from_status: str, actor, actor_label: str, data: dict, event: str | None,
            event_data: dict | None = None, extra_fields: tuple[str, ...] = ()) -> Order:
    """Save the new state, write the Activity row and publish the event (after commit)."""
    stamp = STATUS_TIMESTAMPS.get(order.status) if order.status != from_status else None
    fields = ["status", "prior_status", "updated_at", *extra_fields]
    if stamp:
        setattr(order, stamp, timezone.now())
        fields.append(stamp)
    order.save(update_fields=fields)
    label = _actor_label(actor, actor_label)
    Activity.objects.create(order=order, actor=actor if getattr(actor, "pk", None) else None, actor_label=label,
                            verb=verb, from_status=from_status, to_status=order.status, data=data)
    history_log(order, actor=actor, verb=verb, from_status=from_status, to_status=order.status, data=data)
    if event:
        events.publish(event, order=order, from_status=from_status, to_status=order.status, actor=label,
                       data=event_data or {})
    return order


def _simple(verb: str, *, org, order_number: str, note: str = "", actor=None, actor_label: str = "staff",
            extra_fields: tuple[str, ...] = (), prepare=None, data: dict | None = None) -> Order:
    with transaction.atomic():
        order = order_lock(org=org, order_number=order_number)
        _require(order, verb)
        if prepare:
            prepare(order)
        from_status = order.status
        getattr(order, verb)()
        data = {**(data or {}), **({"note": note} if note else {})}
        return _finish(order, verb=verb, from_status=from_status, actor=actor, actor_label=actor_label, data=data,
                       event=VERB_EVENTS[verb], event_data={k: v for k, v in data.items() if k == "reason"},
                       extra_fields=extra_fields)


def order_process(*, org, order_number: str, note: str = "", actor=None, actor_label: str = "staff") -> Order:
    return _simple("process", org=org, order_number=order_number, note=note, actor=actor, actor_label=actor_label)


def order_deliver(*, org, order_number: str, note: str = "", actor=None, actor_label: str = "staff") -> Order:
    return _simple("deliver", org=org, order_number=order_number, note=note, actor=actor, actor_label=actor_label)


def order_complete(*, org, order_number: str, note: str = "", actor=None, actor_label: str = "staff") -> Order:
    return _simple("complete", org=org, order_number=order_number, note=note, actor=actor, actor_label=actor_label)


def order_release(*, org, order_number: str, note: str = "", actor=None, actor_label: str = "staff") -> Order:
    def clear(order):
        order.hold_reason = ""

    return _simple("release", org=org, order_number=order_number, note=note, actor=actor, actor_label=actor_label,
                   prepare=clear, extra_fields=("hold_reason",))


def order_hold(*, org, order_number: str, reason: str, actor=None, actor_label: str = "staff") -> Order:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("A hold needs a reason.", field="reason", errors="This field is required.")

    def keep_reason(order):
        order.hold_reason = reason[:500]

    return _simple("hold", org=org, order_number=order_number, actor=actor, actor_label=actor_label,
                   prepare=keep_reason, extra_fields=("hold_reason",), data={"reason": reason})


def order_cancel(*, org, order_number: str, reason: str = "", actor=None, actor_label: str = "staff") -> Order:
    """Cancelled is terminal: unshipped units go back to stock; money is refunded separately."""
    with transaction.atomic():
        order = order_lock(org=org, order_number=order_number)
        _require(order, "cancel")
        return order_cancel_locked(order, reason=reason, actor=actor, actor_label=actor_label)


def order_cancel_locked(order: Order, *, reason: str = "", actor=None, actor_label: str = "staff",
                        data: dict | None = None) -> Order:
    """The cancel itself, for a caller that holds the order's row lock (order_lock) inside its transaction
    and has checked its own conditions under it (the unpaid-order expiry): one path for the stock release,
    the Activity row and `order.cancelled`."""
    lines = list(order.lines.all())
    released = {line.sku: line.quantity_reserved for line in lines if line.quantity_reserved}
    inventory_release(org=order.org_id, quantities=released)
    from_status = order.status
    order.cancel_reason = (reason or "")[:500]
    order.hold_reason = ""
    order.cancel()
    data = {**(data or {}), **({"reason": reason} if reason else {}), "released": released}
    return _finish(order, verb="cancel", from_status=from_status, actor=actor, actor_label=actor_label, data=data,
                   event="order.cancelled", event_data={"reason": reason},
                   extra_fields=("cancel_reason", "hold_reason"))


def _quantities(items: list[dict] | None, lines_by_sku: dict, field: str) -> dict[str, int]:
    """Merge `[{sku, quantity}]`; 400 for unknown SKUs and non-positive quantities."""
    merged: dict[str, int] = {}
    errors = []
    for item in items or []:
        sku, quantity = item.get("sku"), int(item.get("quantity", 0))
        if sku not in lines_by_sku:
            errors.append(f"{sku}: not a line of this order.")
        elif quantity <= 0:
            errors.append(f"{sku}: quantity must be at least 1.")
        else:
            merged[sku] = merged.get(sku, 0) + quantity
    if errors:
        raise InvalidRequest("Some items are not valid for this order.", field=field, errors=errors)
    return merged


def order_ship(*, org, order_number: str, carrier: str, tracking_number: str, service: str = "",
               cost: Decimal = ZERO, items: list[dict] | None = None, note: str = "", ship_date=None,
               actor=None, actor_label: str = "staff") -> tuple[Order, Shipment]:
    """Store a shipment of `items` (default: everything left). The order becomes `shipped` only
    when no unit is left unshipped; until then it stays `processing`."""
    if not carrier or not tracking_number:
        missing = [name for name, value in (("carrier", carrier), ("tracking", tracking_number)) if not value]
        raise InvalidRequest("carrier and tracking are required.", field=missing[0], errors="This field is required.")
    with transaction.atomic():
        order = order_lock(org=org, order_number=order_number)
        _require(order, "ship")
        lines = list(order.lines.all())
        by_sku = {line.sku: line for line in lines}
        if items is None:
            wanted = {line.sku: line.quantity_unshipped for line in lines if line.quantity_unshipped}
        else:
            wanted = _quantities(items, by_sku, "items")
            too_many = [f"{sku}: {qty} requested, {by_sku[sku].quantity_unshipped} left to ship."
                        for sku, qty in wanted.items() if qty > by_sku[sku].quantity_unshipped]
            if too_many:
                raise InvalidRequest("Cannot ship more than is left.", field="items", errors=too_many)
        if not wanted:
            raise InvalidRequest("Nothing left to ship.", field="items", errors="Every line is already shipped.")
        shipment = Shipment.objects.create(org=org, order=order, carrier=carrier.lower(),
                                           tracking_number=tracking_number, service=service, cost=cost,
                                           currency=order.currency, ship_date=ship_date or timezone.now())
        ShipmentLine.objects.bulk_create([ShipmentLine(shipment=shipment, order_line=by_sku[sku], sku=sku, quantity=q)
                                          for sku, q in sorted(wanted.items())])
        backorder_fields = _reserve_backordered(order, by_sku, wanted)
        add_by_id(OrderLine, {by_sku[sku].pk: quantity for sku, quantity in wanted.items()}, "quantity_shipped")
        for sku, quantity in wanted.items():
            by_sku[sku].quantity_shipped += quantity
        inventory_commit_shipped(org=org, quantities=wanted)
        fully = all(line.quantity_unshipped == 0 for line in lines)
        from_status = order.status
        order.ship(fully_shipped=fully)
        event_data = {"shipmentId": shipment.pk, "trackingNumber": tracking_number, "carrier": shipment.carrier,
                      "partial": not fully}
        data = {**event_data, "items": dict(sorted(wanted.items())), **({"note": note} if note else {})}
        _finish(order, verb="ship", from_status=from_status, actor=actor, actor_label=actor_label, data=data,
                event="order.shipped" if fully else "order.partially_shipped", event_data=event_data,
                extra_fields=backorder_fields)
        return order, shipment


def _reserve_backordered(order: Order, by_sku: dict[str, OrderLine], wanted: dict[str, int]) -> tuple[str, ...]:
    """Shipping backordered units needs the stock now: reserve it (409 naming the SKUs still short) and clear
    their backorder; the order's flag goes once no line is backordered. Returns the order fields changed."""
    needed = {sku: quantity - by_sku[sku].quantity_reserved for sku, quantity in wanted.items()
              if quantity > by_sku[sku].quantity_reserved}
    if not needed:
        return ()
    inventory_reserve(org=order.org_id, quantities=needed)
    OrderLine.objects.bulk_update([_less_backordered(by_sku[sku], quantity) for sku, quantity in needed.items()],
                                  ["quantity_backordered"])
    order.is_backorder = any(line.quantity_backordered for line in by_sku.values())
    return ("is_backorder",)


def _less_backordered(line: OrderLine, quantity: int) -> OrderLine:
    line.quantity_backordered -= quantity
    return line


def order_refund(*, org, order_number: str, reason: str, amount: Decimal | None = None,
                 items: list[dict] | None = None, idempotency_key: str | None = None,
                 restock: bool = False, notify_customer: bool = True,
                 actor=None, actor_label: str = "staff") -> tuple[Order, Refund]:
    """Refund money through the order's payment gateway, then record it.

    The gateway call happens while the order row is locked and before anything is written, so a
    gateway failure (502) leaves nothing changed and a concurrent refund cannot double-spend.
    `amount` defaults to the value of `items` when given, else to everything still refundable.
    `restock` puts the refunded items' shipped units back on hand (they came back); `notify_customer`
    False records the refund without the customer's email.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("A refund needs a reason.", field="reason", errors="This field is required.")
    if restock and not items:
        raise InvalidRequest("Restocking needs the refunded items.", field="items",
                             errors="Pick the items that come back to stock.")
    with transaction.atomic():
        order = order_lock(org=org, order_number=order_number)
        if idempotency_key:
            replay = order.refunds.filter(idempotency_key=idempotency_key).first()
            if replay:
                return order, replay
        _require(order, "refund")
        lines = list(order.lines.all())
        by_sku = {line.sku: line for line in lines}
        wanted = _quantities(items, by_sku, "items")
        too_many = [f"{sku}: {qty} requested, {by_sku[sku].quantity - by_sku[sku].quantity_refunded} not yet refunded."
                    for sku, qty in wanted.items() if qty > by_sku[sku].quantity - by_sku[sku].quantity_refunded]
        if too_many:
            raise InvalidRequest("Cannot refund more items than were ordered.", field="items", errors=too_many)
        remaining = order.refundable_total
        if amount is None:
            items_value = sum((by_sku[sku].unit_price * qty for sku, qty in wanted.items()), ZERO)
            amount = min(items_value, remaining) if wanted else remaining
        amount = Decimal(amount).quantize(CENT)
        if amount <= 0:
            raise InvalidRequest("The refund amount must be positive.", field="amount", errors="Must be above 0.")
        if amount > remaining:
            raise InvalidRequest(f"At most {remaining} {order.currency} can still be refunded.", field="amount",
                                 errors=f"Must be at most {remaining}.")
        payment = order.payments.order_by("-id").first()
        sequence = order.refunds.count() + 1
        # Deterministic: a retry of the same refund reuses the key, so the gateway refunds once.
        key = idempotency_key or f"refund-{org.pk}-{order.pk}-{sequence}-{amount}"
        try:
            result = get_gateway(payment.gateway, org=org).refund(
                payment=payment, amount=amount, currency=order.currency, idempotency_key=key, reason=reason,
                metadata={"orderNumber": order.order_number, "org": org.slug},
            )
        except GatewayError as exc:
            from core.api.exceptions import UpstreamError

            raise UpstreamError(f"The {exc.gateway} gateway refused the refund: {exc}", code="gateway_error",
                                details={"gateway": exc.gateway, "gatewayStatus": exc.status,
                                         "gatewayCode": exc.code})
        refund = Refund.objects.create(
            order=order, payment=payment, amount=amount, reason=reason[:500], gateway=payment.gateway,
            gateway_reference=result.reference, idempotency_key=key,
            items=[{"sku": sku, "quantity": qty} for sku, qty in sorted(wanted.items())],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        if wanted:
            for sku, qty in wanted.items():
                by_sku[sku].quantity_refunded += qty
            type(lines[0]).objects.bulk_update([by_sku[sku] for sku in wanted], ["quantity_refunded"])
        restocked = {}
        if restock:
            # Only units that left the shelf come back to it; unshipped ones were never taken off on_hand.
            restocked = {sku: min(qty, by_sku[sku].quantity_shipped) for sku, qty in wanted.items()}
            inventory_restock(org=org, quantities=restocked)
        fully = order.refundable_total - amount == ZERO
        from_status = order.status
        order.refund(fully_refunded=fully)  # before the total moves: its condition needs a balance left
        order.refunded_total += amount
        event_data = {"refundId": refund.pk, "amount": str(amount), "currency": order.currency,
                      "fullyRefunded": fully, **({} if notify_customer else {"notifyCustomer": False})}
        extra = {"restocked": {k: v for k, v in sorted(restocked.items()) if v}} if restock else {}
        _finish(order, verb="refund", from_status=from_status, actor=actor, actor_label=actor_label,
                data={**event_data, "reason": reason, "items": refund.items, **extra}, event="order.refunded",
                event_data=event_data, extra_fields=("refunded_total",))
        return order, refund


def order_transition(verb: str, *, org, order_number: str, actor=None, actor_label: str = "staff", **fields):
    """Dispatch a verb by name (API and admin); returns the order."""
    service = {
        "process": order_process, "deliver": order_deliver, "complete": order_complete, "hold": order_hold,
        "release": order_release, "cancel": order_cancel, "ship": order_ship, "refund": order_refund,
    }[verb]
    result = service(org=org, order_number=order_number, actor=actor, actor_label=actor_label, **fields)
    return result[0] if isinstance(result, tuple) else result
