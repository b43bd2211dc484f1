"""Request and response shapes for prices and subscriptions (camelCase written out, money as strings)."""

from decimal import Decimal

from rest_framework import serializers

from subscriptions.charging import CHARGE_GATEWAYS
from subscriptions.models import ACTIONS, Interval


def Money(**kwargs):
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


# --- requests -----------------------------------------------------------------------------

class PriceCreateSerializer(serializers.Serializer):
    priceId = serializers.RegexField(r"^[A-Za-z0-9_.:-]{1,64}$", source="price_id")
    productSku = serializers.CharField(max_length=100, source="product_sku")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    amount = Money(min_value=Decimal("0.01"))
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", default="USD")
    interval = serializers.ChoiceField(choices=Interval.values, default=Interval.MONTH)
    intervalCount = serializers.IntegerField(min_value=1, max_value=365, default=1, source="interval_count")


class SubscriptionCustomerSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SubscriptionCreateSerializer(serializers.Serializer):
    customer = SubscriptionCustomerSerializer()
    priceId = serializers.CharField(max_length=64, source="price_id")
    quantity = serializers.IntegerField(min_value=1, max_value=10000, default=1)
    shippingAddress = serializers.DictField(source="shipping_address")
    gateway = serializers.ChoiceField(choices=sorted(CHARGE_GATEWAYS), default="manual")
    gatewayCustomer = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                            source="gateway_customer", help_text="Stripe: cus_...")
    paymentMethod = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                          source="payment_method", help_text="Stripe: a saved pm_...")
    startAt = serializers.DateTimeField(required=False, source="start_at",
                                        help_text="Start of the first period (default: now).")


class UpdateSubscriptionSerializer(serializers.Serializer):
    subscriptionId = serializers.CharField(max_length=40, source="subscription_id")
    action = serializers.ChoiceField(choices=list(ACTIONS))
    priceId = serializers.CharField(max_length=64, required=False, source="price_id")
    quantity = serializers.IntegerField(min_value=1, max_value=10000, required=False)


# --- responses ----------------------------------------------------------------------------

class PriceSerializer(serializers.Serializer):
    priceId = serializers.CharField(source="price_id")
    productSku = serializers.CharField(source="product_sku")
    name = serializers.CharField()
    amount = Money()
    currency = serializers.CharField()
    interval = serializers.CharField()
    intervalCount = serializers.IntegerField(source="interval_count")
    active = serializers.BooleanField()


class PendingChangeSerializer(serializers.Serializer):
    priceId = serializers.CharField(source="pending_price.price_id", allow_null=True, default=None)
    quantity = serializers.IntegerField(source="pending_quantity", allow_null=True)


class CustomerCycleSerializer(serializers.Serializer):
    periodStart = serializers.DateTimeField(source="period_start")
    periodEnd = serializers.DateTimeField(source="period_end")
    outcome = serializers.CharField()
    amount = Money()
    currency = serializers.CharField()
    orderNumber = serializers.CharField(source="child_order.order_number", allow_null=True, default=None)


class StaffCycleSerializer(CustomerCycleSerializer):
    attempts = serializers.IntegerField()
    nextRetryAt = serializers.DateTimeField(source="next_retry_at", allow_null=True)
    paymentReference = serializers.CharField(source="payment_reference")
    error = serializers.CharField()
    quantity = serializers.IntegerField()
    priceId = serializers.CharField(source="price.price_id")


class CustomerSubscriptionSerializer(serializers.Serializer):
    """What a customer may see: no gateway references, errors or internal ids."""

    subscriptionId = serializers.CharField(source="subscription_id")
    status = serializers.CharField()
    price = PriceSerializer()
    quantity = serializers.IntegerField()
    currentPeriodStart = serializers.DateTimeField(source="current_period_start")
    currentPeriodEnd = serializers.DateTimeField(source="current_period_end")
    nextBillingAt = serializers.DateTimeField(source="next_billing_at", allow_null=True)
    pendingChange = serializers.SerializerMethodField()
    cycles = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")

    cycle_serializer = CustomerCycleSerializer

    def get_pendingChange(self, sub) -> dict | None:
        return PendingChangeSerializer(sub).data if sub.has_pending_change else None

    def get_cycles(self, sub) -> list[dict]:
        from subscriptions.selectors import RECENT_CYCLES

        return self.cycle_serializer(list(sub.cycles.all())[:RECENT_CYCLES], many=True).data


class StaffSubscriptionSerializer(CustomerSubscriptionSerializer):
    customer = serializers.SerializerMethodField()
    shippingAddress = serializers.DictField(source="shipping_address")
    gateway = serializers.CharField()
    gatewayCustomer = serializers.CharField(source="gateway_customer")
    paymentMethod = serializers.CharField(source="payment_method")
    allowedActions = serializers.SerializerMethodField()

    cycle_serializer = StaffCycleSerializer

    def get_customer(self, sub) -> dict:
        return {"customerId": sub.customer.sk, "email": sub.customer.email, "name": sub.customer.name}

    def get_allowedActions(self, sub) -> list[str]:
        from subscriptions.services import allowed_actions

        return allowed_actions(sub)
