"""The one path by which channel orders become AggregatedOrder rows, for webhooks and polling alike.

Normalize in Python, then write each batch with one upsert that skips anything older than what is
stored, and keep the running summary in step in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

try:  # only the PostgreSQL path needs it; the demo may run on SQLite
    import psycopg
except ImportError:  # pragma: no cover
    psycopg = None

import orjson
from django.db import connection, transaction
from django.utils import timezone

from channels_sync import scheduling
from channels_sync.models import AggregatedOrder, Channel, OrderSku, new_aggregated_order_id
from channels_sync.normalized import AggregatedOrderData
from channels_sync.services import events
from channels_sync.services.summary import SummaryDelta
from core.text import storable_data

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
_ADVISORY_NAMESPACE = 5_001  # pg_advisory_xact_lock(namespace, channel id): one ingest batch per channel at a time

# Columns an incoming newer version overwrites. `data`, `carrier`, `public_id` and `ingested_at` are ours.
_UPDATED_COLUMNS = (
    "channel_order_number", "status", "raw_status", "customer_email", "customer_name", "shipping_address",
    "lines", "subtotal", "discount", "tax", "shipping", "grand_total", "currency", "created_at", "channel_updated_at",
    "channel_metadata", "raw", "updated_at",
)
_JSON_COLUMNS = {"shipping_address", "lines", "channel_metadata", "data", "raw"}
_INSERT_COLUMNS = ("public_id", "org_id", "channel_id", "channel_order_id", *_UPDATED_COLUMNS,
                   "tracking_number", "carrier", "data", "ingested_at")


@dataclass
class IngestResult:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)   # AggregatedOrder pks, for the storefront link

    def add(self, other: IngestResult) -> None:
        self.fetched += other.fetched
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.errors += other.errors[: max(0, 20 - len(self.errors))]
        self.created_ids += other.created_ids


def order_row(*, channel: Channel, data: AggregatedOrderData, raw: dict, now) -> dict:
    """The column values for one normalized order (also what the benchmark's floor writes)."""
    return {
        "public_id": new_aggregated_order_id(),
        "org_id": channel.org_id,
        "channel_id": channel.pk,
        "channel_order_id": str(data.channel_order_id),
        "channel_order_number": data.channel_order_number or "",
        "status": str(data.status),
        "raw_status": (data.raw_status or "")[:64],
        "customer_email": data.customer_email or "",
        "customer_name": data.customer_name or "",
        "shipping_address": data.shipping_address.to_json() if data.shipping_address else None,
        "lines": [line.to_json() for line in data.lines],
        "subtotal": data.subtotal,
        "discount": data.discount,
        "tax": data.tax,
        "shipping": data.shipping,
        "grand_total": data.grand_total,
        "currency": (data.currency or "").upper()[:3],
        "created_at": data.created_at,
        "channel_updated_at": data.updated_at,
        "channel_metadata": data.channel_metadata or {},
        "raw": raw,
        "updated_at": now,
        "tracking_number": data.tracking_number or "",
        "carrier": "",
        "data": {},
        "ingested_at": now,
    }


@dataclass
class _Normalized:
    rows: list[dict]
    result: IngestResult   # fetched / failed / same-batch duplicates, before the write


def _normalize_chunk(provider, channel: Channel, chunk: list[dict], serialize: bool) -> _Normalized:
    """Pure work (no DB): normalize, build rows, keep the newest of repeated orders, pre-serialize JSON."""
    result = IngestResult(fetched=len(chunk))
    rows: dict[str, dict] = {}
    now = timezone.now()
    for raw in chunk:
        try:
            row = order_row(channel=channel, data=provider.normalize(raw), raw=raw, now=now)
            if serialize:
                serialize_row(row)
        except Exception as exc:  # one bad order must not sink the batch
            result.failed += 1
            if len(result.errors) < 20:
                result.errors.append(f"{type(exc).__name__}: {exc}"[:500])
            logger.warning("normalize failed on channel %s: %s", channel.pk, exc, exc_info=True)
            continue
        previous = rows.get(row["channel_order_id"])
        if previous is not None:
            # The same order twice in one batch: keep the newer; the other counts as unchanged.
            result.unchanged += 1
            if previous["channel_updated_at"] >= row["channel_updated_at"]:
                continue
        rows[row["channel_order_id"]] = row
    return _Normalized(rows=list(rows.values()), result=result)


_normalizer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-normalize")


def ingest(*, channel: Channel, raw_orders: Iterable[dict], batch_size: int = BATCH_SIZE,
           result: IngestResult | None = None) -> IngestResult:
    """Normalize and upsert raw channel orders; the counts say what each order did to the store.

    Each batch commits on its own, so `result` (when passed) holds the counts so far if fetching fails
    midway. On PostgreSQL, a full batch is normalized in a helper thread while the previous one is
    written (the write waits on the server and releases the GIL); fetching and every DB call stay on
    the caller's thread and connection, so an outer transaction still covers them.
    """
    provider = channel.provider_cls()
    result = result if result is not None else IngestResult()
    postgres = connection.vendor == "postgresql"
    iterator = iter(raw_orders)
    pending = None  # the previous batch's normalization, as a future
    while True:
        try:
            chunk = list(islice(iterator, batch_size))
        except Exception:
            if pending is not None:  # keep what was already fetched and normalized, then report the failure
                _write_normalized(channel, pending.result(), result)
            raise
        upcoming = None
        if chunk:
            if postgres and len(chunk) == batch_size:
                upcoming = _normalizer.submit(_normalize_chunk, provider, channel, chunk, True)
            else:
                upcoming = _Done(_normalize_chunk(provider, channel, chunk, postgres))
        if pending is not None:
            _write_normalized(channel, pending.result(), result)
        if upcoming is None:
            break
        pending = upcoming
    if result.created_ids and channel.create_local_orders:
        scheduling.local_orders(result.created_ids)
    return result


class _Done:
    """A finished value with a future's `result()`, for batches normalized inline."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def line_skus(lines) -> list[str]:
    """The distinct non-empty SKUs of an order's lines, in line order."""
    if not isinstance(lines, list):
        return []
    return list(dict.fromkeys(line["sku"] for line in lines
                              if isinstance(line, dict) and isinstance(line.get("sku"), str) and line["sku"]))


def replace_order_skus(org_id: int, orders: list[tuple[int, object, str, list]]) -> None:
    """Replace the search rows (models.OrderSku) of (order pk, created_at, status, lines); call inside the
    transaction that wrote the orders, so a search never sees lines and rows disagree."""
    if not orders:
        return
    table = OrderSku._meta.db_table
    rows = [(pk, created_at, status, sku) for pk, created_at, status, lines in orders for sku in line_skus(lines)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE order_id = ANY(%s)", [[pk for pk, *_ in orders]])
            if rows:
                cursor.execute(
                    f"INSERT INTO {table} (org_id, order_id, created_at, status, sku) "
                    "SELECT %s, * FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[])",
                    [org_id, *map(list, zip(*rows, strict=True))])
        return
    OrderSku.objects.filter(order_id__in=[pk for pk, *_ in orders]).delete()
    OrderSku.objects.bulk_create([OrderSku(org_id=org_id, order_id=pk, created_at=created_at, status=status, sku=sku)
                                  for pk, created_at, status, sku in rows])


def _write_normalized(channel: Channel, normalized: _Normalized, result: IngestResult) -> None:
    result.add(normalized.result)
    if normalized.rows:
        result.add(_write_batch(channel, normalized.rows))


def _write_batch(channel: Channel, rows: list[dict]) -> IngestResult:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _write_batch_postgres(channel, rows)
        return _write_batch_portable(channel, rows)


_PG_TYPES = {"org_id": "bigint", "channel_id": "bigint", "subtotal": "numeric", "discount": "numeric", "tax": "numeric",
             "shipping": "numeric", "grand_total": "numeric", "created_at": "timestamptz",
             "channel_updated_at": "timestamptz", "updated_at": "timestamptz", "ingested_at": "timestamptz"}


_SCALAR_COLUMNS = tuple(c for c in _INSERT_COLUMNS if c not in _JSON_COLUMNS)
_DOCUMENT_COLUMNS = tuple(c for c in _INSERT_COLUMNS if c in _JSON_COLUMNS)


def _pg_upsert_sql() -> str:
    """One statement per batch, the same text every time. The short columns travel as one JSON array of
    objects that the server unpacks (`json_to_recordset`); each document column as one binary text array
    (server-side binding, so megabytes of raw JSON are never quoted into the SQL). psycopg dumps arrays
    element by element in Python: one array per column cost a fifth of a batch."""
    table = AggregatedOrder._meta.db_table
    definitions = ", ".join(f"{c} {_PG_TYPES.get(c, 'text')}" for c in _SCALAR_COLUMNS)
    documents = ", ".join("unnest(%b::text[])" for _ in _DOCUMENT_COLUMNS)
    selected = ", ".join(f"u.{c}::{'json' if c == 'raw' else 'jsonb'}" if c in _JSON_COLUMNS else f"u.{c}"
                         for c in _INSERT_COLUMNS)
    assignments = ", ".join(f"{c} = excluded.{c}" for c in _UPDATED_COLUMNS)
    return (
        f"INSERT INTO {table} AS t ({', '.join(_INSERT_COLUMNS)}) "
        f"SELECT {selected} FROM ROWS FROM (json_to_recordset(%s::json) AS ({definitions}), {documents}) "
        f"AS u({', '.join(_SCALAR_COLUMNS + _DOCUMENT_COLUMNS)}) "
        f"ON CONFLICT (org_id, channel_id, channel_order_id) DO UPDATE SET {assignments}, "
        "tracking_number = COALESCE(NULLIF(excluded.tracking_number, ''), t.tracking_number) "
        "WHERE excluded.channel_updated_at > t.channel_updated_at "
        "RETURNING id, channel_order_id, status, currency, grand_total, (xmax = 0) AS inserted"
    )


_PG_UPSERT_SQL = None


def _dumps(value) -> str | None:
    return None if value is None else orjson.dumps(value, default=str).decode()


def serialize_row(row: dict, *, cleaned: bool = False) -> dict:
    """Pre-serialize a row for the PostgreSQL statement (the normalizer thread does it, off the writer's path).

    PostgreSQL's text and jsonb refuse NUL (`\\u0000` once serialized): a row whose normalized fields carry
    one gets U+FFFD there instead, rather than failing its whole batch. `raw` (a json column) stays as sent."""
    row["_json"] = {column: _dumps(row[column]) for column in _DOCUMENT_COLUMNS}
    row["_scalars"] = orjson.dumps({column: row[column] for column in _SCALAR_COLUMNS}, default=str).decode()
    if not cleaned and ("\\u0000" in row["_scalars"] or any("\\u0000" in (row["_json"][c] or "")
                                                           for c in _DOCUMENT_COLUMNS if c != "raw")):
        for column in (*_SCALAR_COLUMNS, *_DOCUMENT_COLUMNS):
            if column != "raw":
                row[column] = storable_data(row[column])
        return serialize_row(row, cleaned=True)
    return row


def pg_upsert_params(rows: list[dict]) -> list:
    """The statement's parameters for rows (serialized here unless `serialize_row` already did)."""
    rows = [row if "_json" in row else serialize_row(row) for row in rows]
    return ["[" + ",".join(row["_scalars"] for row in rows) + "]",
            *([row["_json"][column] for row in rows] for column in _DOCUMENT_COLUMNS)]


def _write_batch_postgres(channel: Channel, rows: list[dict]) -> IngestResult:
    global _PG_UPSERT_SQL
    if _PG_UPSERT_SQL is None:
        _PG_UPSERT_SQL = _pg_upsert_sql()
    table = AggregatedOrder._meta.db_table
    keys = sorted(row["channel_order_id"] for row in rows)
    delta = SummaryDelta(channel.org_id)
    result = IngestResult()
    with connection.cursor() as cursor:
        # Serialize batches of one channel, then lock the stored versions so the summary delta is exact.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ADVISORY_NAMESPACE, channel.pk % 2_147_483_647])
        cursor.execute(
            f"SELECT channel_order_id, status, currency, grand_total, channel_updated_at FROM {table} "
            "WHERE org_id = %s AND channel_id = %s AND channel_order_id = ANY(%s) "
            "ORDER BY channel_order_id FOR UPDATE",
            [channel.org_id, channel.pk, keys],
        )
        before = {row[0]: row[1:] for row in cursor.fetchall()}
    # Versions not newer than the stored one need no write at all (the statement would skip them too).
    changed = [row for row in rows if row["channel_order_id"] not in before
               or row["channel_updated_at"] > before[row["channel_order_id"]][3]]
    result.unchanged = len(rows) - len(changed)
    if not changed:
        return result
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_PG_UPSERT_SQL, pg_upsert_params(changed), prepare=False)
        written = cursor.fetchall()
    moved: dict[int, str] = {}  # order pk -> status before, for the status_changed events
    by_key = {row["channel_order_id"]: row for row in changed}
    replace_order_skus(channel.org_id, [(pk, by_key[key]["created_at"], status, by_key[key]["lines"])
                                        for pk, key, status, *_ in written])
    for order_pk, channel_order_id, status, currency, grand_total, inserted in written:
        if inserted:
            result.created += 1
            result.created_ids.append(order_pk)
        else:
            result.updated += 1
            old_status, old_currency, old_total, _ = before[channel_order_id]
            delta.remove(channel.pk, old_status, old_currency, old_total)
            if old_status != status:
                moved[order_pk] = old_status
        delta.add(channel.pk, status, currency, grand_total)
    result.unchanged += len(changed) - len(written)
    delta.apply()
    events.ingested(channel=channel, created_ids=result.created_ids, changed=moved)
    return result


def _write_batch_portable(channel: Channel, rows: list[dict]) -> IngestResult:
    """SQLite (the demo): the same semantics with a read and a few writes per batch; writes are serialized."""
    result = IngestResult()
    delta = SummaryDelta(channel.org_id)
    moved: dict[int, str] = {}
    existing = {
        order.channel_order_id: order
        for order in AggregatedOrder.objects.filter(
            org_id=channel.org_id, channel_id=channel.pk, channel_order_id__in=[r["channel_order_id"] for r in rows])
    }
    to_create, written = [], []
    for row in rows:
        order = existing.get(row["channel_order_id"])
        if order is None:
            to_create.append(AggregatedOrder(**row))
            continue
        if row["channel_updated_at"] <= order.channel_updated_at:
            result.unchanged += 1
            continue
        delta.remove(channel.pk, order.status, order.currency, order.grand_total)
        if order.status != row["status"]:
            moved[order.pk] = order.status
        for column in _UPDATED_COLUMNS:
            setattr(order, column, row[column])
        if row["tracking_number"]:
            order.tracking_number = row["tracking_number"]
        order.save(update_fields=[*_UPDATED_COLUMNS, "tracking_number"])
        written.append(order)
        delta.add(channel.pk, order.status, order.currency, order.grand_total)
        result.updated += 1
    if to_create:
        for order in AggregatedOrder.objects.bulk_create(to_create):
            result.created += 1
            delta.add(channel.pk, order.status, order.currency, order.grand_total)
        created = AggregatedOrder.objects.filter(public_id__in=[o.public_id for o in to_create]).values_list(
            "id", "created_at", "status", "lines")
        result.created_ids += [pk for pk, *_ in created]
        written_skus = list(created)
    else:
        written_skus = []
    replace_order_skus(channel.org_id, [*((o.pk, o.created_at, o.status, o.lines) for o in written), *written_skus])
    delta.apply()
    events.ingested(channel=channel, created_ids=result.created_ids, changed=moved)
    return result
