from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "workflows"

    def ready(self):
        from orders import events

        # Every order event: the handler looks up the org's enabled workflows for it.
        events.subscribe(events.ALL, "workflows.services.on_order_event")
