from django.apps import AppConfig


class TrackingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracking"

    def ready(self):
        from orders import events

        events.subscribe("order.shipped", "tracking.handlers.on_order_shipped")
        events.subscribe("order.partially_shipped", "tracking.handlers.on_order_shipped")
