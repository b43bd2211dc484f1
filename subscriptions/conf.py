"""Subscription settings: the table (each default declared here once, config/settings.py loads it).
See core/conf.py for how a value is read."""

from core.conf import AppSettings, Setting, as_int_list

subscriptions_settings = AppSettings(
    Setting("SUBSCRIPTIONS_RETRY_SCHEDULE", [3600, 21600, 86400], as_int_list,
            "Seconds between billing retries after a refused charge; after the last one the subscription is "
            "past_due."),
    Setting("SUBSCRIPTIONS_BILLING_BATCH", 200, int, "Subscriptions billed per beat run."),
    Setting("SUBSCRIPTIONS_BILLING_EVERY_SECONDS", 60, int, "Beat's billing interval (config/beat.py)."),
)
