from django.apps import apps

# Rows every stored thing lands in. WebhookRejection is left out on purpose: counting refused
# signatures per channel and day is what it is for (shown on the channel as rejectedWebhooks).
STORED_APPS = ("accounts", "orders", "channels_sync", "tracking", "subscriptions", "workflows")
COUNTED_ELSEWHERE = {"channels_sync.webhookrejection"}


def row_counts() -> dict[str, int]:
    counts = {}
    for label in STORED_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.label_lower not in COUNTED_ELSEWHERE:
                counts[model._meta.label_lower] = model.objects.count()
    return counts


def changed(before: dict[str, int]) -> dict[str, tuple[int, int]]:
    after = row_counts()
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}
