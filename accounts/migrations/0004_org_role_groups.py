"""The groups "Org owner", "Org manager" and "Org viewer" with their roles' permissions (accounts.roles), and
every existing member given theirs: a database migrated before this change logs into admin by role at once.
Runs after the other apps' migrations so their permissions can be created here first (Django otherwise
creates them only after the whole migrate)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from accounts.roles import ROLE_GROUPS, sync_role_groups


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    groups = sync_role_groups(apps=apps)
    Membership = apps.get_model("accounts", "Membership")
    User = Membership._meta.get_field("user").related_model
    for user in User.objects.filter(memberships__isnull=False).distinct():
        roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
        user.groups.add(*[groups[role] for role in roles])
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_GROUPS.values()).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_storefront_api_key"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0006_checkout_trust"),
        ("tracking", "0003_shipments_and_branding_moved_out"),
        ("channels_sync", "0012_channel_sync_permission"),
        ("subscriptions", "0001_initial"),
        ("workflows", "0002_encrypt_signing_secret"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
