from django.apps import AppConfig


class ChannelsSyncConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels_sync"
    verbose_name = "Channel sync"  # the admin's section title (not "Channels_Sync")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from channels_sync.models import Channel
        from channels_sync.services.webhooks import route_cache_clear

        # Cache invalidation only (no business effect): webhook routing answers are cached per process.
        post_save.connect(route_cache_clear, sender=Channel, dispatch_uid="channels_sync-route-cache-save")
        post_delete.connect(route_cache_clear, sender=Channel, dispatch_uid="channels_sync-route-cache-delete")
