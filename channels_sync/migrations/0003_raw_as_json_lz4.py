# The raw order documents (kilobytes each) dominate ingest's write cost. They are kept whole and never
# queried inside, so they move to a `json` (text) column, and the large JSON columns use lz4, which
# compresses about twice as fast as PostgreSQL's default pglz (PostgreSQL 14+ built with lz4 only).

from django.db import migrations

import channels_sync.fields
from core.storage import use_lz4_compression

COLUMNS = ("raw", "channel_metadata", "lines")


def use_lz4(apps, schema_editor):
    use_lz4_compression(schema_editor, "channels_sync_aggregatedorder", COLUMNS)


class Migration(migrations.Migration):

    dependencies = [
        ('channels_sync', '0002_encrypt_channel_secrets'),
    ]

    operations = [
        migrations.AlterField(
            model_name='aggregatedorder',
            name='raw',
            field=channels_sync.fields.TextJSONField(blank=True, default=dict, help_text='The order as last fetched, for writeback.'),
        ),
        migrations.RunPython(use_lz4, migrations.RunPython.noop),
    ]
