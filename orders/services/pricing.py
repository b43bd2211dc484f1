"""The hub's own checkout rules (orders.CheckoutSettings): the shipping and tax an order is charged when the
caller may not say (an anonymous checkout) or does not (issue 15, item 3)."""

from decimal import ROUND_HALF_UP, Decimal

from orders.models import ZERO, CheckoutSettings

CENT = Decimal("0.01")


def hub_shipping_and_tax(*, org, subtotal: Decimal) -> tuple[Decimal, Decimal]:
    """(flat shipping, tax rate x subtotal rounded half-up to cents); zeros for an org without settings."""
    rules = CheckoutSettings.objects.filter(org=org).only("flat_shipping", "tax_rate").first()
    if rules is None:
        return ZERO, ZERO
    tax = (subtotal * rules.tax_rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return rules.flat_shipping, tax
