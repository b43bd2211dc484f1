"""Staff admin for storefront orders. Transition buttons come from django-fsm-2's FSMAdminMixin (shown and run
only where the role in the order's org may change orders), but run through orders.services (lock, Activity
row, events), never the bare model methods."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F
from django.http import Http404
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from accounts.admin import OrgScopedAdmin, RoleCheckedFSMAdminMixin
from core.admin_text import error_text
from core.api.exceptions import ApiError
from orders import admin_views, services
from orders.admin_forms import service_kwargs
from orders.carrier_formats import carrier_label
from orders.conf import orders_settings
from orders.models import (
    CheckoutSettings,
    Customer,
    EmailLog,
    EventHandlerRun,
    InventoryItem,
    Order,
    OrderLine,
    OrderTag,
    Payment,
    Refund,
    Shipment,
)
from orders.selectors import customer_total_spent


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "name", "quantity", "unit_price", "quantity_shipped", "quantity_refunded", "quantity_backordered"]
    readonly_fields = fields


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ["carrier_name", "tracking_number", "service", "cost", "status_words", "ship_date", "items"]
    readonly_fields = fields

    @admin.display(description="carrier")
    def carrier_name(self, shipment):
        return carrier_label(shipment.carrier)

    @admin.display(description="status")
    def status_words(self, shipment):
        return (shipment.status or "").replace("_", " ").capitalize()  # label_created -> Label created

    @admin.display(description="items")
    def items(self, shipment):
        return ", ".join(f"{line.sku} x{line.quantity}" for line in shipment.lines.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lines")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["gateway", "reference", "amount_captured", "currency", "created_at"]
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["amount", "items_refunded", "reason", "gateway", "gateway_reference", "created_by",
              "created_at"]
    readonly_fields = fields

    @admin.display(description="items")
    def items_refunded(self, refund):
        """As the ship dialog writes them (SOCK-3PK x2), not the stored JSON; "-" for an amount-only refund."""
        return ", ".join(f"{item.get('sku')} x{item.get('quantity')}" for item in refund.items or []) or "-"


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        names = OrderTag.objects.filter(order__in=model_admin.get_queryset(request)).values_list("name", flat=True)
        return [(name, name) for name in sorted(set(names))]

    def queryset(self, request, queryset):
        return queryset.filter(tag_rows__name=self.value()).distinct() if self.value() else queryset


class CustomerRequestFilter(admin.SimpleListFilter):
    """Orders a customer asked to cancel from the order page: on hold until staff cancel or release them."""

    title = "customer request"
    parameter_name = "customer_request"

    def lookups(self, request, model_admin):
        return [("cancel", "Asked to cancel")]

    def queryset(self, request, queryset):
        if self.value() == "cancel":
            return queryset.filter(status="on-hold", hold_reason__startswith=services.CANCEL_REQUEST_PREFIX)
        return queryset


@admin.register(Order)
class OrderAdmin(RoleCheckedFSMAdminMixin, OrgScopedAdmin):
    fsm_fields = ["status"]
    list_display = ["order_number", "org", "customer_email", "status", "grand_total", "refunded_total", "currency",
                    "is_test", "tag_list", "created_at"]
    list_filter = ["status", CustomerRequestFilter, "created_at", TagFilter, "is_test", "is_backorder", "org"]
    search_fields = ["order_number", "customer__email", "shipments__tracking_number"]
    date_hierarchy = "created_at"
    list_select_related = ["customer", "org"]
    # Activity and emails are in the page's timeline (orders/timeline.py), with scans, writebacks and comments.
    inlines = [LineInline, ShipmentInline, PaymentInline, RefundInline]
    change_form_template = "admin/orders/order/change_form.html"
    fieldsets = [
        (None, {"fields": ["org", "order_number", "status", "prior_status", "hold_reason", "cancel_reason",
                           "customer", "is_test", "backorder", "source"]}),
        ("Money", {"fields": ["currency", "subtotal", "shipping_total", "tax_total", "grand_total",
                              "captured_total", "refunded_total"]}),
        # Addresses, notes and tags are shown formatted (and notes and tags edited) above the form.
        ("Details", {"fields": ["customer_note", "metadata"]}),
        ("Times", {"fields": ["created_at", "processed_at", "shipped_at", "delivered_at", "completed_at",
                              "cancelled_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Everything: edits go through the API's update service; state only through the buttons.
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tag_rows")

    def has_add_permission(self, request):
        return False  # orders come from checkout

    def get_urls(self):
        return admin_views.order_urls(self) + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The header, actions, addresses, notes, timeline and dialogs (orders/admin_views.py)."""
        extra_context = dict(extra_context or {})
        order = self.get_object(request, unquote(object_id)) if request.method == "GET" else None
        if order is not None:
            extra_context.update(admin_views.order_page_context(self, request, order))
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        """Nothing is editable, so nothing to save (a stale save must never overwrite a transition)."""

    # Delete: test orders only, by owners, through the API's remove service (which gives reserved stock back).

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_test)

    def get_deleted_objects(self, objs, request):
        """The service removes an order with its lines, parcels and history: what the owner needs is the right
        to delete the orders themselves, not one per cascaded row (which no role has)."""
        to_delete, model_count, _, protected = super().get_deleted_objects(objs, request)
        real = [order.order_number for order in objs if not order.is_test]
        perms_needed = {f"real orders ({', '.join(real)}): only test orders can be deleted"} if real else set()
        if any(not self.has_delete_permission(request, order) for order in objs if order.is_test):
            perms_needed.add("orders")
        return to_delete, model_count, perms_needed, protected

    def delete_model(self, request, obj):
        self._remove_test_orders(request, [obj])

    def delete_queryset(self, request, queryset):
        self._remove_test_orders(request, list(queryset.select_related("customer", "org")))

    def _remove_test_orders(self, request, orders) -> None:
        """One service call per order (all or nothing each); a refusal becomes an error message."""
        for order in orders:
            if not self.has_delete_permission(request, order):
                raise PermissionDenied
            try:
                services.order_remove_test(org=order.org, author=order.customer.sk, order_number=order.order_number)
            except ApiError as exc:
                self.message_user(request, f"{order.order_number}: {error_text(exc)}", messages.ERROR)

    @admin.display(description="backorder")
    def backorder(self, order):
        """Which units were sold without stock (a channel order imported short); they are reserved when they ship."""
        if not order.is_backorder:
            return "No"
        short = ", ".join(f"{line.sku} x{line.quantity_backordered}" for line in order.lines.all()
                          if line.quantity_backordered)
        return f"Yes: {short} not in stock yet (reserved when shipped)"

    @admin.display(description="email", ordering="customer__email")
    def customer_email(self, order):
        return order.customer.email

    @admin.display(description="tags")
    def tag_list(self, order):
        return ", ".join(row.name for row in order.tag_rows.all())

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None) -> bool:
        """Run the verb's service (locking, Activity, events), with the form's fields if any."""
        if not self.has_change_permission(request, obj):
            self.message_user(request, "Changing orders needs the manager role in this org.", messages.ERROR)
            return False
        if transition_name not in services.VERBS:
            self.message_user(request, f"Unknown verb {transition_name}.", messages.ERROR)
            return False
        try:
            order = services.order_transition(transition_name, org=obj.org, order_number=obj.order_number,
                                              actor=request.user, **service_kwargs(transition_name, kwargs or {}))
        except ApiError as exc:
            self.message_user(request, f"{transition_name.capitalize()} failed: {error_text(exc)}", messages.ERROR)
            return False
        except Http404:
            self.message_user(request, "Order not found.", messages.ERROR)
            return False
        self.message_user(request, f"{transition_name}: order {order.order_number} is now {order.status}.",
                          messages.SUCCESS)
        return True


@admin.register(InventoryItem)
class InventoryItemAdmin(OrgScopedAdmin):
    list_display = ["sku", "name", "org", "on_hand", "reserved", "available_units", "unit_price", "currency",
                    "updated_at"]
    list_filter = ["org"]
    search_fields = ["sku", "name"]
    readonly_fields = ["reserved", "available_units", "updated_at"]
    fields = ["org", "sku", "name", "unit_price", "currency", "on_hand", "reserved", "available_units", "updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(available_count=F("on_hand") - F("reserved"))

    @admin.display(description="available", ordering="available_count")
    def available_units(self, item):
        return item.available


class CheckoutSettingsForm(forms.ModelForm):
    """The Stripe key is never shown back; leaving the field empty keeps the stored one."""

    stripe_secret_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                        help_text="The org's Stripe secret (or restricted) key. Leave empty to keep "
                                                  "the current one.")
    clear_stripe_secret_key = forms.BooleanField(required=False, label="Remove the stored Stripe key")

    class Meta:
        model = CheckoutSettings
        fields = ["org", "flat_shipping", "tax_rate", "stripe_secret_key"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("clear_stripe_secret_key"):
            cleaned["stripe_secret_key"] = ""
        elif not cleaned.get("stripe_secret_key") and self.instance.pk:
            cleaned["stripe_secret_key"] = self.instance.stripe_secret_key
        return cleaned


@admin.register(CheckoutSettings)
class CheckoutSettingsAdmin(OrgScopedAdmin):
    """The hub's shipping and tax rules for anonymous checkouts, and the org's Stripe key."""

    form = CheckoutSettingsForm
    list_display = ["org", "flat_shipping", "tax_rate", "has_stripe_key", "updated_at"]

    @admin.display(boolean=True, description="Stripe key set")
    def has_stripe_key(self, rules):
        return bool(rules.stripe_secret_key)


class CustomerOrderInline(ReadOnlyInline):
    """The customer's orders, newest first, each linking to its page."""

    model = Order
    fk_name = "customer"
    fields = ["order", "placed", "state", "total", "is_test"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    verbose_name_plural = "orders"

    @admin.display(description="order")
    def order(self, order):
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[order.pk]),
                           order.order_number)

    @admin.display(description="placed")
    def placed(self, order):
        return date_format(localtime(order.created_at), "DATETIME_FORMAT")

    @admin.display(description="state")
    def state(self, order):
        return order.get_status_display()

    @admin.display(description="total")
    def total(self, order):
        return f"{order.grand_total} {order.currency}"


@admin.register(Customer)
class CustomerAdmin(OrgScopedAdmin):
    list_display = ["email", "name", "sk", "org", "order_count", "created_at"]
    list_filter = ["org"]
    search_fields = ["email", "name", "sk"]
    readonly_fields = ["sk", "created_at", "total_spent"]
    inlines = [CustomerOrderInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(order_total=Count("orders"))

    @admin.display(description="orders", ordering="order_total")
    def order_count(self, customer):
        return customer.order_total

    @admin.display(description="total spent")
    def total_spent(self, customer):
        """Per currency (orders are never converted): order totals less refunds, test and cancelled orders left
        out (docs/decisions.md)."""
        return customer_total_spent(customer) or "nothing yet"


@admin.register(EmailLog)
class EmailLogAdmin(OrgScopedAdmin):
    list_display = ["sent_at", "kind", "to", "subject", "status", "order", "org"]
    list_filter = ["kind", "status", "org"]
    search_fields = ["to", "subject", "order__order_number"]
    list_select_related = ["order", "org"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in EmailLog._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(EventHandlerRun)
class EventHandlerRunAdmin(OrgScopedAdmin):
    """Every subscriber's run of every order event (orders.events.SUBSCRIBERS): failed ones are retried here."""

    list_display = ["created_at", "event", "subscriber", "order", "status", "attempts", "next_attempt_at",
                    "finished_at", "last_error"]
    list_filter = ["status", "event", "subscriber", "org"]
    search_fields = ["order__order_number", "subscriber"]
    list_select_related = ["order"]
    actions = ["retry_runs"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in EventHandlerRun._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry failed runs", permissions=["change"])
    def retry_runs(self, request, queryset):
        queued = services.event_handler_runs_retry(run_ids=list(queryset.values_list("pk", flat=True)))
        allowance = orders_settings.ORDERS_EVENT_HANDLER_MAX_ATTEMPTS
        self.message_user(request, f"{queued} run(s) queued again, each with a fresh allowance of {allowance} "
                                   "attempts (only failed ones are retried).")
