"""Orders for tests, built through the real services (one org per test, passed down)."""

from decimal import Decimal

import factory

from orders import services
from orders.models import CheckoutSettings, InventoryItem


class InventoryItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InventoryItem

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.LazyAttribute(lambda item: f"Item {item.sku}")
    unit_price = Decimal("10.00")
    on_hand = 100
    reserved = 0


def stock(org, **on_hand_by_sku) -> dict[str, InventoryItem]:
    """stock(org, A=5, B=3): SKUs priced 10.00 (A-1 style names need stock(org, **{"A-1": 5}))."""
    return {sku: InventoryItemFactory(org=org, sku=sku, on_hand=qty) for sku, qty in on_hand_by_sku.items()}


def checkout_rules(org, *, flat_shipping="0.00", tax_rate="0", stripe_secret_key="") -> CheckoutSettings:
    """The org's own shipping and tax rules (what anonymous checkouts are charged) and its Stripe key."""
    rules, _ = CheckoutSettings.objects.update_or_create(org=org, defaults={
        "flat_shipping": Decimal(flat_shipping), "tax_rate": Decimal(tax_rate), "stripe_secret_key": stripe_secret_key})
    return rules


def checkout(org, lines=None, *, email="buyer@example.com", payment=None, is_test=False, **kwargs):
    lines = lines or {"A": 2, "B": 1}
    order, _ = services.checkout_cart(
        org=org, customer={"email": email, "name": "Buyer"},
        lines=[{"sku": sku, "quantity": qty} for sku, qty in lines.items()],
        shipping_address={"line1": "1 Main St", "city": "Springfield", "country": "US"},
        payment=payment if payment is not None else {"gateway": "manual"}, is_test=is_test, **kwargs,
    )
    return order


PATH_TO = {
    "new": [],
    "processing": ["process"],
    "shipped": ["process", "ship"],
    "delivered": ["process", "ship", "deliver"],
    "completed": ["process", "ship", "deliver", "complete"],
    "on-hold": ["hold"],
    "cancelled": ["cancel"],
    "refunded": ["process", "ship", "refund"],
}
ARGS = {
    "ship": {"carrier": "ups", "tracking_number": "1Z999AA10123456784"},
    "hold": {"reason": "address check"},
    "refund": {"reason": "customer request"},
}


def order_in(org, state: str, **checkout_kwargs):
    """A fresh order (stock A/B must exist) driven to `state` through the services."""
    order = checkout(org, **checkout_kwargs)
    for verb in PATH_TO[state]:
        order = services.order_transition(verb, org=org, order_number=order.order_number, **ARGS.get(verb, {}))
    assert order.status == state
    return order
