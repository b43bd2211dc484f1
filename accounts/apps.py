from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'accounts'

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, pre_save

        from accounts import signals
        from accounts.models import Membership

        pre_save.connect(signals.revoke_on_password_change, sender=get_user_model(),
                         dispatch_uid="accounts-revoke-on-password-change")
        post_delete.connect(signals.revoke_on_membership_removed, sender=Membership,
                            dispatch_uid="accounts-revoke-on-membership-removed")
