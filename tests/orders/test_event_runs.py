"""Each handler run of an order event is a row: created with the event, updated by every attempt, failed (error
kept) once its retries are spent, and retryable from the admin."""

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction

from orders import events, services
from orders.models import EventHandlerRun
from orders.tasks import run_event_handler
from tests.accounts.factories import MembershipFactory, OrgFactory, UserFactory
from tests.orders.factories import order_in

BROKEN = "tests.orders.test_event_runs.always_raises"
CALLS: list = []


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


def test_a_handler_that_always_raises_ends_failed_with_its_error_then_admin_retry_requeues_it(
        org, stocked, broken, dispatched, client, django_capture_on_commit_callbacks):
    order = order_in(org, "new")
    dispatched.calls.clear()
    dispatched.run_ids.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.order_process(org=org, order_number=order.order_number)
    [(handler, run_id)] = dispatched.run_ids
    run = EventHandlerRun.objects.get(pk=run_id)
    assert handler == BROKEN and run.status == "pending"

    # as a worker would run it: Celery's automatic retries, run at once (eager), until max_retries is spent
    result = run_event_handler.apply(args=[handler, run.payload, run_id])
    assert result.failed()
    run.refresh_from_db()
    max_attempts = run_event_handler.max_retries + 1
    assert len(CALLS) == max_attempts
    assert (run.status, run.attempts) == ("failed", max_attempts)
    assert run.last_error == f"RuntimeError: the handler broke on {order.order_number}" and run.finished_at

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
                                                                  "_selected_action": [run_id]})
    assert response.status_code == 302
    assert dispatched.run_ids == [(BROKEN, run_id)]
    run.refresh_from_db()
    assert (run.status, run.attempts, run.last_error) == ("pending", max_attempts, run.last_error)
    # only failed runs are retried
    assert services.event_handler_runs_retry(run_ids=[run_id]) == 0
