"""Revoking refresh tokens when what granted them changes, wherever the change is made (API, admin, shell,
`manage.py changepassword`): so signals on the models rather than calls in one service. The revocation is
written in the caller's transaction, so a change that rolls back revokes nothing. A user's admin groups and
`is_staff` follow their memberships the same way (accounts.services.user_admin_access_sync)."""

from accounts import services


def revoke_on_password_change(sender, instance, **kwargs):
    if instance.pk is None:
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        services.user_refresh_tokens_revoke(user_id=instance.pk)


def revoke_on_membership_removed(sender, instance, **kwargs):
    services.user_refresh_tokens_revoke(user_id=instance.user_id)


def admin_access_on_membership_saved(sender, instance, **kwargs):
    services.user_admin_access_sync(user=instance.user)


def admin_access_on_membership_removed(sender, instance, origin=None, **kwargs):
    """Not when the user themself is being deleted (their memberships go with them)."""
    from django.contrib.auth import get_user_model
    from django.db.models import QuerySet

    user_model = get_user_model()
    if isinstance(origin, user_model) or (isinstance(origin, QuerySet) and origin.model is user_model):
        return
    user = user_model.objects.filter(pk=instance.user_id).first()
    if user is not None:
        services.user_admin_access_sync(user=user)


def role_groups_after_migrate(sender, **kwargs):
    """`migrate` (and a test database's flush) create permissions app by app: once the last app's exist, give
    the role groups the new ones."""
    from django.apps import apps

    from accounts.roles import sync_role_groups

    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender.label == last.label:
        sync_role_groups()
