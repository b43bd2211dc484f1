# Shipment, ShipmentLine (now in orders) and OrgBranding (now in accounts) leave tracking's model state.
# Nothing happens in the database: the tables are the moved models' tables (same db_table); ScanEvent's
# foreign key keeps pointing at the same table, now known as orders.Shipment.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_orgbranding_from_tracking'),
        ('orders', '0002_shipments_from_tracking'),
        ('tracking', '0002_scans_providers_branding'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='scanevent',
                    name='shipment',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='scans', to='orders.shipment'),
                ),
                migrations.DeleteModel(name='ShipmentLine'),
                migrations.DeleteModel(name='Shipment'),
                migrations.DeleteModel(name='OrgBranding'),
            ],
        ),
    ]
