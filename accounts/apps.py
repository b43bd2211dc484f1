from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'accounts'

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_migrate, post_save, pre_save

        from accounts import signals
        from accounts.models import Membership

        pre_save.connect(signals.revoke_on_password_change, sender=get_user_model(),
                         dispatch_uid="accounts-revoke-on-password-change")
        post_delete.connect(signals.revoke_on_membership_removed, sender=Membership,
                            dispatch_uid="accounts-revoke-on-membership-removed")
        post_save.connect(signals.admin_access_on_membership_saved, sender=Membership,
                          dispatch_uid="accounts-admin-access-on-membership-saved")
        post_delete.connect(signals.admin_access_on_membership_removed, sender=Membership,
                            dispatch_uid="accounts-admin-access-on-membership-removed")
        post_migrate.connect(signals.role_groups_after_migrate,
                             dispatch_uid="accounts-role-groups-after-migrate")
