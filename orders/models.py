"""Storefront orders: the order and its state machine, lines, shipments, inventory, money and history.

The `@transition` methods on `Order` are pure (state and conditions only). Every verb is run by
a service in `orders/services/` that locks the row, calls the method, saves, records Activity
and publishes the `order.*` event after commit. Never call a transition method directly.
"""

import secrets
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Org
from core.fields import EncryptedTextField

ZERO = Decimal("0.00")
MONEY = {"max_digits": 12, "decimal_places": 2}


class OrderStatus(models.TextChoices):
    NEW = "new", "New"
    PROCESSING = "processing", "Processing"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    COMPLETED = "completed", "Completed"
    ON_HOLD = "on-hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


S = OrderStatus
# Terminal or locked states: `update` is refused; only `refund` may still act on completed/cancelled.
LOCKED_STATES = {S.COMPLETED, S.CANCELLED, S.REFUNDED}
FROZEN_STATES = {S.REFUNDED}


def new_customer_sk() -> str:
    return f"cus_{secrets.token_hex(10)}"


class Customer(models.Model):
    """A storefront buyer. `sk` is the opaque id customers use as `:author` in lookup URLs."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="customers")
    sk = models.CharField(max_length=40, default=new_customer_sk, unique=True)
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "customers"
        constraints = [models.UniqueConstraint(fields=["org", "email"], name="customer_unique_email_per_org")]
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class OrderNumberCounter(models.Model):
    """Last order sequence used per org and year; locked on use so numbers are never reused."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "order number counters"
        constraints = [models.UniqueConstraint(fields=["org", "year"], name="order_counter_unique_org_year")]

    def __str__(self) -> str:
        return f"{self.org_id}/{self.year}: {self.last_value}"


class Order(ConcurrentTransitionMixin, models.Model):
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="orders")
    order_number = models.CharField(max_length=32)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = FSMField(max_length=16, choices=OrderStatus.choices, default=S.NEW, protected=True, db_index=True)
    prior_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(**MONEY, default=ZERO)
    shipping_total = models.DecimalField(**MONEY, default=ZERO)
    tax_total = models.DecimalField(**MONEY, default=ZERO)
    grand_total = models.DecimalField(**MONEY, default=ZERO)
    # Denormalised from Payment/Refund rows so transition conditions stay pure (no queries).
    captured_total = models.DecimalField(**MONEY, default=ZERO)
    refunded_total = models.DecimalField(**MONEY, default=ZERO)
    shipping_address = models.JSONField(default=dict, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    customer_note = models.TextField(blank=True)
    internal_notes = models.TextField(blank=True)
    hold_reason = models.CharField(max_length=500, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    is_test = models.BooleanField(default=False)
    source = models.CharField(max_length=32, default="storefront")
    metadata = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    # sha256 of the checkout request body the key was first used with: a replay with another body is a 409.
    idempotency_body_hash = models.CharField(max_length=64, blank=True, default="")
    # The name the buyer typed at checkout; an anonymous checkout never writes it onto the Customer.
    customer_name = models.CharField(max_length=200, blank=True, default="")
    # Some units were sold without stock to hold (a marketplace order: the channel already sold them); see
    # OrderLine.quantity_backordered. Cleared once every backordered unit has been reserved and shipped.
    is_backorder = models.BooleanField(default=False, db_index=True, verbose_name="backorder")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "orders"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "order_number"], name="order_unique_number_per_org"),
            models.UniqueConstraint(
                fields=["org", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="order_unique_idempotency_key_per_org",
            ),
            models.CheckConstraint(condition=Q(refunded_total__gte=0), name="order_refunded_total_non_negative"),
            models.CheckConstraint(
                condition=Q(refunded_total__lte=F("captured_total")), name="order_refund_within_captured"
            ),
        ]

    def __str__(self) -> str:
        return self.order_number

    @property
    def is_locked(self) -> bool:
        """Completed, cancelled or refunded: details can no longer be edited."""
        return self.status in LOCKED_STATES

    @property
    def is_frozen(self) -> bool:
        """Refunded: nothing may change any more."""
        return self.status in FROZEN_STATES

    @property
    def refundable_total(self) -> Decimal:
        return max(ZERO, min(self.captured_total, self.grand_total) - self.refunded_total)

    def has_refundable_balance(self) -> bool:
        return self.refundable_total > ZERO

    # --- transitions: pure, called only by orders.services.transitions -------------------

    @transition(field=status, source=S.NEW, target=S.PROCESSING, custom={"admin": True, "label": "Process"})
    def process(self):
        pass

    @transition(field=status, source=S.PROCESSING, target=RETURN_VALUE(S.PROCESSING, S.SHIPPED),
                custom={"admin": True, "label": "Ship", "form": "orders.admin_forms.ShipForm"})
    def ship(self, *, fully_shipped: bool = True):
        return S.SHIPPED if fully_shipped else S.PROCESSING

    @transition(field=status, source=S.SHIPPED, target=S.DELIVERED, custom={"admin": True, "label": "Deliver"})
    def deliver(self):
        pass

    @transition(field=status, source=S.DELIVERED, target=S.COMPLETED, custom={"admin": True, "label": "Complete"})
    def complete(self):
        pass

    @transition(field=status, source=[S.NEW, S.PROCESSING], target=S.ON_HOLD,
                custom={"admin": True, "label": "Hold", "form": "orders.admin_forms.HoldForm"})
    def hold(self):
        self.prior_status = self.status

    @transition(field=status, source=S.ON_HOLD, target=RETURN_VALUE(S.NEW, S.PROCESSING),
                custom={"admin": True, "label": "Release"})
    def release(self):
        prior, self.prior_status = self.prior_status or S.NEW, ""
        return prior

    @transition(field=status, source=[S.NEW, S.PROCESSING, S.ON_HOLD], target=S.CANCELLED,
                custom={"admin": True, "label": "Cancel", "form": "orders.admin_forms.CancelForm"})
    def cancel(self):
        self.prior_status = ""

    @transition(field=status, source=[S.SHIPPED, S.DELIVERED, S.COMPLETED, S.CANCELLED],
                target=RETURN_VALUE(S.SHIPPED, S.DELIVERED, S.COMPLETED, S.CANCELLED, S.REFUNDED),
                conditions=[has_refundable_balance],
                custom={"admin": True, "label": "Refund", "form": "orders.admin_forms.RefundForm"})
    def refund(self, *, fully_refunded: bool = False):
        """Money only for cancelled orders; otherwise `refunded` once the whole total is back."""
        if fully_refunded and self.status != S.CANCELLED:
            return S.REFUNDED
        return self.status


class OrderTag(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tag_rows")
    name = models.CharField(max_length=64)

    class Meta:
        verbose_name_plural = "order tags"
        constraints = [models.UniqueConstraint(fields=["order", "name"], name="order_tag_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=100)
    name = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_refunded = models.PositiveIntegerField(default=0)
    # Unshipped units no stock is reserved for (imported though short); reserved when they ship.
    quantity_backordered = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "order lines"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sku"], name="order_line_unique_sku"),
            models.CheckConstraint(condition=Q(quantity_backordered__lte=F("quantity") - F("quantity_shipped")),
                                   name="order_line_backorder_le_unshipped"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(quantity_shipped__lte=F("quantity")), name="order_line_ship_le_qty"),
            models.CheckConstraint(condition=Q(quantity_refunded__lte=F("quantity")), name="order_line_refund_le_qty"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} x{self.quantity}"

    @property
    def quantity_unshipped(self) -> int:
        return self.quantity - self.quantity_shipped

    @property
    def quantity_reserved(self) -> int:
        """Unshipped units that hold stock (backordered ones hold none)."""
        return self.quantity_unshipped - self.quantity_backordered

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


CARRIER_TRACKING_URLS = {
    "ups": "https://www.ups.com/track?tracknum={tn}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={tn}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={tn}",
    "dhl": "https://www.dhl.com/en/express/tracking.html?AWB={tn}",
}


class Shipment(models.Model):
    """One parcel: carrier, tracking number and the order lines (with quantities) inside it.

    Created by the storefront `ship` verb; kept with the order (as fulfilments are), while `tracking`
    adds its scans and status. The table keeps the name it had when it lived in `tracking`.
    """

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="shipments")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(max_length=32)
    tracking_number = models.CharField(max_length=100, db_index=True)
    service = models.CharField(max_length=64, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD")
    # Carrier-neutral status (tracking.models.TrackingStatus), derived from the latest scan by tracking.services.
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
    # The carrier's latest delivery estimate (EasyPost `est_delivery_date`), null until a carrier gives one.
    estimated_delivery = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "shipments"
        db_table = "tracking_shipment"
        ordering = ["ship_date", "id"]
        constraints = [models.CheckConstraint(condition=Q(cost__gte=0), name="shipment_cost_non_negative")]

    def __str__(self) -> str:
        from orders.carrier_formats import carrier_label

        return f"{carrier_label(self.carrier)} {self.tracking_number}"

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
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="shipment_lines")
    sku = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()

    class Meta:
        verbose_name_plural = "shipment lines"
        db_table = "tracking_shipmentline"
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.sku} x{self.quantity}"


class InventoryItem(models.Model):
    """Stock of one SKU: `reserved` is held by open orders, `available` = on_hand - reserved."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="inventory_items")
    sku = models.CharField(max_length=100)
    name = models.CharField(max_length=255, blank=True)
    # The list price: what checkout charges for the SKU (anonymous and storefront-key checkouts may buy only
    # priced SKUs), in `currency`.
    unit_price = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "inventory items"
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["org", "sku"], name="inventory_unique_sku_per_org"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="inventory_on_hand_non_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inventory_reserved_non_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="inventory_reserved_le_on_hand"),
        ]

    def __str__(self) -> str:
        return self.sku

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Payment(models.Model):
    """Money the gateway holds for an order. `authorized` (a Stripe PaymentIntent `requires_capture`): the
    order's total is held on the card but not captured, so `amount_captured` is 0 and nothing is refundable."""

    class Status(models.TextChoices):
        CAPTURED = "captured", "Captured"
        AUTHORIZED = "authorized", "Authorized"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    gateway = models.CharField(max_length=32)
    reference = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CAPTURED)
    amount_captured = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "payments"
        ordering = ["id"]
        constraints = [
            # One gateway payment (a Stripe PaymentIntent) pays for one order only; manual references are
            # free text staff type ("cash", an invoice number) and may repeat.
            models.UniqueConstraint(fields=["gateway", "reference"], name="payment_unique_gateway_reference",
                                    condition=~Q(reference="") & ~Q(gateway="manual")),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.reference or ''} {self.amount_captured}"


class CheckoutSettings(models.Model):
    """The hub's own checkout rules for an org (issue 15, item 3): what an anonymous checkout is charged for
    shipping and tax, and the org's Stripe secret key that verifies PaymentIntents (and refunds them).

    Kept simple on purpose: one flat shipping amount per order and one tax rate on the subtotal, both in the
    order's currency. An org without a row charges no shipping and no tax.
    """

    org = models.OneToOneField(Org, on_delete=models.CASCADE, related_name="checkout_settings")
    flat_shipping = models.DecimalField(**MONEY, default=ZERO, help_text="Shipping charged per order.")
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("0.000"),
                                   help_text="Percent of the subtotal, e.g. 8.250.")
    stripe_secret_key = EncryptedTextField(blank=True, default="",
                                           help_text="sk_live_... / rk_live_... of the org's Stripe account; "
                                                     "empty: the hub's STRIPE_SECRET_KEY.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "checkout settings"
        constraints = [
            models.CheckConstraint(condition=Q(flat_shipping__gte=0), name="checkout_flat_shipping_non_negative"),
            models.CheckConstraint(condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100),
                                   name="checkout_tax_rate_percent"),
        ]

    def __str__(self) -> str:
        return f"checkout settings of {self.org_id}"


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="refunds")
    amount = models.DecimalField(**MONEY)
    items = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=500)
    gateway = models.CharField(max_length=32)
    gateway_reference = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "refunds"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "idempotency_key"], name="refund_unique_idempotency_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.reason})"


class Activity(models.Model):
    """One row per transition or edit: who did what, from which state to which."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=64, blank=True, help_text="customer, system, or a user name")
    verb = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.verb} {self.from_status}->{self.to_status}"


class EmailLog(models.Model):
    """Every email the hub sent (or failed to send); `dedupe_key` makes a retried task send once."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails")
    kind = models.CharField(max_length=32)
    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices)
    error = models.TextField(blank=True)
    dedupe_key = models.CharField(max_length=255)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "email logs"
        ordering = ["-sent_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["org", "dedupe_key"], name="email_log_unique_dedupe_key")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"


class EventHandlerRun(models.Model):
    """One subscriber's run of one order event (see orders.events.SUBSCRIBERS).

    Created by `events.publish` in the publishing transaction (so it exists iff the event committed),
    updated by the task on every attempt (orders/services/event_runs.py). After an error it is `pending`
    again with `next_attempt_at` (the backoff) while attempts remain, and `failed` with the error kept once
    they are spent, so a handler that gives up is visible (and retryable) in the admin instead of only in a
    log. `next_attempt_at` is when the next attempt is due (the lease's end while `running`): the sweep
    re-sends a run overdue by a grace period, whose message was lost.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Empty for a channel order event (events.publish_channel_order) whose channel order has no storefront order.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="event_runs", null=True, blank=True)
    event = models.CharField(max_length=64)
    subscriber = models.CharField(max_length=200, help_text="The handler's dotted path.")
    payload = models.JSONField(default=dict, help_text="The OrderEvent as the handler receives it.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the last attempt started.")
    finished_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, default=timezone.now,
        help_text="When the next attempt is due (while running: when its lease ends); empty once finished.")

    class Meta:
        verbose_name_plural = "event handler runs"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["org", "status", "-created_at"], name="event_run_org_status_idx"),
            # The sweep's: only the few open runs are in it.
            models.Index(fields=["next_attempt_at"], name="event_run_due_idx",
                         condition=models.Q(status__in=["pending", "running"])),
            # The retention's (succeeded runs older than ORDERS_EVENT_HANDLER_RUN_RETENTION_DAYS).
            models.Index(fields=["created_at"], name="event_run_created_idx",
                         condition=models.Q(status="succeeded")),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.subscriber} ({self.status})"
