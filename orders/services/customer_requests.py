"""Requests a customer makes from the order page. The customer never changes the order directly:
a cancellation request puts the order on hold with the customer's reason, and staff decide (cancel,
or release and explain). Proof that the caller is the customer is the view's job (a signed link)."""

from django.db import transaction
from django.http import Http404

from orders.models import Activity, Order, OrderStatus
from orders.services.errors import InvalidRequest, OrderLocked
from orders.services.transitions import order_hold

# The hold reason of a customer's request starts with this; the order page and admin recognise it.
CANCEL_REQUEST_PREFIX = "Customer asked to cancel"
CANCEL_REASON_MAX = 400
REQUESTABLE = {OrderStatus.NEW, OrderStatus.PROCESSING, OrderStatus.ON_HOLD}


def is_cancel_request(order: Order) -> bool:
    return order.status == OrderStatus.ON_HOLD and order.hold_reason.startswith(CANCEL_REQUEST_PREFIX)


def order_request_cancel(*, org, order_id: int, reason: str) -> str:
    """Hold the order for staff with the customer's reason. Returns `requested`, `already_requested`, or
    `noted` (staff had already held it: the request is recorded in its history, their reason kept).

    Raises OrderLocked (409) once anything shipped or the order is closed, InvalidRequest for no reason.
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidRequest("Tell the store why you want to cancel.", field="reason",
                             errors="Please give a reason.")
    if len(reason) > CANCEL_REASON_MAX:
        raise InvalidRequest("The reason is too long.", field="reason",
                             errors=f"Please keep it under {CANCEL_REASON_MAX} characters.")
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).filter(org=org, pk=order_id).first()
        if order is None:
            raise Http404
        if order.status not in REQUESTABLE or order.shipments.exists():
            raise OrderLocked(f"This order is {order.status} and can no longer be cancelled from its page.",
                              details={"currentState": order.status, "allowedVerbs": []})
        if is_cancel_request(order):
            return "already_requested"
        if order.status == OrderStatus.ON_HOLD:
            Activity.objects.create(order=order, actor_label="customer", verb="cancel_request",
                                    from_status=order.status, to_status=order.status, data={"reason": reason})
            return "noted"
        order_hold(org=org, order_number=order.order_number, reason=f"{CANCEL_REQUEST_PREFIX}: {reason}",
                   actor_label="customer")
        return "requested"
