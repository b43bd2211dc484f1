"""One timeline per storefront order for its admin page: activity (transitions, edits, staff comments),
emails sent, carrier scans and channel writebacks, newest first.

Scans live in `tracking` and writebacks in `channels_sync`, apps that import `orders` and never the reverse;
as with the event table, they are named here by dotted path and imported when the page is built. Each source
is a function `(order) -> list[TimelineEntry]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.module_loading import import_string

from orders.models import Activity, EmailLog, Order

SOURCES = (
    "tracking.timeline.scan_entries",
    "channels_sync.timeline.writeback_entries",
)
COMMENT = "comment"


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str            # activity, comment, email, scan, writeback: the page styles each
    title: str
    detail: str = ""
    actor: str = ""
    problem: bool = False  # a failed email, a failed writeback, a delivery exception
    extra: dict = field(default_factory=dict)


def _words(data: dict) -> str:
    """An Activity's data as staff read it: "carrier: ups, tracking: 1Z..., items: A x2"."""
    parts = []
    for key, value in (data or {}).items():
        if key in {"shipmentId", "refundId", "requestId"}:
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k} x{v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(f"{v.get('sku')} x{v.get('quantity')}" if isinstance(v, dict) else str(v)
                              for v in value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


def activity_entries(order: Order) -> list[TimelineEntry]:
    entries = []
    for row in Activity.objects.filter(order=order).order_by("at", "id"):
        if row.verb == COMMENT:
            entries.append(TimelineEntry(at=row.at, kind="comment", title="Comment", actor=row.actor_label,
                                         detail=(row.data or {}).get("text", "")))
            continue
        moved = row.from_status != row.to_status and row.to_status
        title = f"{row.verb.replace('-', ' ').capitalize()}" + (
            f": {row.from_status or 'start'} \u2192 {row.to_status}" if moved else "")
        entries.append(TimelineEntry(at=row.at, kind="activity", title=title, actor=row.actor_label,
                                     detail=_words(row.data)))
    return entries


def email_entries(order: Order) -> list[TimelineEntry]:
    return [TimelineEntry(at=row.sent_at, kind="email", problem=row.status == EmailLog.Status.FAILED,
                          title=f"Email {row.kind} {'sent' if row.status == EmailLog.Status.SENT else 'failed'}"
                                f" to {row.to}",
                          detail=row.subject if row.status == EmailLog.Status.SENT else row.error[:300])
            for row in EmailLog.objects.filter(order=order)]


def order_timeline(order: Order) -> list[TimelineEntry]:
    """Every source's entries, newest first (ties keep the sources' order)."""
    entries = activity_entries(order) + email_entries(order)
    for path in SOURCES:
        entries.extend(import_string(path)(order))
    return sorted(entries, key=lambda entry: entry.at, reverse=True)
