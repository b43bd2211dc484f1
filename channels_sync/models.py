"""Channels, the orders aggregated from them, and the history of every sync, delivery and writeback.

History is rows (one per sync run, webhook delivery, writeback and writeback attempt), so sync
history and the admin read the same tables the workers write.
"""

from __future__ import annotations

import base64
import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Lower, Replace, Upper
from django.utils import timezone

from accounts.models import Org
from channels_sync.fields import TextJSONField
from channels_sync.normalized import CommonStatus
from core.fields import EncryptedJSONField, EncryptedTextField

OWN_STORE_POLL_MINUTES = 15
MARKETPLACE_POLL_MINUTES = 5


def new_public_id(prefix: str) -> str:
    """`agg_` + 20 random base32 characters (100 bits): opaque, URL-safe, never a sequence that leaks volume."""
    return prefix + base64.b32encode(secrets.token_bytes(13)).decode("ascii")[:20].lower()


def new_aggregated_order_id() -> str:
    return new_public_id("agg_")


def new_sync_run_id() -> str:
    return new_public_id("run_")


def new_delivery_id() -> str:
    return new_public_id("whd_")


def new_writeback_id() -> str:
    return new_public_id("wbk_")


def normalize_identity(value) -> str:
    """How a channel account is compared: a shop domain, a store URL, a seller id, case- and slash-blind."""
    if value is None:
        return ""
    text = str(value).strip().lower()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    return text.rstrip("/")


class Channel(models.Model):
    """One connected sales channel account of an org (a Shopify shop, a WooCommerce store, ...)."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="channels")
    channel_id = models.SlugField(max_length=64, help_text="The org's name for the channel, used in URLs.")
    provider = models.CharField(max_length=32)
    enabled = models.BooleanField(default=False)
    # Credentials live here, so the whole document is encrypted at rest (core.fields); routing uses the
    # derived `account_identity` column instead of querying inside it.
    config = EncryptedJSONField(default=dict, blank=True, help_text="baseUrl and credentials; secrets are write-only.")
    poll_interval_minutes = models.PositiveIntegerField(null=True, blank=True,
                                                        help_text="Empty: the provider's default (15 own stores, "
                                                                  "5 marketplaces).")
    cursor = models.DateTimeField(null=True, blank=True, help_text="Polling resumes from here (minus an overlap).")
    last_polled_at = models.DateTimeField(null=True, blank=True)
    webhook_secret = EncryptedTextField(blank=True, default="")
    create_local_orders = models.BooleanField(default=False,
                                              help_text="Also create a storefront order for each new channel order.")
    # config[provider.identity_config_key], normalized: webhooks are routed by one indexed lookup.
    account_identity = models.CharField(max_length=255, blank=True, default="")
    webhooks_registered = models.JSONField(default=list, blank=True)
    # A lease instead of a lock held across HTTP calls: a dead worker's lease simply expires.
    poll_lease_until = models.DateTimeField(null=True, blank=True)
    poll_lease_token = models.CharField(max_length=64, blank=True, default="")
    # What staff should fix on the channel's side, as [{"code", "message", "at"}], one per code (the newest
    # replaces the older): e.g. Shopify serving another API version than the one asked for.
    warnings = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "channels"
        constraints = [
            models.UniqueConstraint(fields=["org", "channel_id"], name="unique_channel_id_per_org"),
            # One enabled channel per account, across every org (issue 15, item 9): a delivery routed by the account
            # it names finds exactly one channel, and another org takes the account over only by proving it
            # (services.channels.channel_enable).
            models.UniqueConstraint(fields=["provider", "account_identity"],
                                    condition=models.Q(enabled=True) & ~models.Q(account_identity=""),
                                    name="one_enabled_channel_per_account"),
        ]
        indexes = [models.Index(fields=["provider", "account_identity"], name="channel_identity_idx")]
        ordering = ["org_id", "channel_id"]
        # Starting a pull is an order operation (managers), not a change of the channel (owners): accounts.roles.
        permissions = [("sync_channel", "Can start a sync of the channel")]

    def __str__(self) -> str:
        return f"{self.channel_id} ({self.provider})"

    def save(self, *args, **kwargs):
        # Derived, not a business rule: the identity column must always match the config it comes from.
        self.refresh_identity()
        if self.poll_interval_minutes is None:
            self.poll_interval_minutes = self.effective_poll_minutes
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "config" in update_fields:
            kwargs["update_fields"] = {*update_fields, "account_identity"}
        super().save(*args, **kwargs)

    def provider_cls(self):
        from channels_sync.providers import provider_class

        return provider_class(self.provider)

    def provider_instance(self, **kwargs):
        provider = self.provider_cls()(self.config, webhook_secret=self.webhook_secret or None,
                                       channel_id=self.channel_id, **kwargs)
        if self.pk:
            from channels_sync.services.channel_state import ChannelStateStore

            # Rotated tokens and warnings a provider learns while it works are saved on this row.
            provider.channel_state = ChannelStateStore(self.pk)
        return provider

    @property
    def effective_poll_minutes(self) -> int:
        if self.poll_interval_minutes:
            return self.poll_interval_minutes
        try:
            return self.provider_cls().default_poll_minutes
        except Exception:  # provider module missing: own-store default
            return OWN_STORE_POLL_MINUTES

    def refresh_identity(self) -> None:
        try:
            key = self.provider_cls().identity_config_key
        except Exception:
            key = None
        self.account_identity = normalize_identity((self.config or {}).get(key)) if key else ""


def order_number_key(expression=None):
    """The order number as a customer quotes it, compared blind to case and Shopify's '#': `#1201` = `1201`.
    The same expression is indexed (agg_org_number_idx), so the lookup is one index probe."""
    return Upper(Replace(expression if expression is not None else F("channel_order_number"), Value("#"), Value("")))


def normalize_order_number(text: str) -> str:
    """The quoted number in the form `order_number_key` compares with: no whitespace, no '#', upper case."""
    return "".join(str(text or "").split()).replace("#", "").upper()


class AggregatedOrder(models.Model):
    """A channel's order in the common shape. Written only by `services.ingest` (and the status PUT)."""

    STATUSES = [(s.value, s.value.title()) for s in CommonStatus]

    # Unique by a constraint, not unique=True, which would add a second (LIKE) index to every write.
    public_id = models.CharField(max_length=32, default=new_aggregated_order_id, editable=False)
    # No index of its own: every index below starts with org.
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="aggregated_orders", db_index=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="orders")
    channel_order_id = models.CharField(max_length=128)
    channel_order_number = models.CharField(max_length=128, blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES)
    raw_status = models.CharField(max_length=64, blank=True, default="")
    customer_email = models.CharField(max_length=254, blank=True, default="")
    customer_name = models.CharField(max_length=255, blank=True, default="")
    shipping_address = models.JSONField(null=True, blank=True)
    lines = models.JSONField(default=list, blank=True)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    shipping = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    grand_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(help_text="When the order was placed on the channel.")
    channel_updated_at = models.DateTimeField(help_text="The channel's last change; older updates are ignored.")
    tracking_number = models.CharField(max_length=128, blank=True, default="")
    carrier = models.CharField(max_length=64, blank=True, default="")
    channel_metadata = models.JSONField(default=dict, blank=True)
    # The storefront order made from this channel order (channels with create_local_orders); unique, so indexed.
    local_order = models.OneToOneField("orders.Order", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="channel_order")
    data = models.JSONField(default=dict, blank=True, help_text="Our own notes, e.g. localOrderError.")
    raw = TextJSONField(default=dict, blank=True, help_text="The order as last fetched, for writeback.")
    ingested_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "aggregated orders"
        constraints = [
            models.UniqueConstraint(fields=["org", "channel", "channel_order_id"], name="unique_channel_order"),
            models.UniqueConstraint(fields=["public_id"], name="unique_aggregated_order_public_id"),
        ]
        indexes = [
            models.Index(fields=["org", "-created_at", "-id"], name="agg_org_created_idx"),
            models.Index(fields=["org", "status", "-created_at", "-id"], name="agg_org_status_idx"),
            models.Index(fields=["org", "channel", "status", "-created_at", "-id"], name="agg_org_ch_status_idx"),
            models.Index(fields=["org", "channel", "-created_at", "-id"], name="agg_org_ch_created_idx"),
            # The list's search and orderings (issue 18). PostgreSQL also has a trigram index on customer_name and
            # a jsonb_path_ops GIN index on lines (SKU search): migration 0010, docs/performance.md.
            models.Index(F("org"), order_number_key(), name="agg_org_number_idx"),
            models.Index(F("org"), Lower("customer_email"), name="agg_org_email_idx"),
            models.Index(fields=["org", "grand_total", "id"], name="agg_org_total_idx"),
            models.Index(fields=["org", "channel_updated_at", "id"], name="agg_org_chupdated_idx"),
            # eBay account deletions find the buyer's orders by username (services/compliance.py).
            models.Index(KeyTextTransform("username", KeyTransform("buyer", "channel_metadata")),
                         name="agg_ebay_buyer_idx"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.channel_order_id}"


class OrderSku(models.Model):
    """One row per distinct SKU of a channel order, so `?q=<SKU>` counts and pages newest first from one btree
    (index-only) instead of rechecking order rows found through the lossy jsonb GIN index (docs/performance.md,
    issue 18). Replaced with the order's lines by `services.ingest`; status kept by the status PUT."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+", db_index=False)
    order = models.ForeignKey(AggregatedOrder, on_delete=models.CASCADE, related_name="sku_rows")
    sku = models.TextField()
    created_at = models.DateTimeField()
    status = models.CharField(max_length=16)

    class Meta:
        verbose_name = "order SKU"
        verbose_name_plural = "order SKUs"
        indexes = [models.Index(fields=["org", "sku", "-created_at", "-order", "status"], name="ordersku_search_idx")]

    def __str__(self) -> str:
        return f"{self.sku} on order {self.order_id}"


class OrderSummary(models.Model):
    """Running counts and totals per org, channel, status and currency, kept by every status writer.

    The stats endpoint reads these few rows instead of aggregating every order on each call.
    """

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="summaries")
    status = models.CharField(max_length=16)
    currency = models.CharField(max_length=3)
    order_count = models.BigIntegerField(default=0)
    grand_total = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    class Meta:
        verbose_name_plural = "order summaries"
        constraints = [
            models.UniqueConstraint(fields=["org", "channel", "status", "currency"], name="unique_order_summary"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.status} {self.currency}: {self.order_count}"


class Outcome(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SyncRun(models.Model):
    class Kind(models.TextChoices):
        POLL = "poll", "Poll"
        ONE_SHOT = "one_shot", "One-shot"
        # Not a fetch: the note left when a channel lost (or took) its account to a proven owner.
        IDENTITY = "identity", "Account ownership"

    public_id = models.CharField(max_length=32, unique=True, default=new_sync_run_id, editable=False)
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.QUEUED)
    window_from = models.DateTimeField(null=True, blank=True)
    window_to = models.DateTimeField(null=True, blank=True)
    status_filter = models.CharField(max_length=32, blank=True, default="")
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "sync runs"
        indexes = [models.Index(fields=["org", "-queued_at"], name="syncrun_org_time_idx")]
        ordering = ["-queued_at", "-id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.kind} {self.status}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    # Every receiver's INSERT updates each index: none here duplicates another's leading columns, and public_id
    # is unique by a constraint (unique=True would add a LIKE index).
    public_id = models.CharField(max_length=32, default=new_delivery_id, editable=False)
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="webhook_deliveries",
                                db_index=False)
    delivery_id = models.CharField(max_length=255)
    topic = models.CharField(max_length=128, blank=True, default="")
    body = models.BinaryField(help_text="The raw bytes as received: signatures are over these.")
    # sha256 of the body, unique per channel: a signed body replayed under a new (unsigned) delivery-id header
    # is a duplicate, not a new delivery (issue 15). Null on rows stored before the column existed.
    body_sha256 = models.CharField(max_length=64, null=True, blank=True, editable=False)
    headers = models.JSONField(default=dict)
    query = models.JSONField(default=dict, blank=True)
    url = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    orders_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["channel", "delivery_id"], name="unique_delivery_per_channel"),
                       models.UniqueConstraint(fields=["channel", "body_sha256"],
                                               name="unique_delivery_body_per_channel"),
                       models.UniqueConstraint(fields=["public_id"], name="unique_delivery_public_id")]
        indexes = [models.Index(fields=["org", "-received_at"], name="delivery_org_time_idx"),
                   models.Index(fields=["status", "next_retry_at"], name="delivery_retry_idx")]
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.topic} {self.status}"


class WebhookRejection(models.Model):
    """Deliveries refused for a bad signature, counted per channel and day; their bodies are not kept."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="webhook_rejections")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook rejections"
        constraints = [models.UniqueConstraint(fields=["channel", "day"], name="unique_rejection_day")]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.day}: {self.count}"


class Writeback(models.Model):
    """Telling the channel an order's new status; retried with backoff, every try kept as an attempt."""

    class Source(models.TextChoices):
        API = "api", "Status API"
        STOREFRONT = "storefront", "Storefront shipment"
        ADMIN = "admin", "Admin"

    public_id = models.CharField(max_length=32, unique=True, default=new_writeback_id, editable=False)
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="writebacks")
    order = models.ForeignKey(AggregatedOrder, on_delete=models.CASCADE, related_name="writebacks")
    target_status = models.CharField(max_length=16)
    tracking_number = models.CharField(max_length=128, blank=True, default="")
    carrier = models.CharField(max_length=64, blank=True, default="")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    status = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    # The channel's own answer to the last failed try (its error body, cut at 2000 characters), kept for the person
    # who has to act on it.
    last_response_body = models.TextField(blank=True, default="")
    # Retries asked for by a person (each one attempt, confirmed): shown beside the attempts, never folded into them.
    manual_retries = models.PositiveIntegerField(default=0)
    channel_reference = models.CharField(max_length=255, blank=True, default="")
    # The storefront parcel this writeback reports (orders' shipment id; no FK, only the dedupe key): one per parcel.
    storefront_shipment_id = models.BigIntegerField(null=True, blank=True)
    # That parcel's lines, as the channel order's `lines` entries with the parcel's quantities; empty: the whole
    # order (a status set by staff, or a parcel whose lines match no channel line).
    lines = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "writebacks"
        indexes = [models.Index(fields=["org", "-created_at"], name="writeback_org_time_idx")]
        constraints = [models.UniqueConstraint(fields=["order", "storefront_shipment_id"],
                                               condition=models.Q(storefront_shipment_id__isnull=False),
                                               name="writeback_one_per_parcel")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.target_status} {self.status}"

    @property
    def state(self) -> str:
        return writeback_state(self.status, self.attempts)

    @property
    def state_label(self) -> str:
        return WRITEBACK_STATE_LABELS[self.state]


class WritebackState(models.TextChoices):
    """What a writeback means to staff, derived from its status and attempts."""

    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed: needs a person"


WRITEBACK_STATE_LABELS = dict(WritebackState.choices)


def writeback_state(status: str, attempts: int) -> str:
    if status == Outcome.SUCCEEDED:
        return WritebackState.SENT
    if status == Outcome.FAILED:
        return WritebackState.FAILED
    # Queued after a failed try, or running a try after one: the channel has refused it at least once.
    running_first = status == Outcome.RUNNING and attempts <= 1
    return WritebackState.PENDING if attempts == 0 or running_first else WritebackState.RETRYING


class WritebackAttempt(models.Model):
    writeback = models.ForeignKey(Writeback, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    request_summary = models.TextField(blank=True, default="")
    response_code = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    retryable = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")
    response_body = models.TextField(blank=True, default="", help_text="The channel's answer to a failed try.")

    class Meta:
        verbose_name_plural = "writeback attempts"
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.writeback_id} #{self.number}"


class ComplianceRequest(models.Model):
    """A channel's privacy request (Shopify's customers/data_request, customers/redact, shop/redact; eBay's
    marketplace account deletion), recorded for staff whatever it asked, with what was done about it."""

    class Kind(models.TextChoices):
        DATA_REQUEST = "data_request", "Customer data request"
        CUSTOMER_REDACT = "customer_redact", "Customer redaction"
        SHOP_REDACT = "shop_redact", "Shop redaction"
        ACCOUNT_DELETION = "account_deletion", "Marketplace account deletion (eBay)"

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="compliance_requests")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    delivery_id = models.CharField(max_length=255, blank=True, default="")
    shop_domain = models.CharField(max_length=255, blank=True, default="")
    customer_id = models.CharField(max_length=64, blank=True, default="")
    # Kept while the request is open (staff answer a data request by it); blanked once a redaction is done.
    customer_email = models.CharField(max_length=254, blank=True, default="")
    order_ids = models.JSONField(default=list, blank=True)
    redacted_orders = models.PositiveIntegerField(default=0)
    redacted_deliveries = models.PositiveIntegerField(default=0)
    note = models.TextField(blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "compliance requests"
        constraints = [models.UniqueConstraint(fields=["channel", "delivery_id"], condition=~models.Q(delivery_id=""),
                                               name="unique_compliance_delivery")]
        indexes = [models.Index(fields=["org", "-received_at"], name="compliance_org_time_idx")]
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.customer_id or self.shop_domain}"


class ShopifyInstall(models.Model):
    """A started OAuth install (authorization-code grant): the `state` nonce Shopify hands back to the callback,
    bound to the org and user who started it, single use and short-lived. Holds the app's client secret until
    the callback, encrypted like every channel secret."""

    state = models.CharField(max_length=64, unique=True)
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_id = models.SlugField(max_length=64)
    shop_domain = models.CharField(max_length=255)
    client_id = models.CharField(max_length=255)
    client_secret = EncryptedTextField()
    scopes = models.TextField(blank=True, default="")
    redirect_uri = models.TextField()
    api_version = models.CharField(max_length=16, blank=True, default="")
    base_url = models.TextField(blank=True, default="", help_text="Only for a local stand-in of Shopify.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "Shopify install"
        verbose_name_plural = "Shopify installs"

    def __str__(self) -> str:
        return f"install {self.shop_domain} -> {self.channel_id}"
