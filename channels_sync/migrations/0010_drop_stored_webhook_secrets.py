# Deliveries stored before the receiver dropped proof headers (issue 15, item 15) still hold their signatures and
# relay secrets: drop them in place. The word list is a frozen copy of channels_sync.services.webhooks'
# SECRET_HEADER_WORDS (a migration must not follow later edits), plus each provider's own signature headers and
# an Amazon channel's configured relay header.

from django.db import migrations

WORDS = ("signature", "hmac", "secret", "authorization", "cookie", "token", "api-key", "apikey", "password")
PROVIDER_HEADERS = {"x-shopify-hmac-sha256", "x-wc-webhook-signature", "x-ebay-signature", "x-relay-secret"}


def drop_secret_headers(apps, schema_editor):
    Channel = apps.get_model("channels_sync", "Channel")
    WebhookDelivery = apps.get_model("channels_sync", "WebhookDelivery")
    custom = {}
    for channel in Channel.objects.filter(provider="amazon").only("pk", "config"):
        header = (channel.config or {}).get("relaySecretHeader")
        if header:
            custom[channel.pk] = str(header).lower()
    rows = WebhookDelivery.objects.only("pk", "channel_id", "headers").order_by("pk")
    for delivery in rows.iterator(chunk_size=500):
        headers = delivery.headers or {}
        kept = {name: value for name, value in headers.items()
                if (lowered := name.lower()) not in PROVIDER_HEADERS and lowered != custom.get(delivery.channel_id)
                and not any(word in lowered for word in WORDS)}
        if kept != headers:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(headers=kept)


class Migration(migrations.Migration):

    dependencies = [
        ("channels_sync", "0009_aggregated_order_discount"),
    ]

    operations = [
        migrations.RunPython(drop_secret_headers, migrations.RunPython.noop),
    ]
