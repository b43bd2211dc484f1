"""Workflow runs: from order events, at most once, delayed, conditions, and each action's effect."""

import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from orders import services as orders
from orders.models import EmailLog, Order
from tests.workflows.conftest import HOOK_URL, event_for, make_workflow
from workflows.models import Workflow, WorkflowRun
from workflows.services import on_order_event, workflow_run_execute, workflow_runs_due
from workflows.tasks import run_due_workflows


@pytest.fixture(autouse=True)
def _no_private_outbound(settings):
    settings.ALLOW_PRIVATE_OUTBOUND = False
    settings.WORKFLOW_RETRY_SCHEDULE = [30, 120]


def record(event, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return on_order_event(event)


def test_the_storefront_deliver_transition_records_a_run_through_the_event_mechanism(
        org, order, scheduled, monkeypatch, django_capture_on_commit_callbacks):
    from orders.tasks import run_event_handler

    make_workflow(org, delay_seconds=7 * 24 * 3600)
    queued = []
    monkeypatch.setattr(run_event_handler, "apply_async", lambda args, **kw: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_process(org=org, order_number=order.order_number)
        orders.order_ship(org=org, order_number=order.order_number, carrier="ups", tracking_number="1Z999")
        orders.order_deliver(org=org, order_number=order.order_number)
    delivered = [args for args in queued if args[0] == "workflows.services.on_order_event"
                 and args[1]["name"] == "order.delivered"]
    assert len(delivered) == 1
    with django_capture_on_commit_callbacks(execute=True):
        for args in delivered:
            run_event_handler(*args)  # the task body, as the worker runs it
    run = WorkflowRun.objects.get()
    assert (run.order_id, run.event, run.status) == (order.pk, "order.delivered", "scheduled")
    assert scheduled == [(run.pk, 7 * 24 * 3600)]  # the delay is the Celery countdown
    assert run.scheduled_for - run.created_at >= timedelta(days=7) - timedelta(seconds=5)


def test_an_event_delivered_twice_runs_the_workflow_once(org, order, scheduled, django_capture_on_commit_callbacks):
    workflow = make_workflow(org, actions=[{"type": "email", "template": "review_request"}])
    first = record(event_for(order), django_capture_on_commit_callbacks)
    second = record(event_for(order), django_capture_on_commit_callbacks)
    assert len(first) == 1 and second == []
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 1
    assert len(scheduled) == 1
    run_id = scheduled[0][0]
    with django_capture_on_commit_callbacks(execute=True):
        assert workflow_run_execute(run_id=run_id) == "succeeded"
        assert workflow_run_execute(run_id=run_id) is None  # a duplicated task does nothing
    assert len(mail.outbox) == 1
    assert "review" in mail.outbox[0].subject.lower() or order.order_number in mail.outbox[0].subject
    log = EmailLog.objects.get(order=order, kind="review_request")
    assert (log.status, log.to) == ("sent", "buyer@example.com")


def test_only_enabled_workflows_of_the_event_and_org_run(org, other_org, order, scheduled,
                                                         django_capture_on_commit_callbacks):
    make_workflow(org, name="on-ship", trigger_event="order.shipped")
    make_workflow(org, name="off", enabled=False)
    make_workflow(other_org, name="review")
    assert record(event_for(order), django_capture_on_commit_callbacks) == []
    assert not WorkflowRun.objects.exists()


def test_a_delayed_run_waits_for_its_time(org, order, scheduled, django_capture_on_commit_callbacks):
    make_workflow(org, delay_seconds=3600)
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    assert workflow_run_execute(run_id=run_id) is None
    assert WorkflowRun.objects.get(pk=run_id).status == "scheduled"
    later = timezone.now() + timedelta(hours=1, seconds=1)
    assert workflow_run_execute(run_id=run_id, now=later) == "succeeded"


def test_unmet_conditions_skip_the_run_and_say_why(org, order, scheduled, django_capture_on_commit_callbacks):
    make_workflow(org, name="big-amazon", condition_channel="amazon", condition_total_at_least=Decimal("100"),
                  condition_tag="vip")
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    assert workflow_run_execute(run_id=run_id) == "skipped"
    run = WorkflowRun.objects.get(pk=run_id)
    assert "channel is storefront" in run.error and "below 100" in run.error and "vip" in run.error
    assert mail.outbox == []


def test_met_conditions_run_the_actions(org, order, scheduled, django_capture_on_commit_callbacks):
    orders.order_add_tag(org=org, order_number=order.order_number, tag="vip")
    make_workflow(org, condition_channel="storefront", condition_tag="vip",
                  condition_total_at_least=Decimal("20.00"),
                  actions=[{"type": "tag", "tag": "review-requested"}])
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    assert workflow_run_execute(run_id=run_id) == "succeeded"
    assert set(Order.objects.get(pk=order.pk).tag_rows.values_list("name", flat=True)) == {"vip", "review-requested"}
    assert WorkflowRun.objects.get(pk=run_id).results == [{"type": "tag", "outcome": "done", "error": "",
                                                           "detail": "tag added"}]


@responses.activate
def test_webhook_is_signed_with_hmac_sha256_over_the_body(org, order, scheduled, django_capture_on_commit_callbacks):
    responses.post(HOOK_URL, json={"ok": True})
    workflow = make_workflow(org, actions=[{"type": "webhook", "url": HOOK_URL}])
    [run_id] = record(event_for(order, note="x"), django_capture_on_commit_callbacks)
    assert workflow_run_execute(run_id=run_id) == "succeeded"
    [call] = responses.calls
    body = call.request.body
    expected = "sha256=" + hmac.new(workflow.signing_secret.encode(), body, hashlib.sha256).hexdigest()
    assert call.request.headers["X-Ordershub-Signature"] == expected
    assert call.request.headers["X-Ordershub-Event"] == "order.delivered"
    payload = json.loads(body)
    assert payload["order"]["orderNumber"] == order.order_number
    assert (payload["event"], payload["workflow"], payload["data"]) == ("order.delivered", "review", {"note": "x"})
    # a forged body does not match the signature
    forged = body.replace(order.order_number.encode(), b"ORD-0000-0000")
    assert "sha256=" + hmac.new(workflow.signing_secret.encode(), forged, hashlib.sha256).hexdigest() != expected


@responses.activate
def test_webhook_failures_retry_with_backoff_without_repeating_done_actions(
        org, order, scheduled, django_capture_on_commit_callbacks):
    responses.post(HOOK_URL, status=503)
    responses.post(HOOK_URL, status=200)
    make_workflow(org, actions=[{"type": "email", "template": "review_request"}, {"type": "webhook", "url": HOOK_URL}])
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert workflow_run_execute(run_id=run_id, now=now) == "retrying"
    run = WorkflowRun.objects.get(pk=run_id)
    assert run.scheduled_for == now + timedelta(seconds=30) and "HTTP 503" in run.error
    assert scheduled[-1] == (run_id, 30)
    assert workflow_run_execute(run_id=run_id, now=now + timedelta(seconds=29)) is None  # not before the backoff
    assert workflow_run_execute(run_id=run_id, now=now + timedelta(seconds=30)) == "succeeded"
    assert len(responses.calls) == 2
    assert len(mail.outbox) == 1  # the email went out once
    run.refresh_from_db()
    assert [r["outcome"] for r in run.results] == ["done", "done"] and run.attempts == 2
    assert len(run.results[1]["attempts"]) == 2


@responses.activate
def test_webhook_gives_up_after_the_last_retry(org, order, scheduled, django_capture_on_commit_callbacks):
    responses.post(HOOK_URL, status=500)
    make_workflow(org, actions=[{"type": "webhook", "url": HOOK_URL}])
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    now = timezone.now()
    assert workflow_run_execute(run_id=run_id, now=now) == "retrying"
    assert workflow_run_execute(run_id=run_id, now=now + timedelta(seconds=30)) == "retrying"
    assert workflow_run_execute(run_id=run_id, now=now + timedelta(seconds=150)) == "failed"
    run = WorkflowRun.objects.get(pk=run_id)
    assert "gave up after 3 attempts" in run.error and run.finished_at is not None
    assert len(responses.calls) == 3


@responses.activate
def test_webhook_4xx_fails_at_once(org, order, scheduled, django_capture_on_commit_callbacks):
    responses.post(HOOK_URL, status=410)
    make_workflow(org, actions=[{"type": "webhook", "url": HOOK_URL}])
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    assert workflow_run_execute(run_id=run_id) == "failed"
    assert "HTTP 410" in WorkflowRun.objects.get(pk=run_id).error


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765/hook", "http://169.254.169.254/latest", "http://10.0.0.5/x",
                                 "http://[::1]/hook"])
@responses.activate
def test_webhook_to_private_addresses_is_refused_unless_allowed(org, order, scheduled, settings, url,
                                                                django_capture_on_commit_callbacks):
    responses.post(url, status=200)
    make_workflow(org, actions=[{"type": "webhook", "url": url}])
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    assert workflow_run_execute(run_id=run_id) == "failed"
    assert "refused" in WorkflowRun.objects.get(pk=run_id).error
    assert len(responses.calls) == 0
    settings.ALLOW_PRIVATE_OUTBOUND = True
    other = make_workflow(org, name="allowed", actions=[{"type": "webhook", "url": url}])
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    assert WorkflowRun.objects.get(pk=run_id).workflow == other
    assert workflow_run_execute(run_id=run_id) == "succeeded"
    assert len(responses.calls) == 1


@responses.activate
def test_a_host_resolving_to_a_private_address_is_refused(org, order, scheduled, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    monkeypatch.setattr("core.outbound.resolve", lambda host: ["93.184.215.14", "192.168.1.20"])
    make_workflow(org, actions=[{"type": "webhook", "url": "https://hooks.example.com/x"}])
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    assert workflow_run_execute(run_id=run_id) == "failed"
    assert "192.168.1.20" in WorkflowRun.objects.get(pk=run_id).error
    assert len(responses.calls) == 0


def test_a_workflow_disabled_before_its_delay_ran_out_is_skipped(org, order, scheduled,
                                                                 django_capture_on_commit_callbacks):
    workflow = make_workflow(org)
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    Workflow.objects.filter(pk=workflow.pk).update(enabled=False)
    assert workflow_run_execute(run_id=run_id) == "skipped"
    assert mail.outbox == []


def test_the_beat_safety_net_runs_overdue_runs_once(org, order, scheduled, django_capture_on_commit_callbacks):
    make_workflow(org)
    [run_id] = record(event_for(order), django_capture_on_commit_callbacks)
    WorkflowRun.objects.filter(pk=run_id).update(scheduled_for=timezone.now() - timedelta(minutes=5))
    assert workflow_runs_due() == [run_id]
    assert run_due_workflows() == 1
    assert run_due_workflows() == 0
    assert WorkflowRun.objects.get(pk=run_id).status == "succeeded"
    assert len(mail.outbox) == 1


def test_seed_demo_workflows_is_idempotent(org):
    from accounts.models import Org

    demo = Org.objects.create(slug="demo", name="Demo Store")
    call_command("seed_demo_workflows")
    call_command("seed_demo_workflows")
    workflow = Workflow.objects.get(org=demo)
    assert (workflow.name, workflow.trigger_event, workflow.delay_seconds) == (
        "review-request", "order.delivered", 7 * 24 * 3600)
    assert workflow.actions[0] == {"type": "email", "template": "review_request"}
