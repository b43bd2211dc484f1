"""Every Celery message channels_sync sends goes through here: services never import `channels_sync.tasks`.

Why one module: a reader sees in one place what runs in a worker, when (after commit, with a countdown), and how a
failed attempt comes back. The retry style is the same for every task of the project (docs/decisions.md,
"Structure (issue 14)"):

- A task never retries itself (no `autoretry_for`, no `self.retry`): it calls one service function.
- The service decides whether and when to try again (`core.backoff.retry_delay`, capped,
  never before a channel's Retry-After), records the due time on its row (`next_retry_at`, `next_attempt_at`),
  and the next attempt is sent from here as a fresh message with a countdown, after the row is committed.
- A message lost on the way (a broker restart, a killed worker) is re-sent by a beat sweep that looks for
  rows overdue by a grace period (config/beat.py names each sweep for what it does).

Sends that follow a database change are deferred with `transaction.on_commit(..., robust=True)`, so a worker
never looks for a row that is not there yet and a broker outage never undoes the change.
"""

from __future__ import annotations

from django.db import transaction


def _after_commit(send) -> None:
    transaction.on_commit(send, robust=True)


# --- webhook deliveries ----------------------------------------------------------------------------------------

def webhook_drain(*, helper: int = 0) -> None:
    """Send a drain of stored deliveries now (the caller holds the debounce flag); `helper` joins a running one."""
    from channels_sync.tasks import process_webhook_deliveries

    if helper:
        process_webhook_deliveries.delay(helper=helper)
    else:
        process_webhook_deliveries.delay()


def webhook_delivery_now(delivery_pk: int) -> None:
    """Send one delivery's processing now (the sweep, for a retry whose message was lost)."""
    from channels_sync.tasks import process_webhook_delivery

    process_webhook_delivery.delay(delivery_pk)


def webhook_delivery_after_commit(delivery_pk: int) -> None:
    """Send one delivery's processing once the caller's transaction commits (admin's retry)."""
    from channels_sync.tasks import process_webhook_delivery

    _after_commit(lambda: process_webhook_delivery.delay(delivery_pk))


def webhook_delivery_retry(delivery_pk: int, *, countdown: float) -> None:
    """The next try of a failed delivery, `countdown` seconds after the failure is committed."""
    from channels_sync.tasks import process_webhook_delivery

    _after_commit(lambda: process_webhook_delivery.apply_async(args=[delivery_pk], countdown=countdown))


# --- writebacks ------------------------------------------------------------------------------------------------

def writeback(writeback_pk: int, *, countdown: float | None = None) -> None:
    """A writeback's (next) try, after commit; `countdown` when the service asked for a wait."""
    from channels_sync.tasks import run_writeback

    _after_commit(lambda: run_writeback.apply_async(args=[writeback_pk], countdown=countdown))


# --- polling and one-shot syncs ---------------------------------------------------------------------------------

def poll_channel(channel_pk: int) -> None:
    """One channel's poll, now (beat's fan-out; the poll itself takes a lease, so a second copy does nothing)."""
    from channels_sync.tasks import poll_channel as task

    task.delay(channel_pk)


def sync_run(run_pk: int) -> None:
    """A one-shot sync run, once its queued row is committed."""
    from channels_sync.tasks import run_sync

    _after_commit(lambda: run_sync.delay(run_pk))


# --- storefront orders for channel orders -----------------------------------------------------------------------

def local_orders(aggregated_order_pks: list[int], *, attempt: int = 1, countdown: float | None = None) -> None:
    """Create the storefront orders of these channel orders, after commit (`attempt` > 1: a retry)."""
    from channels_sync.tasks import create_local_orders

    ids = list(aggregated_order_pks)
    _after_commit(lambda: create_local_orders.apply_async(args=[ids], kwargs={"attempt": attempt},
                                                          countdown=countdown))
