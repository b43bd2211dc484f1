"""Payment gateways behind one interface (`base.PaymentGateway`), registered by name."""

from orders.payments.base import GatewayError, PaymentGateway, RefundResult
from orders.payments.manual import ManualGateway
from orders.payments.stripe_gateway import StripeGateway
from orders.services.errors import InvalidRequest

GATEWAYS: dict[str, type[PaymentGateway]] = {"manual": ManualGateway, "stripe": StripeGateway}

__all__ = ["GATEWAYS", "GatewayError", "PaymentGateway", "RefundResult", "get_gateway"]


def get_gateway(name: str) -> PaymentGateway:
    try:
        return GATEWAYS[name]()
    except KeyError:
        raise InvalidRequest(f"Unknown payment gateway {name!r}.", field="payment",
                             errors=f"gateway must be one of: {', '.join(sorted(GATEWAYS))}.")
