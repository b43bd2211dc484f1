"""Read queries for channel sync: the orders list, the running summary and sync history."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Lower

from channels_sync.models import (
    AggregatedOrder,
    Channel,
    OrderSku,
    OrderSummary,
    Outcome,
    SyncRun,
    WebhookDelivery,
    WebhookRejection,
    Writeback,
    normalize_order_number,
    order_number_key,
)

# ?ordering= values and the columns they sort by; the id breaks ties, so paging is stable. Each has an index
# starting with org (models.AggregatedOrder.Meta), walked forwards or backwards.
ORDERINGS = {
    "createdAt": ("created_at", "id"), "-createdAt": ("-created_at", "-id"),
    "grandTotal": ("grand_total", "id"), "-grandTotal": ("-grand_total", "-id"),
    "channelUpdatedAt": ("channel_updated_at", "id"), "-channelUpdatedAt": ("-channel_updated_at", "-id"),
}
DEFAULT_ORDERING = "-createdAt"
LOOKUP_LIMIT = 20
# A search's total is counted up to this many matches; beyond it the list says `totalIsCapped` (docs/api.md).
SEARCH_COUNT_CAP = 1_000
# Part of a name is searched from this many characters (a trigram); shorter `q` matches identifiers only.
NAME_SEARCH_MIN = 3


def channels_of(*, org) -> QuerySet[Channel]:
    return Channel.objects.filter(org=org).select_related("org")


def last_runs(*, channel_ids: list[int]) -> dict[int, SyncRun]:
    """The latest sync run per channel, in one query (DISTINCT ON where PostgreSQL offers it)."""
    runs = SyncRun.objects.filter(channel_id__in=channel_ids).order_by("channel_id", "-queued_at", "-id")
    found: dict[int, SyncRun] = {}
    if connection.vendor == "postgresql":
        for run in runs.distinct("channel_id"):
            found[run.channel_id] = run
        return found
    for run in runs:
        found.setdefault(run.channel_id, run)
    return found


def rejected_counts(*, channel_ids: list[int]) -> dict[int, int]:
    rows = (WebhookRejection.objects.filter(channel_id__in=channel_ids).values("channel_id")
            .annotate(total=Sum("count")).order_by())
    return {row["channel_id"]: row["total"] for row in rows}


def _sku_match(sku: str) -> Q:
    """Orders with a line of exactly this SKU: jsonb containment (GIN index on PostgreSQL); the demo's SQLite,
    which has no containment, looks for the quoted SKU in the lines' JSON text."""
    if connection.vendor == "postgresql":
        return Q(lines__contains=[{"sku": sku}])
    return Q(lines__icontains=f'"{sku}"')


def search_q(*, org, q: str, sku: bool = True) -> Q:
    """`?q=`: an email matches the customer's email exactly (case-blind); anything else matches the channel order
    number as quoted (`#1201` = `1201`), the channel's order id, a line's exact SKU, or part of the customer's
    name (from NAME_SEARCH_MIN characters). Each branch has its own index (docs/performance.md), so PostgreSQL
    ORs index scans. `sku=False` leaves the SKU out, for SearchResults, which finds those in OrderSku."""
    q = q.strip()
    if "@" in q:
        return Q(org=org, _email=q.lower())
    # The org inside every branch: each one alone is an index condition, so PostgreSQL ORs bitmap index scans
    # instead of walking the org's orders and filtering them.
    channel_ids = list(Channel.objects.filter(org=org).values_list("pk", flat=True))
    match = Q(org=org, channel_id__in=channel_ids, channel_order_id=q)
    if sku:
        match |= Q(_sku_match(q), org=org)
    if len(q) >= NAME_SEARCH_MIN:
        # Shorter text has no trigram for the index to use: PostgreSQL would read every order (1 s at a million).
        match |= Q(org=org, customer_name__icontains=q)
    number = normalize_order_number(q)
    if number:
        match |= Q(org=org, _number=number)
    return match


def orders_filtered(*, org, queryset: QuerySet[AggregatedOrder], channel: str | None = None,
                    status: str | None = None, from_date: datetime | None = None,
                    to_date: datetime | None = None, q: str | None = None,
                    ordering: str = DEFAULT_ORDERING, sku: bool = True) -> QuerySet[AggregatedOrder]:
    """The list's filters: channel (channelId), status, createdAt in [fromDate, toDate], the `q` search,
    in one of ORDERINGS.

    The channel is resolved to its key first, so the planner walks the (org, channel, status, createdAt)
    index in order and stops after one page instead of joining first.
    """
    if channel:
        channel_pk = Channel.objects.filter(org=org, channel_id=channel).values_list("pk", flat=True).first()
        queryset = queryset.filter(channel_id=channel_pk) if channel_pk else queryset.none()
    if status:
        queryset = queryset.filter(status=status)
    if from_date:
        queryset = queryset.filter(created_at__gte=from_date)
    if to_date:
        queryset = queryset.filter(created_at__lte=to_date)
    if q and q.strip():
        # The annotations are the indexed expressions (agg_org_email_idx, agg_org_number_idx), word for word.
        queryset = (queryset.alias(_email=Lower("customer_email"), _number=order_number_key())
                    .filter(search_q(org=org, q=q, sku=sku)))
    # The channel rides along for its channelId only: loading its encrypted config would decrypt it once per row.
    return (queryset.select_related("channel").defer("channel__config", "channel__webhook_secret")
            .order_by(*ORDERINGS[ordering]))


@dataclass
class SkuSearch:
    """The SKU branch of a `q` search, looked up in OrderSku (PostgreSQL, newest or oldest first, no channel
    filter); `rest` is the same search without the SKU branch."""

    org_id: int
    sku: str
    rest: QuerySet[AggregatedOrder]
    status: str | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None

    def sql(self, ordering: str, limit: int) -> tuple[str, list]:
        """Up to `limit` (id, created_at) of the SKU's orders in the page's order: an index-only scan of
        ordersku_search_idx (the filters are columns of the index)."""
        where, params = ["org_id = %s", "sku = %s"], [self.org_id, self.sku]
        for clause, value in (("status = %s", self.status), ("created_at >= %s", self.from_date),
                              ("created_at <= %s", self.to_date)):
            if value is not None:
                where.append(clause)
                params.append(value)
        direction = "DESC" if ordering.startswith("-") else "ASC"
        return (f"SELECT order_id AS id, created_at FROM {OrderSku._meta.db_table} WHERE {' AND '.join(where)} "
                f"ORDER BY created_at {direction}, order_id {direction} LIMIT %s", [*params, limit])


def sku_search(*, org, q: str, channel: str | None = None, status: str | None = None,
               from_date: datetime | None = None, to_date: datetime | None = None,
               ordering: str = DEFAULT_ORDERING) -> SkuSearch | None:
    """The OrderSku lookup for a search where it applies (PostgreSQL, ordered by createdAt, no channel filter,
    not an email); otherwise None and the search finds SKUs through the lines' GIN index."""
    q = q.strip()
    if connection.vendor != "postgresql" or channel or "@" in q or ordering not in ("createdAt", "-createdAt"):
        return None
    rest = orders_filtered(org=org, queryset=AggregatedOrder.objects.filter(org=org), status=status,
                           from_date=from_date, to_date=to_date, q=q, ordering=ordering, sku=False)
    return SkuSearch(org_id=org.pk, sku=q, rest=rest, status=status, from_date=from_date, to_date=to_date)


class SearchResults:
    """One page of a `q` search, as Django's Paginator asks for it (count(), then one slice).

    PostgreSQL: the matches are fenced in a MATERIALIZED CTE (at most SEARCH_COUNT_CAP + 1 of them, found through
    each branch's index), then counted and sorted for the page in the same statement. Without the fence the
    planner walks agg_org_created_idx newest-first hoping to fill a page early, which reads the whole org when
    few orders match (docs/performance.md, issue 18). When more than the cap match, the matches are dense, so the
    plain ORDER BY/LIMIT walk is the fast plan and the page comes from it; the total is then the cap.
    With `skus` (SkuSearch), the SKU's matches come from OrderSku instead, in the page's order, so the page is
    exact even past the cap (up to the cap) and a common SKU reads no order rows but the page's.
    SQLite (the demo and tests): a capped COUNT and the plain query.
    """

    ordered = True

    def __init__(self, queryset: QuerySet[AggregatedOrder], ordering: str, cap: int | None = None,
                 skus: SkuSearch | None = None):
        self.queryset = queryset
        self.skus = skus
        self._exact = False
        self.ordering = ordering
        self.cap = SEARCH_COUNT_CAP if cap is None else cap
        self._total: int | None = None
        self._capped = False
        self._page: tuple[int, int, list[int]] | None = None

    @property
    def capped(self) -> bool:
        self.count()
        return self._capped

    def count(self) -> int:
        if self._total is None:
            matches = self.queryset.order_by().values("pk")[: self.cap + 1].count()
            self._total, self._capped = min(matches, self.cap), matches > self.cap
        return self._total

    def fetch_page(self, offset: int, limit: int) -> None:
        """Count and page ids in one statement (PostgreSQL); the Paginator's count() and slice then reuse them."""
        if connection.vendor != "postgresql":
            return
        columns = [field.lstrip("-") for field in ORDERINGS[self.ordering]]
        order_by = ", ".join(f"m.{c.lstrip('-')} {'DESC' if c.startswith('-') else 'ASC'}"
                             for c in ORDERINGS[self.ordering])
        if self.skus:
            # The other branches (few matches, their own indexes) and the SKU's first cap + 1 in the page's order:
            # their union holds the first cap + 1 of the whole search, so pages up to the cap are exact.
            rest_sql, rest_params = self.skus.rest.order_by().values_list("id", "created_at").query.sql_with_params()
            sku_sql, sku_params = self.skus.sql(self.ordering, self.cap + 1)
            matches_sql = (f"(SELECT * FROM ({rest_sql} LIMIT %s) r) UNION (SELECT * FROM ({sku_sql}) s)")
            params = [*rest_params, self.cap + 1, *sku_params]
            self._exact = offset + limit <= self.cap + 1
        else:
            matches = self.queryset.order_by().values_list(*dict.fromkeys(["id", *columns]))
            sql, params = matches.query.sql_with_params()
            matches_sql, params = f"{sql} LIMIT %s", [*params, self.cap + 1]
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH m AS MATERIALIZED ({matches_sql}), n AS (SELECT count(*) AS total FROM m) "
                f"SELECT n.total, p.id FROM n LEFT JOIN LATERAL "
                f"(SELECT m.id FROM m ORDER BY {order_by} LIMIT %s OFFSET %s) p ON TRUE",
                [*params, limit, offset])
            rows = cursor.fetchall()
        matched = rows[0][0]
        self._total, self._capped = min(matched, self.cap), matched > self.cap
        self._page = (offset, limit, [pk for _, pk in rows if pk is not None])

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        if not isinstance(item, slice):
            raise TypeError("SearchResults pages by slices")
        offset, stop = item.start or 0, item.stop
        page_ok = self._page and (self._exact or not self._capped)
        if page_ok and self._page[0] == offset and offset + self._page[1] >= stop:
            ids = self._page[2][: stop - offset]
            rows = {order.pk: order for order in self.queryset.filter(pk__in=ids)}
            return [rows[pk] for pk in ids if pk in rows]
        return list(self.queryset[offset:stop])


def orders_by_number(*, org, number: str, channel: str | None = None) -> list[AggregatedOrder]:
    """The lookup by the number a customer quotes: the channel order number (`#1201`, `1201`, ` #1201 `) or the
    channel's own order id (Amazon's `112-...`, which is what Amazon shows buyers). Several channels may use the
    same number: all of them, newest first (at most LOOKUP_LIMIT)."""
    key = normalize_order_number(number)
    raw = (number or "").strip()
    if not key and not raw:
        return []
    channels = Channel.objects.filter(org=org)
    if channel:
        channels = channels.filter(channel_id=channel)
    channel_ids = list(channels.values_list("pk", flat=True))
    if not channel_ids:
        return []
    match = Q(channel_order_id=raw) | Q(_number=key) if key else Q(channel_order_id=raw)
    rows = (AggregatedOrder.objects.filter(org=org, channel_id__in=channel_ids)
            .alias(_number=order_number_key()).filter(match).defer("raw")
            .select_related("channel").defer("channel__config", "channel__webhook_secret")
            .order_by("-created_at", "-id"))
    return list(rows[:LOOKUP_LIMIT])


def latest_writebacks(*, order_ids: list[int]) -> dict[int, Writeback]:
    """Each order's newest writeback, in one query (DISTINCT ON where PostgreSQL offers it)."""
    if not order_ids:
        return {}
    rows = Writeback.objects.filter(order_id__in=order_ids).order_by("order_id", "-created_at", "-id")
    found: dict[int, Writeback] = {}
    if connection.vendor == "postgresql":
        return {writeback.order_id: writeback for writeback in rows.distinct("order_id")}
    for writeback in rows:
        found.setdefault(writeback.order_id, writeback)
    return found


def orders_count_from_summary(*, org, channel: str | None = None, status: str | None = None) -> int:
    """Exact total for filters the summary covers (channel and status), without counting order rows."""
    rows = OrderSummary.objects.filter(org=org)
    if channel:
        rows = rows.filter(channel__channel_id=channel)
    if status:
        rows = rows.filter(status=status)
    return rows.aggregate(n=Sum("order_count"))["n"] or 0


def _money(value) -> str:
    return f"{Decimal(value):.2f}"


def orders_summary(*, org, channel: str | None = None) -> dict:
    """Counts and grand totals by channel and status, per currency, from the running summary rows."""
    rows = OrderSummary.objects.filter(org=org, order_count__gt=0).values_list(
        "channel__channel_id", "status", "currency", "order_count", "grand_total").order_by(
        "channel__channel_id", "status", "currency")
    if channel:
        rows = rows.filter(channel__channel_id=channel)
    by_channel_status, by_channel, by_status, totals = [], defaultdict(lambda: [0, Decimal(0)]), \
        defaultdict(lambda: [0, Decimal(0)]), defaultdict(lambda: [0, Decimal(0)])
    for channel_id, status, currency, count, total in rows:
        by_channel_status.append({"channel": channel_id, "status": status, "currency": currency, "count": count,
                                  "grandTotal": _money(total)})
        for bucket, key in ((by_channel, (channel_id, currency)), (by_status, (status, currency)),
                            (totals, (currency,))):
            bucket[key][0] += count
            bucket[key][1] += Decimal(total)
    return {
        "byChannelAndStatus": by_channel_status,
        "byChannel": [{"channel": k[0], "currency": k[1], "count": v[0], "grandTotal": _money(v[1])}
                      for k, v in sorted(by_channel.items())],
        "byStatus": [{"status": k[0], "currency": k[1], "count": v[0], "grandTotal": _money(v[1])}
                     for k, v in sorted(by_status.items())],
        "totals": [{"currency": k[0], "count": v[0], "grandTotal": _money(v[1])} for k, v in sorted(totals.items())],
    }


# --- sync history --------------------------------------------------------------------------
HISTORY_KINDS = ("sync", "poll", "one_shot", "webhook", "writeback")
HISTORY_OUTCOMES = ("pending", "succeeded", "failed")
_DELIVERY_OUTCOME = {WebhookDelivery.Status.RECEIVED: "pending", WebhookDelivery.Status.PROCESSED: "succeeded",
                     WebhookDelivery.Status.FAILED: "failed"}
_OUTCOME = {Outcome.QUEUED: "pending", Outcome.RUNNING: "pending", Outcome.SUCCEEDED: "succeeded",
            Outcome.FAILED: "failed"}
_PENDING = [Outcome.QUEUED, Outcome.RUNNING]


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _run_item(run: SyncRun) -> dict:
    return {
        "id": run.public_id, "kind": run.kind, "channel": run.channel.channel_id, "outcome": _OUTCOME[run.status],
        "status": run.status, "at": _iso(run.queued_at), "finishedAt": _iso(run.finished_at),
        "error": run.error or None,
        "details": {"fromDate": _iso(run.window_from), "toDate": _iso(run.window_to),
                    "statusFilter": run.status_filter or None, "fetched": run.fetched, "created": run.created,
                    "updated": run.updated, "unchanged": run.unchanged, "failed": run.failed,
                    "startedAt": _iso(run.started_at)},
    }


def _delivery_item(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.public_id, "kind": "webhook", "channel": delivery.channel.channel_id,
        "outcome": _DELIVERY_OUTCOME[delivery.status], "status": delivery.status, "at": _iso(delivery.received_at),
        "finishedAt": _iso(delivery.processed_at), "error": delivery.last_error or None,
        "details": {"deliveryId": delivery.delivery_id, "topic": delivery.topic, "attempts": delivery.attempts,
                    "orders": delivery.orders_count, "nextRetryAt": _iso(delivery.next_retry_at)},
    }


def _writeback_item(writeback: Writeback) -> dict:
    return {
        "id": writeback.public_id, "kind": "writeback", "channel": writeback.channel.channel_id,
        "outcome": _OUTCOME[writeback.status], "status": writeback.status, "at": _iso(writeback.created_at),
        "finishedAt": _iso(writeback.finished_at), "error": writeback.last_error or None,
        "details": {"orderId": writeback.order.public_id, "channelOrderId": writeback.order.channel_order_id,
                    "targetStatus": writeback.target_status, "trackingNumber": writeback.tracking_number or None,
                    "carrier": writeback.carrier or None, "source": writeback.source,
                    "state": writeback.state, "stateLabel": writeback.state_label,
                    "attempts": writeback.attempts, "maxAttempts": writeback.max_attempts,
                    "manualRetries": writeback.manual_retries, "nextAttemptAt": _iso(writeback.next_attempt_at),
                    "channelReference": writeback.channel_reference or None,
                    "channelResponse": writeback.last_response_body or None,
                    "attemptLog": [{"number": a.number, "at": _iso(a.started_at), "durationMs": a.duration_ms,
                                    "responseCode": a.response_code, "request": a.request_summary,
                                    "succeeded": a.succeeded, "retryable": a.retryable, "error": a.error or None,
                                    "response": a.response_body or None}
                                   for a in writeback.attempt_rows.all()]},
    }


def sync_history(*, org, channel: str | None = None, kind: str | None = None, outcome: str | None = None,
                 page: int = 1, page_size: int = 50) -> tuple[list[dict], int]:
    """Runs, deliveries and writebacks merged newest first; each source is read only as deep as the page."""
    sources = []
    kinds = {kind} if kind else set(HISTORY_KINDS)
    if kinds & {"sync", "poll", "one_shot"}:
        runs = SyncRun.objects.filter(org=org).select_related("channel")
        if kind in ("poll", "one_shot"):
            runs = runs.filter(kind=kind)
        if outcome:
            runs = runs.filter(status__in=_PENDING if outcome == "pending" else [outcome])
        sources.append((runs.order_by("-queued_at", "-id"), "queued_at", _run_item))
    if "webhook" in kinds:
        deliveries = WebhookDelivery.objects.filter(org=org).select_related("channel").defer("body", "headers")
        if outcome:
            wanted = {"pending": WebhookDelivery.Status.RECEIVED, "succeeded": WebhookDelivery.Status.PROCESSED,
                      "failed": WebhookDelivery.Status.FAILED}[outcome]
            deliveries = deliveries.filter(status=wanted)
        sources.append((deliveries.order_by("-received_at", "-id"), "received_at", _delivery_item))
    if "writeback" in kinds:
        writebacks = (Writeback.objects.filter(org=org).select_related("channel", "order")
                      .defer("order__raw", "order__lines").prefetch_related("attempt_rows"))
        if outcome:
            writebacks = writebacks.filter(status__in=_PENDING if outcome == "pending" else [outcome])
        sources.append((writebacks.order_by("-created_at", "-id"), "created_at", _writeback_item))
    depth = page * page_size
    merged, total = [], 0
    for queryset, time_field, render in sources:
        if channel:
            queryset = queryset.filter(channel__channel_id=channel)
        total += queryset.count()
        merged += [(getattr(row, time_field), render(row)) for row in queryset[:depth]]
    merged.sort(key=lambda pair: pair[0], reverse=True)
    return [item for _, item in merged[depth - page_size:depth]], total
