"""Read queries of the order list: the search, and what each page's rows show beside the view's columns."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Lower
from django.utils import timezone

from backoffice.models import OrderListRow
from channels_sync.models import AggregatedOrder, Channel, Outcome, Writeback, order_number_key
from channels_sync.selectors import latest_writebacks, search_q
from orders.models import Customer, Order, OrderLine, OrderTag, Shipment

# The search reads at most this many of each source's newest matches: a term on more orders than this (a
# best-selling SKU) shows its newest ones, and the list says to narrow it down.
SEARCH_LIMIT = 500


def _newest_ids(queryset, limit: int = SEARCH_LIMIT) -> list[int]:
    return list(queryset.order_by("-created_at", "-id").values_list("id", flat=True)[:limit])


def storefront_matches(*, org_ids: list[int], term: str) -> list[int]:
    """Storefront orders whose number, customer email or name, a line's SKU or a parcel's tracking number is
    the term (the name: contains it). Each branch is its own indexed query."""
    orders = Order.objects.filter(org_id__in=org_ids)
    ids: set[int] = set()
    if "@" in term:
        customers = Customer.objects.filter(org_id__in=org_ids, email__iexact=term)
        return _newest_ids(orders.filter(customer__in=customers))
    number = term.upper()
    ids.update(_newest_ids(orders.filter(order_number__in={term, number})))
    ids.update(_newest_ids(orders.filter(id__in=OrderLine.objects.filter(sku=term).values("order_id"))))
    ids.update(_newest_ids(orders.filter(
        id__in=Shipment.objects.filter(org_id__in=org_ids, tracking_number=term).values("order_id"))))
    if len(term) >= 2:
        # The order keeps the name given at checkout (trigram index on PostgreSQL, as channel orders have).
        ids.update(_newest_ids(orders.filter(customer_name__icontains=term)))
    return list(ids)


def channel_matches(*, org_ids: list[int], term: str) -> list[AggregatedOrder]:
    """Channel orders found by the aggregated-order API's own search (number, channel id, email, SKU, name),
    plus the channel's tracking number; newest first, as (id, local_order_id) pairs."""
    found: dict[int, int | None] = {}
    for org_id in org_ids:
        base = AggregatedOrder.objects.filter(org_id=org_id).alias(_email=Lower("customer_email"),
                                                                    _number=order_number_key())
        match = search_q(org=org_id, q=term) | Q(org_id=org_id, tracking_number=term)
        rows = base.filter(match).order_by("-created_at", "-id").values_list("id", "local_order_id")
        found.update(rows[:SEARCH_LIMIT])
    return list(found.items())


def search(queryset: QuerySet[OrderListRow], *, org_ids: list[int], term: str) -> tuple[QuerySet, bool]:
    """The rows matching the term, and whether a source had more matches than SEARCH_LIMIT."""
    term = term.strip()
    if not term:
        return queryset, False
    storefront = set(storefront_matches(org_ids=org_ids, term=term))
    channel = []
    for agg_id, local_id in channel_matches(org_ids=org_ids, term=term):
        if local_id:
            storefront.add(local_id)  # that channel order's row is its storefront order's
        else:
            channel.append(agg_id)
    truncated = len(storefront) >= SEARCH_LIMIT or len(channel) >= SEARCH_LIMIT
    return queryset.filter(Q(kind=OrderListRow.Kind.STOREFRONT, source_id__in=sorted(storefront))
                           | Q(kind=OrderListRow.Kind.CHANNEL, source_id__in=channel)), truncated


def writeback_failed_ids(*, org_ids: list[int] | None) -> list[int]:
    """Channel orders with a writeback that failed for good (None: every org, for superusers)."""
    rows = Writeback.objects.filter(status=Outcome.FAILED)
    if org_ids is not None:
        rows = rows.filter(org_id__in=org_ids)
    return list(rows.values_list("order_id", flat=True).distinct())


def channels_of(*, org_ids: list[int] | None) -> list[Channel]:
    channels = Channel.objects.all() if org_ids is None else Channel.objects.filter(org_id__in=org_ids)
    return list(channels.only("id", "channel_id", "provider", "org_id")
                .order_by("channel_id", "id"))


def accepted_carriers(row: OrderListRow) -> list[str]:
    """The carriers a channel order's channel accepts on a shipment (the status service checks the same list);
    empty for storefront orders and channels that take any carrier name."""
    if row.kind != OrderListRow.Kind.CHANNEL or not row.channel_id:
        return []
    from channels_sync.providers import UnknownProvider, provider_class

    provider = Channel.objects.filter(pk=row.channel_id).values_list("provider", flat=True).first()
    try:
        return list(provider_class(provider).accepted_carriers() or [])
    except UnknownProvider:  # no list to offer; the status service still says what it refuses
        return []


def writeback_label(writeback: Writeback | None) -> str:
    """pending, sent, retrying (next try at ...), failed: the newest writeback of a channel order, in words."""
    if writeback is None:
        return ""
    if writeback.status == Outcome.SUCCEEDED:
        return f"sent ({writeback.target_status})"
    if writeback.status == Outcome.FAILED:
        error = f": {writeback.last_error[:300]}" if writeback.last_error else ""
        return f"failed ({writeback.target_status}), needs a person{error}"
    if writeback.attempts and writeback.next_attempt_at:
        at = timezone.localtime(writeback.next_attempt_at).strftime("%Y-%m-%d %H:%M")
        return f"retrying ({writeback.target_status}), next try {at}"
    return f"pending ({writeback.target_status})"


def annotate_rows(rows: list[OrderListRow]) -> list[OrderListRow]:
    """Give each row of a page `items`, `tags`, `writeback` and `channel_label`, in a few queries for the page."""
    storefront_ids = [row.source_id for row in rows if row.kind == OrderListRow.Kind.STOREFRONT]
    channel_ids = [row.source_id for row in rows if row.kind == OrderListRow.Kind.CHANNEL]
    items = dict(OrderLine.objects.filter(order_id__in=storefront_ids).values("order_id")
                 .annotate(n=Sum("quantity")).values_list("order_id", "n").order_by())
    tags = defaultdict(list)
    for order_id, name in OrderTag.objects.filter(order_id__in=storefront_ids).values_list("order_id", "name"):
        tags[order_id].append(name)
    for agg_id, lines, metadata in AggregatedOrder.objects.filter(id__in=channel_ids).values_list(
            "id", "lines", "channel_metadata"):
        items[("c", agg_id)] = sum(int((line or {}).get("quantity") or 0) for line in lines or [])
        channel_tags = (metadata or {}).get("tags") or []
        tags[("c", agg_id)] = ([t.strip() for t in channel_tags.split(",") if t.strip()]
                               if isinstance(channel_tags, str) else [str(t) for t in channel_tags])
    writebacks = latest_writebacks(order_ids=[row.aggregated_id for row in rows if row.aggregated_id])
    channels = {channel.pk: channel for channel in Channel.objects.filter(
        id__in={row.channel_id for row in rows if row.channel_id}).only("id", "channel_id", "provider")}
    for row in rows:
        ref = row.source_id if row.kind == OrderListRow.Kind.STOREFRONT else ("c", row.source_id)
        row.items = items.get(ref) or 0
        row.tags = sorted(tags.get(ref, []))
        row.writeback = writeback_label(writebacks.get(row.aggregated_id)) if row.aggregated_id else ""
        channel = channels.get(row.channel_id)
        row.channel_label = channel.channel_id if channel else "storefront"
    return rows

