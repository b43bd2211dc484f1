"""Idempotent demo data for tracking and the public pages: a shipped order in transit (docs/architecture.md's
seed example), the org's branding, and the links and commands to try them.

    .venv/bin/python manage.py seed_tracking_demo [--org demo]
"""

from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Org, OrgBranding
from orders import services
from orders.links import customer_account_url, order_email_url
from orders.models import Activity, InventoryItem, Shipment
from tracking.services import shipment_add_scan

SKU = "SNK-AIR-1-9-BLK"
TRACKING = "1Z999AA10123456784"


class Command(BaseCommand):
    help = "Create a shipped, in-transit demo order with scans and the org's branding (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo")
        parser.add_argument("--email", default="jane@example.com")

    def handle(self, *args, org: str, email: str, **options):
        org_row = Org.objects.filter(slug=org).first()
        if org_row is None:
            raise CommandError(f"No org {org!r}: run seed_demo first.")
        OrgBranding.objects.get_or_create(org=org_row, defaults={
            "display_name": org_row.name, "support_email": f"help@{org_row.slug}.example.com"})
        shipment = Shipment.objects.filter(org=org_row, tracking_number=TRACKING).select_related("order").first()
        if shipment is None:
            shipment = self._ship(org_row, email)
        order = shipment.order
        base = settings.PUBLIC_BASE_URL
        self.stdout.write(self.style.SUCCESS(f"Tracking demo: order {order.order_number} ({order.status}), "
                                             f"parcel {TRACKING}"))
        self.stdout.write(f"  status:  curl -s '{base}/shipping/order/{order.order_number}/status"
                          f"?email={order.customer.email}' -H 'orgid: {org}'")
        self.stdout.write(f"  track:   curl -s {base}/shipping/track/{TRACKING} -H 'orgid: {org}'")
        self.stdout.write(f"  lookup:  {base}/orders/lookup?org={org}  (email {order.customer.email}, "
                          f"number {order.order_number})")
        self.stdout.write(f"  account: {customer_account_url(order.customer)}")
        self.stdout.write(f"  page:    {order_email_url(order)}  (the order page, as its emails link it)")
        self.stdout.write(f"  deliver: .venv/bin/python manage.py send_carrier_webhook {TRACKING} --status delivered")

    @transaction.atomic
    def _ship(self, org, email) -> Shipment:
        InventoryItem.objects.get_or_create(org=org, sku=SKU, defaults={
            "name": "Air runner, size 9, black", "unit_price": Decimal("129.00"), "on_hand": 25})
        order, _ = services.checkout_cart(
            org=org, customer={"email": email, "name": "Jane Doe"}, lines=[{"sku": SKU, "quantity": 1}],
            shipping_address={"line1": "1 Main St", "city": "Springfield", "region": "IL", "postalCode": "62701",
                              "country": "US"},
            payment={"gateway": "manual"}, shipping_total=Decimal("7.50"), actor_label="seed")
        # docs/architecture.md's example ships on 22 Apr 2026: the demo order is placed the day before, not today.
        type(order).objects.filter(pk=order.pk).update(created_at=datetime(2026, 4, 21, 18, 30, tzinfo=UTC))
        services.order_process(org=org, order_number=order.order_number, actor_label="seed")
        # ...and prepared the morning it shipped, so the order page's progress dates read in order.
        type(order).objects.filter(pk=order.pk).update(processed_at=datetime(2026, 4, 22, 9, 0, tzinfo=UTC))
        _, shipment = services.order_ship(org=org, order_number=order.order_number, carrier="ups",
                                          tracking_number=TRACKING, service="Ground", actor_label="seed",
                                          ship_date=datetime(2026, 4, 22, 15, 0, tzinfo=UTC))
        shipment_add_scan(org=org, shipment_id=shipment.pk, status="label_created", raw_status="M",
                          description="Shipper created a label", location="Louisville, KY US",
                          occurred_at=datetime(2026, 4, 22, 15, 5, tzinfo=UTC))
        shipment_add_scan(org=org, shipment_id=shipment.pk, status="in_transit", raw_status="I",
                          description="Departed from facility", location="Louisville, KY US",
                          occurred_at=datetime(2026, 4, 23, 3, 10, tzinfo=UTC))
        # The verbs ran today; their times (and the timeline's rows) follow the story, or the order page says
        # "Processing 3 Dec" between a placed 21 Apr and a shipped 22 Apr.
        placed, processed, shipped = (datetime(2026, 4, 21, 18, 30, tzinfo=UTC),
                                      datetime(2026, 4, 22, 9, 0, tzinfo=UTC), datetime(2026, 4, 22, 15, 0, tzinfo=UTC))
        type(order).objects.filter(pk=order.pk).update(processed_at=processed, shipped_at=shipped)
        for verb, at in (("checkout", placed), ("process", processed), ("ship", shipped)):
            Activity.objects.filter(order=order, verb=verb).update(at=at)
        return Shipment.objects.select_related("order").get(pk=shipment.pk)
