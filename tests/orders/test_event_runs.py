"""Each handler run of an order event is a row: created with the event, updated by every attempt, tried again
with backoff through orders.scheduling (no Celery retry), failed (error kept) once its attempts are spent,
retryable from the admin, re-sent by the sweep when its message was lost, and pruned once old and succeeded."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from orders import events, services
from orders.models import EmailLog, EventHandlerRun
from orders.tasks import run_event_handler
from tests.accounts.factories import MembershipFactory, OrgFactory, UserFactory
from tests.orders.factories import order_in

BROKEN = "tests.orders.test_event_runs.always_raises"
CALLS: list = []


def come_due(run):
    """Let a run's next attempt come due without waiting for it, as the clock would."""
    EventHandlerRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())


def always_raises(event):
    CALLS.append(event.name)
    raise RuntimeError(f"the handler broke on {event.order_number}")


@pytest.fixture
def broken(monkeypatch):
    """Only the broken handler listens to order.processed."""
    CALLS.clear()
    monkeypatch.setattr(events, "SUBSCRIBERS", {**events.SUBSCRIBERS, "order.processed": (BROKEN,)})


def test_runs_are_created_with_the_event_and_only_if_it_commits(org, stocked, dispatched,
                                                                 django_capture_on_commit_callbacks):
    order = order_in(org, "processing")
    with django_capture_on_commit_callbacks(execute=True):
        services.order_ship(org=org, order_number=order.order_number, carrier="ups", tracking_number="1Z")
    runs = list(EventHandlerRun.objects.filter(order=order, event="order.shipped").order_by("id"))
    assert [r.subscriber for r in runs] == list(events.SUBSCRIBERS["order.shipped"])
    assert {(r.status, r.attempts, r.org_id) for r in runs} == {("pending", 0, org.pk)}
    # each task carries its run's id
    assert dispatched.run_ids[-len(runs):] == [(r.subscriber, r.pk) for r in runs]
    assert runs[0].payload["data"]["trackingNumber"] == "1Z"

    before = EventHandlerRun.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                services.order_deliver(org=org, order_number=order.order_number)
                raise RuntimeError("a later step failed")
        except RuntimeError:
            pass
    assert EventHandlerRun.objects.count() == before


def test_a_handler_that_succeeds_marks_its_run(org, stocked, dispatched, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = order_in(org, "new")
    dispatched.run_all()
    email = EventHandlerRun.objects.get(order=order, event="order.created", subscriber=events.EMAIL)
    assert (email.status, email.attempts, email.last_error) == ("succeeded", 1, "")
    assert email.started_at and email.finished_at


def test_a_handler_that_always_raises_is_tried_again_with_backoff_then_fails_then_admin_retry_requeues_it(
        org, stocked, broken, dispatched, client, settings, django_capture_on_commit_callbacks):
    settings.ORDERS_EVENT_HANDLER_MAX_ATTEMPTS = 3
    order = order_in(org, "new")
    dispatched.calls.clear()
    dispatched.run_ids.clear()
    dispatched.countdowns.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.order_process(org=org, order_number=order.order_number)
    [(handler, run_id)] = dispatched.run_ids
    run = EventHandlerRun.objects.get(pk=run_id)
    assert handler == BROKEN and run.status == "pending" and dispatched.countdowns == [None]

    # the first attempt, as a worker runs it: the task does not raise or retry itself; the service records the
    # error, makes the run pending with its due time and sends the next attempt with that countdown
    with django_capture_on_commit_callbacks(execute=True):
        before = timezone.now()
        run_event_handler(handler, run.payload, run_id)
    run.refresh_from_db()
    assert (run.status, run.attempts, len(CALLS)) == ("pending", 1, 1)
    assert run.last_error == f"RuntimeError: the handler broke on {order.order_number}" and not run.finished_at
    assert dispatched.run_ids[-1] == (BROKEN, run_id)
    countdown = dispatched.countdowns[-1]
    assert 2.5 <= countdown <= 5  # the backoff's base, 5 s, jittered to 50-100%
    assert before + timedelta(seconds=countdown) <= run.next_attempt_at <= timezone.now() + timedelta(seconds=countdown)

    # a message before the due time (the sweep's copy, say) is a duplicate: nothing runs
    run_event_handler(handler, run.payload, run_id)
    assert len(CALLS) == 1

    # the later attempts, each when due: the second waits twice as long; the third is the last
    come_due(run)
    with django_capture_on_commit_callbacks(execute=True):
        run_event_handler(handler, run.payload, run_id)
    assert 5 <= dispatched.countdowns[-1] <= 10
    come_due(run)
    sent = len(dispatched.run_ids)
    with django_capture_on_commit_callbacks(execute=True):
        run_event_handler(handler, run.payload, run_id)
    run.refresh_from_db()
    assert (run.status, run.attempts, len(CALLS)) == ("failed", 3, 3)
    assert run.finished_at and run.next_attempt_at is None
    assert len(dispatched.run_ids) == sent  # never retried automatically
    run_event_handler(handler, run.payload, run_id)
    assert len(CALLS) == 3

    # the admin lists it for a member of its org (not for another org's staff) and retries it
    staff = UserFactory(is_staff=True, is_superuser=False)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_eventhandlerrun",
                                                                        "change_eventhandlerrun"]))
    MembershipFactory(user=staff, org=org, role="manager")
    stranger = UserFactory(is_staff=True)
    stranger.user_permissions.add(*staff.user_permissions.all())
    MembershipFactory(user=stranger, org=OrgFactory(), role="manager")
    client.force_login(stranger)
    assert order.order_number not in client.get("/admin/orders/eventhandlerrun/").content.decode()
    client.force_login(staff)
    page = client.get("/admin/orders/eventhandlerrun/?status__exact=failed").content.decode()
    assert BROKEN in page and order.order_number in page

    dispatched.calls.clear()
    dispatched.run_ids.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/orders/eventhandlerrun/", {"action": "retry_runs",
                                                                  "_selected_action": [run_id]}, follow=True)
    assert "1 run(s) queued again, each with a fresh allowance of 3 attempts" in response.content.decode()
    assert dispatched.run_ids == [(BROKEN, run_id)]
    run.refresh_from_db()
    # a fresh allowance: the count starts again, the last error stays until the next attempt
    assert (run.status, run.attempts, run.last_error) == ("pending", 0, run.last_error) and run.next_attempt_at
    # only failed runs are retried
    assert services.event_handler_runs_retry(run_ids=[run_id]) == 0
    with django_capture_on_commit_callbacks(execute=True):
        run_event_handler(handler, run.payload, run_id)
    run.refresh_from_db()
    assert (run.status, run.attempts, len(CALLS)) == ("pending", 1, 4)


def test_a_duplicate_message_for_a_succeeded_run_does_nothing(org, stocked, dispatched,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = order_in(org, "new")
    run = EventHandlerRun.objects.get(order=order, event="order.created", subscriber=events.EMAIL)
    run_event_handler(run.subscriber, run.payload, run.pk)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.next_attempt_at) == ("succeeded", 1, None)
    sent = EmailLog.objects.filter(order=order).count()
    dispatched.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        run_event_handler(run.subscriber, run.payload, run.pk)
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("succeeded", 1)
    assert EmailLog.objects.filter(order=order).count() == sent and dispatched.calls == []


def test_the_sweep_resends_overdue_pending_runs_and_stale_running_ones_in_batches(
        org, stocked, broken, dispatched, settings, monkeypatch, django_capture_on_commit_callbacks):
    from orders.services import event_runs

    order = order_in(org, "new")
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.order_process(org=org, order_number=order.order_number)
        services.order_hold(org=org, order_number=order.order_number, reason="check")
    lost = EventHandlerRun.objects.get(order=order, event="order.processed")
    # a worker claimed this one and died: running, with a lease
    run_event_handler_claim_only(lost, monkeypatch)
    lost.refresh_from_db()
    lease = timedelta(seconds=settings.ORDERS_EVENT_HANDLER_LEASE_SECONDS)
    assert lost.status == "running" and now + lease <= lost.next_attempt_at <= timezone.now() + lease
    late = EventHandlerRun.objects.get(order=order, event="order.held")
    EventHandlerRun.objects.filter(pk=late.pk).update(next_attempt_at=now - timedelta(minutes=1))
    # a failed run is never swept, however old
    gave_up = EventHandlerRun.objects.filter(order=order, event="order.created").first()
    EventHandlerRun.objects.filter(pk=gave_up.pk).update(status="failed", next_attempt_at=now - timedelta(days=1))
    dispatched.run_ids.clear()

    # not yet: the lease is still running, and the pending one is only a minute late (its message may come)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.event_handler_runs_resend_due() == 0
    # time passes (the rows' times moved back, as the clock would): the lease ended, the grace went by
    past = timezone.now() - event_runs.SWEEP_GRACE - timedelta(seconds=1)
    EventHandlerRun.objects.filter(pk__in=[lost.pk, late.pk, gave_up.pk]).update(next_attempt_at=past)
    monkeypatch.setattr(event_runs, "SWEEP_BATCH", 1)  # two batches of one
    with django_capture_on_commit_callbacks(execute=True):
        assert services.event_handler_runs_resend_due() == 2
    assert sorted(run_id for _, run_id in dispatched.run_ids) == sorted([lost.pk, late.pk])
    # each is due again from the sweep's time: the next sweep sends it again only if this message is lost too
    with django_capture_on_commit_callbacks(execute=True):
        assert services.event_handler_runs_resend_due() == 0

    # the re-sent messages run the stale run (its dead attempt counted) and the late one
    CALLS.clear()
    for run in (lost, late):
        with django_capture_on_commit_callbacks(execute=True):
            run_event_handler(run.subscriber, run.payload, run.pk)
    lost.refresh_from_db()
    late.refresh_from_db()
    assert (lost.status, lost.attempts, len(CALLS)) == ("pending", 2, 1)  # raised again, retried with backoff
    assert (late.status, late.attempts) == ("succeeded", 1)


def run_event_handler_claim_only(run, monkeypatch):
    """Claim the run as a worker would, then 'die' inside the handler (no outcome recorded)."""

    class WorkerDied(BaseException):
        pass

    def dies(event):
        raise WorkerDied

    with monkeypatch.context() as patch:
        patch.setattr("tests.orders.test_event_runs.always_raises", dies)
        with pytest.raises(WorkerDied):
            run_event_handler(run.subscriber, run.payload, run.pk)


def test_succeeded_runs_are_pruned_after_their_retention_failed_ones_kept(org, stocked, dispatched, settings,
                                                                            monkeypatch):
    from orders.services import event_runs

    settings.ORDERS_EVENT_HANDLER_RUN_RETENTION_DAYS = 30
    order = order_in(org, "new")
    runs = EventHandlerRun.objects.filter(order=order)
    now = timezone.now()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    kept = EventHandlerRun.objects.bulk_create([
        EventHandlerRun(org=org, order=order, event="order.held", subscriber=s, status=status, created_at=at)
        for s, status, at in [("a", "failed", old), ("b", "pending", old), ("c", "succeeded", recent)]])
    EventHandlerRun.objects.bulk_create([
        EventHandlerRun(org=org, order=order, event="order.held", subscriber=f"x{i}", status="succeeded",
                        created_at=old) for i in range(5)])
    before = set(runs.exclude(created_at=old).values_list("pk", flat=True))
    monkeypatch.setattr(event_runs, "PRUNE_BATCH", 2)  # three batches
    assert services.event_handler_runs_prune(now=now) == 5
    assert set(runs.values_list("pk", flat=True)) == before | {kept[0].pk, kept[1].pk}
    assert services.event_handler_runs_prune(now=now) == 0
