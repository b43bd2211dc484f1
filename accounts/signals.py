"""Revoking refresh tokens when what granted them changes, wherever the change is made (API, admin, shell,
`manage.py changepassword`): so signals on the models rather than calls in one service. The revocation is
written in the caller's transaction, so a change that rolls back revokes nothing."""

from accounts import services


def revoke_on_password_change(sender, instance, **kwargs):
    if instance.pk is None:
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        services.user_refresh_tokens_revoke(user_id=instance.pk)


def revoke_on_membership_removed(sender, instance, **kwargs):
    services.user_refresh_tokens_revoke(user_id=instance.user_id)
