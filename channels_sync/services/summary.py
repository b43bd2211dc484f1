"""The running order summary: every writer of an order's status, currency or total applies a delta here."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import connection

from channels_sync.models import OrderSummary

SummaryKey = tuple[int, str, str]  # channel id, status, currency


class SummaryDelta:
    """Accumulates +/- (count, total) per (channel, status, currency) in memory, then writes once."""

    def __init__(self, org_id: int):
        self.org_id = org_id
        self._deltas: dict[SummaryKey, list] = defaultdict(lambda: [0, Decimal("0")])

    def add(self, channel_id: int, status: str, currency: str, grand_total) -> None:
        entry = self._deltas[(channel_id, status, currency)]
        entry[0] += 1
        entry[1] += Decimal(grand_total)

    def remove(self, channel_id: int, status: str, currency: str, grand_total) -> None:
        entry = self._deltas[(channel_id, status, currency)]
        entry[0] -= 1
        entry[1] -= Decimal(grand_total)

    def apply(self) -> None:
        """One upsert for every changed key, in key order so concurrent writers lock rows alike."""
        rows = [(key, value) for key, value in sorted(self._deltas.items()) if value[0] or value[1]]
        if not rows:
            return
        table = OrderSummary._meta.db_table
        values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
        params: list = []
        for (channel_id, status, currency), (count, total) in rows:
            params += [self.org_id, channel_id, status, currency, count, total]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} AS s (org_id, channel_id, status, currency, order_count, grand_total) "
                f"VALUES {values} ON CONFLICT (org_id, channel_id, status, currency) DO UPDATE SET "
                "order_count = s.order_count + excluded.order_count, "
                "grand_total = s.grand_total + excluded.grand_total",
                params,
            )
        self._deltas.clear()


def summary_rebuild(*, org_id: int | None = None) -> None:
    """Recount from the orders (repair tool, and the reference the tests compare against)."""
    from django.db.models import Count, Sum

    from channels_sync.models import AggregatedOrder

    orders = AggregatedOrder.objects.all()
    summaries = OrderSummary.objects.all()
    if org_id is not None:
        orders, summaries = orders.filter(org_id=org_id), summaries.filter(org_id=org_id)
    summaries.delete()
    grouped = (orders.values("org_id", "channel_id", "status", "currency")
               .annotate(order_count=Count("id"), grand_total=Sum("grand_total")).order_by())
    OrderSummary.objects.bulk_create(OrderSummary(**row) for row in grouped)
