"""Server-rendered public order pages: lookup by email and number, the order's status page, and
the customer's orders behind a signed link. Same privacy rules as the customer API: no internal
notes, costs, payments, hold/cancel reasons or staff names ever reach these templates."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import OrgBranding
from accounts.selectors import org_by_slug
from customer_pages.forms import CancelRequestForm, OrderLookupForm
from customer_pages.presenters import STATUS_LABELS, present_order, readable_accent
from customer_pages.throttles import CancelRequestThrottle
from orders.links import account_token_valid, order_from_token, order_page_url
from orders.models import Order, Shipment, ShipmentLine
from orders.selectors import customer_order_by_email
from orders.services import InvalidRequest, OrderLocked, order_request_cancel
from tracking.api.throttles import LookupPageThrottle, PublicPageThrottle
from tracking.models import ScanEvent
from tracking.selectors import build_order_tracking

NOT_FOUND_MESSAGE = "We could not find an order with that number and email address. Please check both and try again."
EXPIRED_MESSAGE = "This order link has expired or is not valid. Look your order up again."
# After a cancellation request (?done=<outcome>, the redirect after the POST).
CANCEL_FLASH = {
    "requested": "Thank you. The store has your request to cancel and will confirm by email.",
    "already_requested": "You have already asked to cancel this order; the store will confirm by email.",
    "noted": "Thank you. Your request to cancel was added to the order; the store will reply by email.",
}


def branding(org) -> dict:
    row = OrgBranding.objects.filter(org=org).first()
    return {
        "org": org,
        "brand_name": (row.display_name if row and row.display_name else org.name),
        "logo_url": row.logo_url if row else "",
        "accent_color": readable_accent(row.accent_color if row else "#1f6feb"),
        "support_email": row.support_email if row else "",
    }


def _message(request, *, org=None, title: str, text: str, status: int, back_url: str = ""):
    context = {**(branding(org) if org else {}), "title": title, "text": text,
               "lookup_slug": org.slug if org else "", "back_url": back_url}
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
    lines = Prefetch("lines", queryset=ShipmentLine.objects.select_related("order_line"))
    shipments = Prefetch("shipments", queryset=Shipment.objects.prefetch_related(lines, scans))
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


def _order_for_token(token: str) -> Order | None:
    ids = order_from_token(token)
    return _order_with_details(*ids) if ids else None


def _expired(request):
    return _message(request, title="Link expired", text=EXPIRED_MESSAGE, status=404)


def _render_order(request, order: Order, token: str, *, form=None, status: int = 200):
    brand = branding(order.org)
    view = present_order(build_order_tracking(order), token=token, brand=brand["brand_name"])
    context = {**brand, "page": view, "order": order, "token": token, "lookup_slug": order.org.slug,
               "cancel_form": form or CancelRequestForm(),
               "cancel_url": reverse("order-pages-cancel", kwargs={"token": token}),
               "flash": CANCEL_FLASH.get(request.GET.get("done", ""), "")}
    return render(request, "public/order.html", context, status=status)


@csrf_protect
@require_GET
def order_page(request, token: str):
    """/orders/view/<signed token>: progress, parcels with their latest scan, address, refunds, cancel request."""
    if _throttled(request, PublicPageThrottle):
        return _too_many(request)
    order = _order_for_token(token)
    if order is None:
        return _expired(request)
    return _render_order(request, order, token)


@require_GET
def parcel_page(request, token: str, parcel: str):
    """/orders/view/<token>/parcels/<shp-001>: one parcel's scan timeline, the tracking page for carriers
    we cannot link to. The order link is the proof; a parcel of another order is the same 404."""
    if _throttled(request, PublicPageThrottle):
        return _too_many(request)
    order = _order_for_token(token)
    if order is None:
        return _expired(request)
    brand = branding(order.org)
    view = present_order(build_order_tracking(order), token=token, brand=brand["brand_name"])
    found = view.parcel_map.get(parcel)
    if found is None:
        return _message(request, org=order.org, title="Parcel not found",
                        text="This order has no parcel with that reference.", status=404)
    context = {**brand, "page": view, "order": order, "parcel": found, "lookup_slug": order.org.slug,
               "order_url": order_page_url(order, token=token)}
    return render(request, "public/parcel.html", context)


@csrf_protect
@require_POST
def cancel_request(request, token: str):
    """POST /orders/view/<token>/cancel: the customer asks to cancel; staff see a hold and decide."""
    order = _order_for_token(token)
    if order is None:
        return _expired(request)
    if _throttled(request, CancelRequestThrottle):
        return _too_many(request, order.org)
    form = CancelRequestForm(request.POST)
    if not form.is_valid():
        return _render_order(request, order, token, form=form, status=400)
    try:
        outcome = order_request_cancel(org=order.org, order_id=order.pk, reason=form.cleaned_data["reason"])
    except InvalidRequest as exc:
        form.add_error("reason", (exc.details.get("reason") or [str(exc.detail)])[0])
        return _render_order(request, order, token, form=form, status=400)
    except OrderLocked:
        return _message(request, org=order.org, title="Too late to cancel here",
                        text="Your order is already on its way (or closed), so it can no longer be cancelled "
                             "from this page. Contact the store and they will help, for example with a return.",
                        status=409, back_url=order_page_url(order, token=token))
    return redirect(f"{order_page_url(order, token=token)}?done={outcome}")


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
