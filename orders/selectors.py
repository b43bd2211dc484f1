"""Read queries for storefront orders: every one takes the org, so nothing crosses tenants."""

from decimal import Decimal

from django.db.models import F, Prefetch, QuerySet, Sum
from django.http import Http404

from orders.models import Activity, InventoryItem, Order, OrderStatus, Shipment

CENT = Decimal("0.01")


def _with_details(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.select_related("customer").prefetch_related(
        "lines",
        "tag_rows",
        "payments",
        "refunds",
        Prefetch("shipments", queryset=Shipment.objects.prefetch_related("lines")),
    )


def order_list(*, org, status: str | None = None, is_test: bool | None = None, tag: str | None = None,
               email: str | None = None, date_from=None, date_to=None, q: str | None = None) -> QuerySet[Order]:
    queryset = Order.objects.filter(org=org).select_related("customer").prefetch_related("lines", "tag_rows")
    if status:
        queryset = queryset.filter(status__in=status.split(","))
    if is_test is not None:
        queryset = queryset.filter(is_test=is_test)
    if tag:
        queryset = queryset.filter(tag_rows__name=tag)
    if email:
        queryset = queryset.filter(customer__email__iexact=email)
    if date_from:
        queryset = queryset.filter(created_at__gte=date_from)
    if date_to:
        queryset = queryset.filter(created_at__lt=date_to)
    if q:
        queryset = queryset.filter(order_number__icontains=q) | queryset.filter(customer__email__icontains=q) | \
            queryset.filter(shipments__tracking_number=q)
    return queryset.distinct().order_by("-created_at", "-id")


def order_detail(*, org, order_number: str) -> Order:
    order = _with_details(Order.objects.filter(org=org, order_number=order_number)).prefetch_related(
        Prefetch("activities", queryset=Activity.objects.select_related("actor"))
    ).first()
    if order is None:
        raise Http404
    return order


def customer_order_by_email(*, org, email: str, order_number: str) -> Order:
    """404 alike for a missing order and a wrong email: the lookup must not confirm either."""
    order = _with_details(
        Order.objects.filter(org=org, order_number=order_number, customer__email__iexact=email.strip())
    ).first()
    if order is None:
        raise Http404
    return order


def customer_order_by_author(*, org, author: str, order_number: str) -> Order:
    order = _with_details(Order.objects.filter(org=org, order_number=order_number, customer__sk=author)).first()
    if order is None:
        raise Http404
    return order


def customer_orders(*, org, author: str) -> QuerySet[Order]:
    return _with_details(Order.objects.filter(org=org, customer__sk=author)).order_by("-created_at", "-id")


def inventory_list(*, org, sku: str | None = None) -> QuerySet[InventoryItem]:
    queryset = InventoryItem.objects.filter(org=org).order_by("sku")
    if sku:
        queryset = queryset.filter(sku__icontains=sku)
    return queryset


def customer_total_spent(customer) -> str:
    """What the customer has spent, per currency ("120.00 USD, 30.00 EUR"): order totals less refunds, leaving
    out test orders and cancelled ones (a cancelled order's captured money is refunded, not spent)."""
    rows = (Order.objects.filter(customer=customer, is_test=False).exclude(status=OrderStatus.CANCELLED)
            .values("currency").annotate(spent=Sum(F("grand_total") - F("refunded_total"))).order_by("currency"))
    # SQLite sums decimals without their scale (30 for 30.00): quantize to cents.
    return ", ".join(f"{Decimal(row['spent']).quantize(CENT)} {row['currency']}" for row in rows)
