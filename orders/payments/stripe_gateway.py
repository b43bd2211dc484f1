"""Stripe: checkout's PaymentIntent verification, and refunds against the captured PaymentIntent
(Payment.reference = "pi_..."), through the official `stripe` package. The idempotency key goes in
Stripe's Idempotency-Key header, so a retried refund (for instance after our commit failed) returns the
first refund, never a second.

The secret key is the org's (orders.CheckoutSettings.stripe_secret_key) when it has set one, else the
hub's STRIPE_SECRET_KEY: a PaymentIntent is only found in the account that created it."""

import re
from decimal import Decimal

import stripe

from orders.conf import orders_settings
from orders.payments.base import (
    ChargeResult,
    GatewayError,
    PaymentGateway,
    PaymentNotVerified,
    RefundResult,
    VerifiedPayment,
)

PAYMENT_INTENT_ID = re.compile(r"^pi_[A-Za-z0-9]{1,250}$")
# PaymentIntent status -> what the order may count; every other status (requires_payment_method,
# requires_confirmation, requires_action, processing, canceled) is not money the merchant holds.
HELD_STATUSES = {"succeeded": "captured", "requires_capture": "authorized"}

# Stripe only accepts these reasons; ours goes to metadata instead.
STRIPE_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
ZERO_DECIMAL_CURRENCIES = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                           "vuv", "xaf", "xof", "xpf"}


def to_minor_units(amount: Decimal, currency: str) -> int:
    factor = 1 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 100
    return int((amount * factor).to_integral_value())


class StripeGateway(PaymentGateway):
    name = "stripe"

    def _secret_key(self) -> str:
        if self.org is not None:
            from orders.models import CheckoutSettings

            rules = CheckoutSettings.objects.filter(org=self.org).first()
            if rules is not None and rules.stripe_secret_key:
                return rules.stripe_secret_key
        return orders_settings.STRIPE_SECRET_KEY

    def _client(self) -> stripe.StripeClient:
        secret_key = self._secret_key()
        if not secret_key:
            raise GatewayError("No Stripe secret key is set (the org's checkout settings or STRIPE_SECRET_KEY).",
                               gateway=self.name, code="not_configured")
        return stripe.StripeClient(
            secret_key,
            base_addresses={"api": orders_settings.STRIPE_API_BASE},
            max_network_retries=orders_settings.STRIPE_MAX_NETWORK_RETRIES,
        )

    def verify(self, *, reference, amount, currency) -> VerifiedPayment:
        """GET /v1/payment_intents/{id}: held (succeeded, or requires_capture) for exactly `amount` in
        `currency`. The amount compared is the money held: amount_received once captured, amount_capturable
        while authorized (a partial capture holds less than `amount`)."""
        if not PAYMENT_INTENT_ID.match(reference or ""):
            raise PaymentNotVerified("reference must be a Stripe PaymentIntent id (pi_...).")
        try:
            intent = self._client().v1.payment_intents.retrieve(reference)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise PaymentNotVerified(f"No PaymentIntent {reference} in this store's Stripe account.") from exc
            raise GatewayError(exc.user_message or str(exc) or "Stripe refused the lookup.", gateway=self.name,
                               status=exc.http_status, code=getattr(exc, "code", "") or "") from exc
        except stripe.StripeError as exc:
            raise GatewayError(exc.user_message or str(exc) or "Stripe could not be reached.", gateway=self.name,
                               status=exc.http_status, code=getattr(exc, "code", "") or "") from exc
        status = HELD_STATUSES.get(intent.status)
        if status is None:
            raise PaymentNotVerified(f"PaymentIntent {reference} is {intent.status}: nothing is paid.")
        if (intent.currency or "").lower() != currency.lower():
            raise PaymentNotVerified(f"PaymentIntent {reference} is in {(intent.currency or '').upper()}, "
                                     f"the order in {currency.upper()}.")
        expected = to_minor_units(amount, currency)
        held = intent.amount_received if status == "captured" else intent.amount_capturable
        if intent.amount != expected or held != expected:
            raise PaymentNotVerified(f"PaymentIntent {reference} holds {held} (of {intent.amount}) minor units; "
                                     f"the order total is {expected}.")
        return VerifiedPayment(reference=reference, status=status, amount=amount)

    def refund(self, *, payment, amount, currency, idempotency_key, reason, metadata) -> RefundResult:
        if not payment.reference.startswith("pi_"):
            raise GatewayError(f"Payment reference {payment.reference!r} is not a PaymentIntent id.", gateway=self.name)
        params = {
            "payment_intent": payment.reference,
            "amount": to_minor_units(amount, currency),
            "metadata": {**{k: str(v) for k, v in metadata.items()}, "reason": reason[:500]},
        }
        if reason in STRIPE_REASONS:
            params["reason"] = reason
        try:
            refund = self._client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise GatewayError(exc.user_message or str(exc) or "Stripe refused the refund.", gateway=self.name,
                               status=exc.http_status, code=getattr(exc, "code", "") or "") from exc
        if refund.status in {"failed", "canceled"}:
            raise GatewayError(f"Stripe refund {refund.id} is {refund.status}.", gateway=self.name, code=refund.status)
        return RefundResult(reference=refund.id, status=refund.status)

    def charge(self, *, amount, currency, gateway_customer, payment_method, idempotency_key, description,
               metadata) -> ChargeResult:
        """An off-session PaymentIntent created and confirmed in one call (Stripe's saved-card renewal)."""
        if not payment_method:
            raise GatewayError("The subscription has no saved payment method.", gateway=self.name,
                               code="no_payment_method")
        params = {
            "amount": to_minor_units(amount, currency),
            "currency": currency.lower(),
            "payment_method": payment_method,
            "confirm": True,
            "off_session": True,
            "description": description[:1000],
            "metadata": {k: str(v) for k, v in metadata.items()},
        }
        if gateway_customer:
            params["customer"] = gateway_customer
        try:
            intent = self._client().v1.payment_intents.create(params=params,
                                                              options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            error = getattr(exc, "error", None)
            code = getattr(error, "decline_code", None) or getattr(exc, "code", "") or ""
            raise GatewayError(exc.user_message or str(exc) or "Stripe refused the charge.", gateway=self.name,
                               status=exc.http_status, code=code) from exc
        if intent.status != "succeeded":
            # requires_action (3-D Secure) or requires_payment_method: the customer has to step in.
            raise GatewayError(f"PaymentIntent {intent.id} is {intent.status}.", gateway=self.name,
                               code=intent.status)
        return ChargeResult(reference=intent.id, status=intent.status)
