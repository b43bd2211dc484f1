from django.apps import AppConfig
from django.core.signals import setting_changed


class CoreConfig(AppConfig):
    """Cross-cutting infrastructure: API conventions, health, heartbeats, secrets at rest."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"

    def ready(self):
        from core import crypto
        from core.api import dates

        dates.install()
        setting_changed.connect(_reset_keys_on_change, dispatch_uid="core-reset-field-keys")
        crypto.fernet.cache_clear()


def _reset_keys_on_change(*, setting, **kwargs):
    if setting == "FIELD_ENCRYPTION_KEYS":
        from core import crypto

        crypto.reset_keys()
