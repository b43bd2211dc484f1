"""Thin Celery tasks: load by id, call a service, schedule the retry the service asks for."""

from __future__ import annotations

import logging

from celery import shared_task

from channels_sync.services import polling, webhooks, writeback

logger = logging.getLogger(__name__)


@shared_task(name="channels_sync.process_webhook_delivery", bind=True, max_retries=None, ignore_result=True,
             acks_late=True)
def process_webhook_delivery(self, delivery_pk: int) -> None:
    try:
        delay = webhooks.webhook_process(delivery_pk=delivery_pk)
    except webhooks.DeliveryNotFound:
        return
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(name="channels_sync.process_webhook_deliveries", ignore_result=True)
def process_webhook_deliveries(helper: int = 0) -> int:
    """Drain every stored delivery in batches (nudged by the receivers, at most one pending at a time); with
    `helper`, help a running drain through a backlog."""
    if helper:
        return webhooks.webhook_drain_help(slot=helper)
    return webhooks.webhook_drain()


@shared_task(name="channels_sync.run_writeback", bind=True, max_retries=None, ignore_result=True, acks_late=True)
def run_writeback(self, writeback_pk: int) -> None:
    delay = writeback.writeback_attempt(writeback_pk=writeback_pk)
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(name="channels_sync.poll_channel", ignore_result=True)
def poll_channel(channel_pk: int) -> None:
    polling.channel_poll(channel_pk=channel_pk)


@shared_task(name="channels_sync.run_sync", ignore_result=True)
def run_sync(run_pk: int) -> None:
    polling.sync_run(run_pk=run_pk)


@shared_task(name="channels_sync.poll_due_channels", ignore_result=True)
def poll_due_channels() -> int:
    """Beat, every minute: one poll task per enabled channel whose interval has elapsed, and the sweeps that
    recover work whose message was lost (a Redis restart, a worker killed mid-task): stored deliveries waiting
    over a minute, late delivery retries, and writebacks overdue by two minutes."""
    due = polling.channels_due_for_poll()
    for channel_pk in due:
        poll_channel.delay(channel_pk)
    webhooks.webhook_sweep()
    writeback.writeback_sweep()
    return len(due)


@shared_task(name="channels_sync.create_local_orders", bind=True, max_retries=5, ignore_result=True,
             autoretry_for=(Exception,), retry_backoff=30, retry_jitter=True)
def create_local_orders(self, aggregated_order_pks: list[int]) -> None:
    from channels_sync.services.storefront_link import local_order_create

    for pk in aggregated_order_pks:
        local_order_create(aggregated_order_pk=pk)
