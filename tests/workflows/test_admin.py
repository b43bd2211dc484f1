"""Admin shows workflows and every recorded run with its outcome and error."""

from django.test import Client

from tests.accounts.factories import MembershipFactory, UserFactory
from tests.workflows.conftest import event_for, make_workflow
from workflows.services import on_order_event, workflow_run_execute


def test_runs_with_outcome_and_error_in_admin(org, order, scheduled, django_capture_on_commit_callbacks, settings):
    settings.ALLOW_PRIVATE_OUTBOUND = False
    make_workflow(org, name="hook", actions=[{"type": "webhook", "url": "http://127.0.0.1:1/x"}])
    with django_capture_on_commit_callbacks(execute=True):
        [run_id] = on_order_event(event_for(order))
    workflow_run_execute(run_id=run_id)
    user = UserFactory(is_staff=True, is_superuser=True)
    MembershipFactory(user=user, org=org)
    client = Client()
    client.force_login(user)
    listing = client.get("/admin/workflows/workflowrun/")
    assert listing.status_code == 200 and b"Failed" in listing.content
    detail = client.get(f"/admin/workflows/workflowrun/{run_id}/change/")
    assert detail.status_code == 200 and b"refused" in detail.content
    assert client.get("/admin/workflows/workflow/").status_code == 200
