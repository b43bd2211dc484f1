"""Stripe: refunds against the captured PaymentIntent (Payment.reference = "pi_..."), through the
official `stripe` package. The idempotency key goes in Stripe's Idempotency-Key header, so a
retried refund (for instance after our commit failed) returns the first refund, never a second."""

from decimal import Decimal

import stripe

from orders.conf import orders_settings
from orders.payments.base import ChargeResult, GatewayError, PaymentGateway, RefundResult

# Stripe only accepts these reasons; ours goes to metadata instead.
STRIPE_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
ZERO_DECIMAL_CURRENCIES = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                           "vuv", "xaf", "xof", "xpf"}


def to_minor_units(amount: Decimal, currency: str) -> int:
    factor = 1 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 100
    return int((amount * factor).to_integral_value())


class StripeGateway(PaymentGateway):
    name = "stripe"

    def _client(self) -> stripe.StripeClient:
        if not orders_settings.STRIPE_SECRET_KEY:
            raise GatewayError("STRIPE_SECRET_KEY is not set.", gateway=self.name)
        return stripe.StripeClient(
            orders_settings.STRIPE_SECRET_KEY,
            base_addresses={"api": orders_settings.STRIPE_API_BASE},
            max_network_retries=orders_settings.STRIPE_MAX_NETWORK_RETRIES,
        )

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
