"""The payment gateway interface: every gateway refunds (and charges a saved method) the same way; the
services never care which."""

from dataclasses import dataclass
from decimal import Decimal


class GatewayError(Exception):
    """The gateway refused or could not be reached; the caller rolls back and answers 502."""

    def __init__(self, message: str, *, gateway: str, status: int | None = None, code: str = ""):
        super().__init__(message)
        self.gateway, self.status, self.code = gateway, status, code


class PaymentNotVerified(Exception):
    """The gateway answered, and the payment a checkout names does not pay for this order (wrong status,
    amount or currency, unknown id). The checkout refuses it: 400 with a `payment` field error."""


@dataclass(frozen=True)
class VerifiedPayment:
    """What the gateway itself says a payment holds for the order: `captured` or only `authorized`."""

    reference: str
    status: str
    amount: Decimal


@dataclass(frozen=True)
class RefundResult:
    reference: str
    status: str


@dataclass(frozen=True)
class ChargeResult:
    reference: str
    status: str


class PaymentGateway:
    name: str = ""

    def __init__(self, *, org=None):
        self.org = org  # whose account the gateway acts on (its credentials); None: the hub's own settings

    def verify(self, *, reference: str, amount: Decimal, currency: str) -> VerifiedPayment:
        """Ask the gateway whether `reference` pays `amount` in `currency`; PaymentNotVerified if not,
        GatewayError if the gateway cannot answer."""
        raise NotImplementedError

    def refund(self, *, payment, amount: Decimal, currency: str, idempotency_key: str, reason: str,
               metadata: dict) -> RefundResult:
        """Refund `amount` of `payment`; the same idempotency_key must never refund twice."""
        raise NotImplementedError

    def charge(self, *, amount: Decimal, currency: str, gateway_customer: str, payment_method: str,
               idempotency_key: str, description: str, metadata: dict) -> ChargeResult:
        """Charge a saved payment method off-session (subscription renewals); the same idempotency_key must
        never charge twice."""
        raise NotImplementedError
