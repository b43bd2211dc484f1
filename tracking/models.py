"""Shipments of storefront orders. The storefront `ship` verb creates them; scan events and
carrier providers (a later issue) build on these rows."""

from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Org

CARRIER_TRACKING_URLS = {
    "ups": "https://www.ups.com/track?tracknum={tn}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={tn}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={tn}",
    "dhl": "https://www.dhl.com/en/express/tracking.html?AWB={tn}",
}


class Shipment(models.Model):
    """One parcel: carrier, tracking number and the order lines (with quantities) inside it."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="shipments")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(max_length=32)
    tracking_number = models.CharField(max_length=100, db_index=True)
    service = models.CharField(max_length=64, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD")
    # Carrier-neutral status vocabulary: pre_transit, in_transit, out_for_delivery, delivered, exception.
    status = models.CharField(max_length=32, default="pre_transit")
    ship_date = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ship_date", "id"]
        constraints = [models.CheckConstraint(condition=Q(cost__gte=0), name="shipment_cost_non_negative")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"

    @property
    def public_id(self) -> str:
        return f"shp-{self.pk:03d}"

    @property
    def tracking_url(self) -> str:
        template = CARRIER_TRACKING_URLS.get(self.carrier.lower())
        tn = quote(self.tracking_number, safe="")
        if template:
            return template.format(tn=tn)
        return f"{settings.PUBLIC_BASE_URL}/shipping/track/{tn}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.CASCADE, related_name="shipment_lines")
    sku = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.sku} x{self.quantity}"
