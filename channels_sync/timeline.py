"""Channel writebacks for a storefront order's admin timeline (orders.timeline.SOURCES names this by path):
the writebacks of the channel order the storefront order was made from."""

from datetime import datetime

from channels_sync.models import AggregatedOrder, Outcome, Writeback
from orders.timeline import TimelineEntry

OUTCOME_WORDS = {Outcome.QUEUED: "queued", Outcome.RUNNING: "sending", Outcome.SUCCEEDED: "accepted by the channel",
                 Outcome.FAILED: "failed"}


def writeback_entries(order) -> list[TimelineEntry]:
    rows = Writeback.objects.filter(order__local_order=order).select_related("channel").order_by("created_at", "id")
    entries = []
    for row in rows:
        words = OUTCOME_WORDS.get(row.status, row.status)
        detail = f"{row.attempts} attempt(s)"
        if row.tracking_number:
            detail += f"; tracking {row.carrier} {row.tracking_number}".replace("  ", " ")
        if row.last_error:
            detail += f"; last error: {row.last_error[:300]}"
        entries.append(TimelineEntry(at=row.finished_at or row.created_at, kind="writeback",
                                     problem=row.status == Outcome.FAILED,
                                     title=f"Writeback to {row.channel.channel_id}: {row.target_status} {words}",
                                     detail=detail))
    for linked in AggregatedOrder.objects.filter(local_order=order, data__has_key="writebackRefused"):
        try:
            at = datetime.fromisoformat(linked.data.get("writebackRefusedAt") or "")
        except ValueError:
            at = linked.updated_at
        parcel = linked.data.get("writebackRefusedParcel") or ""
        entries.append(TimelineEntry(at=at, kind="writeback", problem=True,
                                     title=f"Parcel {parcel} not written back to {linked.channel.channel_id}"
                                     .replace("  ", " "), detail=linked.data["writebackRefused"]))
    return entries
