from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting infrastructure: API conventions, health, heartbeats."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
