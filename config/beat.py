"""The beat schedule, in one place: every periodic task of the hub, named for what it does.

config/settings.py sets CELERY_BEAT_SCHEDULE from `beat_schedule()`. The recovery sweeps (work whose Celery
message was lost: a broker restart, a worker killed mid-task) each have their own entry, so a reader (and
django-celery-beat's admin) sees each one's name, task and interval apart. tests/core/test_beat.py asserts
the table.

Names are kept once deployed: django-celery-beat's DatabaseScheduler stores entries by name, and a renamed entry
would leave its old row running beside the new one.
"""

from __future__ import annotations


def beat_schedule(values: dict) -> dict[str, dict]:
    """`values`: the settings loaded so far (the subscriptions billing interval is one)."""
    return {
        # /health reads the tick to tell whether beat is alive.
        "heartbeat": {"task": "core.tasks.record_beat_tick", "schedule": 30.0},
        # One poll task per enabled channel whose interval has elapsed.
        "channels-sync-poll-due": {"task": "channels_sync.poll_due_channels", "schedule": 60.0},
        # Stored webhook deliveries waiting over a minute (a lost drain) and retries over two minutes late.
        "retry-stuck-webhook-deliveries": {"task": "channels_sync.retry_stuck_webhook_deliveries",
                                           "schedule": 60.0},
        # Amazon's ORDER_CHANGE notifications, read from each app's SQS queue (long polling, up to 50 s a run).
        "amazon-notification-queues": {"task": "channels_sync.consume_amazon_notifications", "schedule": 60.0},
        # Writebacks due for over two minutes whose message was lost.
        "retry-due-writebacks": {"task": "channels_sync.retry_due_writebacks", "schedule": 60.0},
        # Order-event handler runs whose message was lost: pending and due for over two minutes, or running
        # past their lease (a worker died mid-attempt).
        "retry-due-event-handler-runs": {"task": "orders.tasks.retry_due_event_handler_runs", "schedule": 60.0},
        # Succeeded handler runs older than ORDERS_EVENT_HANDLER_RUN_RETENTION_DAYS, deleted in batches.
        "prune-event-handler-runs": {"task": "orders.tasks.prune_event_handler_runs", "schedule": 3600.0},
        # Storefront orders with nothing paid after ORDER_UNPAID_RESERVATION_TTL: cancelled, their stock released.
        "expire-unpaid-orders": {"task": "orders.tasks.expire_unpaid_orders", "schedule": 60.0},
        # Delayed workflow runs whose eta message was lost (or whose worker crashed).
        "workflows-run-due": {"task": "workflows.tasks.run_due_workflows", "schedule": 60.0},
        # Every due subscription, and the retries of refused charges (their time is on the row).
        "subscriptions-bill-due": {"task": "subscriptions.tasks.bill_due_subscriptions",
                                   "schedule": float(values["SUBSCRIPTIONS_BILLING_EVERY_SECONDS"])},
    }
