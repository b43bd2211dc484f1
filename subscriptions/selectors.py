"""Read queries for subscriptions: every one takes the org, so nothing crosses tenants."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from subscriptions.models import BillingCycle, Price, Subscription

RECENT_CYCLES = 12


def _with_details(queryset: QuerySet[Subscription]) -> QuerySet[Subscription]:
    return queryset.select_related("customer", "price", "pending_price").prefetch_related(
        Prefetch("cycles", queryset=BillingCycle.objects.select_related("child_order").order_by("-period_start"))
    )


def price_list(*, org, active: bool | None = None) -> QuerySet[Price]:
    queryset = Price.objects.filter(org=org)
    if active is not None:
        queryset = queryset.filter(active=active)
    return queryset.order_by("price_id")


def price_detail(*, org, price_id: str) -> Price:
    price = Price.objects.filter(org=org, price_id=price_id).first()
    if price is None:
        raise Http404
    return price


def subscription_list(*, org, status: str | None = None, email: str | None = None) -> QuerySet[Subscription]:
    queryset = _with_details(Subscription.objects.filter(org=org))
    if status:
        queryset = queryset.filter(status__in=status.split(","))
    if email:
        queryset = queryset.filter(customer__email__iexact=email.strip())
    return queryset.order_by("-created_at", "-id")


def subscription_detail(*, org, subscription_id: str) -> Subscription:
    sub = _with_details(Subscription.objects.filter(org=org, subscription_id=subscription_id)).first()
    if sub is None:
        raise Http404
    return sub


def customer_subscriptions(*, org, author: str) -> QuerySet[Subscription]:
    """An unknown author gets an empty list, exactly like an author without subscriptions."""
    return _with_details(Subscription.objects.filter(org=org, customer__sk=author)).order_by("-created_at", "-id")


def customer_subscription(*, org, author: str, subscription_id: str) -> Subscription:
    sub = _with_details(Subscription.objects.filter(org=org, customer__sk=author,
                                                    subscription_id=subscription_id)).first()
    if sub is None:
        raise Http404
    return sub
