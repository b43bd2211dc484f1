"""The one order list: every storefront and channel order of the user's orgs, newest first, with search,
filters kept in the URL, bulk actions through the API's services, and CSV export. Top of the admin index."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from accounts.admin import OrgScopedAdmin, org_roles, orgs_allowing
from accounts.selectors import orgs_of_user
from backoffice import selectors, services
from backoffice.exports import csv_lines
from backoffice.models import OrderListRow
from channels_sync.models import AggregatedOrder

STATUSES = ["new", "pending", "processing", "on-hold", "shipped", "delivered", "completed", "cancelled", "refunded"]
FULFILMENTS = ["unfulfilled", "partial", "shipped", "delivered", "cancelled"]
SHIP_PAGE_LIMIT = 100
# The list counts at most this many rows past the page shown (a full count of a million-row list costs more than
# the page): ten pages ahead of where staff are, and at least 1,000 rows.
COUNT_LIMIT = 1_000
COUNT_PAGES_AHEAD = 10


def org_ids_of(request) -> list[int]:
    """The user's org ids as a list: a literal IN list keeps the view's per-branch index walks (a subquery
    would make PostgreSQL join first and sort every row)."""
    if not hasattr(request, "_backoffice_org_ids"):
        request._backoffice_org_ids = list(orgs_of_user(user=request.user).values_list("pk", flat=True))
    return request._backoffice_org_ids


class ChannelFilter(admin.SimpleListFilter):
    title = "channel"
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        channels = selectors.channels_of(org_ids=None if request.user.is_superuser else org_ids_of(request))
        return [("storefront", "Storefront (own checkout)")] + [
            (str(channel.pk), f"{channel.channel_id} ({channel.provider})") for channel in channels]

    def queryset(self, request, queryset):
        """By the view's own columns where an index serves them: a storefront row's channel is a per-row lookup,
        so its rows are matched by id against the channel's linked orders instead."""
        value = self.value()
        linked = AggregatedOrder.objects.filter(local_order__isnull=False)
        if not request.user.is_superuser:
            linked = linked.filter(org_id__in=org_ids_of(request))
        if value == "storefront":
            return queryset.filter(kind=OrderListRow.Kind.STOREFRONT).exclude(
                source_id__in=linked.values("local_order_id"))
        if value and value.isdigit():
            from_channel = linked.filter(channel_id=int(value)).values("local_order_id")
            return queryset.filter(Q(kind=OrderListRow.Kind.CHANNEL, channel_id=int(value))
                                   | Q(kind=OrderListRow.Kind.STOREFRONT, source_id__in=from_channel))
        return queryset


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(status, status) for status in STATUSES]

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


class FulfilmentFilter(admin.SimpleListFilter):
    title = "fulfilment"
    parameter_name = "fulfilment"

    def lookups(self, request, model_admin):
        return [(value, value) for value in FULFILMENTS]

    def queryset(self, request, queryset):
        return queryset.filter(fulfilment_state=self.value()) if self.value() else queryset


class WritebackFilter(admin.SimpleListFilter):
    title = "writeback"
    parameter_name = "writeback"

    def lookups(self, request, model_admin):
        return [("failed", "failed (needs a person)")]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            failed = selectors.writeback_failed_ids(
                org_ids=None if request.user.is_superuser else org_ids_of(request))
            return queryset.filter(aggregated_id__in=failed)
        return queryset


def _day(value: str | None):
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None


class PlacedRangeFilter(admin.ListFilter):
    """placed_from / placed_to (YYYY-MM-DD, both days included, in the site's time zone), with quick ranges."""

    title = "placed"
    template = "backoffice/placed_filter.html"
    parameters = ("placed_from", "placed_to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.used_parameters = {}
        for name in self.parameters:
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = value[-1] if isinstance(value, list) else value

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def queryset(self, request, queryset):
        start, end = _day(self.used_parameters.get("placed_from")), _day(self.used_parameters.get("placed_to"))
        zone = timezone.get_current_timezone()
        if start:
            queryset = queryset.filter(placed_at__gte=datetime.combine(start, time.min, tzinfo=zone))
        if end:
            queryset = queryset.filter(placed_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))
        return queryset

    def choices(self, changelist):
        today = timezone.localdate()
        quick = [("Today", today), ("Last 7 days", today - timedelta(days=6)),
                 ("Last 30 days", today - timedelta(days=29))]
        current = (self.used_parameters.get("placed_from"), self.used_parameters.get("placed_to"))
        yield {"selected": current == (None, None), "display": "Any date",
               "query_string": changelist.get_query_string(remove=list(self.parameters))}
        for label, start in quick:
            wanted = {"placed_from": start.isoformat(), "placed_to": today.isoformat()}
            yield {"selected": current == (wanted["placed_from"], wanted["placed_to"]), "display": label,
                   "query_string": changelist.get_query_string(wanted)}
        keep = [(key, value) for key, value in changelist.params.items() if key not in self.parameters
                and key != "p"]
        yield {"form": True, "placed_from": current[0] or "", "placed_to": current[1] or "",
               "hidden": [(key, v) for key, values in keep for v in (values if isinstance(values, list)
                                                                     else [values])]}


class CappedPaginator(Paginator):
    cap = COUNT_LIMIT

    @cached_property
    def count(self):
        """Counts up to `cap` + 1 rows, in the list's own order: PostgreSQL walks the same merged index scans as
        the page and stops early (unordered, it would guess wrong about the view's computed columns and scan)."""
        return self.object_list[:self.cap + 1].count()


class OrderListChangeList(ChangeList):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "Orders"

    def _get_deterministic_ordering(self, ordering):
        """Placed time, then the source id in the same direction: both branches of the view walk their
        (org, created_at, id) index that way and PostgreSQL merges them. (Django would add the text key, which no
        index holds; two orders of the same id placed in the same microsecond tie, in either order.)"""
        names = [str(item).lstrip("-") for item in ordering if isinstance(item, str)]
        if "source_id" in names:
            return ordering
        first = ordering[0] if ordering else "-placed_at"
        descending = isinstance(first, str) and first.startswith("-")
        return [*ordering, "-source_id" if descending else "source_id"]

    def get_results(self, request):
        super().get_results(request)
        self.result_list = selectors.annotate_rows(list(self.result_list))


class HoldForm(forms.Form):
    reason = forms.CharField(max_length=500, help_text="Shown on each order and in its history.")


@admin.register(OrderListRow)
class OrderListAdmin(OrgScopedAdmin):
    list_display = ["number_link", "channel_column", "placed", "customer", "items", "total", "status",
                    "payment_state", "fulfilment_state", "writeback_column", "tag_list"]
    list_display_links = None
    list_filter = [ChannelFilter, StatusFilter, FulfilmentFilter, WritebackFilter, PlacedRangeFilter]
    search_fields = ["number"]  # shows the box; the search itself is selectors.search
    search_help_text = ("Order number, channel order number, customer name or email, SKU, or tracking number.")
    list_per_page = 50
    paginator = CappedPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["process_orders", "ship_orders", "hold_orders", "export_selected"]
    change_list_template = "backoffice/change_list.html"

    # --- scope and rights -----------------------------------------------------------------------------

    def get_queryset(self, request):
        queryset = OrderListRow.objects.all()
        if request.user.is_superuser:
            return queryset
        return queryset.filter(org_id__in=org_ids_of(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # every change is an action through the services; each row links to its order's page

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request):
        """Offer the order actions to those whose role changes orders in at least one of their orgs."""
        return request.user.is_superuser or bool(
            orgs_allowing(request, "orders.order", "change")
            or orgs_allowing(request, "channels_sync.aggregatedorder", "change"))

    def get_actions(self, request):
        # Rows are judged one by one in backoffice.services (the role in each row's org, per kind of order).
        return admin.ModelAdmin.get_actions(self, request)

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        page = request.GET.get("p", "1")
        page = int(page) if page.isdigit() else 1
        paginator.cap = max(COUNT_LIMIT, (page + COUNT_PAGES_AHEAD) * per_page)
        return paginator

    def get_changelist(self, request, **kwargs):
        return OrderListChangeList

    def get_search_results(self, request, queryset, search_term):
        org_ids = None if request.user.is_superuser else org_ids_of(request)
        if org_ids is None:
            from accounts.models import Org

            org_ids = list(Org.objects.values_list("pk", flat=True))
        queryset, truncated = selectors.search(queryset, org_ids=org_ids, term=search_term)
        request._backoffice_search_truncated = truncated
        return queryset, False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context=extra_context)
        context = getattr(response, "context_data", None) or {}
        cl = context.get("cl")
        if cl is not None:
            cap = getattr(cl.paginator, "cap", None)
            context["count_capped"] = cap is not None and cl.result_count > cap
            context["count_limit"] = cap
            context["export_query"] = request.GET.urlencode()
            if getattr(request, "_backoffice_search_truncated", False):
                messages.info(request, f"Many orders match: showing the newest {selectors.SEARCH_LIMIT} of each kind. "
                                       "Add a filter or a longer search to narrow it down.")
        return response

    def get_urls(self):
        return [path("export/", self.admin_site.admin_view(self.export_view), name="backoffice_orderlistrow_export"),
                *super().get_urls()]

    # --- columns ------------------------------------------------------------------------------------

    def action_checkbox(self, obj):
        """Admin's own checkbox, written out: its widget template costs ~2 ms a row, half the page's time."""
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" '
                           'aria-label="Select this object for an action - {}">',
                           admin.helpers.ACTION_CHECKBOX_NAME, obj.pk, obj)

    @admin.display(description="number")
    def number_link(self, row):
        if row.kind == OrderListRow.Kind.STOREFRONT:
            url = reverse("admin:orders_order_change", args=[row.source_id])
        else:
            url = reverse("admin:channels_sync_aggregatedorder_change", args=[row.source_id])
        test = format_html(' <small class="bo-test">test</small>') if row.is_test else ""
        if row.kind == OrderListRow.Kind.CHANNEL:
            # The number a customer quotes first; ours (the aggregated order's id) under it.
            first, second = row.channel_number or row.number, row.number if row.channel_number else ""
        else:
            first, second = row.number, row.channel_number
        second = format_html("<br><small class='bo-id'>{}</small>", second) if second else ""
        return format_html('<a href="{}"><strong>{}</strong></a>{}{}', url, first, test, second)

    @admin.display(description="placed", ordering="placed_at")
    def placed(self, row):
        at = timezone.localtime(row.placed_at)
        return format_html("{}<br><small>{}</small>", at.strftime("%Y-%m-%d"), at.strftime("%H:%M"))

    @admin.display(description="channel")
    def channel_column(self, row):
        return row.channel_label

    @admin.display(description="customer")
    def customer(self, row):
        return format_html("{}<br><small>{}</small>", row.customer_name or "-", row.customer_email)

    @admin.display(description="qty")
    def items(self, row):
        return row.items

    @admin.display(description="total")
    def total(self, row):
        return format_html('<span class="bo-nowrap">{} {}</span>', f"{row.grand_total:,.2f}", row.currency)

    @admin.display(description="writeback")
    def writeback_column(self, row):
        if not row.writeback:
            return "-"
        short = row.writeback.split(" (")[0]
        if short == "failed":
            return format_html('<strong class="bo-failed" title="{}">failed</strong>', row.writeback)
        if short == "retrying":
            return format_html('<span title="{}">retrying<br><small>{}</small></span>', row.writeback,
                               row.writeback.rpartition("next try ")[2])
        return format_html('<span title="{}">{}</span>', row.writeback, short)

    @admin.display(description="tags")
    def tag_list(self, row):
        return format_html_join(" ", '<span class="bo-tag">{}</span>', ((tag,) for tag in row.tags)) or "-"

    # --- actions ------------------------------------------------------------------------------------

    def _report(self, request, verb: str, result: services.BulkResult) -> None:
        if result.done:
            self.message_user(request, f"{verb} {len(result.done)} order(s): {', '.join(result.done)}.",
                              messages.SUCCESS)
        if result.refused:
            self.message_user(request, f"Not {verb.lower()} ({len(result.refused)}): " + "; ".join(result.refused),
                              messages.WARNING if result.done else messages.ERROR)

    def _kwargs(self, request) -> dict:
        return {"roles": org_roles(request), "actor": request.user, "superuser": request.user.is_superuser}

    @admin.action(description="Process the selected orders", permissions=["operate"])
    def process_orders(self, request, queryset):
        self._report(request, "Processed", services.bulk_process(rows=list(queryset), **self._kwargs(request)))

    @admin.action(description="Put the selected orders on hold (with a reason)", permissions=["operate"])
    def hold_orders(self, request, queryset):
        rows = list(queryset[:SHIP_PAGE_LIMIT])
        form = HoldForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._report(request, "Held", services.bulk_hold(rows=rows, reason=form.cleaned_data["reason"],
                                                             **self._kwargs(request)))
            return None
        return self._intermediate(request, "backoffice/hold.html", rows, "hold_orders", form=form,
                                  title="Hold orders")

    @admin.action(description="Mark the selected orders shipped (tracking per order)", permissions=["operate"])
    def ship_orders(self, request, queryset):
        rows = list(queryset[:SHIP_PAGE_LIMIT])
        if "apply" in request.POST:
            parcels = {row.key: {"carrier": request.POST.get(f"carrier-{row.key}", "").strip(),
                                 "tracking": request.POST.get(f"tracking-{row.key}", "").strip()} for row in rows}
            missing = [row for row in rows if not parcels[row.key]["carrier"] or not parcels[row.key]["tracking"]]
            if not missing:
                self._report(request, "Shipped", services.bulk_ship(rows=rows, parcels=parcels,
                                                                    **self._kwargs(request)))
                return None
            for row in rows:
                row.parcel = parcels[row.key]
                row.error = "Carrier and tracking number are both required." if row in missing else ""
        for row in rows:
            row.carriers = selectors.accepted_carriers(row)
        return self._intermediate(request, "backoffice/ship.html", rows, "ship_orders", title="Mark orders shipped",
                                  carriers=["ups", "usps", "fedex", "dhl", "royal-mail", "canada-post"])

    def _intermediate(self, request, template: str, rows, action: str, **context):
        selectors.annotate_rows(rows)
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request), "opts": self.opts, "rows": rows, "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "limit": SHIP_PAGE_LIMIT,
            "media": self.media, **context})

    @admin.action(description="Export the selected orders to CSV", permissions=["view"])
    def export_selected(self, request, queryset):
        return self._csv(queryset.order_by("-placed_at", "-source_id"))

    def export_view(self, request):
        """The filtered (and searched) list as it stands, every page of it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            cl = self.get_changelist_instance(request)
        except admin.options.IncorrectLookupParameters:
            return HttpResponseBadRequest("Unknown filter in the list's address.")
        return self._csv(cl.queryset)

    def _csv(self, queryset):
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(csv_lines(queryset.iterator(chunk_size=500)),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
        return response




# The order list is the first thing staff see: a block at the top of the admin index.
admin.site.index_template = "backoffice/admin_index.html"
