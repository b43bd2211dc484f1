from django.apps import AppConfig


class ChannelsSyncConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels_sync"

    def ready(self):
        from orders import events

        # A shipped storefront order that came from a channel tells the channel (with its tracking).
        events.subscribe("order.shipped", "channels_sync.services.storefront_link.on_order_shipped")
