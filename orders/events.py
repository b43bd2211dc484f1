"""The one event mechanism for order side effects, and the table of who listens to what.

Services call `publish(...)` inside their transaction. It records one `EventHandlerRun` row per
subscriber (in that transaction: the rows exist iff the event committed) and, after commit,
`orders.scheduling` queues one Celery task per row (`orders.tasks.run_event_handler`); the task
imports the handler by dotted path, calls it with an `OrderEvent` and keeps the outcome on the row
(attempts, last error, when the next attempt is due; `failed` once its attempts are spent, retryable
from the admin): orders/services/event_runs.py.

`SUBSCRIBERS` below is the whole wiring: every order event and the handlers it runs. The handlers
are dotted strings, so `orders` imports none of the apps that listen (the worker imports them);
a test asserts the table and that every path imports. To listen to an event, add your handler here.

A handler receives ids and a small JSON payload, never model instances: load what you need.
It may run more than once (a failed attempt is tried again with backoff; a lost message is sent again), so make it
idempotent. Events and their `data`:

    order.created            {"source", "isTest"}
    order.processed          {}
    order.partially_shipped  {"shipmentId", "trackingNumber", "carrier", "partial": true}
    order.shipped            {"shipmentId", "trackingNumber", "carrier", "partial": false}
                             (the shipment that ships the last unshipped unit)
    order.delivered          {}
    order.completed          {}
    order.held               {"reason"}
    order.released           {}
    order.cancelled          {"reason"}
    order.refunded           {"refundId", "amount", "currency", "fullyRefunded"}
                             (every refund, partial or full; the status is in `toStatus`)
    order.updated            {"fields": [...]}

Channel orders (channels_sync's aggregated orders, issue 18) publish their own events through
`publish_channel_order`, so workflows (and their signed webhooks) follow them without either app importing
the other. Their `order_id` is the linked storefront order (or None), `subject` the dedupe key, and `data`
carries the channel order as the API shows it (`channelOrder`):

    channel_order.created               {"channelOrder"}
    channel_order.status_changed        {"channelOrder"}                      (fromStatus/toStatus: common statuses)
    channel_order.writeback_failed      {"channelOrder", "writeback"}         (after its last attempt)
    channel_order.writeback_succeeded   {"channelOrder", "writeback"}

Every event also carries `fromStatus`, `toStatus` and `actor` (a label) in the envelope.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict, dataclass, field

from django.utils import timezone

logger = logging.getLogger(__name__)

# The handlers (each a module-level function taking an OrderEvent, run in a worker).
EMAIL = "orders.notifications.on_order_event"  # the customer's email for the event (orders/notifications.py)
FOLLOW_PARCEL = "tracking.handlers.on_order_shipped"  # the tracking provider follows each new parcel
CHANNEL_WRITEBACK = "channels_sync.services.storefront_link.on_order_shipped"  # each parcel's tracking to the channel
WORKFLOWS = "workflows.services.on_order_event"  # the org's workflows triggered by this event

# event -> its subscribers, in the order their tasks are queued.
SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    "order.created": (EMAIL, WORKFLOWS),
    "order.processed": (WORKFLOWS,),
    "order.partially_shipped": (EMAIL, FOLLOW_PARCEL, CHANNEL_WRITEBACK, WORKFLOWS),
    "order.shipped": (EMAIL, FOLLOW_PARCEL, CHANNEL_WRITEBACK, WORKFLOWS),
    "order.delivered": (EMAIL, WORKFLOWS),
    "order.completed": (WORKFLOWS,),
    "order.held": (WORKFLOWS,),
    "order.released": (WORKFLOWS,),
    "order.cancelled": (EMAIL, WORKFLOWS),
    "order.refunded": (EMAIL, WORKFLOWS),
    "order.updated": (WORKFLOWS,),
    # Channel orders (publish_channel_order): workflows only.
    "channel_order.created": (WORKFLOWS,),
    "channel_order.status_changed": (WORKFLOWS,),
    "channel_order.writeback_failed": (WORKFLOWS,),
    "channel_order.writeback_succeeded": (WORKFLOWS,),
}
EVENT_NAMES = frozenset(SUBSCRIBERS)
CHANNEL_ORDER_EVENTS = frozenset(name for name in SUBSCRIBERS if name.startswith("channel_order."))

# A subscriber may name a predicate `(org_id, event_name) -> bool` saying whether it would act at all; a channel
# order event nobody listens to records no run (an ingest of thousands of orders must not queue thousands of
# no-op tasks). Dotted strings, like the handlers.
LISTENS = {WORKFLOWS: "workflows.services.org_listens_to"}


@dataclass(frozen=True)
class OrderEvent:
    name: str
    org_id: int
    order_id: int | None
    order_number: str
    from_status: str = ""
    to_status: str = ""
    actor: str = ""
    occurred_at: str = ""
    data: dict = field(default_factory=dict)
    subject: str = ""  # channel order events: what makes one event distinct (workflows run once per subject)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, payload: dict) -> OrderEvent:
        return cls(**payload)


def subscribers(event_name: str) -> tuple[str, ...]:
    return SUBSCRIBERS.get(event_name, ())


@functools.cache
def _handler_runs():
    """The handler runs' INSERT (imported late: the models module imports this one)."""
    from core.storage import ModelInsert
    from orders.models import EventHandlerRun

    return ModelInsert(EventHandlerRun)


def publish(event_name: str, *, order, data: dict | None = None, from_status: str = "", to_status: str = "",
            actor: str = "") -> OrderEvent:
    """Record one handler run per subscriber now and queue their tasks once the current transaction
    commits (never if it rolls back)."""
    from orders.scheduling import event_handlers_schedule

    if event_name not in EVENT_NAMES:
        raise ValueError(f"Unknown order event {event_name!r}")
    event = OrderEvent(
        name=event_name,
        org_id=order.org_id,
        order_id=order.pk,
        order_number=order.order_number,
        from_status=str(from_status),
        to_status=str(to_status or order.status),
        actor=actor,
        occurred_at=timezone.now().isoformat().replace("+00:00", "Z"),
        data=data or {},
    )
    handler_paths = subscribers(event_name)
    if handler_paths:
        payload = event.to_json()
        # One INSERT, in the caller's transaction: the runs commit (or roll back) with the event. Not
        # bulk_create: its machinery cost a lifecycle 40 % of its speed (docs/performance.md, issue 14).
        now = timezone.now()
        run_ids = _handler_runs().insert_many([
            {"org": order.org_id, "order": order.pk, "event": event_name, "subscriber": path, "payload": payload,
             "created_at": now, "next_attempt_at": now}
            for path in handler_paths
        ])
        event_handlers_schedule(list(zip(handler_paths, [payload] * len(run_ids), run_ids, strict=True)))
    return event


def listening(event_name: str, *, org_id: int) -> tuple[str, ...]:
    """The event's subscribers that would act for this org (those without a LISTENS predicate always would)."""
    from django.utils.module_loading import import_string

    return tuple(path for path in subscribers(event_name)
                 if path not in LISTENS or import_string(LISTENS[path])(org_id, event_name))


def publish_channel_order(event_name: str, *, org_id: int, items: list[dict], actor: str = "") -> int:
    """Channel order events, many at once (an ingest batch): each item is {"subject", "order_number",
    "local_order_id", "from_status", "to_status", "data"}. Like `publish`: runs recorded in the caller's
    transaction, tasks queued after commit; nothing at all when no subscriber listens for this org.
    Returns the number of runs recorded."""
    from orders.scheduling import event_handlers_schedule

    if event_name not in CHANNEL_ORDER_EVENTS:
        raise ValueError(f"Unknown channel order event {event_name!r}")
    if not items:
        return 0
    handler_paths = listening(event_name, org_id=org_id)
    if not handler_paths:
        return 0
    now = timezone.now()
    occurred_at = now.isoformat().replace("+00:00", "Z")
    rows, scheduled = [], []
    for item in items:
        payload = OrderEvent(name=event_name, org_id=org_id, order_id=item.get("local_order_id"),
                             order_number=item.get("order_number") or "", from_status=item.get("from_status") or "",
                             to_status=item.get("to_status") or "", actor=actor, occurred_at=occurred_at,
                             data=item.get("data") or {}, subject=item["subject"]).to_json()
        for path in handler_paths:
            rows.append({"org": org_id, "order": item.get("local_order_id"), "event": event_name, "subscriber": path,
                         "payload": payload, "created_at": now, "next_attempt_at": now})
            scheduled.append((path, payload))
    run_ids = _handler_runs().insert_many(rows)
    event_handlers_schedule([(path, payload, run_id) for (path, payload), run_id in zip(scheduled, run_ids,
                                                                                         strict=True)])
    return len(run_ids)
