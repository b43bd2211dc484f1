"""At most once under real concurrency (PostgreSQL, threads on their own connections)."""

import pytest
import responses

from tests.concurrency import at_once, results_and_errors
from tests.workflows.conftest import HOOK_URL, event_for, make_workflow
from workflows.models import WorkflowRun
from workflows.services import on_order_event, workflow_run_execute

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@responses.activate
def test_the_same_event_delivered_to_four_workers_runs_the_workflow_once(org, order, scheduled, settings):
    settings.ALLOW_PRIVATE_OUTBOUND = False
    responses.post(HOOK_URL, json={"ok": True})
    make_workflow(org, actions=[{"type": "webhook", "url": HOOK_URL}])
    event = event_for(order)
    results, errors = results_and_errors(at_once([lambda: on_order_event(event)] * 4))
    assert errors == []
    created = [run_id for ids in results for run_id in ids]
    assert len(created) == 1 and WorkflowRun.objects.count() == 1
    assert len(scheduled) == 1  # only the delivery that created the run scheduled it
    outcomes, errors = results_and_errors(at_once([lambda: workflow_run_execute(run_id=created[0])] * 3))
    assert errors == []
    assert sorted(outcomes, key=str) == [None, None, "succeeded"]
    assert len(responses.calls) == 1
