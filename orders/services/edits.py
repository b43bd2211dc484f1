"""Edits that are not state changes: details, tags, welcome emails, removing test orders."""

import uuid

from django.db import transaction
from django.http import Http404

from orders import events
from orders.history import history_log
from orders.models import Activity, Order, OrderStatus, OrderTag
from orders.scheduling import welcome_email_schedule
from orders.services.errors import OrderLocked
from orders.services.inventory import inventory_release
from orders.services.transitions import order_lock

UNSET = object()
OPEN_STATES = {OrderStatus.NEW, OrderStatus.PROCESSING, OrderStatus.ON_HOLD}


def order_update(*, org, order_number: str, shipping_address=UNSET, billing_address=UNSET, internal_notes=UNSET,
                 tags=UNSET, actor=None, actor_label: str = "staff") -> Order:
    """Addresses until the first unit ships, notes and tags until the order is locked (409 after)."""
    with transaction.atomic():
        order = order_lock(org=org, order_number=order_number)
        if order.is_locked:
            raise OrderLocked(f"Order {order.order_number} is {order.status} and can no longer be edited.",
                              details={"currentState": order.status})
        changed = []
        if shipping_address is not UNSET or billing_address is not UNSET:
            shipped_any = order.status not in OPEN_STATES or order.lines.filter(quantity_shipped__gt=0).exists()
            if shipped_any:
                raise OrderLocked("Addresses cannot change once anything has shipped.", code="address_locked",
                                  details={"currentState": order.status})
            if shipping_address is not UNSET:
                order.shipping_address, _ = shipping_address, changed.append("shippingAddress")
            if billing_address is not UNSET:
                order.billing_address, _ = billing_address, changed.append("billingAddress")
        if internal_notes is not UNSET:
            order.internal_notes = internal_notes
            changed.append("internalNotes")
        order.save(update_fields=["shipping_address", "billing_address", "internal_notes", "updated_at"])
        if tags is not UNSET:
            wanted = {t.strip() for t in tags if t.strip()}
            order.tag_rows.exclude(name__in=wanted).delete()
            OrderTag.objects.bulk_create([OrderTag(order=order, name=t) for t in sorted(wanted)],
                                         ignore_conflicts=True)
            changed.append("tags")
        label = getattr(actor, "username", "") or actor_label
        Activity.objects.create(order=order, actor=actor if getattr(actor, "pk", None) else None, actor_label=label,
                                verb="update", from_status=order.status, to_status=order.status,
                                data={"fields": changed})
        history_log(order, actor=actor, verb="update", data={"fields": changed})
        events.publish("order.updated", order=order, from_status=order.status, actor=label, data={"fields": changed})
        return order


def order_add_tag(*, org, order_number: str, tag: str, actor_label: str = "automation") -> bool:
    """Add one tag (workflows use this); True when it was new."""
    order = Order.objects.filter(org=org, order_number=order_number).first()
    if order is None:
        raise Http404
    _, created = OrderTag.objects.get_or_create(order=order, name=tag.strip()[:64])
    if created:
        Activity.objects.create(order=order, actor_label=actor_label, verb="tag", from_status=order.status,
                                to_status=order.status, data={"tag": tag})
    return created


def order_send_welcome(*, org, order_number: str, actor=None) -> str:
    """Queue the welcome email to the order's customer (after commit); returns the request id."""
    order = Order.objects.filter(org=org, order_number=order_number).first()
    if order is None:
        raise Http404
    request_id = uuid.uuid4().hex
    with transaction.atomic():
        Activity.objects.create(order=order, actor=actor if getattr(actor, "pk", None) else None,
                                actor_label=getattr(actor, "username", "") or "staff", verb="send-welcome",
                                from_status=order.status, to_status=order.status, data={"requestId": request_id})
        welcome_email_schedule(order_id=order.pk, request_id=request_id)
    return request_id


def order_remove_test(*, org, author: str, order_number: str | None = None) -> list[str]:
    """Delete an author's test orders (one, or all of them), giving reserved stock back.

    Real orders are never deleted: any non-test order in the selection is a 409 and nothing is removed.
    """
    with transaction.atomic():
        orders = Order.objects.select_for_update().filter(org=org, customer__sk=author).order_by("id")
        if order_number:
            orders = orders.filter(order_number=order_number)
        orders = list(orders)
        if not orders:
            raise Http404
        real = [o.order_number for o in orders if not o.is_test]
        if real:
            raise OrderLocked("Only test orders can be removed.", code="not_test_order",
                              details={"orderNumbers": real})
        for order in orders:
            if order.status in OPEN_STATES:
                inventory_release(org=org, quantities={line.sku: line.quantity_reserved
                                                       for line in order.lines.all()})
        numbers = [o.order_number for o in orders]
        Order.objects.filter(pk__in=[o.pk for o in orders]).delete()
        return numbers
