"""Billing due subscriptions: one child order per subscription and period, never two.

Each subscription is billed in its own transaction holding its row lock, taken with
`SELECT ... FOR UPDATE SKIP LOCKED`: two workers (or a task that runs twice) never bill the same
subscription at once, and after commit the subscription's next billing time has moved on. Behind
the lock, the BillingCycle row is unique per (subscription, period_start), its child order is
unique, and the child order's checkout Idempotency-Key is derived from the same period, so even a
bug in the selection could not create a second order for a period.

A period is billed while it lasts or not at all: a subscription whose start (or whose next period) is
periods in the past is billed for the current period only, and a retry that outlives its period moves to
the current one (issue 15, item 16).

Inside a savepoint the child order goes through the storefront checkout (stock reserved,
`order.created` published, hence the confirmation email after commit), then the gateway is
charged. A refused charge or short stock rolls the order back (no email, no reservation) and the
cycle is retried on SUBSCRIPTIONS_RETRY_SCHEDULE; after the last retry the subscription becomes
past_due.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

import orders.services  # noqa: F401  (first: importing orders.payments first is an import cycle)
from core.api.exceptions import ApiError
from orders.models import Order, Payment
from orders.payments import GatewayError
from orders.services import checkout_cart
from subscriptions.charging import get_charge_gateway
from subscriptions.conf import subscriptions_settings
from subscriptions.models import BillingCycle, Subscription, SubscriptionStatus
from subscriptions.services.periods import current_period_start, period_end

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")


@dataclass
class BillingRunResult:
    billed: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    past_due: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def subscriptions_bill_due(*, now=None, limit: int | None = None) -> BillingRunResult:
    """Bill every active subscription whose next billing time has passed (at most `limit`)."""
    now = now or timezone.now()
    limit = limit or subscriptions_settings.SUBSCRIPTIONS_BILLING_BATCH
    result, tried = BillingRunResult(), []
    for _ in range(limit):
        sub = None
        try:
            with transaction.atomic():
                sub = (Subscription.objects.select_for_update(skip_locked=True)
                       .filter(status=SubscriptionStatus.ACTIVE, next_billing_at__lte=now)
                       .exclude(pk__in=tried).order_by("next_billing_at", "id").first())
                if sub is None:
                    break
                tried.append(sub.pk)
                outcome = subscription_bill_locked(sub, now=now)
        except Exception:
            if sub is None:
                raise  # the selection itself failed (database down): nothing to skip
            # One broken subscription must not stop the others; rolled back, it is retried next run.
            logger.exception("billing subscription %s failed", sub.subscription_id)
            result.errors.append(sub.subscription_id)
            continue
        getattr(result, outcome).append(sub.subscription_id)
    return result


def subscription_bill_locked(sub: Subscription, *, now) -> str:
    """Bill the subscription's next period; the caller holds the row lock inside a transaction.

    Returns "billed", "retrying" or "past_due".
    """
    cycle = BillingCycle.objects.filter(subscription=sub, period_start=sub.next_period_start).first()
    if cycle is not None and cycle.outcome == BillingCycle.Outcome.SUCCESS:
        _advance(sub, cycle)  # already billed: only the subscription's clock was behind
        return "billed"
    attempts = 0
    if cycle is not None and cycle.period_end <= now:
        # Its retries outlived the period: that period is not charged after the fact; the retries go on
        # for the current one (the count carries over, so the schedule still ends in past_due).
        attempts = cycle.attempts
        cycle.outcome, cycle.next_retry_at = BillingCycle.Outcome.FAILED, None
        cycle.error = f"{cycle.error}; the period ended before a charge succeeded"[-2000:].lstrip("; ")
        cycle.save()
        cycle = None
    if cycle is None:
        cycle = _open_cycle(sub, now=now)
        cycle.attempts = attempts
    cycle.attempts += 1
    try:
        with transaction.atomic():
            order, reference = _child_order_and_charge(sub, cycle)
    except (GatewayError, ApiError) as exc:
        return _record_failure(sub, cycle, error=_describe(exc), now=now)
    cycle.outcome = BillingCycle.Outcome.SUCCESS
    cycle.child_order = order
    cycle.payment_reference = reference
    cycle.next_retry_at = None
    cycle.error = ""
    cycle.save()
    _advance(sub, cycle)
    return "billed"


def _open_cycle(sub: Subscription, *, now) -> BillingCycle:
    """A new period: a pending plan change takes effect here, never in the middle of a period.

    Never one that has already ended (issue 15, item 16): a subscription whose `startAt` (or whose next
    period) lies periods in the past is billed for the period `now` is in, on its own cadence, and the
    missed ones are skipped, not charged one after the other by the following runs. So every charge
    leaves `next_billing_at` after `now`, and no run (nor one running beside it) charges it twice."""
    if sub.pending_price_id is not None:
        sub.price = sub.pending_price
    if sub.pending_quantity is not None:
        sub.quantity = sub.pending_quantity
    sub.pending_price, sub.pending_quantity = None, None
    price = sub.price
    start = current_period_start(sub.next_period_start, interval=price.interval, count=price.interval_count,
                                 now=now)
    sub.next_period_start = start
    return BillingCycle.objects.create(
        subscription=sub, period_start=start,
        period_end=period_end(start, interval=price.interval, count=price.interval_count),
        price=price, quantity=sub.quantity, amount=(price.amount * sub.quantity).quantize(CENT),
        currency=price.currency,
    )


def _child_order_and_charge(sub: Subscription, cycle: BillingCycle) -> tuple[Order, str]:
    price = cycle.price
    order, _ = checkout_cart(
        org=sub.org,
        customer={"email": sub.customer.email, "name": sub.customer.name},
        lines=[{"sku": price.product_sku, "quantity": cycle.quantity, "unit_price": price.amount,
                "name": price.name}],
        shipping_address=sub.shipping_address,
        payment={"gateway": sub.gateway, "reference": "", "amount": cycle.amount},
        currency=cycle.currency,
        tags=["subscription"],
        idempotency_key=f"subscription:{sub.subscription_id}:{cycle.period_start.isoformat()}",
        source="subscription",
        metadata={"subscriptionId": sub.subscription_id, "periodStart": cycle.period_start.isoformat(),
                  "periodEnd": cycle.period_end.isoformat()},
        actor_label="subscription",
    )
    _apply_subscription_price(order, cycle)
    charge = get_charge_gateway(sub.gateway).charge(
        amount=cycle.amount, currency=cycle.currency, gateway_customer=sub.gateway_customer,
        payment_method=sub.payment_method,
        # Per attempt: Stripe replays a stored decline for a reused key. A crash after the charge rolls
        # the attempt counter back too, so the retry reuses this key and gets the same PaymentIntent.
        idempotency_key=f"subscription-{sub.subscription_id}-{int(cycle.period_start.timestamp())}-{cycle.attempts}",
        description=f"{sub.subscription_id} {cycle.period_start:%Y-%m-%d} - {cycle.period_end:%Y-%m-%d}",
        metadata={"subscriptionId": sub.subscription_id, "periodStart": cycle.period_start.isoformat()},
    )
    Payment.objects.filter(order=order).update(reference=charge.reference)
    return order, charge.reference


def _apply_subscription_price(order: Order, cycle: BillingCycle) -> None:
    """The subscription's price is the contract: it wins over the SKU's list price, which the
    checkout applies to carts."""
    line = order.lines.get()
    if line.unit_price == cycle.price.amount and order.grand_total == cycle.amount:
        return
    line.unit_price = cycle.price.amount
    line.save(update_fields=["unit_price"])
    order.subtotal = cycle.amount
    order.grand_total = cycle.amount + order.shipping_total + order.tax_total
    order.save(update_fields=["subtotal", "grand_total", "updated_at"])


def _record_failure(sub: Subscription, cycle: BillingCycle, *, error: str, now) -> str:
    schedule = subscriptions_settings.SUBSCRIPTIONS_RETRY_SCHEDULE
    cycle.error = error[:2000]
    if cycle.attempts <= len(schedule):
        cycle.outcome = BillingCycle.Outcome.PENDING
        cycle.next_retry_at = now + timedelta(seconds=schedule[cycle.attempts - 1])
        sub.next_billing_at = cycle.next_retry_at
        outcome = "retrying"
    else:
        cycle.outcome = BillingCycle.Outcome.FAILED
        cycle.next_retry_at = None
        sub.mark_past_due()
        sub.next_billing_at = None
        outcome = "past_due"
    cycle.save()
    sub.save()
    logger.info("subscription %s: attempt %s failed (%s): %s", sub.subscription_id, cycle.attempts, outcome, error)
    return outcome


def _advance(sub: Subscription, cycle: BillingCycle) -> None:
    sub.current_period_start, sub.current_period_end = cycle.period_start, cycle.period_end
    sub.next_period_start = cycle.period_end
    sub.next_billing_at = cycle.period_end
    sub.save()


def _describe(exc: Exception) -> str:
    if isinstance(exc, GatewayError):
        return f"{exc.gateway} gateway: {exc}" + (f" ({exc.code})" if exc.code else "")
    return f"{getattr(exc, 'error_code', 'error')}: {exc}"
