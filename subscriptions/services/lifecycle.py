"""Creating prices and subscriptions, and the four customer-facing actions (one FSM transition each).

Every action locks the subscription row, checks the transition with django-fsm (409 naming the
current state and the allowed actions when it cannot run), applies its own rules and saves.
"""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django_fsm import can_proceed

from orders.services import customer_get_or_create
from orders.services.errors import InvalidRequest
from subscriptions.charging import get_charge_gateway
from subscriptions.models import ACTIONS, Price, Subscription, SubscriptionStatus
from subscriptions.services.errors import ActionNotAllowed
from subscriptions.services.periods import period_end

CENT = Decimal("0.01")
S = SubscriptionStatus


def price_create(*, org, price_id: str, product_sku: str, amount: Decimal, currency: str = "USD",
                 interval: str = "month", interval_count: int = 1, name: str = "") -> Price:
    try:
        with transaction.atomic():
            return Price.objects.create(org=org, price_id=price_id, product_sku=product_sku, name=name,
                                        amount=Decimal(amount).quantize(CENT), currency=currency.upper(),
                                        interval=interval, interval_count=interval_count)
    except IntegrityError:
        raise InvalidRequest(f"Price {price_id!r} already exists.", field="priceId",
                             errors="A price with this id already exists.")


def _org_price(*, org, price_id: str, field: str = "priceId") -> Price:
    price = Price.objects.filter(org=org, price_id=price_id, active=True).first()
    if price is None:
        raise InvalidRequest(f"Unknown price {price_id!r}.", field=field, errors="No active price with this id.")
    return price


def subscription_create(*, org, customer: dict, price_id: str, quantity: int = 1, shipping_address: dict,
                        gateway: str = "manual", gateway_customer: str = "", payment_method: str = "",
                        start_at=None) -> Subscription:
    """The first period starts at `start_at` (default now) and is billed by the next billing run."""
    get_charge_gateway(gateway)  # 400 for an unknown gateway
    if gateway == "stripe" and not payment_method:
        raise InvalidRequest("Stripe subscriptions need a saved payment method.", field="paymentMethod",
                             errors="This field is required for the stripe gateway.")
    price = _org_price(org=org, price_id=price_id)
    start = start_at or timezone.now()
    with transaction.atomic():
        buyer = customer_get_or_create(org=org, email=customer["email"], name=customer.get("name", ""))
        return Subscription.objects.create(
            org=org, customer=buyer, price=price, quantity=quantity, shipping_address=shipping_address,
            gateway=gateway, gateway_customer=gateway_customer, payment_method=payment_method,
            current_period_start=start,
            current_period_end=period_end(start, interval=price.interval, count=price.interval_count),
            next_period_start=start, next_billing_at=start,
        )


def subscription_lock(*, org, subscription_id: str) -> Subscription:
    """The org's subscription, row-locked until commit; 404 alike for missing and other orgs' rows."""
    sub = Subscription.objects.select_for_update().filter(org=org, subscription_id=subscription_id).first()
    if sub is None:
        raise Http404
    return sub


def allowed_actions(sub: Subscription) -> list[str]:
    names = {t.name for t in sub.get_available_status_transitions()}
    return [action for action, method in ACTIONS.items() if method in names]


def subscription_apply_action(*, org, subscription_id: str, action: str, price_id: str | None = None,
                              quantity: int | None = None, now=None) -> Subscription:
    """Run `action` (pause | resume | cancel | change-plan) on the subscription."""
    if action not in ACTIONS:
        raise InvalidRequest(f"Unknown action {action!r}.", field="action",
                             errors=f"action must be one of: {', '.join(ACTIONS)}.")
    if action == "change-plan" and price_id is None and quantity is None:
        raise InvalidRequest("change-plan needs priceId and/or quantity.", field="priceId",
                             errors="Give priceId, quantity or both.")
    now = now or timezone.now()
    with transaction.atomic():
        sub = subscription_lock(org=org, subscription_id=subscription_id)
        method = getattr(sub, ACTIONS[action])
        if not can_proceed(method):
            raise ActionNotAllowed(action=action, current=sub.status, allowed=allowed_actions(sub))
        {"pause": _pause, "resume": _resume, "cancel": _cancel, "change-plan": _change_plan}[action](
            sub, now=now, price_id=price_id, quantity=quantity)
        sub.save()
    return sub


def _pause(sub: Subscription, *, now, **_) -> None:
    """Nothing is billed while paused; the period already paid for runs out normally."""
    sub.pause()
    sub.next_billing_at = None
    sub.paused_at = now


def _resume(sub: Subscription, *, now, **_) -> None:
    """Back to billing. A period that should have started while paused (or one that failed) is not
    billed after the fact: a fresh period starts now instead."""
    sub.resume()
    if sub.next_period_start < now:
        sub.next_period_start = now
    sub.next_billing_at = sub.next_period_start
    sub.paused_at = None


def _cancel(sub: Subscription, *, now, **_) -> None:
    """Terminal: no further billing; orders already created keep their own lifecycle."""
    sub.cancel()
    sub.next_billing_at = None
    sub.pending_price = None
    sub.pending_quantity = None
    sub.cancelled_at = now


def _change_plan(sub: Subscription, *, price_id, quantity, **_) -> None:
    """Stored as pending; the billing run applies it to the next cycle, never the current one."""
    sub.change_plan()
    if price_id is not None:
        price = _org_price(org=sub.org, price_id=price_id)
        if price.currency != sub.price.currency:
            raise InvalidRequest("A plan change cannot switch currency.", field="priceId",
                                 errors=f"The price is in {price.currency}; the subscription bills in "
                                        f"{sub.price.currency}.")
        sub.pending_price = price
    if quantity is not None:
        sub.pending_quantity = quantity
