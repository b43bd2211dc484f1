"""Which gateway bills a subscription: the storefront's gateways (`orders.payments`), which refund and
charge. The idempotency key is derived from the subscription and period (billing), so a retried or
duplicated billing run can never charge twice."""

from orders.payments import GATEWAYS as CHARGE_GATEWAYS
from orders.payments.base import PaymentGateway
from orders.services.errors import InvalidRequest


def get_charge_gateway(name: str) -> PaymentGateway:
    try:
        return CHARGE_GATEWAYS[name]()
    except KeyError:
        raise InvalidRequest(f"Unknown payment gateway {name!r}.", field="gateway",
                             errors=f"gateway must be one of: {', '.join(sorted(CHARGE_GATEWAYS))}.")
