"""Admin for channel sync: channels (enable, disable, sync now), aggregated orders, and sync history
with failed items first and retry actions."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, OuterRef, Subquery, Sum, Value, When
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts.admin import OrgScopedAdmin, orgs_allowing
from accounts.models import Org
from channels_sync.models import (
    AggregatedOrder,
    Channel,
    ComplianceRequest,
    Outcome,
    SyncRun,
    WebhookDelivery,
    WebhookRejection,
    Writeback,
    WritebackAttempt,
    WritebackState,
    writeback_state,
)
from channels_sync.normalized import CommonStatus
from channels_sync.providers.errors import ChannelError
from channels_sync.services import (
    channel_disable,
    channel_enable,
    order_status_update,
    sync_start,
    webhook_retry,
    writeback_retry,
)
from channels_sync.services.channels import SECRET_MASK as MASK
from channels_sync.services.channels import channel_config_keep_secrets
from channels_sync.services.shopify_install import shopify_install_complete, shopify_install_start
from channels_sync.services.writeback import writeback_retry_consequence
from core.api.exceptions import ApiError


def _secret_keys(provider: str) -> set[str]:
    from channels_sync.providers import provider_class

    try:
        return set(provider_class(provider).secret_config)
    except Exception:
        return set()


def _state_text(status: str, attempts: int, next_attempt_at, max_attempts: int | None = None) -> str:
    """A writeback's state as staff read it: pending, retrying (with the next try), sent, failed: needs a person."""
    state = writeback_state(status, attempts)
    label = WritebackState(state).label
    if state == "retrying" and next_attempt_at and status == Outcome.QUEUED:
        return f"{label}: next try {next_attempt_at:%Y-%m-%d %H:%M} UTC (attempt {attempts + 1}" + (
            f" of {max_attempts})" if max_attempts else ")")
    if state == "retrying":
        return f"{label}: trying now"
    return label


def _pretty(value) -> str:
    return format_html("<pre style='white-space:pre-wrap;max-width:900px'>{}</pre>",
                       json.dumps(value, indent=2, sort_keys=True, default=str))


class ChannelForm(forms.ModelForm):
    """Secrets are shown masked; leaving the mask in place keeps the stored value only while the channel keeps
    its provider and hosts (channel_config_keep_secrets). An empty webhook secret keeps the stored one: it
    checks what arrives and is never sent anywhere."""

    config = forms.JSONField(required=False, help_text="baseUrl and credentials; secrets show as ******** "
                                                      "and are kept unless you type a new value.")
    webhook_secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                     help_text="Leave empty to keep the current secret.")

    class Meta:
        model = Channel
        fields = ["org", "channel_id", "provider", "enabled", "config", "webhook_secret", "poll_interval_minutes",
                  "create_local_orders", "cursor"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            secret = _secret_keys(self.instance.provider)
            self.initial["config"] = {k: (MASK if k in secret and v else v) for k, v in
                                      (self.instance.config or {}).items()}

    def clean(self):
        cleaned = super().clean()
        provider, config = cleaned.get("provider"), cleaned.get("config")
        if provider and config is not None and "config" not in self.errors:
            config, kept_errors = channel_config_keep_secrets(channel=self.instance, provider=provider,
                                                              config=config)
            cleaned["config"] = config
            for key, message in kept_errors.items():
                self.add_error("config", f"{key}: {message}")
            from channels_sync.providers import provider_class
            from channels_sync.services.channels import channel_config_url_errors

            try:
                cls = provider_class(provider)
            except Exception:
                return cleaned
            for key, message in channel_config_url_errors(provider_cls=cls, config=config).items():
                self.add_error("config", f"{key}: {message}")
            if cleaned.get("enabled"):
                self._check_account_free(provider, config)
        return cleaned

    def _check_account_free(self, provider: str, config: dict) -> None:
        """One enabled channel per account (the model's constraint), said as a form error instead of a 500."""
        from channels_sync.services.channels import identity_holder

        probe = Channel(pk=self.instance.pk, provider=provider, config=config)
        probe.refresh_identity()
        if identity_holder(probe) is not None:
            self.add_error("enabled", f"Another enabled channel already receives the account "
                                      f"{probe.account_identity}. Its owner claims it through the API "
                                      f"(enable with \"claim\": true), which proves ownership with the channel.")

    def clean_webhook_secret(self):
        value = self.cleaned_data.get("webhook_secret")
        return value or (self.instance.webhook_secret if self.instance.pk else "")


class ShopifyInstallForm(forms.Form):
    """Start an OAuth install from admin: the merchant approves in Shopify and comes back to this admin."""

    org = forms.ModelChoiceField(queryset=Org.objects.none())
    shop = forms.CharField(max_length=255, help_text="acme or acme.myshopify.com")
    channel_id = forms.SlugField(max_length=64, help_text="The channel to create, or whose tokens to renew.")
    client_id = forms.CharField(max_length=255)
    client_secret = forms.CharField(max_length=255, widget=forms.PasswordInput(render_value=False))
    api_version = forms.CharField(max_length=16, required=False, help_text="Empty: the default (2026-10).")

    def __init__(self, *args, orgs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs


@admin.register(Channel)
class ChannelAdmin(OrgScopedAdmin):
    form = ChannelForm
    list_display = ["channel_id", "org", "provider", "enabled", "effective_poll_minutes", "last_polled_at",
                    "last_run", "rejected_webhooks", "warnings_text"]
    list_filter = ["provider", "enabled", "org"]
    search_fields = ["channel_id", "account_identity"]
    readonly_fields = ["account_identity", "last_polled_at", "webhooks_registered", "warnings_text", "created_at"]
    actions = ["enable_channels", "disable_channels", "sync_now"]

    def get_queryset(self, request):
        # One query for the list: the latest run and the rejection count come as subqueries.
        last = SyncRun.objects.filter(channel=OuterRef("pk")).order_by("-queued_at", "-id")
        rejected = (WebhookRejection.objects.filter(channel=OuterRef("pk")).values("channel")
                    .annotate(total=Sum("count")).values("total"))
        annotations = {f"last_run_{name}": Subquery(last.values(name)[:1])
                       for name in ("kind", "status", "queued_at", "fetched", "created", "updated", "unchanged",
                                    "failed")}
        return super().get_queryset(request).annotate(**annotations, rejected_total=Subquery(rejected))

    @admin.display(description="Last run")
    def last_run(self, channel):
        if not getattr(channel, "last_run_status", None):
            return "-"
        return (f"{channel.last_run_kind} {channel.last_run_status} at {channel.last_run_queued_at:%Y-%m-%d %H:%M}: "
                f"fetched {channel.last_run_fetched}, created {channel.last_run_created}, "
                f"updated {channel.last_run_updated}, unchanged {channel.last_run_unchanged}, "
                f"failed {channel.last_run_failed}")

    # --- Shopify OAuth install ------------------------------------------------------------------------------
    def get_urls(self):
        return [
            path("shopify-install/", self.admin_site.admin_view(self.shopify_install_view),
                 name="channels_sync_channel_shopify_install"),
            path("shopify-install/callback/", self.admin_site.admin_view(self.shopify_callback_view),
                 name="channels_sync_channel_shopify_callback"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}),
                         "shopify_install_url": reverse("admin:channels_sync_channel_shopify_install")}
        return super().changelist_view(request, extra_context)

    def _install_orgs(self, request):
        """Orgs where the user may add channels (owners): an install stores a store's credentials."""
        if request.user.is_superuser:
            return Org.objects.all()
        return Org.objects.filter(pk__in=orgs_allowing(request, self.opts.label_lower, "add"))

    def shopify_install_view(self, request):
        """The form; on submit, off to the store's authorize page. Shopify sends the merchant back to the callback
        below (add its URL to the app's allowed redirect URLs), in this same admin session."""
        orgs = self._install_orgs(request)
        if not request.user.has_perm("channels_sync.add_channel") or not orgs.exists():
            raise PermissionDenied
        form = ShopifyInstallForm(request.POST or None, orgs=orgs)
        callback = request.build_absolute_uri(reverse("admin:channels_sync_channel_shopify_callback"))
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                _, url = shopify_install_start(
                    org=data["org"], user=request.user, shop=data["shop"], channel_id=data["channel_id"],
                    client_id=data["client_id"], client_secret=data["client_secret"], redirect_uri=callback,
                    api_version=data["api_version"] or None)
            except ApiError as exc:
                form.add_error(None, str(exc.detail))
                for field, problems in (exc.details or {}).items():
                    key = {"apiVersion": "api_version"}.get(field, field)
                    if key in form.fields and isinstance(problems, list):
                        form.add_error(key, problems)
            else:
                return redirect(url)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form, "callback": callback,
                   "title": "Install the Shopify app on a store"}
        return TemplateResponse(request, "admin/channels_sync/channel/shopify_install.html", context)

    def shopify_callback_view(self, request):
        """Shopify's redirect: checked (state of this user, hmac, shop) and exchanged; then the channel's page."""
        from channels_sync.models import ShopifyInstall

        install = ShopifyInstall.objects.filter(state=request.GET.get("state") or "").only("org").first()
        org = install.org if install is not None else None
        try:
            if org is None:
                raise ApiError("Unknown or already used install state: start the install again.", code="invalid")
            channel = shopify_install_complete(org=org, user=request.user, params=request.GET.dict())
        except ApiError as exc:
            self.message_user(request, f"The Shopify install did not complete: {exc.detail}", messages.ERROR)
            return redirect(reverse("admin:channels_sync_channel_changelist"))
        self.message_user(request, f"{channel} is installed (disabled until you enable it).")
        return redirect(reverse("admin:channels_sync_channel_change", args=[channel.pk]))

    @admin.display(description="Warnings")
    def warnings_text(self, channel):
        """What to fix on the channel's side (e.g. an API version the channel no longer serves), with when."""
        if not channel.warnings:
            return "-"
        return format_html("<br>".join(["{}"] * len(channel.warnings)),
                           *[f"{w.get('message')} (last seen {str(w.get('at', ''))[:16].replace('T', ' ')})"
                             for w in channel.warnings])

    @admin.display(description="Rejected webhooks")
    def rejected_webhooks(self, channel):
        return getattr(channel, "rejected_total", None) or 0

    def has_sync_permission(self, request, obj=None):
        """Starting a pull is a manager's order operation; editing the channel stays the owner's."""
        return request.user.has_perm("channels_sync.sync_channel") and self._role_allows(request, obj, "sync")

    @admin.action(description="Enable (register webhooks, start polling)", permissions=["change"])
    def enable_channels(self, request, queryset):
        for channel in queryset.select_related("org"):
            try:
                channel_enable(channel=channel)
            except (ApiError, ChannelError) as exc:
                self.message_user(request, f"{channel}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{channel} enabled.")

    @admin.action(description="Disable (stop webhooks and polling)", permissions=["change"])
    def disable_channels(self, request, queryset):
        for channel in queryset.select_related("org"):
            channel_disable(channel=channel)
        self.message_user(request, f"{queryset.count()} channel(s) disabled.")

    @admin.action(description="Sync now (one-shot pull of everything changed since the cursor)",
                  permissions=["sync"])
    def sync_now(self, request, queryset):
        for channel in queryset.select_related("org"):
            sync_start(channel=channel, from_date=channel.cursor)
        self.message_user(request, f"Queued a sync for {queryset.count()} channel(s); see Sync runs.")


class ChannelStatusForm(forms.Form):
    status = forms.ChoiceField(choices=[(s.value, s.value) for s in CommonStatus])
    tracking_number = forms.CharField(required=False, max_length=128)
    carrier = forms.CharField(required=False, max_length=64)


@admin.register(AggregatedOrder)
class AggregatedOrderAdmin(OrgScopedAdmin):
    list_display = ["public_id", "channel", "channel_order_number", "status", "raw_status", "grand_total", "currency",
                    "created_at", "tracking_number", "writeback_state"]
    list_filter = ["status", "channel", "currency", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["public_id", "channel_order_id", "channel_order_number", "customer_email", "tracking_number"]
    list_select_related = ["channel"]
    exclude = ["raw", "channel_metadata", "lines", "shipping_address", "data"]
    readonly_fields = [f.name for f in AggregatedOrder._meta.fields if f.name not in
                       {"raw", "channel_metadata", "lines", "shipping_address", "data"}] + [
        "writebacks_pretty", "lines_table", "shipping_address_lines", "lines_pretty", "shipping_address_pretty",
        "channel_metadata_pretty", "data_pretty", "raw_pretty"]

    # What staff read first (lines as a table, the address as on a label); the channel's own payloads, which
    # made the page many screens of JSON, folded at the end.
    fieldsets = [
        (None, {"fields": ["public_id", "org", "channel", "channel_order_id", "channel_order_number", "status",
                           "raw_status", "customer_name", "customer_email", "lines_table", "shipping_address_lines",
                           "carrier", "tracking_number", "local_order"]}),
        ("Money", {"fields": ["subtotal", "discount", "tax", "shipping", "grand_total", "currency"]}),
        ("Times", {"fields": ["created_at", "channel_updated_at", "ingested_at", "updated_at"]}),
        ("Writebacks to the channel", {"fields": ["writebacks_pretty"]}),   # each with the channel's own answer
        ("As the channel sent it", {"classes": ["collapse"], "fields": [
            "lines_pretty", "shipping_address_pretty", "channel_metadata_pretty", "data_pretty", "raw_pretty"]}),
    ]

    change_form_template = "admin/channels_sync/aggregatedorder/change_form.html"

    def has_add_permission(self, request):
        return False  # orders arrive from channels through ingest only

    def has_change_permission(self, request, obj=None):
        return False  # status changes go through the page's actions (admin_views.py), which write back

    def get_urls(self):
        from channels_sync.admin_views import channel_order_urls

        status_url = path("<path:object_id>/status/", self.admin_site.admin_view(self.set_status_view),
                          name="channels_sync_aggregatedorder_status")
        return [status_url, *channel_order_urls(self), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Fulfil and cancel, offered as the channel and the order's state allow (channels_sync/admin_views.py)."""
        from django.contrib.admin.utils import unquote

        from channels_sync.admin_views import page_context

        extra_context = {**(extra_context or {}),
                         "status_url": reverse("admin:channels_sync_aggregatedorder_status", args=[object_id])}
        order = self.get_object(request, unquote(object_id))
        if order is not None:
            extra_context.update(page_context(self, request, order))
        return super().change_view(request, object_id, form_url, extra_context)

    def has_set_status_permission(self, request, obj=None):
        """The order-write right (managers), judged in the order's org: the page calls the status service."""
        return (request.user.has_perm("channels_sync.change_aggregatedorder")
                and self._role_allows(request, obj, "change"))

    def get_queryset(self, request):
        # The list's writeback column: the latest writeback's status, attempts and next try, as subqueries.
        latest = Writeback.objects.filter(order=OuterRef("pk")).order_by("-created_at", "-id")
        return super().get_queryset(request).annotate(
            **{f"writeback_{name}": Subquery(latest.values(name)[:1])
               for name in ("status", "attempts", "next_attempt_at", "max_attempts")})

    @admin.display(description="Writeback")
    def writeback_state(self, order):
        status = getattr(order, "writeback_status", None)
        if status is None:
            return "-"
        return _state_text(status, order.writeback_attempts, order.writeback_next_attempt_at,
                           order.writeback_max_attempts)

    @admin.display(description="Writebacks (newest first)")
    def writebacks_pretty(self, order):
        rows = []
        for writeback in order.writebacks.order_by("-created_at", "-id"):
            url = reverse("admin:channels_sync_writeback_change", args=[writeback.pk])
            rows.append((url, writeback.public_id, writeback.target_status,
                         _state_text(writeback.status, writeback.attempts, writeback.next_attempt_at,
                                     writeback.max_attempts),
                         writeback.last_error or "", writeback.last_response_body or ""))
        if not rows:
            return "-"
        return format_html_join("", "<div class='writeback'><a href='{}'>{}</a> {}: <strong>{}</strong> {}"
                                    "<pre style='white-space:pre-wrap;max-width:900px'>{}</pre></div>", rows)

    def set_status_view(self, request, object_id):
        """Set the order's status and write it back; a status the channel cannot take from the current one is a form
        error naming the ones it accepts, and nothing is saved."""
        order = self.get_object(request, object_id)
        if order is None:
            raise PermissionDenied  # not one of the user's orgs' orders: the same answer as a missing one
        if not self.has_set_status_permission(request, order):
            raise PermissionDenied
        form = ChannelStatusForm(request.POST or None, initial={"status": order.status})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                writeback = order_status_update(order=order, status=data["status"],
                                                tracking_number=data["tracking_number"] or None,
                                                carrier=data["carrier"] or None, source=Writeback.Source.ADMIN)
            except ApiError as exc:
                form.add_error(None, str(exc.detail))
                for field, problems in (exc.details or {}).items():
                    if field in ("status", "carrier", "trackingNumber") and isinstance(problems, list):
                        form.add_error("tracking_number" if field == "trackingNumber" else field, problems)
            else:
                self.message_user(request, f"Status set to {order.status}; writeback {writeback.public_id} queued.")
                return redirect(reverse("admin:channels_sync_aggregatedorder_change", args=[order.pk]))
        allowed = order.channel.provider_cls().writable_from(order.status)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": order, "form": form,
                   "title": f"Set the status of {order.public_id}",
                   "allowed": "any status" if allowed is None else (", ".join(allowed) or "none")}
        return TemplateResponse(request, "admin/channels_sync/aggregatedorder/set_status.html", context)

    @admin.display(description="Items")
    def lines_table(self, order):
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td class='numeric'>{}</td><td class='numeric'>{}</td></tr>",
            ((line.get("sku") or "-", line.get("channelSku") or "-", line.get("name") or "",
              line.get("quantity", ""), line.get("unitPrice", "")) for line in order.lines or []))
        return format_html("<table class='channel-lines'><thead><tr><th>SKU</th><th>Channel SKU</th><th>Name</th>"
                           "<th>Qty</th><th>Unit price</th></tr></thead><tbody>{}</tbody></table>", rows)

    @admin.display(description="Ship to")
    def shipping_address_lines(self, order):
        address = order.shipping_address or {}
        town = " ".join(str(address[k]) for k in ("postalCode", "city", "region") if address.get(k))
        lines = [address.get(k) for k in ("name", "company", "line1", "line2")] + [town, address.get("country"),
                                                                                  address.get("phone")]
        lines = [str(line) for line in lines if line]
        if not lines:
            return "-"
        return format_html('<address data-testid="channel-shipping-address">{}</address>',
                           format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines)))

    @admin.display(description="Lines (JSON)")
    def lines_pretty(self, order):
        return _pretty(order.lines)

    @admin.display(description="Shipping address (JSON)")
    def shipping_address_pretty(self, order):
        return _pretty(order.shipping_address)

    @admin.display(description="Channel metadata")
    def channel_metadata_pretty(self, order):
        return _pretty(order.channel_metadata)

    @admin.display(description="Our data")
    def data_pretty(self, order):
        return _pretty(order.data)

    @admin.display(description="Raw order as last fetched")
    def raw_pretty(self, order):
        return _pretty(order.raw)


class FailedFirstAdmin(OrgScopedAdmin):
    """Sync history: failed rows on top, then newest first."""

    time_field = "created_at"
    failed_value = Outcome.FAILED

    def get_ordering(self, request):
        # Not a queryset order_by: the changelist puts this (else the model's Meta.ordering) before it.
        failed_first = Case(When(status=self.failed_value, then=Value(0)), default=Value(1),
                            output_field=IntegerField())
        return [failed_first.asc(), f"-{self.time_field}", "-id"]

    def has_add_permission(self, request):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(FailedFirstAdmin):
    time_field = "queued_at"
    list_display = ["public_id", "channel", "kind", "status", "queued_at", "finished_at", "fetched", "created",
                    "updated", "unchanged", "failed", "error"]
    list_filter = ["status", "kind", "channel"]
    list_select_related = ["channel"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(FailedFirstAdmin):
    time_field = "received_at"
    failed_value = WebhookDelivery.Status.FAILED
    list_display = ["public_id", "channel", "topic", "delivery_id", "status", "attempts", "received_at",
                    "processed_at", "last_error"]
    list_filter = ["status", "channel", "topic"]
    list_select_related = ["channel"]
    search_fields = ["delivery_id", "public_id"]
    exclude = ["body"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields if f.name != "body"] + ["body_text"]
    actions = ["retry_deliveries"]

    @admin.display(description="Body (as received)")
    def body_text(self, delivery):
        return format_html("<pre style='white-space:pre-wrap;max-width:900px'>{}</pre>",
                           bytes(delivery.body).decode("utf-8", errors="replace"))

    @admin.action(description="Retry processing", permissions=["change"])
    def retry_deliveries(self, request, queryset):
        queued = sum(webhook_retry(delivery=d) for d in queryset)
        self.message_user(request, f"{queued} delivery(ies) queued again (processed ones are left alone).")


class WritebackAttemptInline(admin.TabularInline):
    model = WritebackAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "started_at", "duration_ms", "request_summary", "response_code", "succeeded",
                       "retryable", "error", "response_body"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Writeback)
class WritebackAdmin(FailedFirstAdmin):
    list_display = ["public_id", "channel", "order", "target_status", "tracking_number", "status", "state_text",
                    "attempts", "max_attempts", "manual_retries", "next_attempt_at", "created_at", "last_error"]
    list_filter = ["status", "channel", "target_status", "source"]
    list_select_related = ["channel", "order"]
    search_fields = ["public_id", "order__public_id", "order__channel_order_id", "tracking_number"]
    exclude = ["last_response_body"]
    readonly_fields = [f.name for f in Writeback._meta.fields if f.name != "last_response_body"] + [
        "state_text", "channel_response"]
    inlines = [WritebackAttemptInline]
    actions = ["retry_writebacks"]

    @admin.display(description="State")
    def state_text(self, writeback):
        return _state_text(writeback.status, writeback.attempts, writeback.next_attempt_at, writeback.max_attempts)

    @admin.display(description="The channel's last answer")
    def channel_response(self, writeback):
        if not writeback.last_response_body:
            return "-"
        return format_html("<pre style='white-space:pre-wrap;max-width:900px'>{}</pre>", writeback.last_response_body)

    @admin.action(description="Retry failed writebacks (asks first)", permissions=["change"])
    def retry_writebacks(self, request, queryset):
        """A confirmation page first (what each retry does, the channel's last answer); then one attempt each."""
        failed = list(queryset.filter(status=Outcome.FAILED).select_related("order"))
        skipped = queryset.count() - len(failed)
        if not failed:
            self.message_user(request, "None of the selected writebacks has failed: nothing to retry.",
                              messages.WARNING)
            return None
        if request.POST.get("confirmed") != "yes":
            context = {**self.admin_site.each_context(request), "opts": self.opts, "skipped": skipped,
                       "title": "Retry failed writebacks", "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                       "retryable": [{"writeback": w, "consequence": writeback_retry_consequence(w)} for w in failed]}
            return TemplateResponse(request, "admin/channels_sync/writeback/retry_confirmation.html", context)
        queued = 0
        for writeback in failed:
            try:
                writeback_retry(writeback=writeback, confirmed=True)
            except ApiError as exc:
                self.message_user(request, f"{writeback.public_id}: {exc.detail}", messages.WARNING)
            else:
                queued += 1
        self.message_user(request, f"{queued} writeback(s) queued again, one attempt each"
                                   + (f"; {skipped} not failed, left alone." if skipped else "."))


@admin.register(ComplianceRequest)
class ComplianceRequestAdmin(OrgScopedAdmin):
    """Channels' privacy requests: what was asked (a data request is answered by staff from here) and what was
    redacted. Written by the webhook worker only."""

    list_display = ["kind", "channel", "customer_id", "shop_domain", "received_at", "processed_at", "redacted_orders",
                    "redacted_deliveries"]
    list_filter = ["kind", "channel"]
    list_select_related = ["channel"]
    search_fields = ["customer_id", "customer_email", "shop_domain", "delivery_id"]
    readonly_fields = [f.name for f in ComplianceRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
