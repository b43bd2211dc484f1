"""The workflow endpoints: CRUD, validation, runs in the API, roles and tenancy."""

from django.core import mail

from tests.api import assert_tenant_isolation
from tests.workflows.conftest import HOOK_URL, event_for, make_workflow
from workflows.models import Workflow, WorkflowRun
from workflows.services import on_order_event, workflow_run_execute

BASE = "/storefront/workflows/order-management"
REVIEW = {
    "name": "review-request", "trigger": "order.delivered", "delaySeconds": 604800,
    "conditions": {"channel": "storefront", "totalAtLeast": "10"},
    "actions": [{"type": "email", "template": "review_request"}, {"type": "webhook", "url": HOOK_URL},
                {"type": "tag", "tag": "review-requested"}],
}


def test_create_list_get_put_delete(manager):
    created = manager.client.post(BASE, REVIEW, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["signingSecret"].startswith("whsec_")
    assert (body["name"], body["enabled"], body["trigger"], body["delaySeconds"]) == (
        "review-request", True, "order.delivered", 604800)
    assert body["conditions"] == {"channel": "storefront", "tag": "", "totalAtLeast": "10.00"}
    assert [a["type"] for a in body["actions"]] == ["email", "webhook", "tag"]
    assert manager.client.post(BASE, REVIEW, format="json").status_code == 400  # the name is taken
    listed = manager.client.get(BASE).json()
    assert [w["name"] for w in listed["results"]] == ["review-request"]
    assert "signingSecret" not in str(listed)
    detail = manager.client.get(f"{BASE}/review-request").json()
    assert detail["recentRuns"] == [] and "signingSecret" not in detail
    secret = Workflow.objects.get().signing_secret
    replaced = manager.client.put(f"{BASE}/review-request", {
        "trigger": "order.shipped", "enabled": False, "actions": [{"type": "tag", "tag": "shipped"}]}, format="json")
    assert replaced.status_code == 200, replaced.content
    body = replaced.json()
    assert (body["name"], body["trigger"], body["enabled"], body["delaySeconds"]) == (
        "review-request", "order.shipped", False, 0)
    assert body["conditions"] == {"channel": "", "tag": "", "totalAtLeast": None}
    assert Workflow.objects.get().signing_secret == secret  # kept unless a new one is given
    assert manager.client.delete(f"{BASE}/review-request").status_code == 204
    assert manager.client.get(f"{BASE}/review-request").status_code == 404
    assert not Workflow.objects.exists()


def test_validation_errors_are_400_with_field_details(manager, settings):
    settings.ALLOW_PRIVATE_OUTBOUND = False
    cases = [
        ({**REVIEW, "trigger": "order.exploded"}, "trigger"),
        ({**REVIEW, "actions": []}, "actions"),
        ({**REVIEW, "actions": [{"type": "sms", "to": "x"}]}, "actions"),
        ({**REVIEW, "actions": [{"type": "webhook"}]}, "actions"),
        ({**REVIEW, "actions": [{"type": "email", "template": "no_such_template"}]}, "actions"),
        ({**REVIEW, "actions": [{"type": "email", "template": "../emails/confirmation"}]}, "actions"),
        ({**REVIEW, "actions": [{"type": "webhook", "url": "http://127.0.0.1:9000/hook"}]}, "actions"),
        ({**REVIEW, "actions": [{"type": "webhook", "url": "http://169.254.169.254/latest"}]}, "actions"),
        ({**REVIEW, "delaySeconds": -1}, "delaySeconds"),
        ({**REVIEW, "name": "Not a slug!"}, "name"),
    ]
    for body, field in cases:
        response = manager.client.post(BASE, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["error"]["details"], (field, response.json())
    assert not Workflow.objects.exists()
    settings.ALLOW_PRIVATE_OUTBOUND = True
    local = {**REVIEW, "actions": [{"type": "webhook", "url": "http://127.0.0.1:9000/hook"}]}
    assert manager.client.post(BASE, local, format="json").status_code == 201


def test_runs_are_shown_in_the_workflow_api(manager, order, scheduled, django_capture_on_commit_callbacks):
    make_workflow(manager.org, name="review", actions=[{"type": "email", "template": "review_request"}])
    with django_capture_on_commit_callbacks(execute=True):
        [run_id] = on_order_event(event_for(order))
    assert manager.client.get(f"{BASE}/review").json()["recentRuns"][0]["status"] == "scheduled"
    workflow_run_execute(run_id=run_id)
    [run] = manager.client.get(f"{BASE}/review").json()["recentRuns"]
    assert (run["orderNumber"], run["event"], run["status"], run["error"]) == (
        order.order_number, "order.delivered", "succeeded", "")
    assert run["finishedAt"] and run["results"][0]["outcome"] == "done"
    runs = manager.client.get(f"{BASE}/review/runs").json()
    assert runs["total"] == 1 and runs["results"][0]["id"] == run_id
    assert len(mail.outbox) == 1


def test_viewer_reads_but_cannot_write(viewer):
    make_workflow(viewer.org, name="review")
    assert viewer.client.get(BASE).status_code == 200
    assert viewer.client.post(BASE, REVIEW, format="json").status_code == 403
    assert viewer.client.delete(f"{BASE}/review").status_code == 403
    assert Workflow.objects.filter(name="review").exists()


def test_tenant_isolation(org, order, other_owner, scheduled, django_capture_on_commit_callbacks):
    workflow = make_workflow(org, name="review")
    with django_capture_on_commit_callbacks(execute=True):
        on_order_event(event_for(order))
    make_workflow(other_owner.org, name="theirs")
    assert_tenant_isolation(
        other_owner,
        list_urls=[BASE],
        foreign_ids=["review"],
        id_field="name",
        detail_urls=[f"{BASE}/review", f"{BASE}/review/runs"],
        write_calls=[("put", f"{BASE}/review", {**REVIEW, "name": "review"}), ("delete", f"{BASE}/review", None)],
    )
    workflow.refresh_from_db()
    assert (workflow.trigger_event, workflow.actions) == ("order.delivered",
                                                         [{"type": "email", "template": "review_request"}])
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 1
    # org B may use the same name: names are per org
    assert other_owner.client.get(f"{BASE}/theirs").status_code == 200
