"""Thin Celery tasks: each takes ids and calls one service. They are sent only by channels_sync/scheduling.py
(whose docstring has the retry style: no task retries itself; a service's next try is sent from there with a
countdown) and by beat (config/beat.py)."""

from __future__ import annotations

from celery import shared_task

from channels_sync import scheduling
from channels_sync.services import notification_queues, polling, storefront_link, webhooks, writeback


@shared_task(name="channels_sync.process_webhook_delivery", ignore_result=True)
def process_webhook_delivery(delivery_pk: int) -> None:
    webhooks.webhook_attempt(delivery_pk=delivery_pk)


@shared_task(name="channels_sync.process_webhook_deliveries", ignore_result=True)
def process_webhook_deliveries(helper: int = 0) -> int:
    """Drain every stored delivery in batches (nudged by the receivers, at most one pending at a time); with
    `helper`, help a running drain through a backlog."""
    if helper:
        return webhooks.webhook_drain_help(slot=helper)
    return webhooks.webhook_drain()


@shared_task(name="channels_sync.run_writeback", ignore_result=True)
def run_writeback(writeback_pk: int) -> None:
    """One try; the service answers with the wait before the next one when it may retry."""
    delay = writeback.writeback_attempt(writeback_pk=writeback_pk)
    if delay is not None:
        scheduling.writeback(writeback_pk, countdown=delay)


@shared_task(name="channels_sync.poll_channel", ignore_result=True)
def poll_channel(channel_pk: int) -> None:
    polling.channel_poll(channel_pk=channel_pk)


@shared_task(name="channels_sync.run_sync", ignore_result=True)
def run_sync(run_pk: int) -> None:
    polling.sync_run(run_pk=run_pk)


@shared_task(name="channels_sync.create_local_orders", ignore_result=True)
def create_local_orders(aggregated_order_pks: list[int], attempt: int = 1) -> None:
    storefront_link.local_orders_create(aggregated_order_pks=aggregated_order_pks, attempt=attempt)


# --- beat (config/beat.py) ---------------------------------------------------------------------------------------

@shared_task(name="channels_sync.poll_due_channels", ignore_result=True)
def poll_due_channels() -> int:
    """Every minute: one poll task per enabled channel whose interval has elapsed."""
    return polling.polls_send_due()


@shared_task(name="channels_sync.retry_stuck_webhook_deliveries", ignore_result=True)
def retry_stuck_webhook_deliveries() -> int:
    """Every minute: drain deliveries stored over a minute ago and re-send retries over two minutes late (their
    message was lost: a broker restart, a worker killed mid-task)."""
    return webhooks.webhook_sweep()


@shared_task(name="channels_sync.retry_due_writebacks", ignore_result=True)
def retry_due_writebacks() -> int:
    """Every minute: re-send writebacks due for over two minutes whose message was lost."""
    return writeback.writeback_sweep()


@shared_task(name="channels_sync.consume_amazon_notifications", ignore_result=True)
def consume_amazon_notifications() -> int:
    """Every minute: long-poll the Amazon apps' SQS queues (ORDER_CHANGE) for up to 50 s, storing each message as a
    webhook delivery."""
    return notification_queues.amazon_queues_consume()
