# Workflow signing secrets move to an encrypted column (core.fields), like channel secrets: rows written before
# this migration hold clear text, encrypted in place here. A value that already decrypts is left alone, so the
# migration can run twice.

from django.db import migrations

import core.fields
import workflows.models


def encrypt_existing(apps, schema_editor):
    from core import crypto

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, signing_secret FROM workflows_workflow")
        for pk, secret in cursor.fetchall():
            if not secret:
                continue
            try:
                crypto.decrypt(secret)
                continue
            except (crypto.InvalidToken, ValueError, TypeError):
                pass
            cursor.execute("UPDATE workflows_workflow SET signing_secret = %s WHERE id = %s",
                           [crypto.encrypt(secret), pk])


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='workflow',
            name='signing_secret',
            field=core.fields.EncryptedTextField(default=workflows.models.new_signing_secret, help_text='HMAC-SHA256 key of the webhook signature header'),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
    ]
