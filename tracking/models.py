"""Tracking of shipments: carrier scans and the raw carrier webhooks. The parcels themselves
(orders.Shipment) belong to the order; tracking follows them and derives their status."""

import hashlib
from datetime import UTC

from django.db import models

from accounts.models import Org
from orders.models import Shipment


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
        verbose_name_plural = "scan events"
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
