"""Every Celery message the workflows app sends goes through here: services never import `workflows.tasks`.

The retry style is the project's (channels_sync/scheduling.py, docs/decisions.md): no task retries itself. A run's
delay and its retries (WORKFLOW_RETRY_SCHEDULE) are decided by `workflows.services`, written on the run
(`scheduled_for`) and sent from here as a countdown after commit; a run whose message was lost (or whose worker
crashed) is run by beat's "workflows-run-due" sweep.
"""

from __future__ import annotations

from django.db import transaction


def workflow_run(run_id: int, *, countdown: float | None = None) -> None:
    """Execute a run `countdown` seconds after the caller's transaction commits."""
    from workflows.tasks import execute_workflow_run

    transaction.on_commit(lambda: execute_workflow_run.apply_async(args=[run_id], countdown=countdown), robust=True)
