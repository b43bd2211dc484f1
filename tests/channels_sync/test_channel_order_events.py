"""Issue 18: channel order events are workflow triggers, so an API consumer receives them as signed webhooks
through the workflow webhook action (channels_sync publishes through orders.events; workflows listens)."""

import hashlib
import hmac
import json

import pytest
import responses

from channels_sync.models import AggregatedOrder, Writeback
from channels_sync.services import ingest, order_status_update, writeback_attempt
from orders.models import EventHandlerRun
from orders.services.event_runs import event_handler_deliver
from tests.channels_sync.fake_provider import raw_order
from workflows.models import Workflow, WorkflowRun
from workflows.services import workflow_run_execute

HOOK_URL = "https://93.184.215.14/hooks/channel-orders"  # a public address: no DNS needed


def _workflow(org, trigger, name="to-erp"):
    return Workflow.objects.create(org=org, name=name, trigger_event=trigger,
                                   actions=[{"type": "webhook", "url": HOOK_URL}])


def _deliver(event_name) -> list[int]:
    """What the worker does with the recorded handler runs: run each once; the workflow runs it created."""
    before = set(WorkflowRun.objects.values_list("pk", flat=True))
    for run in EventHandlerRun.objects.filter(event=event_name, status="pending"):
        event_handler_deliver(handler_path=run.subscriber, payload=run.payload, run_id=run.pk)
        run.refresh_from_db()
        assert run.status == "succeeded", run.last_error
    return sorted(set(WorkflowRun.objects.values_list("pk", flat=True)) - before)


@responses.activate
def test_writeback_failed_reaches_a_workflow_webhook_signed(org, channel):
    ingest(channel=channel, raw_orders=[raw_order(501, status="paid", total="42.00")])
    order = AggregatedOrder.objects.get(channel_order_id="501")
    workflow = _workflow(org, "channel_order.writeback_failed")
    responses.post("https://fake.example/orders/501/fulfillments.json", status=422,
                   json={"errors": "tracking number is invalid"})
    hook = responses.post(HOOK_URL, json={"ok": True})

    writeback = order_status_update(order=order, status="shipped", tracking_number="1Z999", carrier="ups")
    assert writeback_attempt(writeback_pk=writeback.pk) is None  # a 4xx: no retry, failed for good
    assert Writeback.objects.get(pk=writeback.pk).status == "failed"

    [run_id] = _deliver("channel_order.writeback_failed")
    assert workflow_run_execute(run_id=run_id) == "succeeded"
    [call] = hook.calls
    body = call.request.body
    assert call.request.headers["X-Ordershub-Signature"] == (
        "sha256=" + hmac.new(workflow.signing_secret.encode(), body, hashlib.sha256).hexdigest())
    assert call.request.headers["X-Ordershub-Event"] == "channel_order.writeback_failed"
    payload = json.loads(body)
    assert payload["event"] == "channel_order.writeback_failed" and payload["workflow"] == "to-erp"
    sent = payload["channelOrder"]
    assert (sent["orderId"], sent["channel"], sent["channelOrderNumber"]) == (order.public_id, "shop-main", "#501")
    assert sent["status"] == "shipped" and sent["trackingNumber"] == "1Z999" and sent["provider"] == "fakeshop"
    assert sent["writeback"]["status"] == "failed" and "422" in sent["writeback"]["lastError"]
    assert payload["data"]["writeback"]["id"] == writeback.public_id
    assert payload["data"]["writeback"]["targetStatus"] == "shipped"


@responses.activate
def test_writeback_succeeded_and_status_changed_are_triggers_too(org, channel):
    ingest(channel=channel, raw_orders=[raw_order(502, status="paid")])
    order = AggregatedOrder.objects.get(channel_order_id="502")
    _workflow(org, "channel_order.writeback_succeeded", name="done")
    _workflow(org, "channel_order.status_changed", name="moved")
    responses.post("https://fake.example/orders/502/fulfillments.json", json={"id": 77})
    hook = responses.post(HOOK_URL, json={"ok": True})
    writeback = order_status_update(order=order, status="shipped", tracking_number="1Z1", carrier="ups")
    writeback_attempt(writeback_pk=writeback.pk)
    runs = _deliver("channel_order.status_changed") + _deliver("channel_order.writeback_succeeded")
    assert [workflow_run_execute(run_id=r) for r in runs] == ["succeeded", "succeeded"]
    sent = [json.loads(c.request.body) for c in hook.calls]
    assert [(p["event"], p["fromStatus"], p["toStatus"]) for p in sent] == [
        ("channel_order.status_changed", "processing", "shipped"),
        ("channel_order.writeback_succeeded", None, "shipped")]


def test_ingest_publishes_created_and_status_changes_once_each(org, channel):
    _workflow(org, "channel_order.created", name="new")
    _workflow(org, "channel_order.status_changed", name="moved")
    ingest(channel=channel, raw_orders=[raw_order(601), raw_order(602)])
    ingest(channel=channel, raw_orders=[raw_order(601, status="fulfilled", updated="2026-01-02T10:00:00Z"),
                                        raw_order(602, updated="2026-01-02T10:00:00Z")])  # 602: same status
    created = _deliver("channel_order.created")
    changed = _deliver("channel_order.status_changed")
    assert len(created) == 2 and len(changed) == 1
    run = WorkflowRun.objects.get(pk=changed[0])
    assert run.order_id is None and run.event_payload["data"]["channelOrder"]["channelOrderId"] == "601"
    assert (run.event_payload["from_status"], run.event_payload["to_status"]) == ("processing", "shipped")
    # the same event delivered again records nothing new
    for handler_run in EventHandlerRun.objects.filter(event="channel_order.created"):
        EventHandlerRun.objects.filter(pk=handler_run.pk).update(status="pending")
    assert _deliver("channel_order.created") == []


def test_no_listening_workflow_records_no_handler_runs(org, channel, other_org):
    _workflow(other_org, "channel_order.created")  # another org's workflow does not count
    Workflow.objects.create(org=org, name="off", trigger_event="channel_order.created", enabled=False,
                            actions=[{"type": "webhook", "url": HOOK_URL}])
    ingest(channel=channel, raw_orders=[raw_order(i) for i in range(700, 720)])
    assert not EventHandlerRun.objects.filter(event__startswith="channel_order.").exists()


@pytest.mark.parametrize("actions, ok", [([{"type": "webhook", "url": HOOK_URL}], True),
                                         ([{"type": "email", "template": "review_request"}], False),
                                         ([{"type": "tag", "tag": "vip"}], False)])
def test_api_accepts_channel_triggers_with_webhook_actions_only(owner, actions, ok):
    response = owner.client.post("/storefront/workflows/order-management",
                                 {"name": "hook", "trigger": "channel_order.writeback_failed", "actions": actions},
                                 format="json")
    assert response.status_code == (201 if ok else 400), response.content
    if not ok:
        assert "actions" in response.json()["error"]["details"]
