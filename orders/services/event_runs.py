"""Running one subscriber's handler for one order event, with its EventHandlerRun row kept up to date.

The project's one retry style (docs/decisions.md, "Structure (issue 14)"): the task never retries itself. This
module decides: after a handler error the run is `pending` again with `next_attempt_at` (core.backoff, from
ORDERS_EVENT_HANDLER_BACKOFF_SECONDS, capped by ..._BACKOFF_MAX_SECONDS) and the next attempt is a fresh message
sent through orders.scheduling with that countdown; after ORDERS_EVENT_HANDLER_MAX_ATTEMPTS it is `failed`, kept
until a person retries it from the admin. A message lost on the way, or a worker that died mid-attempt (a run
`running` past its lease), is sent again by the sweep (`event_handler_runs_resend_due`, beat's
"retry-due-event-handler-runs"); a duplicate message finds the run done, running or not yet due, and does nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from core.backoff import EARLY_TOLERANCE, SWEEP_GRACE, retry_delay
from core.text import storable_text
from orders.conf import orders_settings
from orders.events import OrderEvent
from orders.models import EventHandlerRun
from orders.scheduling import event_handler_retry, event_handlers_schedule

logger = logging.getLogger(__name__)

Status = EventHandlerRun.Status

SWEEP_BATCH = 500
SWEEP_MAX_BATCHES = 20
PRUNE_BATCH = 1000
PRUNE_MAX_BATCHES = 100


def event_handler_deliver(*, handler_path: str, payload: dict, run_id: int | None) -> None:
    """One attempt: claim the run (running, one more attempt, a lease), call the handler, record the outcome.

    The claim takes a run that is pending and due, or running past its lease; anything else (a run that
    succeeded, failed, is running elsewhere, or is not due yet: a duplicate of a message still to come) is left
    alone. A handler error is recorded, not raised. Without a run id (a task queued before runs existed), the
    handler just runs, its error raised."""
    if run_id is None:
        import_string(handler_path)(OrderEvent.from_json(payload))
        return
    now = timezone.now()
    due = (Q(status=Status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + EARLY_TOLERANCE))
           | Q(status=Status.RUNNING, next_attempt_at__lte=now))
    lease = timedelta(seconds=orders_settings.ORDERS_EVENT_HANDLER_LEASE_SECONDS)
    claimed = EventHandlerRun.objects.filter(due, pk=run_id).update(
        status=Status.RUNNING, attempts=F("attempts") + 1, started_at=now, finished_at=None,
        next_attempt_at=now + lease)
    if not claimed:
        return
    # Only while the claim is still ours: past the lease, the sweep may have given the run to another worker.
    ours = EventHandlerRun.objects.filter(pk=run_id, status=Status.RUNNING, started_at=now)
    try:
        import_string(handler_path)(OrderEvent.from_json(payload))
    except Exception as exc:
        _record_failure(ours, run_id=run_id, handler_path=handler_path, payload=payload, exc=exc)
        return
    ours.update(status=Status.SUCCEEDED, finished_at=timezone.now(), next_attempt_at=None)


def _record_failure(ours, *, run_id: int, handler_path: str, payload: dict, exc: Exception) -> None:
    error = storable_text(f"{type(exc).__name__}: {exc}", 2000)
    attempts = ours.values_list("attempts", flat=True).first()
    if attempts is None:
        return
    label = f"{handler_path} for {payload.get('name')} {payload.get('order_number')}"
    if attempts >= orders_settings.ORDERS_EVENT_HANDLER_MAX_ATTEMPTS:
        ours.update(status=Status.FAILED, last_error=error, finished_at=timezone.now(), next_attempt_at=None)
        logger.error("%s failed after %s attempts (run %s): %s", label, attempts, run_id, error, exc_info=exc)
        return
    delay = retry_delay(attempt=attempts, base=orders_settings.ORDERS_EVENT_HANDLER_BACKOFF_SECONDS,
                        cap=orders_settings.ORDERS_EVENT_HANDLER_BACKOFF_MAX_SECONDS)
    if ours.update(status=Status.PENDING, last_error=error,
                   next_attempt_at=timezone.now() + timedelta(seconds=delay)):
        event_handler_retry(handler_path=handler_path, payload=payload, run_id=run_id, countdown=delay)
        logger.warning("%s raised on attempt %s (run %s), next in %.1f s: %s", label, attempts, run_id, delay,
                       error, exc_info=exc)


def event_handler_runs_retry(*, run_ids: list[int]) -> int:
    """Admin's retry: failed runs go back to pending with a fresh allowance of attempts (the count starts
    again; the last error stays until the next attempt), their tasks queued after commit."""
    with transaction.atomic():
        runs = list(EventHandlerRun.objects.select_for_update()
                    .filter(pk__in=run_ids, status=Status.FAILED).only("pk", "subscriber", "payload"))
        EventHandlerRun.objects.filter(pk__in=[run.pk for run in runs]).update(
            status=Status.PENDING, attempts=0, finished_at=None, next_attempt_at=timezone.now())
        event_handlers_schedule([(run.subscriber, run.payload, run.pk) for run in runs])
    return len(runs)


def event_handler_runs_resend_due(*, now=None) -> int:
    """The sweep: send again the runs whose message was lost. Pending runs due for over SWEEP_GRACE, and
    running ones whose lease ended over SWEEP_GRACE ago (a worker died mid-attempt), in batches of
    SWEEP_BATCH (at most SWEEP_MAX_BATCHES per sweep). Each one re-sent is due now again, so the next sweep
    sends it once more only if this message is lost too; a message that was only late finds the run taken
    and does nothing."""
    now = now or timezone.now()
    open_runs = EventHandlerRun.objects.filter(status__in=[Status.PENDING, Status.RUNNING],
                                               next_attempt_at__lt=now - SWEEP_GRACE)
    sent = 0
    for _ in range(SWEEP_MAX_BATCHES):
        with transaction.atomic():
            runs = list(open_runs.select_for_update(skip_locked=True).order_by("next_attempt_at")
                        .only("pk", "subscriber", "payload")[:SWEEP_BATCH])
            EventHandlerRun.objects.filter(pk__in=[run.pk for run in runs]).update(next_attempt_at=now)
            event_handlers_schedule([(run.subscriber, run.payload, run.pk) for run in runs])
        sent += len(runs)
        if len(runs) < SWEEP_BATCH:
            break
    if sent:
        logger.warning("re-sent %s order-event handler runs whose message was lost", sent)
    return sent


def event_handler_runs_prune(*, now=None) -> int:
    """Retention: delete succeeded runs created over ORDERS_EVENT_HANDLER_RUN_RETENTION_DAYS ago, PRUNE_BATCH
    at a time (short transactions; at most PRUNE_MAX_BATCHES per call, the next call goes on). Failed runs
    are kept until a person retries them; pending and running ones are not done yet."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=orders_settings.ORDERS_EVENT_HANDLER_RUN_RETENTION_DAYS)
    old = EventHandlerRun.objects.filter(status=Status.SUCCEEDED, created_at__lt=cutoff)
    deleted = 0
    for _ in range(PRUNE_MAX_BATCHES):
        ids = list(old.order_by().values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            break
        deleted += EventHandlerRun.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < PRUNE_BATCH:
            break
    return deleted
