"""The storefront order's admin page beyond Django's form: the header (state, payment, fulfilment), the
actions allowed now, formatted addresses, notes and tags, the timeline with staff comments, and the ship
and refund dialogs built from the order lines.

Every write goes through the same service the API calls (order_ship, order_refund, order_update,
order_comment_add), so the admin can do nothing the API would refuse. Views answer 404 for an order outside
the user's orgs (the admin's scoped queryset) and 403 when their role in the order's org may not change it.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.api.exceptions import ApiError
from orders import services
from orders.carrier_formats import BY_CODE, CARRIERS, carrier_label, normalized_tracking, tracking_error
from orders.models import ZERO, Order, OrderStatus
from orders.services.comments import COMMENT_MAX
from orders.timeline import order_timeline

# Verbs whose button opens a dialog of ours instead of django-fsm's generic form.
DIALOG_VERBS = {"ship", "refund"}
VERB_ORDER = ["process", "ship", "deliver", "complete", "release", "hold", "cancel", "refund"]


# --- what the page shows -----------------------------------------------------------------------------------

def address_lines(address: dict | None) -> list[str]:
    """A stored address as the lines of a label: "Ann Lee", "1 Main St", "Springfield, IL 62701", "US"."""
    address = address or {}

    def get(*keys):
        return next((str(address[k]).strip() for k in keys if address.get(k)), "")

    city, region, postal = get("city"), get("region", "state", "province"), get("postalCode", "postal_code", "zip")
    city_line = " ".join(part for part in (f"{city}," if city and (region or postal) else city, region, postal)
                         if part)
    lines = [", ".join(p for p in (get("name"), get("company")) if p), get("line1", "address1", "street"),
             get("line2", "address2"), city_line, get("country"), get("phone")]
    return [line for line in lines if line]


def payment_state(order: Order) -> str:
    payment = order.payments.order_by("-id").first()
    if payment is None:
        return "No payment"
    if order.refunded_total > ZERO:
        if order.refundable_total == ZERO:
            return f"Refunded ({order.refunded_total} {order.currency})"
        return f"Partially refunded ({order.refunded_total} of {order.captured_total} {order.currency})"
    if payment.status == payment.Status.AUTHORIZED:
        return f"Authorized, not captured ({payment.gateway})"
    if order.captured_total >= order.grand_total:
        return f"Paid ({payment.gateway})"
    return f"Partly paid: {order.captured_total} of {order.grand_total} {order.currency} ({payment.gateway})"


def fulfilment_state(order: Order, lines) -> str:
    total = sum(line.quantity for line in lines)
    shipped = sum(line.quantity_shipped for line in lines)
    if order.status == OrderStatus.DELIVERED or order.status == OrderStatus.COMPLETED:
        return "Delivered"
    if shipped == 0:
        return "Unfulfilled"
    if shipped < total:
        return f"Partially shipped ({shipped} of {total} units)"
    return "Shipped"


def unavailable_reasons(order: Order, lines, allowed: list[str]) -> list[str]:
    """Why the two dialogs are not offered, in words (the verbs' sources are in the state machine)."""
    reasons = []
    if "ship" not in allowed:
        if order.status == OrderStatus.NEW:
            reasons.append("Ship: process the order first.")
        elif all(line.quantity_unshipped == 0 for line in lines):
            reasons.append("Ship: every unit has shipped.")
        else:
            reasons.append(f"Ship: not possible while the order is {order.get_status_display().lower()}.")
    if "refund" not in allowed:
        shipped, units = sum(line.quantity_shipped for line in lines), sum(line.quantity for line in lines)
        if order.status in (OrderStatus.NEW, OrderStatus.PROCESSING, OrderStatus.ON_HOLD) and shipped:
            reasons.append(f"Refund: offered once every unit has shipped ({shipped} of {units} so far), or once the "
                           f"order is cancelled (the units already shipped stay shipped).")
        elif order.status in (OrderStatus.NEW, OrderStatus.PROCESSING, OrderStatus.ON_HOLD):
            reasons.append("Refund: offered once the order has shipped (cancel an unshipped order instead).")
        elif order.refundable_total == ZERO:
            reasons.append("Refund: nothing is left to refund.")
    return reasons


def order_page_context(model_admin, request, order: Order) -> dict:
    lines = list(order.lines.all())
    can_change = model_admin.has_change_permission(request, order)
    allowed = services.allowed_verbs(order) if can_change else []
    actions = [{"name": verb, "label": verb.capitalize(), "dialog": verb in DIALOG_VERBS}
               for verb in VERB_ORDER if verb in allowed]
    return {
        "order_header": {
            "state": order.get_status_display(), "status": order.status,
            "payment": payment_state(order), "fulfilment": fulfilment_state(order, lines),
            "total": f"{order.grand_total} {order.currency}",
            "refundable": f"{order.refundable_total} {order.currency}",
            "customer": order.customer_name or order.customer.name, "email": order.customer.email,
        },
        "order_actions": actions,
        "order_unavailable": unavailable_reasons(order, lines, allowed) if can_change else [],
        "order_can_change": can_change,
        "order_shipping_address": address_lines(order.shipping_address),
        "order_billing_address": address_lines(order.billing_address),
        "order_tags": [row.name for row in order.tag_rows.all()],
        "order_timeline": order_timeline(order),
        "notes_form": NotesTagsForm(order=order) if can_change and not order.is_locked else None,
        "comment_form": CommentForm() if can_change else None,
        "ship_form": ShipDialogForm(order=order) if "ship" in allowed else None,
        "refund_form": RefundDialogForm(order=order) if "refund" in allowed else None,
        "order_urls": {name: reverse(f"admin:orders_order_{name}", args=[order.pk])
                       for name in ("ship", "refund", "notes", "comment")},
    }


# --- forms ---------------------------------------------------------------------------------------------------

class NotesTagsForm(forms.Form):
    internal_notes = forms.CharField(required=False, label="Internal notes", max_length=5000,
                                     widget=forms.Textarea(attrs={"rows": 3}),
                                     help_text="Staff only: never shown to the customer.")
    tags = forms.CharField(required=False, max_length=1000, help_text="Comma separated, e.g. vip, gift")

    def __init__(self, *args, order: Order, **kwargs):
        kwargs.setdefault("initial", {"internal_notes": order.internal_notes,
                                      "tags": ", ".join(row.name for row in order.tag_rows.all())})
        super().__init__(*args, **kwargs)

    def clean_tags(self):
        tags = [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]
        too_long = [tag for tag in tags if len(tag) > 64]
        if too_long:
            raise forms.ValidationError(f"A tag is at most 64 characters: {too_long[0][:70]}")
        return tags


class CommentForm(forms.Form):
    text = forms.CharField(label="Comment", max_length=COMMENT_MAX,
                           widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Add a comment"}))


def _line_field_name(line) -> str:
    return f"qty_{line.pk}"


class ShipDialogForm(forms.Form):
    """One quantity per line, bounded by what is left to ship; the carrier's format checks the tracking."""

    carrier = forms.ChoiceField(choices=[("", "Choose a carrier")] + [(c.code, c.label) for c in CARRIERS])
    carrier_name = forms.CharField(required=False, max_length=32, label="Carrier name",
                                   help_text="Only for another carrier.")
    service = forms.ChoiceField(required=False, choices=[("", "-")] + [
        (c.label, [(s, s) for s in c.services]) for c in CARRIERS if c.services])
    tracking = forms.CharField(max_length=100, label="Tracking number")
    cost = forms.DecimalField(required=False, max_digits=12, decimal_places=2, min_value=Decimal("0"),
                              label="Shipping cost")

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        self.order = order
        self.lines = [line for line in order.lines.all() if line.quantity_unshipped > 0]
        for line in self.lines:
            self.fields[_line_field_name(line)] = forms.IntegerField(
                required=False, min_value=0, max_value=line.quantity_unshipped, initial=line.quantity_unshipped,
                label=f"{line.sku} {line.name}".strip(),
                help_text=f"{line.quantity_unshipped} of {line.quantity} left to ship")

    def line_rows(self):
        return [(line, self[_line_field_name(line)]) for line in self.lines]

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("carrier")
        if code == "other" and not (cleaned.get("carrier_name") or "").strip():
            self.add_error("carrier_name", "Name the carrier.")
        service = cleaned.get("service")
        if code and service and code in BY_CODE and service not in BY_CODE[code].services:
            self.add_error("service", f"{service} is not a {BY_CODE[code].label} service.")
        if code and cleaned.get("tracking") and (error := tracking_error(code, cleaned["tracking"])):
            self.add_error("tracking", error)
        names = [_line_field_name(line) for line in self.lines]
        if not any(name in self.errors for name in names) and not any(cleaned.get(name) for name in names):
            raise forms.ValidationError("Pick at least one unit to ship.")
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        carrier = data["carrier"] if data["carrier"] != "other" else data["carrier_name"].strip()
        tracking = normalized_tracking(data["tracking"]) if data["carrier"] != "other" else data["tracking"].strip()
        kwargs = {"carrier": carrier, "tracking_number": tracking, "service": data.get("service") or "",
                  "items": [{"sku": line.sku, "quantity": data[_line_field_name(line)]} for line in self.lines
                            if data.get(_line_field_name(line))]}
        if data.get("cost") is not None:
            kwargs["cost"] = data["cost"]
        return kwargs


class RefundDialogForm(forms.Form):
    """Lines with the quantities refunded (up to what is not refunded yet), a reason, restock and notify."""

    amount = forms.DecimalField(required=False, max_digits=12, decimal_places=2, min_value=Decimal("0.01"),
                                help_text="Blank: the value of the items picked, or everything refundable if none.")
    reason = forms.CharField(max_length=500)
    restock = forms.BooleanField(required=False, label="Put the returned items back in stock")
    notify_customer = forms.BooleanField(required=False, initial=True, label="Email the customer")
    request_id = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, order: Order, **kwargs):
        kwargs.setdefault("initial", {"request_id": uuid.uuid4().hex})
        super().__init__(*args, label_suffix="", **kwargs)
        self.order = order
        self.lines = [line for line in order.lines.all() if line.quantity > line.quantity_refunded]
        for line in self.lines:
            left = line.quantity - line.quantity_refunded
            self.fields[_line_field_name(line)] = forms.IntegerField(
                required=False, min_value=0, max_value=left, initial=0, label=f"{line.sku} {line.name}".strip(),
                help_text=f"{line.unit_price} {order.currency} each; {left} of {line.quantity} not refunded")

    def line_rows(self):
        return [(line, self[_line_field_name(line)]) for line in self.lines]

    def clean(self):
        cleaned = super().clean()
        amount = cleaned.get("amount")
        if amount is not None and amount > self.order.refundable_total:
            self.add_error("amount", f"At most {self.order.refundable_total} {self.order.currency} can be refunded.")
        items = [line for line in self.lines if cleaned.get(_line_field_name(line))]
        if cleaned.get("restock") and not items:
            self.add_error("restock", "Pick the items that come back to stock.")
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        items = [{"sku": line.sku, "quantity": data[_line_field_name(line)]} for line in self.lines
                 if data.get(_line_field_name(line))]
        return {"amount": data.get("amount"), "items": items or None, "reason": data["reason"],
                "restock": data["restock"], "notify_customer": data["notify_customer"],
                "idempotency_key": f"admin-{data['request_id']}"}


def _apply_api_error(form: forms.Form, exc: ApiError) -> None:
    """A service's refusal as form errors: field errors where the form has that field, the message otherwise."""
    placed = False
    for field, errors in (exc.details or {}).items() if isinstance(exc.details, dict) else ():
        if field in form.fields and isinstance(errors, list | str):
            for error in [errors] if isinstance(errors, str) else errors:
                form.add_error(field, str(error))
            placed = True
    if not placed:
        form.add_error(None, str(exc.detail))
    elif str(exc.detail):
        form.add_error(None, str(exc.detail))


# --- views ---------------------------------------------------------------------------------------------------

def _order_for_change(model_admin, request, object_id) -> Order:
    order = model_admin.get_object(request, unquote(object_id))
    if order is None:
        raise Http404("No such order in your orgs.")
    if not model_admin.has_change_permission(request, order):
        raise PermissionDenied
    return order


def _back(order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def _refused_now(request, order: Order, verb: str):
    """A dialog opened before the order moved on (another tab, a colleague): say why, in words, and go back."""
    allowed = [name for name in VERB_ORDER if name in services.allowed_verbs(order)]
    if verb in allowed:
        return None
    words = ", ".join(allowed) if allowed else "nothing"
    messages.error(request, f"Cannot {verb} an order that is {order.get_status_display().lower()}; "
                            f"allowed now: {words}.")
    return redirect(_back(order))


def _dialog_page(model_admin, request, order, form, *, verb: str, title: str, template: str):
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, "original": order,
               "title": title, "form": form, "verb": verb, "order": order, "back_url": _back(order),
               "refundable": f"{order.refundable_total} {order.currency}", "carriers": CARRIERS}
    return TemplateResponse(request, template, context)


def ship_view(model_admin, request, object_id):
    order = _order_for_change(model_admin, request, object_id)
    if refused := _refused_now(request, order, "ship"):
        return refused
    form = ShipDialogForm(request.POST or None, order=order)
    if request.method == "POST" and form.is_valid():
        try:
            order, shipment = services.order_ship(org=order.org, order_number=order.order_number, actor=request.user,
                                                  **form.service_kwargs())
        except ApiError as exc:
            _apply_api_error(form, exc)
        else:
            units = sum(line.quantity for line in shipment.lines.all())
            messages.success(request, f"Shipped {units} unit(s) with {carrier_label(shipment.carrier)} "
                                      f"{shipment.tracking_number}; the order is now {order.get_status_display()}.")
            return redirect(_back(order))
    return _dialog_page(model_admin, request, order, form, verb="ship", title=f"Ship order {order.order_number}",
                        template="admin/orders/order/ship.html")


def refund_view(model_admin, request, object_id):
    order = _order_for_change(model_admin, request, object_id)
    replay = request.method == "POST" and order.refunds.filter(
        idempotency_key=f"admin-{request.POST.get('request_id', '')}").first()
    if replay:  # the dialog sent twice (a double click, a reload): the refund happened once
        messages.info(request, f"This refund of {replay.amount} {order.currency} was already made.")
        return redirect(_back(order))
    if refused := _refused_now(request, order, "refund"):
        return refused
    form = RefundDialogForm(request.POST or None, order=order)
    if request.method == "POST" and form.is_valid():
        try:
            order, refund = services.order_refund(org=order.org, order_number=order.order_number,
                                                  actor=request.user, **form.service_kwargs())
        except ApiError as exc:
            _apply_api_error(form, exc)
        else:
            messages.success(request, f"Refunded {refund.amount} {order.currency}; the order is now "
                                      f"{order.get_status_display()}.")
            return redirect(_back(order))
    return _dialog_page(model_admin, request, order, form, verb="refund",
                        title=f"Refund order {order.order_number}", template="admin/orders/order/refund.html")


def notes_view(model_admin, request, object_id):
    order = _order_for_change(model_admin, request, object_id)
    if request.method != "POST":
        return redirect(_back(order))
    form = NotesTagsForm(request.POST, order=order)
    if form.is_valid():
        try:
            services.order_update(org=order.org, order_number=order.order_number, actor=request.user,
                                  internal_notes=form.cleaned_data["internal_notes"], tags=form.cleaned_data["tags"])
        except ApiError as exc:
            messages.error(request, str(exc.detail))
        else:
            messages.success(request, "Notes and tags saved.")
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(_back(order))


def comment_view(model_admin, request, object_id):
    order = _order_for_change(model_admin, request, object_id)
    if request.method != "POST":
        return redirect(_back(order))
    try:
        services.order_comment_add(org=order.org, order_number=order.order_number, actor=request.user,
                                   text=request.POST.get("text", ""))
    except ApiError as exc:
        messages.error(request, " ".join(str(e) for errors in (exc.details or {}).values() for e in errors)
                       or str(exc.detail))
    else:
        messages.success(request, "Comment added.")
    return redirect(_back(order) + "#timeline")


def order_urls(model_admin) -> list:
    """The page's extra URLs, each wrapped by the admin site (login, staff) and named admin:orders_order_<x>."""
    def wrap(view):
        def bound(request, object_id):
            return view(model_admin, request, object_id)
        return model_admin.admin_site.admin_view(bound)

    return [path(f"<str:object_id>/{name}/", wrap(view), name=f"orders_order_{name}")
            for name, view in (("ship", ship_view), ("refund", refund_view), ("notes", notes_view),
                               ("comment", comment_view))]
