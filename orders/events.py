"""The one event mechanism for order side effects.

Services call `publish(...)` inside their transaction; nothing happens unless it commits. For
each subscriber, one Celery task (`orders.tasks.run_event_handler`) is queued after commit;
the task imports the handler by dotted path and calls it with an `OrderEvent`.

Subscribing (from your AppConfig.ready(), so every web and worker process has the same table):

    from orders import events

    class ChannelsSyncConfig(AppConfig):
        def ready(self):
            events.subscribe("order.shipped", "channels_sync.writeback.on_order_shipped")
            events.subscribe("order.partially_shipped", "channels_sync.writeback.on_order_shipped")
            events.subscribe(events.ALL, "orders.workflows.on_any_event")   # every event

    # channels_sync/writeback.py
    def on_order_shipped(event: "OrderEvent") -> None:     # runs in a Celery worker
        shipment_id = event.data["shipmentId"]
        ...

A handler receives ids and a small JSON payload, never model instances: load what you need.
It may run more than once (Celery retries with backoff on any exception), so make it
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

Every event also carries `fromStatus`, `toStatus` and `actor` (a label) in the envelope.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

ALL = "*"
EVENT_NAMES = frozenset(
    {
        "order.created",
        "order.processed",
        "order.partially_shipped",
        "order.shipped",
        "order.delivered",
        "order.completed",
        "order.held",
        "order.released",
        "order.cancelled",
        "order.refunded",
        "order.updated",
    }
)

_subscribers: dict[str, list[str]] = {}


@dataclass(frozen=True)
class OrderEvent:
    name: str
    org_id: int
    order_id: int
    order_number: str
    from_status: str = ""
    to_status: str = ""
    actor: str = ""
    occurred_at: str = ""
    data: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, payload: dict) -> OrderEvent:
        return cls(**payload)


def _handler_path(handler: str | Callable) -> str:
    if isinstance(handler, str):
        return handler
    module, qualname = getattr(handler, "__module__", None), getattr(handler, "__qualname__", "")
    if not module or "<" in qualname or "." in qualname:
        raise ValueError("Subscribe a module-level function (or its dotted path) so a worker can import it.")
    return f"{module}.{qualname}"


def subscribe(event_name: str, handler: str | Callable) -> None:
    """Register `handler` (a dotted path or a module-level function) for `event_name` or ALL."""
    if event_name != ALL and event_name not in EVENT_NAMES:
        raise ValueError(f"Unknown order event {event_name!r}; known: {sorted(EVENT_NAMES)}")
    path = _handler_path(handler)
    handlers = _subscribers.setdefault(event_name, [])
    if path not in handlers:
        handlers.append(path)


def unsubscribe(event_name: str, handler: str | Callable) -> None:
    path = _handler_path(handler)
    if path in _subscribers.get(event_name, []):
        _subscribers[event_name].remove(path)


def subscribers(event_name: str) -> list[str]:
    return [*_subscribers.get(event_name, []), *_subscribers.get(ALL, [])]


def publish(event_name: str, *, order, data: dict | None = None, from_status: str = "", to_status: str = "",
            actor: str = "") -> OrderEvent:
    """Queue one task per subscriber once the current transaction commits (never if it rolls back)."""
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
        # robust: the order is already committed; a broker outage must not turn that into a 500.
        transaction.on_commit(partial(_dispatch, tuple(handler_paths), event.to_json()), robust=True)
    return event


def _dispatch(handler_paths: tuple[str, ...], payload: dict) -> None:
    """One task per subscriber, sent together (one broker round trip for the event).

    A batch is written once, without retry; if it fails, every task is sent again on its own with
    Celery's publish retries, so an event is delivered at least once (handlers are idempotent)."""
    from orders.tasks import event_task_batch, run_event_handler

    try:
        with event_task_batch(run_event_handler.app):
            for path in handler_paths:
                run_event_handler.apply_async(args=[path, payload])
        return
    except Exception:
        logger.warning("batched send of %s %s failed; sending its %d tasks one by one", payload["name"],
                       payload["order_number"], len(handler_paths), exc_info=True)
    for path in handler_paths:
        try:
            run_event_handler.apply_async(args=[path, payload])
        except Exception:  # one subscriber's task must not keep the others from being queued
            logger.exception("could not queue %s for %s %s", path, payload["name"], payload["order_number"])
