"""Thin Celery tasks: they take ids (and small JSON), load rows and call services."""

from celery import shared_task
from django.utils.module_loading import import_string

from orders.events import OrderEvent


@shared_task(
    name="orders.tasks.run_event_handler",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def run_event_handler(handler_path: str, payload: dict) -> None:
    """Deliver one order event to one subscriber (one task per subscriber, retried on its own)."""
    import_string(handler_path)(OrderEvent.from_json(payload))


@shared_task(
    name="orders.tasks.send_welcome_email",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_jitter=True,
    max_retries=6,
)
def send_welcome_email(order_id: int, request_id: str) -> None:
    from orders.notifications import send_order_email

    send_order_email(order_id=order_id, kind="welcome", dedupe_key=f"welcome:{order_id}:{request_id}")
