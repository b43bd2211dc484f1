"""Renewals charged through Stripe, mocked at the wire with Stripe's documented PaymentIntent shapes."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import responses

from orders.models import InventoryItem, Order
from subscriptions.models import BillingCycle
from subscriptions.services import subscription_apply_action
from tests.subscriptions.conftest import T0, subscribe

PAYMENT_INTENTS = "https://api.stripe.com/v1/payment_intents"


@pytest.fixture(autouse=True)
def _stripe_key(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.SUBSCRIPTIONS_RETRY_SCHEDULE = [3600, 21600, 86400]


def payment_intent(amount: int, status: str = "succeeded", pi: str = "pi_3MtwBwLkdIwHu7ix28a3tqPa") -> dict:
    """Stripe's PaymentIntent object (docs.stripe.com/api/payment_intents/object), trimmed."""
    return {
        "id": pi, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_received": amount if status == "succeeded" else 0, "capture_method": "automatic",
        "client_secret": f"{pi}_secret_YrKJUKribcBjcG8HVhfZluoGH", "confirmation_method": "automatic",
        "created": 1680800504, "currency": "usd", "customer": "cus_NffrFeUfNV2Hib", "description": None,
        "last_payment_error": None, "latest_charge": "ch_3MtwBwLkdIwHu7ix28a3tqPa" if status == "succeeded" else None,
        "livemode": False, "metadata": {}, "next_action": None, "payment_method": "pm_1MtwBwLkdIwHu7ixfZ7i9hS2",
        "payment_method_types": ["card"], "status": status,
    }


def card_declined(amount: int) -> dict:
    """The 402 card_error Stripe answers for a declined off-session confirmation."""
    intent = payment_intent(amount, status="requires_payment_method", pi="pi_3MtwDeclinedIwHu7ix0000000")
    return {"error": {
        "charge": "ch_3MtwDeclinedIwHu7ix0000000", "code": "card_declined", "decline_code": "insufficient_funds",
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": "Your card has insufficient funds.", "payment_intent": intent, "type": "card_error",
    }}


def stripe_sub(org, price, **kwargs):
    return subscribe(org, price, gateway="stripe", gateway_customer="cus_NffrFeUfNV2Hib",
                     payment_method="pm_1MtwBwLkdIwHu7ixfZ7i9hS2", **kwargs)


@responses.activate
def test_successful_charge_confirms_an_off_session_payment_intent(org, coffee, dispatched, bill):
    responses.post(PAYMENT_INTENTS, json=payment_intent(3980))
    sub = stripe_sub(org, coffee, quantity=2)
    assert bill(now=T0).billed == [sub.subscription_id]
    [call] = responses.calls
    form = {k: v[0] for k, v in parse_qs(call.request.body).items()}
    assert form["amount"] == "3980" and form["currency"] == "usd"
    assert (form["customer"], form["payment_method"]) == ("cus_NffrFeUfNV2Hib", "pm_1MtwBwLkdIwHu7ixfZ7i9hS2")
    assert (form["confirm"], form["off_session"]) == ("true", "true")
    assert call.request.headers["Authorization"] == "Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc"
    assert call.request.headers["Idempotency-Key"].startswith(f"subscription-{sub.subscription_id}-")
    order = Order.objects.get(billing_cycle__subscription=sub)
    payment = order.payments.get()
    assert (payment.gateway, payment.reference, payment.amount_captured) == (
        "stripe", "pi_3MtwBwLkdIwHu7ix28a3tqPa", Decimal("39.80"))
    assert BillingCycle.objects.get(subscription=sub).payment_reference == "pi_3MtwBwLkdIwHu7ix28a3tqPa"


@responses.activate
def test_declined_charge_rolls_the_order_back_retries_on_schedule_then_past_due(org, coffee, dispatched, bill):
    responses.post(PAYMENT_INTENTS, json=card_declined(1990), status=402)
    sub = stripe_sub(org, coffee)
    now = T0
    for attempt, wait in enumerate([3600, 21600, 86400], start=1):
        assert bill(now=now).retrying == [sub.subscription_id]
        cycle = BillingCycle.objects.get(subscription=sub)
        assert (cycle.outcome, cycle.attempts) == ("pending", attempt)
        assert cycle.next_retry_at == now + timedelta(seconds=wait)
        assert "insufficient_funds" in cycle.error
        # not due again before the retry time
        assert bill(now=now + timedelta(seconds=wait - 1)).retrying == []
        now += timedelta(seconds=wait)
    assert bill(now=now).past_due == [sub.subscription_id]
    sub.refresh_from_db()
    assert (sub.status, sub.next_billing_at) == ("past_due", None)
    cycle = BillingCycle.objects.get(subscription=sub)
    assert (cycle.outcome, cycle.attempts, cycle.next_retry_at, cycle.child_order) == ("failed", 4, None, None)
    # nothing half-done: no order, no reservation, no email queued, and a fresh key for every attempt
    assert not Order.objects.filter(org=org).exists()
    assert InventoryItem.objects.get(org=org, sku="COFFEE-1KG").reserved == 0
    assert dispatched.calls == []
    keys = [call.request.headers["Idempotency-Key"] for call in responses.calls]
    assert len(keys) == 4 and len(set(keys)) == 4
    assert bill(now=now + timedelta(days=40)).billed == []


@responses.activate
def test_retry_after_a_decline_bills_the_same_period(org, coffee, dispatched, bill):
    responses.post(PAYMENT_INTENTS, json=card_declined(1990), status=402)
    responses.post(PAYMENT_INTENTS, json=payment_intent(1990))
    sub = stripe_sub(org, coffee)
    bill(now=T0)
    assert bill(now=T0 + timedelta(hours=1)).billed == [sub.subscription_id]
    cycle = BillingCycle.objects.get(subscription=sub)
    assert (cycle.outcome, cycle.attempts, cycle.period_start, cycle.error) == ("success", 2, T0, "")
    assert cycle.child_order.payments.get().reference == "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    sub.refresh_from_db()
    assert sub.next_billing_at == T0.replace(month=6)  # the period keeps its dates, the retry does not shift it


def test_retry_schedule_is_configurable(org, coffee, dispatched, settings, bill):
    settings.SUBSCRIPTIONS_RETRY_SCHEDULE = [60]
    InventoryItem.objects.filter(org=org, sku="COFFEE-1KG").update(on_hand=0)
    sub = subscribe(org, coffee)
    assert bill(now=T0).retrying == [sub.subscription_id]
    assert BillingCycle.objects.get(subscription=sub).next_retry_at == T0 + timedelta(seconds=60)
    assert bill(now=T0 + timedelta(seconds=60)).past_due == [sub.subscription_id]


@responses.activate
def test_resume_of_a_past_due_subscription_starts_a_fresh_period(org, coffee, dispatched, settings, bill):
    settings.SUBSCRIPTIONS_RETRY_SCHEDULE = []
    responses.post(PAYMENT_INTENTS, json=card_declined(1990), status=402)
    responses.post(PAYMENT_INTENTS, json=payment_intent(1990))
    sub = stripe_sub(org, coffee)
    assert bill(now=T0).past_due == [sub.subscription_id]
    later = T0 + timedelta(days=2)
    subscription_apply_action(org=org, subscription_id=sub.subscription_id, action="resume", now=later)
    assert bill(now=later).billed == [sub.subscription_id]
    cycles = list(BillingCycle.objects.filter(subscription=sub).order_by("period_start"))
    assert [(c.period_start, c.outcome) for c in cycles] == [(T0, "failed"), (later, "success")]
