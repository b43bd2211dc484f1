"""Admin for prices, subscriptions (the FSM actions as buttons, run through the services) and cycles."""

from django.contrib import admin, messages

from accounts.admin import OrgScopedAdmin, RoleCheckedFSMAdminMixin
from core.admin_text import error_text
from core.api.exceptions import ApiError
from subscriptions.models import ACTIONS, BillingCycle, Price, Subscription
from subscriptions.services import subscription_apply_action

METHOD_ACTIONS = {method: action for action, method in ACTIONS.items()}


@admin.register(Price)
class PriceAdmin(OrgScopedAdmin):
    list_display = ["price_id", "org", "product_sku", "amount", "currency", "interval", "interval_count", "active"]
    list_filter = ["active", "interval", "org"]
    search_fields = ["price_id", "product_sku", "name"]


class BillingCycleInline(admin.TabularInline):
    model = BillingCycle
    extra = 0
    can_delete = False
    fields = ["period_start", "period_end", "outcome", "attempts", "next_retry_at", "amount", "currency",
              "child_order", "payment_reference", "error"]
    readonly_fields = fields
    ordering = ["-period_start"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(RoleCheckedFSMAdminMixin, OrgScopedAdmin):
    fsm_fields = ["status"]
    list_display = ["subscription_id", "org", "customer", "price", "quantity", "status", "next_billing_at"]
    list_filter = ["status", "gateway", "org"]
    search_fields = ["subscription_id", "customer__email", "customer__sk", "price__price_id"]
    raw_id_fields = ["customer"]
    readonly_fields = ["subscription_id", "current_period_start", "current_period_end", "next_period_start",
                       "next_billing_at", "pending_price", "pending_quantity", "paused_at", "cancelled_at",
                       "created_at", "updated_at"]
    inlines = [BillingCycleInline]

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None) -> bool:
        """Run the button through the service (rules, row lock), not the bare transition method."""
        kwargs = dict(kwargs or {})
        try:
            subscription_apply_action(org=obj.org, subscription_id=obj.subscription_id,
                                      action=METHOD_ACTIONS[transition_name],
                                      price_id=kwargs.get("price_id") or None, quantity=kwargs.get("quantity"))
        except (ApiError, KeyError) as exc:
            self.message_user(request, f"{transition_name}: {error_text(exc)}", level=messages.ERROR)
            return False
        self.log_fsm_transition(request, obj, transition_name,
                                {k: v for k, v in kwargs.items() if k in ("price_id", "quantity")})
        self.message_user(request, f"{transition_name}: done.", level=messages.SUCCESS)
        return True


@admin.register(BillingCycle)
class BillingCycleAdmin(OrgScopedAdmin):
    org_lookup = "subscription__org"
    list_display = ["subscription", "period_start", "period_end", "outcome", "attempts", "next_retry_at",
                    "amount", "currency", "child_order"]
    list_filter = ["outcome"]
    search_fields = ["subscription__subscription_id", "child_order__order_number", "payment_reference"]
    readonly_fields = ["subscription", "period_start", "period_end", "price", "quantity", "amount", "currency",
                       "outcome", "attempts", "next_retry_at", "child_order", "payment_reference", "error",
                       "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False
