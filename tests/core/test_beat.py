"""The beat schedule, assembled in config/beat.py: each periodic task and recovery sweep under its own name."""

from django.conf import settings

from config.beat import beat_schedule
from config.celery import app


def test_the_assembled_beat_schedule():
    schedule = {name: (entry["task"], entry["schedule"]) for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
    assert schedule == {
        "heartbeat": ("core.tasks.record_beat_tick", 30.0),
        "channels-sync-poll-due": ("channels_sync.poll_due_channels", 60.0),
        "retry-stuck-webhook-deliveries": ("channels_sync.retry_stuck_webhook_deliveries", 60.0),
        "amazon-notification-queues": ("channels_sync.consume_amazon_notifications", 60.0),
        "retry-due-writebacks": ("channels_sync.retry_due_writebacks", 60.0),
        "retry-due-event-handler-runs": ("orders.tasks.retry_due_event_handler_runs", 60.0),
        "prune-event-handler-runs": ("orders.tasks.prune_event_handler_runs", 3600.0),
        "expire-unpaid-orders": ("orders.tasks.expire_unpaid_orders", 60.0),
        "workflows-run-due": ("workflows.tasks.run_due_workflows", 60.0),
        "subscriptions-bill-due": ("subscriptions.tasks.bill_due_subscriptions", 60.0),
    }


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_the_billing_interval_comes_from_its_setting():
    schedule = beat_schedule({"SUBSCRIPTIONS_BILLING_EVERY_SECONDS": 15})
    assert schedule["subscriptions-bill-due"]["schedule"] == 15.0
