# OrgBranding moves from `tracking` to `accounts` (issue 14: the public pages read it, tracking does not).
# Only Django's model state moves: the table keeps its name (Meta.db_table) and its rows.
# tracking/0003 removes the model from tracking's state.

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor, source="tracking", target="accounts"):
    """Keep the content type row (and so the permissions and admin history attached to it)."""
    rows = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
    if not rows.filter(app_label=target, model="orgbranding").exists():
        rows.filter(app_label=source, model="orgbranding").update(app_label=target)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="accounts", target="tracking")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('tracking', '0002_scans_providers_branding'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='OrgBranding',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('display_name', models.CharField(blank=True, help_text="Defaults to the org's name.", max_length=200)),
                        ('logo_url', models.URLField(blank=True)),
                        ('accent_color', models.CharField(default='#1f6feb', help_text='A #rrggbb colour for buttons and links.', max_length=7)),
                        ('support_email', models.EmailField(blank=True, max_length=254)),
                        ('org', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='branding', to='accounts.org')),
                    ],
                    options={
                        'verbose_name_plural': 'org branding',
                        'db_table': 'tracking_orgbranding',
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
