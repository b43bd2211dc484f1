"""Unpaid storefront orders give their stock back (issue 15, item 4).

WooCommerce's "hold stock (minutes)": an order still waiting for its payment when the time is up is
cancelled, so a checkout nobody pays for cannot keep stock from buyers for ever. Here that is an order
from the storefront checkout (`source="storefront"`: channel imports are paid, or not, on their channel;
renewals are charged by billing) that is still `new`, has nothing captured although it costs something
(nor an authorized payment), was not entered by staff, and is older than ORDER_UNPAID_RESERVATION_TTL.
It is cancelled through the cancel transition (stock released, an Activity row by "system",
`order.cancelled` and so the customer's cancellation email).

Beat runs `expire-unpaid-orders` every minute. Each order is expired in its own transaction under its row
lock, and the conditions are read again under that lock: staff processing, holding or cancelling it at the
same moment either finish first (the order is no longer an unpaid `new` one: skipped) or wait for the
expiry's commit (then their verb is a 409, as for any order cancelled a moment before).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from orders.conf import orders_settings
from orders.models import ZERO, Order, OrderStatus, Payment
from orders.services.transitions import order_cancel_locked, order_lock

logger = logging.getLogger(__name__)

EXPIRY_REASON = "Payment not received in time."
BATCH = 200


def _expirable(queryset):
    """An authorized payment is money promised (captured later in the gateway), and an order staff entered
    themselves is theirs to chase: neither is a stranger's hold on stock."""
    return (queryset.exclude(payments__status=Payment.Status.AUTHORIZED)
            .exclude(activities__verb="checkout", activities__actor__isnull=False))


def _unpaid(order: Order, *, cutoff) -> bool:
    return (order.status == OrderStatus.NEW and order.source == "storefront" and order.captured_total == ZERO
            and order.grand_total > ZERO and order.created_at <= cutoff
            and _expirable(Order.objects.filter(pk=order.pk)).exists())


def orders_expire_unpaid(*, now=None, limit: int = BATCH) -> list[str]:
    """Cancel up to `limit` unpaid storefront orders past the TTL, oldest first; their order numbers."""
    ttl = orders_settings.ORDER_UNPAID_RESERVATION_TTL
    if ttl <= 0:
        return []
    cutoff = (now or timezone.now()) - timedelta(seconds=ttl)
    candidates = list(
        _expirable(Order.objects).filter(status=OrderStatus.NEW, source="storefront", captured_total=ZERO,
                             grand_total__gt=ZERO, created_at__lte=cutoff)
        .order_by("created_at", "id").values_list("org_id", "order_number")[:limit])
    expired = []
    for org_id, order_number in candidates:
        try:
            with transaction.atomic():
                order = order_lock(org=org_id, order_number=order_number)
                if not _unpaid(order, cutoff=cutoff):
                    continue  # paid, processed, held or cancelled since the candidates were read
                order_cancel_locked(order, reason=EXPIRY_REASON, actor_label="system",
                                    data={"expired": True, "unpaidForSeconds": ttl})
        except Http404:
            continue  # a test order removed since the candidates were read
        except Exception:
            # One order that cannot be cancelled must not keep the others' stock; it is tried again next run.
            logger.exception("could not expire unpaid order %s of org %s", order_number, org_id)
            continue
        expired.append(order_number)
    if expired:
        logger.info("expired %d unpaid orders: %s", len(expired), ", ".join(expired))
    return expired
