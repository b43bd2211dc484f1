"""Server-rendered public order pages: lookup by email and number, the order's status page, and
the customer's orders behind a signed link. Same privacy rules as the customer API: no internal
notes, costs, payments, hold/cancel reasons or staff names ever reach these templates."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import OrgBranding
from accounts.selectors import org_by_slug
from customer_pages.forms import OrderLookupForm
from orders.links import account_token_valid, order_from_token, order_page_url
from orders.models import Order, Shipment
from orders.selectors import customer_order_by_email
from tracking.api.throttles import LookupPageThrottle, PublicPageThrottle
from tracking.models import ScanEvent
from tracking.selectors import build_order_tracking

NOT_FOUND_MESSAGE = "We could not find an order with that number and email address. Please check both and try again."
STATUS_LABELS = {
    "new": "Order received", "processing": "Being prepared", "shipped": "Shipped", "delivered": "Delivered",
    "completed": "Completed", "on-hold": "Being prepared", "cancelled": "Cancelled", "refunded": "Refunded",
}
TRACKING_LABELS = {
    "label_created": "Label created", "in_transit": "In transit", "out_for_delivery": "Out for delivery",
    "delivered": "Delivered", "exception": "Delivery problem", "returned": "Returned to sender",
    "pending": "Not shipped yet", "partially_shipped": "Partly shipped", "partially_delivered": "Partly delivered",
    "cancelled": "Cancelled",
}


def branding(org) -> dict:
    row = OrgBranding.objects.filter(org=org).first()
    return {
        "org": org,
        "brand_name": (row.display_name if row and row.display_name else org.name),
        "logo_url": row.logo_url if row else "",
        "accent_color": row.accent_color if row else "#1f6feb",
        "support_email": row.support_email if row else "",
    }


def _message(request, *, org=None, title: str, text: str, status: int):
    context = {**(branding(org) if org else {}), "title": title, "text": text,
               "lookup_slug": org.slug if org else ""}
    return render(request, "public/message.html", context, status=status)


def _throttled(request, throttle_class) -> bool:
    return not throttle_class().allow_request(request, None)


def _too_many(request, org=None):
    response = _message(request, org=org, title="Too many requests",
                        text="Please wait a minute before trying again.", status=429)
    response["Retry-After"] = "60"
    return response


def _order_with_details(org_id: int, order_id: int) -> Order | None:
    scans = Prefetch("scans", queryset=ScanEvent.objects.order_by("occurred_at", "id"))
    shipments = Prefetch("shipments", queryset=Shipment.objects.prefetch_related("lines", scans))
    return (Order.objects.filter(org_id=org_id, pk=order_id).select_related("org", "customer")
            .prefetch_related("lines", "refunds", shipments).first())


@csrf_protect
@require_http_methods(["GET", "POST"])
def lookup(request):
    """/orders/lookup?org=<slug>: email + order number -> a signed link to the order's page."""
    slug = (request.POST.get("org") if request.method == "POST" else request.GET.get("org")) or ""
    org = org_by_slug(slug=slug.strip()) if slug.strip() else None
    if org is None:
        return _message(request, title="Store not found",
                        text="This lookup link is missing its store. Use the link from your order email.", status=404)
    if request.method == "GET":
        if _throttled(request, PublicPageThrottle):
            return _too_many(request, org)
        return render(request, "public/lookup.html", {**branding(org), "form": OrderLookupForm()})
    if _throttled(request, LookupPageThrottle):
        return _too_many(request, org)
    form = OrderLookupForm(request.POST)
    if not form.is_valid():
        return render(request, "public/lookup.html", {**branding(org), "form": form}, status=400)
    try:
        order = customer_order_by_email(org=org, email=form.cleaned_data["email"],
                                        order_number=form.cleaned_data["order_number"])
    except Http404:
        # One answer for a wrong email and a missing order: the form must not confirm either.
        return render(request, "public/lookup.html", {**branding(org), "form": form, "not_found": NOT_FOUND_MESSAGE},
                      status=404)
    return redirect(order_page_url(order))


@require_GET
def order_page(request, token: str):
    """/orders/view/<signed token>: one order's status, parcels with their scan timelines, refunds."""
    if _throttled(request, PublicPageThrottle):
        return _too_many(request)
    ids = order_from_token(token)
    order = _order_with_details(*ids) if ids else None
    if order is None:
        return _message(request, title="Link expired",
                        text="This order link has expired or is not valid. Look your order up again.", status=404)
    tracking = build_order_tracking(order)
    shipments = tracking.shipments
    for shipment in shipments:
        shipment.timeline = list(reversed(list(shipment.scans.all())))
        shipment.link = shipment.public_tracking_url or shipment.tracking_url
        shipment.status_label = TRACKING_LABELS.get(shipment.status, shipment.status)
    context = {
        **branding(order.org),
        "order": order,
        "status_label": STATUS_LABELS.get(order.status, order.status),
        "overall_status": tracking.overall_status,
        "overall_label": TRACKING_LABELS.get(tracking.overall_status, tracking.overall_status),
        "lines": list(order.lines.all()),
        "pending": tracking.pending,
        "shipments": shipments,
        "refunds": list(order.refunds.all()),
        "lookup_slug": order.org.slug,
    }
    return render(request, "public/order.html", context)


@require_GET
def account(request, author: str):
    """/orders/account/<author>?token=...: the customer's orders, only through the signed link."""
    if _throttled(request, PublicPageThrottle):
        return _too_many(request)
    token = request.GET.get("token", "")
    customer = None
    if token and account_token_valid(author, token):
        from orders.models import Customer

        customer = Customer.objects.select_related("org").filter(sk=author).first()
    if customer is None:
        return _message(request, title="Link expired",
                        text="This link has expired or is not valid. Use the newest link from your order emails, "
                             "or look an order up by its number.", status=404)
    orders = list(Order.objects.filter(org=customer.org, customer=customer).order_by("-created_at", "-id"))
    for order in orders:
        order.page_url = order_page_url(order)
        order.status_label = STATUS_LABELS.get(order.status, order.status)
    context = {**branding(customer.org), "customer": customer, "orders": orders, "lookup_slug": customer.org.slug}
    return render(request, "public/account.html", context)
