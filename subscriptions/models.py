"""Subscriptions: a price per interval, a customer's subscription to it, and one row per billed period.

`Subscription.status` is a protected FSMField; the `@transition` methods are pure (state only) and
are called only by `subscriptions.services`, which locks the row, applies the action's rules and
saves. `BillingCycle` is unique per (subscription, period_start) and its child order is unique, so a
period can never be billed twice, whoever runs the billing task and how often.
"""

import secrets

from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Org
from orders.models import MONEY, Customer, Order


def new_subscription_id() -> str:
    return f"sub_{secrets.token_hex(8)}"


class Interval(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"
    YEAR = "year", "Year"


class Price(models.Model):
    """What a subscription pays per interval for one unit of a product (SKU)."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="prices")
    price_id = models.CharField(max_length=64)
    product_sku = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD")
    interval = models.CharField(max_length=8, choices=Interval.choices, default=Interval.MONTH)
    interval_count = models.PositiveIntegerField(default=1)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "prices"
        ordering = ["price_id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "price_id"], name="price_unique_id_per_org"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="price_amount_positive"),
            models.CheckConstraint(condition=Q(interval_count__gte=1), name="price_interval_count_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.price_id} ({self.amount} {self.currency}/{self.interval_count} {self.interval})"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    PAST_DUE = "past_due", "Past due"


S = SubscriptionStatus
# API action name -> transition method name.
ACTIONS = {"pause": "pause", "resume": "resume", "cancel": "cancel", "change-plan": "change_plan"}


class Subscription(ConcurrentTransitionMixin, models.Model):
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="subscriptions")
    subscription_id = models.CharField(max_length=40, default=new_subscription_id, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    price = models.ForeignKey(Price, on_delete=models.PROTECT, related_name="subscriptions")
    quantity = models.PositiveIntegerField(default=1)
    status = FSMField(max_length=16, choices=SubscriptionStatus.choices, default=S.ACTIVE, protected=True,
                      db_index=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    # The period last billed (before the first charge: the first period, not yet paid).
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    # Start of the next period to bill; the beat task bills it once `next_billing_at` has passed.
    next_period_start = models.DateTimeField()
    next_billing_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # A plan change waits here until the next cycle is billed.
    pending_price = models.ForeignKey(Price, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pending_quantity = models.PositiveIntegerField(null=True, blank=True)
    # How to charge: a gateway from orders.payments and its references (Stripe: cus_... and pm_...).
    gateway = models.CharField(max_length=32, default="manual")
    gateway_customer = models.CharField(max_length=255, blank=True)
    payment_method = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "subscriptions"
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="subscription_quantity_positive")]
        indexes = [models.Index(fields=["status", "next_billing_at"], name="subscription_due_idx")]

    def __str__(self) -> str:
        return self.subscription_id

    @property
    def has_pending_change(self) -> bool:
        return self.pending_price_id is not None or self.pending_quantity is not None

    # --- transitions: pure, called only by subscriptions.services -----------------------------

    @transition(field=status, source=[S.ACTIVE, S.PAST_DUE], target=S.PAUSED,
                custom={"admin": True, "label": "Pause"})
    def pause(self):
        pass

    @transition(field=status, source=[S.PAUSED, S.PAST_DUE], target=S.ACTIVE,
                custom={"admin": True, "label": "Resume"})
    def resume(self):
        pass

    @transition(field=status, source=[S.ACTIVE, S.PAUSED, S.PAST_DUE], target=S.CANCELLED,
                custom={"admin": True, "label": "Cancel"})
    def cancel(self):
        pass

    @transition(field=status, source=[S.ACTIVE, S.PAUSED, S.PAST_DUE], target=None,
                custom={"admin": True, "label": "Change plan",
                        "form": "subscriptions.admin_forms.ChangePlanForm"})
    def change_plan(self):
        """The state stays; the change is stored as pending and applies at the next cycle."""

    @transition(field=status, source=S.ACTIVE, target=S.PAST_DUE, custom={"admin": False})
    def mark_past_due(self):
        """Billing gave up after the last retry."""


class BillingCycle(models.Model):
    """One billed (or being billed) period of a subscription; retries update the same row."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending retry"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="cycles")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    price = models.ForeignKey(Price, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    child_order = models.OneToOneField(Order, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="billing_cycle")
    payment_reference = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "billing cycles"
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "period_start"], name="billing_cycle_unique_period"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.period_start:%Y-%m-%d} {self.outcome}"
