"""Thin Celery tasks for workflows: they take ids and call one service. Sent by workflows/scheduling.py and beat
(config/beat.py); no task retries itself (the service schedules a run's retries, the beat sweep recovers)."""

from celery import shared_task


@shared_task(name="workflows.tasks.execute_workflow_run", ignore_result=True)
def execute_workflow_run(run_id: int) -> str | None:
    """Run one workflow run (after its delay). Action retries are scheduled by the service itself."""
    from workflows.services import workflow_run_execute

    return workflow_run_execute(run_id=run_id)


@shared_task(name="workflows.tasks.run_due_workflows", ignore_result=True)
def run_due_workflows() -> int:
    """Beat safety net: runs whose eta task was lost (worker restart) still run, once."""
    from workflows.services import workflow_runs_execute_due

    return workflow_runs_execute_due()
