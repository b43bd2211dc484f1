"""The one aggregated order shape every channel is normalized into.

Pure data: no Django import. Providers' `normalize(raw)` return these; `ingest()` is the only
code that turns them into rows. Money is Decimal, times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class CommonStatus(StrEnum):
    """The six statuses every channel's own statuses map onto (the raw one is kept beside it)."""

    PENDING = "pending"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class Address:
    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2 where the channel gives it
    phone: str | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name, "company": self.company, "line1": self.line1, "line2": self.line2,
            "city": self.city, "region": self.region, "postalCode": self.postal_code,
            "country": self.country, "phone": self.phone,
        }


@dataclass(frozen=True)
class OrderLineData:
    sku: str | None            # the merchant's SKU (seller SKU) where the channel gives one
    channel_sku: str | None    # the channel's own item / variant / listing id
    quantity: int
    unit_price: Decimal
    name: str | None = None
    channel_line_id: str | None = None  # needed by writeback (line item / order item id)

    def to_json(self) -> dict:
        return {
            "sku": self.sku, "channelSku": self.channel_sku, "quantity": self.quantity,
            "unitPrice": f"{self.unit_price:.2f}", "name": self.name, "channelLineId": self.channel_line_id,
        }


@dataclass(frozen=True)
class AggregatedOrderData:
    channel_order_id: str
    status: CommonStatus
    raw_status: str
    currency: str
    created_at: datetime
    updated_at: datetime       # the channel's last-modified time: ingest skips anything older than stored
    subtotal: Decimal
    tax: Decimal
    shipping: Decimal
    grand_total: Decimal       # the channel's own order total, after refunds and edits where the channel says
    # Order-level discounts, positive. subtotal = lines before order-level discounts; where the channel's figures
    # add up, subtotal - discount + shipping + tax == grand_total (docs/channels.md, "One money model").
    discount: Decimal = Decimal("0")
    lines: list[OrderLineData] = field(default_factory=list)
    customer_email: str | None = None
    customer_name: str | None = None
    shipping_address: Address | None = None
    tracking_number: str | None = None
    channel_order_number: str | None = None  # what the merchant sees on the channel (#1001)
    channel_metadata: dict = field(default_factory=dict)  # raw fields that do not map


@dataclass(frozen=True)
class WebhookRequest:
    """What a receiver hands a provider: the raw bytes exactly as they arrived, never re-serialized."""

    headers: dict[str, str]   # case-insensitive lookups: use `header()`
    body: bytes
    query: dict[str, str]
    url: str                  # the absolute URL the channel called

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified delivery, parsed: orders carried whole, or ids the worker must fetch first."""

    delivery_id: str
    topic: str
    orders: list[dict] = field(default_factory=list)
    order_refs: list[str] = field(default_factory=list)
    # A privacy request to act on instead of orders (Shopify's compliance topics): kind (data_request,
    # customer_redact, shop_redact), customer_id, customer_email, order_ids, ... (channels_sync.services.compliance)
    compliance: dict | None = None


@dataclass(frozen=True)
class WritebackRequest:
    """Everything a provider needs to tell the channel an order's new status."""

    channel_order_id: str
    status: CommonStatus
    lines: list[OrderLineData]
    raw: dict                        # the order as last fetched (line ids, package ids, ...)
    tracking_number: str | None = None
    carrier: str | None = None
    tracking_url: str | None = None
    shipping_method: str | None = None
    ship_date: datetime | None = None
    # True: `lines` are one parcel's lines and quantities (a storefront shipment), to be fulfilled on their own
    # with this tracking; False: the whole order (a status set by staff or the API).
    parcel: bool = False


@dataclass(frozen=True)
class WritebackResult:
    channel_reference: str | None = None   # the channel's id for what was created (fulfillment id, ...)
    response_code: int | None = None
    request_summary: str = ""
    # What the call taught about the channel account (WooCommerce: whether Shipment Tracking is installed),
    # merged into the channel's config once the writeback is recorded, so the next one goes straight there.
    learned_config: dict = field(default_factory=dict)
    # The tracking the channel itself reports for the shipment (a platform-shipped TikTok order), stored on the
    # order in place of what was typed; None: the channel reported none.
    tracking_number: str | None = None
    carrier: str | None = None
