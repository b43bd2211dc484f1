# Shipment and ShipmentLine move from `tracking` to `orders` (issue 14: tracking depends on orders, never
# the reverse). Only Django's model state moves: the tables keep their names (Meta.db_table) and every
# row, constraint and index stays where it is. tracking/0003 removes the models from tracking's state.

import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models

MOVED = ("shipment", "shipmentline")


def move_content_types(apps, schema_editor, source="tracking", target="orders"):
    """Keep the content type rows (and so the permissions and admin history attached to them)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    rows = ContentType.objects.using(schema_editor.connection.alias)
    for model in MOVED:
        if not rows.filter(app_label=target, model=model).exists():
            rows.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="orders", target="tracking")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('orders', '0001_initial'),
        ('tracking', '0002_scans_providers_branding'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Shipment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('carrier', models.CharField(max_length=32)),
                        ('tracking_number', models.CharField(db_index=True, max_length=100)),
                        ('service', models.CharField(blank=True, max_length=64)),
                        ('cost', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12)),
                        ('currency', models.CharField(default='USD', max_length=3)),
                        ('status', models.CharField(default='label_created', max_length=32)),
                        ('ship_date', models.DateTimeField()),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('provider', models.CharField(blank=True, help_text='Blank: the default tracking provider.', max_length=32)),
                        ('provider_ref', models.CharField(blank=True, help_text="The provider's id, e.g. EasyPost trk_...", max_length=100)),
                        ('raw_status', models.CharField(blank=True, max_length=64)),
                        ('public_tracking_url', models.URLField(blank=True, max_length=500)),
                        ('status_updated_at', models.DateTimeField(blank=True, null=True)),
                        ('order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shipments', to='orders.order')),
                        ('org', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shipments', to='accounts.org')),
                    ],
                    options={
                        'db_table': 'tracking_shipment',
                        'ordering': ['ship_date', 'id'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('cost__gte', 0)), name='shipment_cost_non_negative')],
                    },
                ),
                migrations.CreateModel(
                    name='ShipmentLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('sku', models.CharField(max_length=100)),
                        ('quantity', models.PositiveIntegerField()),
                        ('order_line', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shipment_lines', to='orders.orderline')),
                        ('shipment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='orders.shipment')),
                    ],
                    options={
                        'db_table': 'tracking_shipmentline',
                        'ordering': ['id'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('quantity__gt', 0)), name='shipment_line_quantity_positive')],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
