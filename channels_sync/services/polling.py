"""Polling and one-shot syncs: page through the channel, ingest, and record a SyncRun with the counts."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from channels_sync import scheduling
from channels_sync.conf import poll_lease_seconds, poll_overlap_seconds
from channels_sync.models import Channel, Outcome, SyncRun
from channels_sync.normalized import CommonStatus
from channels_sync.services.channels import channel_due_for_poll
from channels_sync.services.ingest import IngestResult, ingest
from core.text import storable_text

logger = logging.getLogger(__name__)

T = TypeVar("T")
# How long recording a failed run (and freeing the lease) keeps trying while the database comes back.
RECORD_RETRY_SECONDS = 60.0
INTERRUPTED = "interrupted: the poll stopped before recording an outcome (its worker or database was lost)"


def _surviving_connection_loss(write: Callable[[], T], *, within: float | None = None) -> T:
    """Run a short write after a failure that may have cut the database connection (a restart, a failover).

    Django does not reconnect inside a task: a cut connection stays closed until it is closed explicitly. So on
    a connection error close it (the next query reconnects) and try again, backing off, while the server comes
    back; without this the run stayed `running` and the lease held the channel for CHANNEL_POLL_LEASE_SECONDS.
    """
    deadline = time.monotonic() + (RECORD_RETRY_SECONDS if within is None else within)
    delay = 0.25
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            logger.warning("database connection lost (%s); reconnecting in %.2fs", exc, delay)
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class PollLease:
    """At most one poll per channel: a conditional UPDATE takes the lease, so it works on any database
    and is never held across a transaction; a crashed worker's lease expires on its own."""

    def __init__(self, channel_pk: int):
        self.channel_pk = channel_pk
        self.token = secrets.token_hex(16)

    def acquire(self) -> bool:
        now = timezone.now()
        taken = Channel.objects.filter(pk=self.channel_pk).filter(
            Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now)
        ).update(poll_lease_until=now + timedelta(seconds=poll_lease_seconds()), poll_lease_token=self.token)
        return taken == 1

    def renew(self) -> None:
        Channel.objects.filter(pk=self.channel_pk, poll_lease_token=self.token).update(
            poll_lease_until=timezone.now() + timedelta(seconds=poll_lease_seconds()))

    def release(self) -> None:
        _surviving_connection_loss(lambda: Channel.objects.filter(pk=self.channel_pk, poll_lease_token=self.token)
                                   .update(poll_lease_until=None, poll_lease_token=""))


def _renewing(raw_orders: Iterable[dict], lease: PollLease, every: int = 250) -> Iterator[dict]:
    for count, raw in enumerate(raw_orders, start=1):
        if count % every == 0:
            lease.renew()
        yield raw


def _record(run: SyncRun, result: IngestResult, *, error: str = "") -> None:
    run.fetched, run.created, run.updated = result.fetched, result.created, result.updated
    run.unchanged, run.failed = result.unchanged, result.failed
    run.status = Outcome.FAILED if error else Outcome.SUCCEEDED
    run.error = storable_text(error or "; ".join(result.errors), 4000)
    run.finished_at = timezone.now()
    run.save()


def _record_failure(run: SyncRun, exc: Exception) -> None:
    """The run as failed, with the counts up to the failure and the error, even across a lost connection."""
    partial, error = getattr(exc, "partial_result", IngestResult()), f"{type(exc).__name__}: {exc}"[:4000]
    _surviving_connection_loss(lambda: _record(run, partial, error=error))


def _pull(channel: Channel, run: SyncRun, raw_filter: Iterable[dict] | None = None) -> IngestResult:
    """Fetch and ingest the run's window; ingest commits per batch, so a failure keeps what was written."""
    provider = channel.provider_instance()
    status = run.status_filter or None
    raw_orders = provider.fetch_orders(run.window_from, run.window_to, status)
    to_acknowledge: list[str] = []

    def noting_acknowledgements(raws: Iterable[dict]) -> Iterator[dict]:
        for raw in raws:
            if (ack_id := provider.acknowledgement_id(raw)) is not None:
                to_acknowledge.append(ack_id)
            yield raw

    raw_orders = noting_acknowledgements(raw_orders)
    result = IngestResult()
    try:
        ingest(channel=channel, raw_orders=raw_filter(raw_orders) if raw_filter else raw_orders, result=result)
    except Exception as exc:
        exc.partial_result = result  # the counts up to the failure still go into the run
        raise
    _acknowledge(provider, to_acknowledge, result)
    return result


def _acknowledge(provider, ids: list[str], result: IngestResult) -> None:
    """Orders are stored first, acknowledged second: a failed acknowledgement is noted in the run (and tried
    again on the next pull, since the order still reads as unacknowledged), never a lost order."""
    if not ids:
        return
    outcomes = provider.acknowledge(ids)
    failures = [f"acknowledge {ack_id}: {outcome}" for ack_id, outcome in outcomes.items() if outcome != "acknowledged"]
    result.errors.extend(failures)
    logger.info("acknowledged %s of %s new orders", len(outcomes) - len(failures), len(ids))


def channel_poll(*, channel_pk: int, now: datetime | None = None) -> SyncRun | None:
    """One poll: from the cursor minus an overlap up to now; the cursor moves only when every page worked.

    Returns None when another poll of the channel holds the lease (or the channel is gone / disabled).
    """
    lease = PollLease(channel_pk)
    if not lease.acquire():
        logger.info("poll of channel %s skipped: another poll holds the lease", channel_pk)
        return None
    try:
        channel = Channel.objects.select_related("org").get(pk=channel_pk)
        if not channel.enabled:
            return None
        now = now or timezone.now()
        # Holding the lease, no other poll of this channel runs: one still `running` was cut off mid-way.
        SyncRun.objects.filter(channel=channel, kind=SyncRun.Kind.POLL, status=Outcome.RUNNING).update(
            status=Outcome.FAILED, error=INTERRUPTED, finished_at=timezone.now())
        since = channel.cursor - timedelta(seconds=poll_overlap_seconds()) if channel.cursor else None
        run = SyncRun.objects.create(org_id=channel.org_id, channel=channel, kind=SyncRun.Kind.POLL,
                                     status=Outcome.RUNNING, window_from=since, window_to=now, started_at=now)
        Channel.objects.filter(pk=channel.pk).update(last_polled_at=now)
        try:
            result = _pull(channel, run, lambda raws: _renewing(raws, lease))
        except Exception as exc:
            logger.warning("poll of channel %s failed: %s", channel.pk, storable_text(str(exc)))
            _record_failure(run, exc)
            return run
        with transaction.atomic():
            _record(run, result)
            Channel.objects.filter(pk=channel.pk, poll_lease_token=lease.token).update(cursor=now)
        return run
    finally:
        lease.release()


def channels_due_for_poll(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return [c.pk for c in Channel.objects.filter(enabled=True).only(
        "id", "enabled", "last_polled_at", "poll_interval_minutes", "provider") if channel_due_for_poll(c, now=now)]


def polls_send_due(*, now: datetime | None = None) -> int:
    """Beat's poll fan-out: one poll task per enabled channel whose interval has elapsed. Returns how many."""
    due = channels_due_for_poll(now=now)
    for channel_pk in due:
        scheduling.poll_channel(channel_pk)
    return len(due)


def sync_start(*, channel: Channel, from_date: datetime | None = None, to_date: datetime | None = None,
               status: str | None = None) -> SyncRun:
    """Queue a one-shot pull of a window; the run shows in history, with its counts when done."""
    if status:
        status = CommonStatus(status).value
    run = SyncRun.objects.create(org_id=channel.org_id, channel=channel, kind=SyncRun.Kind.ONE_SHOT,
                                 window_from=from_date, window_to=to_date or timezone.now(),
                                 status_filter=status or "")
    scheduling.sync_run(run.pk)
    return run


def sync_run(*, run_pk: int) -> SyncRun:
    """Run a queued one-shot sync. It does not move the poll cursor: that belongs to polling."""
    run = SyncRun.objects.select_related("channel", "channel__org").get(pk=run_pk)
    if run.status != Outcome.QUEUED:
        return run
    run.status, run.started_at = Outcome.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        result = _pull(run.channel, run)
    except Exception as exc:
        logger.warning("one-shot sync %s failed: %s", run.pk, storable_text(str(exc)))
        _record_failure(run, exc)
        return run
    _record(run, result)
    return run
