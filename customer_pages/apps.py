from django.apps import AppConfig


class CustomerPagesConfig(AppConfig):
    """The public, server-rendered customer pages. Above orders and tracking: it reads both, and
    nothing imports it (docs/architecture.md)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "customer_pages"
