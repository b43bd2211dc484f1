"""Thin Celery tasks for workflows: they take ids and call the services."""

from celery import shared_task


@shared_task(name="workflows.tasks.execute_workflow_run", ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=5, retry_backoff_max=600, retry_jitter=True, max_retries=5)
def execute_workflow_run(run_id: int) -> str | None:
    """Run one workflow run (after its delay). Action retries are scheduled by the service itself."""
    from workflows.services import workflow_run_execute

    return workflow_run_execute(run_id=run_id)


@shared_task(name="workflows.tasks.run_due_workflows", ignore_result=True)
def run_due_workflows() -> int:
    """Beat safety net: runs whose eta task was lost (worker restart) still run, once."""
    from workflows.services import workflow_run_execute, workflow_runs_due

    ids = workflow_runs_due()
    for run_id in ids:
        workflow_run_execute(run_id=run_id)
    return len(ids)
