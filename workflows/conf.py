"""Workflow settings: the table (each default declared here once, config/settings.py loads it).
See core/conf.py for how a value is read."""

from core.conf import AppSettings, Setting, as_int_list

workflows_settings = AppSettings(
    # Workflow webhooks go through core.outbound, so ALLOW_PRIVATE_OUTBOUND (core/conf.py) governs them too.
    Setting("WORKFLOW_WEBHOOK_TIMEOUT_SECONDS", 10, int),
    Setting("WORKFLOW_RETRY_SCHEDULE", [30, 120, 600, 3600], as_int_list,
            "Seconds before each retry of a failed workflow run (webhook 5xx/429/network errors)."),
)
