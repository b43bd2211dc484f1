"""Idempotent demo catalogue for `make run` (after seed_demo): priced SKUs with stock and the org's checkout
rules, so the public checkout works in the demo (issue 15: an unpriced SKU cannot be bought anonymously).

    .venv/bin/python manage.py seed_demo_catalogue [--org demo]
"""

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Org
from orders.models import CheckoutSettings, InventoryItem

# sku, name, list price (USD), on hand
CATALOGUE = [
    ("SNK-AIR-1-9-BLK", "Air runner, size 9, black", Decimal("129.00"), 25),
    ("SOCK-3PK", "Running socks, 3 pack", Decimal("12.00"), 100),
    ("COFFEE-1KG", "House blend coffee, 1 kg", Decimal("25.00"), 100),
]
FLAT_SHIPPING, TAX_RATE = Decimal("5.00"), Decimal("8.000")


class Command(BaseCommand):
    help = "Create the demo org's priced SKUs and its shipping and tax rules (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo")

    @transaction.atomic
    def handle(self, *args, org: str, **options):
        org_row = Org.objects.filter(slug=org).first()
        if org_row is None:
            raise CommandError(f"No org {org!r}: run seed_demo first.")
        for sku, name, price, on_hand in CATALOGUE:
            item, created = InventoryItem.objects.get_or_create(
                org=org_row, sku=sku, defaults={"name": name, "unit_price": price, "on_hand": on_hand})
            if not created and item.unit_price is None:  # a SKU an older seed left unpriced
                item.unit_price = price
                item.save(update_fields=["unit_price", "updated_at"])
        CheckoutSettings.objects.get_or_create(org=org_row, defaults={"flat_shipping": FLAT_SHIPPING,
                                                                      "tax_rate": TAX_RATE})
        self.stdout.write(f"Demo catalogue: {', '.join(sku for sku, *_ in CATALOGUE)} priced; checkout charges "
                          f"{FLAT_SHIPPING} shipping and {TAX_RATE.normalize()}% tax (Admin, Checkout settings).")
