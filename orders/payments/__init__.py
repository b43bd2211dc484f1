"""Payment gateways behind one interface (`base.PaymentGateway`), registered by name."""

from core.api.exceptions import ApiError
from orders.payments.base import GatewayError, PaymentGateway, PaymentNotVerified, RefundResult, VerifiedPayment
from orders.payments.manual import ManualGateway
from orders.payments.stripe_gateway import StripeGateway

GATEWAYS: dict[str, type[PaymentGateway]] = {"manual": ManualGateway, "stripe": StripeGateway}

__all__ = ["GATEWAYS", "GatewayError", "PaymentGateway", "PaymentNotVerified", "RefundResult", "VerifiedPayment",
           "get_gateway"]


def get_gateway(name: str, *, org=None) -> PaymentGateway:
    """The gateway acting for `org` (its own Stripe account when it has set a key)."""
    try:
        return GATEWAYS[name](org=org)
    except KeyError:
        # Not orders.services.errors: services import this package, and it must import on its own.
        raise ApiError(f"Unknown payment gateway {name!r}.", code="invalid",
                       details={"payment": [f"gateway must be one of: {', '.join(sorted(GATEWAYS))}."]})
