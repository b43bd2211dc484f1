"""The carrier provider interface: every tracking source (an aggregator or staff typing scans in
admin) is one module exposing `Provider`, registered by name in `tracking.carriers`.

Normalizers are pure: raw provider JSON in, `TrackingResult` out (no Django, no HTTP), so each
documented payload is a test case on its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# The normalized vocabulary (mirrors tracking.models.TrackingStatus, kept import-free here).
LABEL_CREATED = "label_created"
IN_TRANSIT = "in_transit"
OUT_FOR_DELIVERY = "out_for_delivery"
DELIVERED = "delivered"
EXCEPTION = "exception"
RETURNED = "returned"
STATUSES = (LABEL_CREATED, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED, EXCEPTION, RETURNED)


class CarrierError(Exception):
    """The provider could not answer (network, 5xx, 429, bad credentials): callers fall back to stored scans."""


class CarrierNotFound(CarrierError):
    """The provider does not know this tracking number."""


class WebhookRejected(Exception):
    """Missing, forged or stale signature: the receiver answers 401 and stores nothing."""


class WebhookUnreadable(Exception):
    """Signed, but not an event we can read or store (wrong shapes, NUL characters): 400, nothing stored."""


@dataclass(frozen=True)
class Scan:
    status: str
    raw_status: str
    description: str
    location: str
    occurred_at: datetime


@dataclass(frozen=True)
class TrackingResult:
    """What a provider knows about one parcel, already in our vocabulary."""

    tracking_number: str
    carrier: str
    status: str | None
    raw_status: str
    scans: tuple[Scan, ...] = ()
    provider_ref: str = ""
    public_url: str = ""
    estimated_delivery: datetime | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    description: str
    results: tuple[TrackingResult, ...]
    occurred_at: datetime | None = None


class CarrierProvider(ABC):
    """One tracking source. Instances are cheap; credentials come from settings at construction."""

    name: str = ""
    #: False for providers with no live source (manual): the public endpoint serves stored scans.
    live: bool = True

    @abstractmethod
    def track(self, *, tracking_number: str, carrier: str, provider_ref: str = "") -> TrackingResult:
        """The parcel's current state from the provider (raises CarrierError / CarrierNotFound)."""

    def register(self, *, tracking_number: str, carrier: str) -> TrackingResult | None:
        """Ask the provider to follow this parcel (and push webhooks for it). Default: nothing to do."""
        return None

    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise WebhookRejected unless the request is signed by the provider and fresh."""
        raise WebhookRejected(f"{self.name} does not send webhooks")

    def parse_webhook(self, body: bytes) -> WebhookEvent:
        raise WebhookRejected(f"{self.name} does not send webhooks")
