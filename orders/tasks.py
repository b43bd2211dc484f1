"""Thin Celery tasks: they take ids (and small JSON), load rows and call services."""

from contextlib import contextmanager
from contextvars import ContextVar

from celery import Task, shared_task

_batch_producer: ContextVar = ContextVar("event_batch_producer", default=None)


@contextmanager
def event_task_batch(app):
    """Event tasks sent inside share one producer and reach the broker together when the block
    ends (kombu's publish batch: one Redis pipeline instead of a round trip per task). The same
    messages, on the same queue; transports without batching send each one at once."""
    with app.producer_or_acquire() as producer, producer.batch():
        token = _batch_producer.set(producer)
        try:
            yield
        finally:
            _batch_producer.reset(token)


class EventHandlerTask(Task):
    """Sends a short argsrepr (handler, event, order) for logs and monitors instead of letting
    Celery saferepr() the whole payload, and joins the current `event_task_batch` if any."""

    def apply_async(self, args=None, kwargs=None, **options):
        if args and len(args) >= 2 and isinstance(args[1], dict) and "argsrepr" not in options:
            handler_path, payload = args[:2]
            options["argsrepr"] = f"({handler_path!r}, {payload.get('name')} {payload.get('order_number')})"
            options.setdefault("kwargsrepr", "{}")
        if "producer" not in options and (producer := _batch_producer.get()) is not None:
            options["producer"] = producer
        return super().apply_async(args, kwargs, **options)


@shared_task(base=EventHandlerTask, name="orders.tasks.run_event_handler", ignore_result=True)
def run_event_handler(handler_path: str, payload: dict, run_id: int | None = None) -> None:
    """Deliver one order event to one subscriber (one task per subscriber). The service records the attempt
    on the EventHandlerRun `run_id` and, after an error, sends the next attempt itself (no Celery retry)."""
    from orders.services.event_runs import event_handler_deliver

    event_handler_deliver(handler_path=handler_path, payload=payload, run_id=run_id)


@shared_task(name="orders.tasks.retry_due_event_handler_runs", ignore_result=True)
def retry_due_event_handler_runs() -> int:
    """Beat's "retry-due-event-handler-runs": handler runs whose message was lost, sent again."""
    from orders.services.event_runs import event_handler_runs_resend_due

    return event_handler_runs_resend_due()


@shared_task(name="orders.tasks.prune_event_handler_runs", ignore_result=True)
def prune_event_handler_runs() -> int:
    """Beat's "prune-event-handler-runs": succeeded runs past their retention, deleted."""
    from orders.services.event_runs import event_handler_runs_prune

    return event_handler_runs_prune()


@shared_task(name="orders.tasks.expire_unpaid_orders", ignore_result=True)
def expire_unpaid_orders() -> int:
    """Beat's "expire-unpaid-orders": storefront orders unpaid past ORDER_UNPAID_RESERVATION_TTL, cancelled."""
    from orders.services.expiry import orders_expire_unpaid

    return len(orders_expire_unpaid())


@shared_task(name="orders.tasks.send_welcome_email", ignore_result=True)
def send_welcome_email(order_id: int, request_id: str) -> None:
    """Not retried: a one-off that staff asked for, whose failure the EmailLog row keeps (status failed and the
    error, on the order's admin page); sending it again is asking again (a new request id, a new email)."""
    from orders.notifications import send_order_email

    send_order_email(order_id=order_id, kind="welcome", dedupe_key=f"welcome:{order_id}:{request_id}")
