"""Workflows: CRUD, the order-event handler that records runs, and running them.

At most once per workflow, order and event: the handler creates the run with the unique
(workflow, order, event) row, and only the call that created it schedules the execution (Celery
countdown for the delay). Executing locks the run row and does nothing unless it is still open, so
a duplicated task, the beat safety net and a retry can never run a workflow twice.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from orders.events import CHANNEL_ORDER_EVENTS, OrderEvent
from orders.models import Order
from orders.services import order_add_tag
from orders.services.errors import InvalidRequest
from workflows import scheduling
from workflows.actions import ActionFailed, RetryableActionError, post_webhook, send_email
from workflows.conf import workflows_settings
from workflows.models import Workflow, WorkflowRun

logger = logging.getLogger(__name__)
R = WorkflowRun.Status
FIELDS = ("description", "enabled", "trigger_event", "condition_channel", "condition_tag",
          "condition_total_at_least", "delay_seconds", "actions", "signing_secret")


# --- CRUD -------------------------------------------------------------------------------------

def workflow_get(*, org, name: str) -> Workflow:
    workflow = Workflow.objects.filter(org=org, name=name).first()
    if workflow is None:
        raise Http404
    return workflow


def workflow_create(*, org, name: str, **fields) -> Workflow:
    data = {key: value for key, value in fields.items() if key in FIELDS and value is not None}
    try:
        with transaction.atomic():
            return Workflow.objects.create(org=org, name=name, **data)
    except IntegrityError:
        raise InvalidRequest(f"A workflow named {name!r} already exists.", field="name",
                             errors="A workflow with this name already exists.")


def workflow_update(*, org, name: str, **fields) -> Workflow:
    """PUT: every field is replaced; the signing secret only when a new one is given."""
    with transaction.atomic():
        workflow = Workflow.objects.select_for_update().filter(org=org, name=name).first()
        if workflow is None:
            raise Http404
        for key in FIELDS:
            if key in fields and (key != "signing_secret" or fields[key]):
                setattr(workflow, key, fields[key])
        workflow.save()
        return workflow


def workflow_delete(*, org, name: str) -> None:
    deleted, _ = Workflow.objects.filter(org=org, name=name).delete()
    if not deleted:
        raise Http404


# --- events -> runs ---------------------------------------------------------------------------

def org_listens_to(org_id: int, event_name: str) -> bool:
    """orders.events.LISTENS: does the org have an enabled workflow for this event? (A channel order event nobody
    listens to records no handler run.)"""
    return Workflow.objects.filter(org_id=org_id, trigger_event=event_name, enabled=True).exists()


def on_order_event(event: OrderEvent) -> list[int]:
    """Subscribed to every order event (orders.events.SUBSCRIBERS), channel order events included; returns the ids
    of runs it created."""
    workflows = list(Workflow.objects.filter(org_id=event.org_id, trigger_event=event.name, enabled=True))
    if not workflows:
        return []
    if event.name in CHANNEL_ORDER_EVENTS:
        if not event.subject:
            return []
    elif not Order.objects.filter(pk=event.order_id, org_id=event.org_id).exists():
        return []
    created_ids = []
    for workflow in workflows:
        run = workflow_run_record(workflow=workflow, event=event)
        if run is not None:
            created_ids.append(run.pk)
    return created_ids


def workflow_run_record(*, workflow: Workflow, event: OrderEvent, now=None) -> WorkflowRun | None:
    """Create the run and schedule it; None when this workflow already ran (or runs) for this
    order and event: a redelivered event does nothing."""
    now = now or timezone.now()
    scheduled_for = now + timedelta(seconds=workflow.delay_seconds)
    # A channel order event is once per subject (its storefront order, if any, is only context).
    key = ({"subject": event.subject, "order_id": None} if event.name in CHANNEL_ORDER_EVENTS
           else {"order_id": event.order_id})
    with transaction.atomic():
        run, created = WorkflowRun.objects.get_or_create(
            workflow=workflow, event=event.name, **key,
            defaults={"org_id": workflow.org_id, "scheduled_for": scheduled_for, "event_payload": event.to_json(),
                      "results": [{"type": a.get("type"), "outcome": "pending"} for a in workflow.actions]},
        )
        if not created:
            return None
        scheduling.workflow_run(run.pk, countdown=workflow.delay_seconds)
    return run


# --- running ----------------------------------------------------------------------------------

def conditions_unmet(workflow: Workflow, order: Order) -> list[str]:
    unmet = []
    if workflow.condition_channel and order.source.lower() != workflow.condition_channel.lower():
        unmet.append(f"channel is {order.source}, not {workflow.condition_channel}")
    if workflow.condition_tag and not order.tag_rows.filter(name=workflow.condition_tag).exists():
        unmet.append(f"order is not tagged {workflow.condition_tag}")
    if workflow.condition_total_at_least is not None and order.grand_total < workflow.condition_total_at_least:
        unmet.append(f"total {order.grand_total} is below {workflow.condition_total_at_least}")
    return unmet


def channel_conditions_unmet(workflow: Workflow, channel_order: dict) -> list[str]:
    """The conditions, read off the channel order the event carries: channel is its channelId or provider."""
    unmet = []
    channel = workflow.condition_channel.lower()
    if channel and channel not in {str(channel_order.get("channel") or "").lower(),
                                   str(channel_order.get("provider") or "").lower()}:
        unmet.append(f"channel is {channel_order.get('channel')}, not {workflow.condition_channel}")
    if workflow.condition_tag:
        unmet.append("channel orders have no tags")
    total = (channel_order.get("totals") or {}).get("grandTotal")
    if workflow.condition_total_at_least is not None and (total is None or
                                                          Decimal(total) < workflow.condition_total_at_least):
        unmet.append(f"total {total} is below {workflow.condition_total_at_least}")
    return unmet


def webhook_payload(run: WorkflowRun, order: Order | None) -> dict:
    event = run.event_payload
    if order is None:  # a channel order event: the channel order as the API shows it
        data = dict(event.get("data", {}))
        return {"event": run.event, "workflow": run.workflow.name, "runId": run.pk,
                "occurredAt": event.get("occurred_at"), "fromStatus": event.get("from_status") or None,
                "toStatus": event.get("to_status") or None, "channelOrder": data.pop("channelOrder", None),
                "data": data}
    return {
        "event": run.event, "workflow": run.workflow.name, "runId": run.pk, "occurredAt": event.get("occurred_at"),
        "data": event.get("data", {}),
        "order": {"orderNumber": order.order_number, "status": order.status, "source": order.source,
                  "currency": order.currency, "grandTotal": f"{order.grand_total:.2f}",
                  "tags": sorted(tag.name for tag in order.tag_rows.all()),
                  "customer": {"email": order.customer.email, "name": order.customer.name},
                  "createdAt": order.created_at.isoformat().replace("+00:00", "Z")},
    }


def workflow_run_execute(*, run_id: int, now=None) -> str | None:
    """Run the open run's actions that are not done yet; returns the run's new status (None: nothing to do)."""
    now = now or timezone.now()
    with transaction.atomic():
        run = (WorkflowRun.objects.select_for_update(of=("self",)).select_related("workflow")
               .filter(pk=run_id, status__in=WorkflowRun.OPEN).first())
        if run is None or run.scheduled_for > now:
            return None
        workflow = run.workflow
        order = (Order.objects.select_related("customer", "org").filter(pk=run.order_id).first()
                 if run.order_id else None)
        run.started_at = run.started_at or now
        if run.attempts == 0:
            channel_order = (run.event_payload.get("data") or {}).get("channelOrder") or {}
            reasons = (["workflow is disabled"] if not workflow.enabled
                       else conditions_unmet(workflow, order) if order is not None
                       else channel_conditions_unmet(workflow, channel_order))
            if reasons:
                return _close(run, R.SKIPPED, now=now, error="; ".join(reasons))
        run.attempts += 1
        retry, failures = False, []
        results = _align(run.results, workflow.actions)
        for index, (action, result) in enumerate(zip(workflow.actions, results, strict=True)):
            if result["outcome"] in {"done", "failed"}:
                continue
            try:
                result["detail"] = _run_action(run, order, action, index)
                result["outcome"], result["error"] = "done", ""
            except RetryableActionError as exc:
                retry = True
                result["error"] = str(exc)
            except ActionFailed as exc:
                result["outcome"], result["error"] = "failed", str(exc)
            if action.get("type") == "webhook":
                result.setdefault("attempts", []).append({"at": now.isoformat(), "error": result["error"]})
            if result["outcome"] == "failed":
                failures.append(f"{action.get('type')}: {result['error']}")
        run.results = results
        schedule = workflows_settings.WORKFLOW_RETRY_SCHEDULE
        if retry and run.attempts <= len(schedule):
            delay = schedule[run.attempts - 1]
            run.status, run.scheduled_for = R.RETRYING, now + timedelta(seconds=delay)
            run.error = "; ".join(f"{r['type']}: {r['error']}" for r in results if r.get("error"))
            run.save()
            scheduling.workflow_run(run.pk, countdown=delay)
            return run.status
        if retry:
            failures += [f"{r['type']}: {r['error']} (gave up after {run.attempts} attempts)"
                         for r in results if r["outcome"] == "pending"]
        return _close(run, R.FAILED if failures else R.SUCCEEDED, now=now, error="; ".join(failures))


def _align(results: list, actions: list) -> list[dict]:
    """Results line up with actions; a workflow edited after the run was recorded gets fresh entries."""
    results = [dict(r) for r in results or []][: len(actions)]
    results += [{"type": a.get("type"), "outcome": "pending"} for a in actions[len(results):]]
    return results


def _run_action(run: WorkflowRun, order: Order | None, action: dict, index: int) -> str:
    kind = action.get("type")
    if order is None and kind in {"email", "tag"}:
        raise ActionFailed(f"a {kind} action needs a storefront order; {run.event} is about a channel order")
    if kind == "email":
        return send_email(order=order, template=action["template"], dedupe_key=f"workflow-run:{run.pk}:{index}",
                          workflow_name=run.workflow.name)
    if kind == "tag":
        added = order_add_tag(org=order.org, order_number=order.order_number, tag=action["tag"],
                              actor_label=f"workflow:{run.workflow.name}"[:64])
        return "tag added" if added else "tag already present"
    if kind == "webhook":
        attempt = post_webhook(url=action["url"], secret=run.workflow.signing_secret,
                               payload=webhook_payload(run, order), event=run.event,
                               delivery_id=f"{run.pk}-{run.attempts}")
        return f"HTTP {attempt['statusCode']} in {attempt['durationMs']} ms"
    raise ActionFailed(f"unknown action type {kind!r}")


def _close(run: WorkflowRun, status: str, *, now, error: str = "") -> str:
    run.status, run.finished_at, run.error = status, now, error[:4000]
    run.save()
    logger.info("workflow run %s: %s %s", run.pk, status, error)
    return status


def workflow_runs_due(*, now=None, grace_seconds: int = 60, limit: int = 100) -> list[int]:
    """Open runs whose time has passed by more than the grace: their Celery eta task was lost."""
    now = now or timezone.now()
    return list(WorkflowRun.objects.filter(status__in=WorkflowRun.OPEN,
                                           scheduled_for__lte=now - timedelta(seconds=grace_seconds))
                .order_by("scheduled_for").values_list("pk", flat=True)[:limit])


def workflow_runs_execute_due(*, now=None) -> int:
    """Beat's sweep: run, here and once, every open run whose message was lost (or whose worker crashed).
    One run that raises is logged and left for the next sweep; the others still run."""
    ids = workflow_runs_due(now=now)
    for run_id in ids:
        try:
            workflow_run_execute(run_id=run_id)
        except Exception:
            logger.exception("workflow run %s failed in the sweep", run_id)
    return len(ids)
