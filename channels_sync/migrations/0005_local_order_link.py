"""The link from a channel order to its storefront order becomes a column (was the JSON key `data.localOrderId`,
looked up on every ship event): a nullable one-to-one foreign key, filled here from the JSON (order number + org)."""

import django.db.models.deletion
from django.db import migrations, models


def link_from_json(apps, schema_editor):
    AggregatedOrder = apps.get_model("channels_sync", "AggregatedOrder")
    Order = apps.get_model("orders", "Order")
    taken = set()
    rows = AggregatedOrder.objects.filter(data__has_key="localOrderId").only("pk", "org_id", "data")
    for row in rows.iterator(chunk_size=500):
        data = dict(row.data or {})
        number = data.pop("localOrderId", None)
        local_id = (Order.objects.filter(org_id=row.org_id, order_number=number).values_list("pk", flat=True)
                    .first() if number else None)
        if local_id in taken:
            local_id = None
        taken.add(local_id)
        AggregatedOrder.objects.filter(pk=row.pk).update(local_order_id=local_id, data=data)


def link_to_json(apps, schema_editor):
    AggregatedOrder = apps.get_model("channels_sync", "AggregatedOrder")
    rows = AggregatedOrder.objects.filter(local_order__isnull=False).select_related("local_order")
    for row in rows.iterator(chunk_size=500):
        AggregatedOrder.objects.filter(pk=row.pk).update(
            data={**(row.data or {}), "localOrderId": row.local_order.order_number})


class Migration(migrations.Migration):

    dependencies = [
        ("channels_sync", "0004_fewer_write_indexes"),
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="aggregatedorder",
            name="local_order",
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                       related_name="channel_order", to="orders.order"),
        ),
        migrations.AlterField(
            model_name="aggregatedorder",
            name="data",
            field=models.JSONField(blank=True, default=dict, help_text="Our own notes, e.g. localOrderError."),
        ),
        migrations.RunPython(link_from_json, link_to_json),
    ]
