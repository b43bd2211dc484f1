from celery import shared_task
from django.utils import timezone

from core.models import Heartbeat


@shared_task(name="core.tasks.record_beat_tick", ignore_result=True)
def record_beat_tick(sent_at: str | None = None) -> None:
    """Scheduled by beat every 30 s; /health reads the tick to tell whether beat is alive."""
    Heartbeat.objects.update_or_create(name="beat", defaults={"at": timezone.now()})


@shared_task(name="core.tasks.echo")
def echo(value):
    """Round-trip probe: proves a task travels through the broker to a worker and back."""
    return value
