from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "backoffice"
    verbose_name = "Back office"

    def ready(self):
        from django.db.models.signals import post_migrate, pre_migrate

        from backoffice.schema import create_view, drop_view

        # Schema only (the order list's view), no business effect: see backoffice/schema.py.
        pre_migrate.connect(drop_view, sender=self, dispatch_uid="backoffice-drop-view")
        post_migrate.connect(create_view, sender=self, dispatch_uid="backoffice-create-view")
