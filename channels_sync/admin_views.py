"""A channel order's admin page: its actions (fulfil with carrier and tracking, cancel), each offered only when
the channel and the order's state allow it and otherwise shown with the reason, its latest writebacks, and the
forms that run them through `order_status_update` (the status API's own path, source "admin").

404 for an order outside the user's orgs (the admin's scoped queryset), 403 when the role in the order's org
may not change channel orders (managers and owners may, as in the API)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.admin import role_allows_in
from channels_sync.models import AggregatedOrder, Writeback
from channels_sync.order_actions import action_for, order_actions
from channels_sync.providers import provider_class
from channels_sync.services import order_status_update
from core.api.exceptions import ApiError
from orders.carrier_formats import CARRIERS, normalized_tracking, tracking_error

OTHER = "__other__"


def can_act(request, order: AggregatedOrder) -> bool:
    return request.user.has_perm("channels_sync.change_aggregatedorder") and role_allows_in(
        request, order.org_id, "channels_sync.aggregatedorder", "change")


class FulfilForm(forms.Form):
    """Carrier from the channel's accepted list (the usual carriers where the channel takes any name)."""

    carrier = forms.ChoiceField()
    carrier_name = forms.CharField(required=False, max_length=64, label="Carrier name",
                                   help_text="Only for another carrier.")
    tracking = forms.CharField(max_length=128, label="Tracking number")

    def __init__(self, *args, order: AggregatedOrder, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        self.provider = provider_class(order.channel.provider)
        accepted = self.provider.accepted_carriers()
        if accepted is None:
            choices = [(c.label, c.label) for c in CARRIERS if c.pattern]
            choices.append((OTHER, "Another carrier (type its name)"))
        else:
            choices = [(name, name) for name in accepted if not name.startswith("Other")]
            if any(name.startswith("Other") for name in accepted):
                choices.append((OTHER, "Another carrier (type its name)"))
        self.fields["carrier"].choices = [("", "Choose a carrier")] + choices

    def clean(self):
        cleaned = super().clean()
        carrier = cleaned.get("carrier")
        if carrier == OTHER:
            name = (cleaned.get("carrier_name") or "").strip()
            if not name:
                self.add_error("carrier_name", "Name the carrier.")
            cleaned["carrier_text"] = name
        elif carrier:
            cleaned["carrier_text"] = carrier
            known = next((c for c in CARRIERS if c.label.lower() == carrier.lower() and c.pattern), None)
            if known and cleaned.get("tracking") and (error := tracking_error(known.code, cleaned["tracking"])):
                self.add_error("tracking", error)
            elif known and cleaned.get("tracking"):
                cleaned["tracking"] = normalized_tracking(cleaned["tracking"])
        return cleaned


def _order_for(model_admin, request, object_id) -> AggregatedOrder:
    order = model_admin.get_object(request, unquote(object_id))
    if order is None:
        raise Http404("No such channel order in your orgs.")
    return order


def _back(order) -> str:
    return reverse("admin:channels_sync_aggregatedorder_change", args=[order.pk])


def page_context(model_admin, request, order: AggregatedOrder) -> dict:
    """The change page's extras: the actions with their reasons, the fulfil form, the latest writebacks."""
    allowed_here = can_act(request, order)
    actions = order_actions(order)
    return {
        "channel_actions": actions if allowed_here else [],
        "channel_can_act": allowed_here,
        "fulfil_form": FulfilForm(order=order) if allowed_here and action_for(order, "fulfil").allowed else None,
        "channel_urls": {name: reverse(f"admin:channels_sync_aggregatedorder_{name}", args=[order.pk])
                         for name in ("fulfil", "cancel")},
        "channel_writebacks": list(order.writebacks.order_by("-created_at", "-id")[:5]),
        "channel_label": provider_class(order.channel.provider).label,
    }


def _run(request, order, action_name: str, **update) -> bool:
    action = action_for(order, action_name)
    if not action.allowed:
        messages.error(request, f"{action.label}: not possible now. {action.reason}")
        return False
    try:
        writeback = order_status_update(order=order, source=Writeback.Source.ADMIN, **update)
    except ApiError as exc:
        details = "; ".join(" ".join(v) if isinstance(v, list) else str(v) for v in (exc.details or {}).values())
        messages.error(request, f"{exc.detail} {details}".strip())
        return False
    messages.success(request, f"{action.label}: saved; writeback {writeback.public_id} to the channel is queued "
                              "(its outcome shows below and in Writebacks).")
    return True


def fulfil_view(model_admin, request, object_id):
    order = _order_for(model_admin, request, object_id)
    if not can_act(request, order):
        raise PermissionDenied
    form = FulfilForm(request.POST or None, order=order)
    if request.method == "POST" and form.is_valid():
        if _run(request, order, "fulfil", status="shipped", tracking_number=form.cleaned_data["tracking"],
                carrier=form.cleaned_data["carrier_text"]):
            return redirect(_back(order))
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, "original": order,
               "title": f"Fulfil {order.channel_order_number or order.channel_order_id}", "form": form,
               "order": order, "back_url": _back(order), "action": action_for(order, "fulfil")}
    return TemplateResponse(request, "admin/channels_sync/aggregatedorder/fulfil.html", context)


def cancel_view(model_admin, request, object_id):
    order = _order_for(model_admin, request, object_id)
    if not can_act(request, order):
        raise PermissionDenied
    if request.method == "POST":
        _run(request, order, "cancel", status="cancelled")
    return redirect(_back(order))


def channel_order_urls(model_admin) -> list:
    def wrap(view):
        def bound(request, object_id):
            return view(model_admin, request, object_id)
        return model_admin.admin_site.admin_view(bound)

    return [path(f"<str:object_id>/{name}/", wrap(view), name=f"channels_sync_aggregatedorder_{name}")
            for name, view in (("fulfil", fulfil_view), ("cancel", cancel_view))]
