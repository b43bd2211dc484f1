"""Every Celery enqueue of the orders app, in one place: services call these, never the tasks.

All of them send after the current transaction commits (`robust`: the order is already committed,
so a broker outage must not turn that into a 500). No task retries itself: a handler run's next attempt
is a fresh message sent from here with a countdown (`event_handler_retry`), decided and recorded on the
run by orders/services/event_runs.py (docs/decisions.md, "Structure (issue 14)", the retry style).
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)


def event_handlers_schedule(runs: list[tuple[str, dict, int | None]]) -> None:
    """Queue one `run_event_handler` task per (handler path, event payload, EventHandlerRun id), after commit."""
    if runs:
        transaction.on_commit(partial(_event_handlers_send, tuple(runs)), robust=True)


def _event_handlers_send(runs: tuple[tuple[str, dict, int | None], ...]) -> None:
    """One task per subscriber, sent together (one broker round trip for the event).

    A batch is written once, without retry; if it fails, every task is sent again on its own with
    Celery's publish retries, so an event is delivered at least once (handlers are idempotent; a run
    row that already succeeded is not run again)."""
    from orders.tasks import event_task_batch, run_event_handler

    try:
        with event_task_batch(run_event_handler.app):
            for path, payload, run_id in runs:
                run_event_handler.apply_async(args=[path, payload, run_id])
        return
    except Exception:
        payload = runs[0][1]
        logger.warning("batched send of %s %s failed; sending its %d tasks one by one", payload["name"],
                       payload["order_number"], len(runs), exc_info=True)
    for path, payload, run_id in runs:
        try:
            run_event_handler.apply_async(args=[path, payload, run_id])
        except Exception:  # one subscriber's task must not keep the others from being queued
            logger.exception("could not queue %s for %s %s", path, payload["name"], payload["order_number"])


def event_handler_retry(*, handler_path: str, payload: dict, run_id: int, countdown: float) -> None:
    """A handler run's next attempt, `countdown` seconds after its failure is committed."""
    from orders.tasks import run_event_handler

    transaction.on_commit(lambda: run_event_handler.apply_async(args=[handler_path, payload, run_id],
                                                                countdown=countdown), robust=True)


def welcome_email_schedule(*, order_id: int, request_id: str) -> None:
    """The welcome email staff asked for, once; not retried (its EmailLog row keeps a failure, see the task)."""
    from orders.tasks import send_welcome_email

    transaction.on_commit(lambda: send_welcome_email.delay(order_id, request_id), robust=True)
