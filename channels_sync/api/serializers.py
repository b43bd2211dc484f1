"""Channel sync JSON: camelCase, money as 2-place strings, secrets never returned."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from channels_sync.models import AggregatedOrder, Channel, Writeback, WritebackState
from channels_sync.normalized import CommonStatus
from channels_sync.selectors import DEFAULT_ORDERING, ORDERINGS

STATUS_CHOICES = [s.value for s in CommonStatus]


def public_config(channel: Channel) -> dict:
    """The config without secret keys (each provider lists them in `secret_config`)."""
    try:
        secret = set(channel.provider_cls().secret_config)
    except Exception:
        secret = set()
    return {key: value for key, value in (channel.config or {}).items() if key not in secret}


class ChannelConnectSerializer(serializers.Serializer):
    channelId = serializers.SlugField(max_length=64)
    provider = serializers.CharField(max_length=32)
    config = serializers.DictField()
    webhookSecret = serializers.CharField(required=False, allow_blank=True, max_length=255, write_only=True)
    pollIntervalMinutes = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1440)
    createLocalOrders = serializers.BooleanField(required=False, default=False)
    claim = serializers.BooleanField(required=False, default=False,
                                     help_text="Store the channel even though another enabled channel holds its "
                                               "account; ownership is proven when it is enabled with a claim.")


class ChannelEnableSerializer(serializers.Serializer):
    claim = serializers.BooleanField(required=False, default=False,
                                     help_text="Take the account over from the channel that holds it: the hub asks "
                                               "the channel's API which account these credentials belong to.")


class ShopifyInstallStartSerializer(serializers.Serializer):
    shop = serializers.CharField(max_length=255, help_text="The store: acme or acme.myshopify.com.")
    channelId = serializers.SlugField(max_length=64, help_text="The channel to create (or whose tokens to renew).")
    clientId = serializers.CharField(max_length=255)
    clientSecret = serializers.CharField(max_length=255, write_only=True)
    redirectUri = serializers.URLField(max_length=2000,
                                       help_text="Where Shopify sends the merchant back (one of the app's allowed "
                                                 "redirect URLs); that page posts the parameters to the callback.")
    scopes = serializers.CharField(required=False, max_length=1000)
    apiVersion = serializers.CharField(required=False, max_length=16)
    baseUrl = serializers.URLField(required=False, max_length=500, help_text="Only for a local stand-in of Shopify.")


class ShopifyInstallSerializer(serializers.Serializer):
    state = serializers.CharField()
    installUrl = serializers.CharField()
    expiresAt = serializers.DateTimeField()


class ShopifyCallbackSerializer(serializers.Serializer):
    """Shopify's redirect parameters, as received: every one of them is signed (hmac)."""

    code = serializers.CharField(max_length=500)
    hmac = serializers.CharField(max_length=128)
    shop = serializers.CharField(max_length=255)
    state = serializers.CharField(max_length=128)
    timestamp = serializers.CharField(max_length=32, required=False)
    host = serializers.CharField(max_length=500, required=False)

    def to_internal_value(self, data):
        validated = super().to_internal_value(data)
        # Parameters Shopify may add later are signed too, so every one received is kept for the hmac.
        return {**{str(k): str(v) for k, v in data.items() if isinstance(v, str | int)}, **validated}


class ChannelSerializer(serializers.ModelSerializer):
    channelId = serializers.CharField(source="channel_id")
    config = serializers.SerializerMethodField()
    pollIntervalMinutes = serializers.IntegerField(source="effective_poll_minutes")
    lastPolledAt = serializers.DateTimeField(source="last_polled_at", allow_null=True)
    webhookSecretSet = serializers.SerializerMethodField()
    createLocalOrders = serializers.BooleanField(source="create_local_orders")
    webhooksRegistered = serializers.JSONField(source="webhooks_registered")
    webhookUrl = serializers.SerializerMethodField()
    lastRun = serializers.SerializerMethodField()
    rejectedWebhooks = serializers.SerializerMethodField()
    warnings = serializers.ListField(child=serializers.DictField(), read_only=True,
                                     help_text="What to fix on the channel's side, [{code, message, at}]: e.g. "
                                               "Shopify serving another API version than the one asked for.")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Channel
        fields = ["channelId", "provider", "enabled", "config", "pollIntervalMinutes", "cursor", "lastPolledAt",
                  "webhookSecretSet", "createLocalOrders", "webhooksRegistered", "webhookUrl", "lastRun",
                  "rejectedWebhooks", "warnings", "createdAt"]

    def get_config(self, channel) -> dict:
        return public_config(channel)

    def get_webhookSecretSet(self, channel) -> bool:
        return bool(channel.webhook_secret)

    def get_webhookUrl(self, channel) -> str:
        from channels_sync.services.channels import webhook_callback_url

        return webhook_callback_url(channel)

    def get_lastRun(self, channel) -> dict | None:
        run = self.context.get("last_runs", {}).get(channel.pk)
        if run is None:
            return None
        return {"id": run.public_id, "kind": run.kind, "status": run.status,
                "queuedAt": serializers.DateTimeField().to_representation(run.queued_at),
                "finishedAt": serializers.DateTimeField().to_representation(run.finished_at)
                if run.finished_at else None,
                "fetched": run.fetched, "created": run.created, "updated": run.updated, "unchanged": run.unchanged,
                "failed": run.failed, "error": run.error or None}

    def get_rejectedWebhooks(self, channel) -> int:
        return self.context.get("rejected", {}).get(channel.pk, 0)


class SyncRequestSerializer(serializers.Serializer):
    fromDate = serializers.DateTimeField(required=False, allow_null=True)
    toDate = serializers.DateTimeField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False, allow_null=True, allow_blank=True)

    def validate(self, attrs):
        start, end = attrs.get("fromDate"), attrs.get("toDate")
        if start and end and start > end:
            raise serializers.ValidationError({"toDate": ["Must not be before fromDate."]})
        return attrs


class OrderListQuerySerializer(SyncRequestSerializer):
    channel = serializers.SlugField(required=False, max_length=64)
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, trim_whitespace=True,
                              help_text="Search: the channel order number as quoted (#1201 = 1201), the channel's "
                                        "order id, an exact SKU, part of the customer's name, or the customer's "
                                        "email (exact, any case).")
    ordering = serializers.ChoiceField(choices=list(ORDERINGS), required=False, default=DEFAULT_ORDERING,
                                       help_text="Sort order; '-' for descending. Ties break by id.")


class OrderLookupQuerySerializer(serializers.Serializer):
    number = serializers.CharField(max_length=128, trim_whitespace=True,
                                   help_text="The number the customer quotes: '#1201' or '1201' (Shopify), "
                                             "'112-1234567-1234567' (Amazon), as the channel shows it.")
    channel = serializers.SlugField(required=False, max_length=64, help_text="Only this channel (its channelId).")


class HistoryItemSerializer(serializers.Serializer):
    """One row of sync history (a sync run, a webhook delivery or a writeback), as selectors build it."""

    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=["sync", "poll", "one_shot", "webhook", "writeback"])
    channel = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["pending", "succeeded", "failed"])
    status = serializers.CharField()
    at = serializers.DateTimeField()
    finishedAt = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    details = serializers.DictField(help_text="Per kind: counts and window (runs), attempts (deliveries, "
                                              "writebacks), the attempt log (writebacks).")


class SyncRunSerializer(HistoryItemSerializer):
    def to_representation(self, run):
        from channels_sync.selectors import _run_item

        return _run_item(run)


class HistoryPageSerializer(serializers.Serializer):
    results = HistoryItemSerializer(many=True)
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    total = serializers.IntegerField()


class SummaryRowSerializer(serializers.Serializer):
    channel = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    currency = serializers.CharField()
    count = serializers.IntegerField()
    grandTotal = serializers.DecimalField(max_digits=20, decimal_places=2)


class OrderSummarySerializer(serializers.Serializer):
    byChannelAndStatus = SummaryRowSerializer(many=True)
    byChannel = SummaryRowSerializer(many=True)
    byStatus = SummaryRowSerializer(many=True)
    totals = SummaryRowSerializer(many=True)


class WritebackStateSerializer(serializers.ModelSerializer):
    """The order's latest writeback: what we are telling the channel, and how that is going."""

    id = serializers.CharField(source="public_id")
    targetStatus = serializers.CharField(source="target_status")
    trackingNumber = serializers.CharField(source="tracking_number", allow_blank=True)
    carrier = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed"],
                                     help_text="The worker's status; `state` says what it means.")
    state = serializers.ChoiceField(choices=[choice for choice, _ in WritebackState.choices], read_only=True,
                                    help_text="pending (not tried yet), retrying (refused at least once, tried "
                                              "again at nextAttemptAt), sent, failed (needs a person: retry it, or "
                                              "fix what channelResponse says).")
    stateLabel = serializers.CharField(source="state_label", read_only=True)
    needsPerson = serializers.SerializerMethodField()
    attempts = serializers.IntegerField()
    maxAttempts = serializers.IntegerField(source="max_attempts")
    manualRetries = serializers.IntegerField(source="manual_retries",
                                             help_text="Retries a person asked for (one attempt each).")
    nextAttemptAt = serializers.SerializerMethodField(
        help_text="When the next try is due; null while a try runs and once finished.")
    lastError = serializers.SerializerMethodField()
    channelResponse = serializers.SerializerMethodField(
        help_text="The channel's own answer to the last failed try (its error body), as received.")
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        model = Writeback
        fields = ["id", "targetStatus", "trackingNumber", "carrier", "status", "state", "stateLabel", "needsPerson",
                  "attempts", "maxAttempts", "manualRetries", "nextAttemptAt", "lastError", "channelResponse",
                  "createdAt", "finishedAt"]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_nextAttemptAt(self, writeback):
        # While a try runs the column holds its lease, not a next try.
        if writeback.status != "queued" or writeback.next_attempt_at is None:
            return None
        return serializers.DateTimeField().to_representation(writeback.next_attempt_at)

    def get_needsPerson(self, writeback) -> bool:
        return writeback.state == WritebackState.FAILED

    def get_lastError(self, writeback) -> str | None:
        return writeback.last_error or None

    def get_channelResponse(self, writeback) -> str | None:
        return writeback.last_response_body or None


class WritebackRetrySerializer(serializers.Serializer):
    confirm = serializers.BooleanField(required=False, default=False,
                                       help_text="true: one more attempt is made, knowing the last answer. Without "
                                                 "it the answer is a 400 saying what the retry would do.")


# The shapes of the order's nested objects, for the schema (Swagger showed "additionalProp1" for each).
class ChannelCustomerSerializer(serializers.Serializer):
    email = serializers.EmailField(allow_null=True)
    name = serializers.CharField(allow_null=True)


class ChannelAddressSerializer(serializers.Serializer):
    """normalized.Address as stored; any part may be null (marketplaces hide some until shipping)."""

    name = serializers.CharField(allow_null=True)
    company = serializers.CharField(allow_null=True)
    line1 = serializers.CharField(allow_null=True)
    line2 = serializers.CharField(allow_null=True)
    city = serializers.CharField(allow_null=True)
    region = serializers.CharField(allow_null=True)
    postalCode = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True, help_text="ISO 3166-1 alpha-2 where the channel gives it.")
    phone = serializers.CharField(allow_null=True)


class ChannelLineSerializer(serializers.Serializer):
    sku = serializers.CharField(allow_null=True, help_text="The merchant's SKU, where the channel gives one.")
    channelSku = serializers.CharField(allow_null=True, help_text="The channel's item, variant or listing id.")
    quantity = serializers.IntegerField()
    unitPrice = serializers.CharField(allow_null=True, help_text="Money as a 2-place string.")


class ChannelTotalsSerializer(serializers.Serializer):
    subtotal = serializers.CharField()
    discount = serializers.CharField()
    tax = serializers.CharField()
    shipping = serializers.CharField()
    grandTotal = serializers.CharField()


@extend_schema_field(ChannelAddressSerializer(allow_null=True))
class AddressJSONField(serializers.JSONField):
    """The stored address as is, documented with its parts."""


class AggregatedOrderSerializer(serializers.ModelSerializer):
    """docs/architecture.md's shape. The channel's number, raw status, carrier, tracking and last change are
    top-level (issue 18); channelMetadata keeps the raw fields without a common home and, for clients written
    before, copies of rawStatus, channelOrderNumber, channelUpdatedAt and carrier (deprecated there).

    `writeback` is the latest writeback, read from the context's `writebacks` ({order pk: Writeback}, one query
    per page: selectors.latest_writebacks) when the view supplies it."""

    orderId = serializers.CharField(source="public_id")
    channel = serializers.CharField(source="channel.channel_id")
    channelOrderId = serializers.CharField(source="channel_order_id")
    channelOrderNumber = serializers.SerializerMethodField()
    rawStatus = serializers.SerializerMethodField()
    customer = serializers.SerializerMethodField()
    shippingAddress = AddressJSONField(source="shipping_address")
    lines = serializers.SerializerMethodField()
    totals = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    channelUpdatedAt = serializers.DateTimeField(source="channel_updated_at")
    carrier = serializers.SerializerMethodField()
    trackingNumber = serializers.SerializerMethodField()
    writeback = serializers.SerializerMethodField()
    channelMetadata = serializers.SerializerMethodField()
    data = serializers.JSONField()

    class Meta:
        model = AggregatedOrder
        fields = ["orderId", "channel", "channelOrderId", "channelOrderNumber", "status", "rawStatus", "customer",
                  "shippingAddress", "lines", "totals", "currency", "createdAt", "channelUpdatedAt", "carrier",
                  "trackingNumber", "writeback", "channelMetadata", "data"]

    def get_channelOrderNumber(self, order) -> str | None:
        return order.channel_order_number or None

    def get_rawStatus(self, order) -> str | None:
        return order.raw_status or None

    def get_carrier(self, order) -> str | None:
        return order.carrier or None

    @extend_schema_field(ChannelCustomerSerializer)
    def get_customer(self, order) -> dict:
        return {"email": order.customer_email or None, "name": order.customer_name or None}

    @extend_schema_field(ChannelLineSerializer(many=True))
    def get_lines(self, order) -> list[dict]:
        return [{"sku": line.get("sku"), "channelSku": line.get("channelSku"), "quantity": line.get("quantity"),
                 "unitPrice": line.get("unitPrice")} for line in order.lines or []]

    @extend_schema_field(ChannelTotalsSerializer)
    def get_totals(self, order) -> dict:
        return {"subtotal": f"{order.subtotal:.2f}", "discount": f"{order.discount:.2f}", "tax": f"{order.tax:.2f}",
                "shipping": f"{order.shipping:.2f}",
                "grandTotal": f"{order.grand_total:.2f}"}

    @extend_schema_field(WritebackStateSerializer(allow_null=True))
    def get_writeback(self, order) -> dict | None:
        writebacks = self.context.get("writebacks")
        writeback = writebacks.get(order.pk) if writebacks is not None else (
            order.writebacks.order_by("-created_at", "-id").first())
        return WritebackStateSerializer(writeback).data if writeback is not None else None

    def get_channelMetadata(self, order) -> dict:
        # Deprecated copies of the top-level fields, kept for clients that read them here before issue 18.
        extra = {"rawStatus": order.raw_status or None, "channelOrderNumber": order.channel_order_number or None,
                 "channelUpdatedAt": serializers.DateTimeField().to_representation(order.channel_updated_at),
                 "carrier": order.carrier or None}
        return {**(order.channel_metadata or {}), **{k: v for k, v in extra.items() if v is not None}}

    def get_trackingNumber(self, order) -> str | None:
        return order.tracking_number or None


class StatusUpdateSerializer(serializers.Serializer):
    # Validated by the service too; here so the schema documents the body.
    status = serializers.CharField(max_length=32)
    trackingNumber = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=128)
    carrier = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=64)


class HistoryQuerySerializer(serializers.Serializer):
    from channels_sync.selectors import HISTORY_KINDS, HISTORY_OUTCOMES

    channel = serializers.SlugField(required=False, max_length=64)
    kind = serializers.ChoiceField(choices=HISTORY_KINDS, required=False)
    outcome = serializers.ChoiceField(choices=HISTORY_OUTCOMES, required=False)
    # Bounded so the offset fits PostgreSQL's bigint (a huge page was a DataError 500).
    page = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000, default=1)
    pageSize = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)
