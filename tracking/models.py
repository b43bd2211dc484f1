"""Shipments of storefront orders. The storefront `ship` verb creates them; scan events and
carrier providers (a later issue) build on these rows."""

import hashlib
from datetime import UTC
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
    # Carrier-neutral status (TrackingStatus below), derived from the latest scan by tracking.services.
    status = models.CharField(max_length=32, default="label_created")
    ship_date = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Tracking (tracking.services): the provider following this parcel, its id there, the raw code.
    provider = models.CharField(max_length=32, blank=True, help_text="Blank: the default tracking provider.")
    provider_ref = models.CharField(max_length=100, blank=True, help_text="The provider's id, e.g. EasyPost trk_...")
    raw_status = models.CharField(max_length=64, blank=True)
    public_tracking_url = models.URLField(max_length=500, blank=True)
    status_updated_at = models.DateTimeField(null=True, blank=True)

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


class TrackingStatus(models.TextChoices):
    """The carrier-neutral vocabulary every provider maps its own codes onto."""

    LABEL_CREATED = "label_created", "Label created"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Exception"
    RETURNED = "returned", "Returned"


class ScanEvent(models.Model):
    """One carrier scan of a shipment. `dedupe_key` (time, raw code, description, location) is unique
    per shipment, so a repeated webhook or a re-polled tracker never adds the same scan twice."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="scans")
    status = models.CharField(max_length=32, choices=TrackingStatus.choices)
    raw_status = models.CharField(max_length=64, blank=True, help_text="The carrier's own code, as received.")
    description = models.CharField(max_length=500, blank=True)
    location = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=32, default="manual", help_text="The provider that reported the scan.")
    dedupe_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "dedupe_key"], name="scan_event_unique_per_shipment"),
        ]
        indexes = [models.Index(fields=["shipment", "-occurred_at"], name="scan_event_latest")]

    def __str__(self) -> str:
        return f"{self.status} {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        # Recomputed on every save, so a scan corrected in admin still collides with its duplicate.
        self.dedupe_key = self.make_dedupe_key(occurred_at=self.occurred_at,
                                               raw_status=self.raw_status or self.status,
                                               description=self.description, location=self.location)
        super().save(*args, **kwargs)

    @staticmethod
    def make_dedupe_key(*, occurred_at, raw_status: str, description: str, location: str) -> str:
        stamp = occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        material = "\x1f".join([stamp, raw_status.strip().lower(), description.strip().lower(),
                                location.strip().lower()])
        return hashlib.sha256(material.encode()).hexdigest()



class CarrierWebhookDelivery(models.Model):
    """One verified webhook from a carrier aggregator, kept raw; the event id makes a retry a no-op."""

    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (no matching shipment or event)"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=128)
    description = models.CharField(max_length=64, blank=True, help_text="The provider's event type.")
    tracking_number = models.CharField(max_length=100, blank=True, db_index=True)
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED)
    shipments_updated = models.PositiveIntegerField(default=0)
    scans_added = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="carrier_webhook_unique_event")]
        verbose_name_plural = "carrier webhook deliveries"

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id}"


class OrgBranding(models.Model):
    """What the public order pages show for an org: its display name and logo (accounts stays untouched)."""

    org = models.OneToOneField(Org, on_delete=models.CASCADE, related_name="branding")
    display_name = models.CharField(max_length=200, blank=True, help_text="Defaults to the org's name.")
    logo_url = models.URLField(blank=True)
    accent_color = models.CharField(max_length=7, default="#1f6feb",
                                    help_text="A #rrggbb colour for buttons and links.")
    support_email = models.EmailField(blank=True)

    class Meta:
        verbose_name_plural = "org branding"

    def __str__(self) -> str:
        return self.display_name or self.org.name
