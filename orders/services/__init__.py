"""Business operations on storefront orders (views, admin, tasks and the bench all call these)."""

from orders.services.checkout import checkout_cart, customer_get_or_create, next_order_number
from orders.services.comments import order_comment_add
from orders.services.customer_requests import CANCEL_REQUEST_PREFIX, is_cancel_request, order_request_cancel
from orders.services.edits import order_add_tag, order_remove_test, order_send_welcome, order_update
from orders.services.errors import InsufficientStock, InvalidRequest, InvalidTransition, OrderLocked
from orders.services.event_runs import event_handler_runs_prune, event_handler_runs_resend_due, event_handler_runs_retry
from orders.services.expiry import orders_expire_unpaid
from orders.services.inventory import inventory_set_on_hand
from orders.services.transitions import (
    VERBS,
    allowed_verbs,
    order_cancel,
    order_complete,
    order_deliver,
    order_hold,
    order_process,
    order_refund,
    order_release,
    order_ship,
    order_transition,
)

__all__ = [
    "CANCEL_REQUEST_PREFIX", "VERBS", "InsufficientStock", "InvalidRequest", "InvalidTransition", "OrderLocked",
    "allowed_verbs",
    "checkout_cart", "customer_get_or_create", "event_handler_runs_prune",
    "event_handler_runs_resend_due", "event_handler_runs_retry",
    "inventory_set_on_hand", "next_order_number", "order_add_tag", "order_comment_add", "orders_expire_unpaid",
    "order_cancel", "order_complete", "order_deliver", "order_hold", "order_process", "order_refund",
    "order_release", "order_remove_test", "order_request_cancel",
    "is_cancel_request", "order_send_welcome", "order_ship", "order_transition", "order_update",
]
