"""Business operations on subscriptions (views, admin, tasks and commands all call these)."""

from subscriptions.services.billing import BillingRunResult, subscription_bill_locked, subscriptions_bill_due
from subscriptions.services.errors import ActionNotAllowed
from subscriptions.services.lifecycle import (
    allowed_actions,
    price_create,
    subscription_apply_action,
    subscription_create,
    subscription_lock,
)

__all__ = [
    "ActionNotAllowed", "BillingRunResult", "allowed_actions", "price_create", "subscription_apply_action",
    "subscription_bill_locked", "subscription_create", "subscription_lock", "subscriptions_bill_due",
]
