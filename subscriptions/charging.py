"""Charging a saved payment method, on top of the storefront's gateway interface.

`orders.payments` gives every gateway one interface (today: `refund`). Renewals also need to
charge, so each gateway here is the storefront's own class plus a `charge` method; refunds of a
child order keep going through the storefront unchanged. The idempotency key is derived from the
subscription and period, so a retried or duplicated billing run can never charge twice.
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal

import stripe

import orders.services  # noqa: F401  (first: importing orders.payments first is an import cycle)
from orders.payments import GatewayError
from orders.payments.manual import ManualGateway
from orders.payments.stripe_gateway import StripeGateway, to_minor_units
from orders.services.errors import InvalidRequest


@dataclass(frozen=True)
class ChargeResult:
    reference: str
    status: str


class ManualChargeGateway(ManualGateway):
    """Invoices settled outside the hub: the charge is recorded, never refused."""

    def charge(self, *, amount: Decimal, currency: str, gateway_customer: str, payment_method: str,
               idempotency_key: str, description: str, metadata: dict) -> ChargeResult:
        return ChargeResult(reference=f"manual_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]}",
                            status="succeeded")


class StripeChargeGateway(StripeGateway):
    """An off-session PaymentIntent created and confirmed in one call (Stripe's saved-card renewal)."""

    def charge(self, *, amount: Decimal, currency: str, gateway_customer: str, payment_method: str,
               idempotency_key: str, description: str, metadata: dict) -> ChargeResult:
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


CHARGE_GATEWAYS = {"manual": ManualChargeGateway, "stripe": StripeChargeGateway}


def get_charge_gateway(name: str):
    try:
        return CHARGE_GATEWAYS[name]()
    except KeyError:
        raise InvalidRequest(f"Unknown payment gateway {name!r}.", field="gateway",
                             errors=f"gateway must be one of: {', '.join(sorted(CHARGE_GATEWAYS))}.")
