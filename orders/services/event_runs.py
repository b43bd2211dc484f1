"""Running one subscriber's handler for one order event, with its EventHandlerRun row kept up to date."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from core.text import storable_text
from orders.events import OrderEvent
from orders.models import EventHandlerRun
from orders.scheduling import event_handlers_schedule

Status = EventHandlerRun.Status


def event_handler_deliver(*, handler_path: str, payload: dict, run_id: int | None, final: bool) -> None:
    """One attempt: mark the run running, call the handler, record the outcome. Re-raises the handler's
    error (the task retries); with `final` (no retry left) the run ends `failed`, its error kept.

    A run that already succeeded (a redelivered task) is not run again. Without a run id (a task queued
    before runs existed), the handler just runs."""
    if run_id is not None:
        now = timezone.now()
        claimed = (EventHandlerRun.objects.filter(pk=run_id).exclude(status=Status.SUCCEEDED)
                   .update(status=Status.RUNNING, attempts=F("attempts") + 1, started_at=now, finished_at=None))
        if not claimed and EventHandlerRun.objects.filter(pk=run_id).exists():
            return
    try:
        import_string(handler_path)(OrderEvent.from_json(payload))
    except Exception as exc:
        if run_id is not None:
            EventHandlerRun.objects.filter(pk=run_id).update(
                status=Status.FAILED if final else Status.PENDING,
                last_error=storable_text(f"{type(exc).__name__}: {exc}", 2000),
                finished_at=timezone.now() if final else None)
        raise
    if run_id is not None:
        EventHandlerRun.objects.filter(pk=run_id).update(status=Status.SUCCEEDED, finished_at=timezone.now())


def event_handler_runs_retry(*, run_ids: list[int]) -> int:
    """Admin's retry: failed runs go back to pending and their tasks are queued again (after commit)."""
    with transaction.atomic():
        runs = list(EventHandlerRun.objects.select_for_update()
                    .filter(pk__in=run_ids, status=Status.FAILED).only("pk", "subscriber", "payload"))
        EventHandlerRun.objects.filter(pk__in=[run.pk for run in runs]).update(status=Status.PENDING,
                                                                              finished_at=None)
        event_handlers_schedule([(run.subscriber, run.payload, run.pk) for run in runs])
    return len(runs)
