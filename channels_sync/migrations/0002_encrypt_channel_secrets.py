# Channel credentials and webhook secrets move to encrypted columns (core.fields); rows written
# before this migration hold clear text, which is encrypted in place here.

import json

from django.db import migrations

import core.fields


def encrypt_existing(apps, schema_editor):
    from core import crypto

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, config, webhook_secret FROM channels_sync_channel")
        rows = cursor.fetchall()
        for pk, config, secret in rows:
            updates = {}
            if config and not str(config).startswith("gAAAAA"):
                text = config if isinstance(config, str) else json.dumps(config)
                updates["config"] = crypto.encrypt(json.dumps(json.loads(text), sort_keys=True))
            if secret and not str(secret).startswith("gAAAAA"):
                updates["webhook_secret"] = crypto.encrypt(secret)
            if updates:
                assignments = ", ".join(f"{column} = %s" for column in updates)
                cursor.execute(f"UPDATE channels_sync_channel SET {assignments} WHERE id = %s",
                               [*updates.values(), pk])


class Migration(migrations.Migration):

    dependencies = [
        ('channels_sync', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='channel',
            name='config',
            field=core.fields.EncryptedJSONField(blank=True, default=dict, help_text='baseUrl and credentials; secrets are write-only.'),
        ),
        migrations.AlterField(
            model_name='channel',
            name='webhook_secret',
            field=core.fields.EncryptedTextField(blank=True, default=''),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
    ]
