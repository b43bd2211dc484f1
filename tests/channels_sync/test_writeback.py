import random

import pytest
from django.test import override_settings

from channels_sync.models import AggregatedOrder, Writeback
from channels_sync.services import ingest
from channels_sync.services.writeback import order_status_update, writeback_attempt, writeback_retry
from core.api.exceptions import Conflict
from core.backoff import retry_delay
from tests.channels_sync.fake_provider import raw_order
from tests.channels_sync.timing import come_due

FULFILL = "https://fake.example/orders/1/fulfillments.json"


@pytest.fixture
def writeback(channel, django_capture_on_commit_callbacks):
    ingest(channel=channel, raw_orders=[raw_order(1)])
    order = AggregatedOrder.objects.get()
    with django_capture_on_commit_callbacks():
        return order_status_update(order=order, status="shipped", tracking_number="1Z1", carrier="ups")


@override_settings(CHANNEL_WRITEBACK_BACKOFF_SECONDS=10)
def test_fails_twice_then_succeeds_with_growing_delays_and_one_row_per_attempt(writeback, responses_mock):
    responses_mock.post(FULFILL, status=503)
    responses_mock.post(FULFILL, status=429, headers={"Retry-After": "120"})
    responses_mock.post(FULFILL, json={"id": 77})
    random.seed(1)
    first = writeback_attempt(writeback_pk=writeback.pk)
    assert writeback_attempt(writeback_pk=writeback.pk) is None  # a duplicate task before the retry is due
    assert len(responses_mock.calls) == 1
    come_due(writeback)
    second = writeback_attempt(writeback_pk=writeback.pk)
    assert 5 <= first <= 10          # base 10 s, jittered
    assert second >= 120             # never before the channel's Retry-After
    writeback.refresh_from_db()
    assert (writeback.status, writeback.attempts) == ("queued", 2) and writeback.next_attempt_at
    come_due(writeback)
    assert writeback_attempt(writeback_pk=writeback.pk) is None
    writeback.refresh_from_db()
    assert (writeback.status, writeback.attempts, writeback.channel_reference) == ("succeeded", 3, "77")
    attempts = list(writeback.attempt_rows.values_list("number", "response_code", "succeeded"))
    assert attempts == [(1, 503, False), (2, 429, False), (3, 200, True)]
    assert all(a.request_summary for a in writeback.attempt_rows.all())
    assert AggregatedOrder.objects.get().status == "shipped"  # the local status never waited for the channel


@override_settings(CHANNEL_WRITEBACK_MAX_ATTEMPTS=2)
def test_retryable_failures_until_the_last_attempt_then_failed_then_admin_retry_succeeds(
        channel, responses_mock, django_capture_on_commit_callbacks):
    ingest(channel=channel, raw_orders=[raw_order(1)])
    with django_capture_on_commit_callbacks():
        writeback = order_status_update(order=AggregatedOrder.objects.get(), status="cancelled")
    responses_mock.post(FULFILL, status=502)
    assert writeback_attempt(writeback_pk=writeback.pk) is not None
    come_due(writeback)
    assert writeback_attempt(writeback_pk=writeback.pk) is None
    writeback.refresh_from_db()
    assert (writeback.status, writeback.attempts) == ("failed", 2) and "502" in writeback.last_error
    assert AggregatedOrder.objects.get().status == "cancelled"  # local status kept

    with django_capture_on_commit_callbacks() as callbacks:
        retried = writeback_retry(writeback=writeback, confirmed=True)
    assert len(callbacks) == 1
    assert (retried.status, retried.max_attempts, retried.manual_retries) == ("queued", 3, 1)  # one attempt more
    responses_mock.replace("POST", FULFILL, json={"id": 5})
    writeback_attempt(writeback_pk=writeback.pk)
    writeback.refresh_from_db()
    assert (writeback.status, writeback.attempts) == ("succeeded", 3)


def test_permanent_failure_is_not_retried(writeback, responses_mock):
    responses_mock.post(FULFILL, status=422, json={"errors": "unknown order"})
    assert writeback_attempt(writeback_pk=writeback.pk) is None
    writeback.refresh_from_db()
    assert (writeback.status, writeback.attempts) == ("failed", 1)
    assert writeback.attempt_rows.get().retryable is False
    assert writeback_attempt(writeback_pk=writeback.pk) is None and len(responses_mock.calls) == 1


def test_succeeded_writeback_is_not_retried(writeback, responses_mock):
    responses_mock.post(FULFILL, json={"id": 1})
    writeback_attempt(writeback_pk=writeback.pk)
    writeback.refresh_from_db()
    with pytest.raises(Conflict, match="sent, not failed"):
        writeback_retry(writeback=writeback, confirmed=True)
    assert Writeback.objects.get().attempts == 1


def test_delay_grows_exponentially_and_is_capped():
    rng = random.Random(3)
    delays = [retry_delay(attempt=n, base=30, cap=600, rng=rng) for n in range(1, 8)]
    assert 15 <= delays[0] <= 30 and 60 <= delays[2] <= 120 and all(d <= 600 for d in delays)
    assert retry_delay(attempt=1, base=30, cap=600, retry_after=900) == 900


def test_sweep_requeues_a_writeback_whose_message_was_lost_and_it_lands_once(
        writeback, responses_mock, django_capture_on_commit_callbacks):
    """A Redis restart drops the queued task: the beat sweep queues it again; a late original then does nothing."""
    from datetime import timedelta

    from django.utils import timezone

    from channels_sync.services.writeback import writeback_sweep

    responses_mock.post(FULFILL, json={"id": 9})
    with django_capture_on_commit_callbacks() as callbacks:
        assert writeback_sweep() == 0  # just queued: its own task is still expected
        assert writeback_sweep(now=timezone.now() + timedelta(minutes=3)) == 1
    assert len(callbacks) == 1
    assert writeback_attempt(writeback_pk=writeback.pk) is None   # the sweep's task
    assert writeback_attempt(writeback_pk=writeback.pk) is None   # the original, arriving late
    writeback.refresh_from_db()
    assert (writeback.status, writeback.attempts, len(responses_mock.calls)) == ("succeeded", 1, 1)
    assert writeback_sweep(now=timezone.now() + timedelta(minutes=3)) == 0


def test_a_worker_lost_mid_call_leaves_a_running_claim_that_the_sweep_takes_over_after_its_lease(
        writeback, responses_mock, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from channels_sync.services.writeback import RUNNING_LEASE, writeback_sweep

    Writeback.objects.filter(pk=writeback.pk).update(status="running", attempts=1,
                                                     next_attempt_at=timezone.now() + RUNNING_LEASE)
    assert writeback_attempt(writeback_pk=writeback.pk) is None  # claimed by a worker that may still be calling
    assert len(responses_mock.calls) == 0
    with django_capture_on_commit_callbacks():
        assert writeback_sweep() == 0
        assert writeback_sweep(now=timezone.now() + RUNNING_LEASE + timedelta(minutes=3)) == 1
    Writeback.objects.filter(pk=writeback.pk).update(next_attempt_at=timezone.now())  # the lease ran out
    responses_mock.post(FULFILL, json={"id": 12})
    writeback_attempt(writeback_pk=writeback.pk)
    writeback.refresh_from_db()
    assert (writeback.status, writeback.attempts, writeback.channel_reference) == ("succeeded", 2, "12")


def _stub_write_back(monkeypatch, call):
    """The channel as `call`; and no real task queued (these tests commit, and run the attempt themselves)."""
    from channels_sync.normalized import WritebackResult
    from channels_sync.tasks import run_writeback
    from tests.channels_sync import fake_provider

    monkeypatch.setattr(run_writeback, "apply_async", lambda *args, **kwargs: None)

    def write_back(self, request):
        call(request)
        return WritebackResult(channel_reference="ref-1", response_code=200, request_summary="stub")

    monkeypatch.setattr(fake_provider.Provider, "write_back", write_back)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_transaction_or_row_lock_is_held_while_the_channel_is_called(channel, monkeypatch):
    """Lock, mark running, commit; call the channel; record in a new transaction. During the call this
    connection is in no transaction, and another connection can lock the writeback row at once (NOWAIT)."""
    from django.db import connection, transaction

    from tests.concurrency import at_once

    ingest(channel=channel, raw_orders=[raw_order(1)])
    seen = {}

    def lock_from_another_connection():
        with transaction.atomic():
            return Writeback.objects.select_for_update(nowait=True).values_list("status", "attempts").get(pk=wb.pk)

    def during_the_call(request):
        seen["in_atomic_block"] = connection.in_atomic_block
        seen["other_connection"] = at_once([lock_from_another_connection])[0]

    _stub_write_back(monkeypatch, during_the_call)
    wb = order_status_update(order=AggregatedOrder.objects.get(), status="shipped", tracking_number="1Z1")
    assert writeback_attempt(writeback_pk=wb.pk) is None
    assert seen == {"in_atomic_block": False, "other_connection": ("running", 1)}
    wb.refresh_from_db()
    assert (wb.status, wb.attempts, wb.channel_reference) == ("succeeded", 1, "ref-1")
    assert list(wb.attempt_rows.values_list("number", "succeeded")) == [(1, True)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_with_the_same_writeback_call_the_channel_once(channel, monkeypatch):
    import threading
    import time

    from tests.concurrency import at_once

    ingest(channel=channel, raw_orders=[raw_order(1)])
    calls, lock = [], threading.Lock()

    def slow_channel(request):
        with lock:
            calls.append(request.tracking_number)
        time.sleep(0.3)  # the other worker arrives while this call is in flight

    _stub_write_back(monkeypatch, slow_channel)
    wb = order_status_update(order=AggregatedOrder.objects.get(), status="shipped", tracking_number="1Z1")
    assert at_once([lambda: writeback_attempt(writeback_pk=wb.pk)] * 2) == [None, None]
    wb.refresh_from_db()
    assert calls == ["1Z1"] and (wb.status, wb.attempts) == ("succeeded", 1)
