from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import Membership, Org, Role
from accounts.roles import sync_role_groups


def org_rename(*, org: Org, name: str) -> Org:
    org.name = name
    org.save(update_fields=["name"])
    return org


def _outstanding(refresh: RefreshToken) -> OutstandingToken:
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=refresh[jwt_settings.JTI_CLAIM],
        defaults={"token": str(refresh), "expires_at": datetime_from_epoch(refresh["exp"]),
                  "user_id": refresh.payload.get(jwt_settings.USER_ID_CLAIM)},
    )
    return outstanding


def refresh_token_spend(refresh: RefreshToken) -> None:
    """Blacklist a verified refresh token, or 401 if another request already did: the check and the set run
    under a lock on the token's outstanding row (and the blacklist's unique token backs it), so of concurrent
    refreshes of one token exactly one wins. simplejwt's own check-then-get_or_create lets every racer win."""
    try:
        with transaction.atomic():
            outstanding = OutstandingToken.objects.select_for_update().get(pk=_outstanding(refresh).pk)
            if BlacklistedToken.objects.filter(token=outstanding).exists():
                raise InvalidToken("Token is blacklisted")
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError as exc:
        raise InvalidToken("Token is blacklisted") from exc


def refresh_token_rotate(refresh: RefreshToken) -> dict[str, str]:
    """Spend the refresh token and issue a new pair; the loser of a race gets 401 and nothing."""
    refresh_token_spend(refresh)
    data = {"access": str(refresh.access_token)}
    refresh.set_jti()
    refresh.set_exp()
    refresh.set_iat()
    refresh.outstand()
    data["refresh"] = str(refresh)
    return data


def user_refresh_tokens_revoke(*, user_id) -> int:
    """Blacklist every unexpired refresh token of the user (a password change, a removed membership): a stolen
    or stale session cannot mint new access tokens. Access tokens live out their 15 minutes."""
    tokens = OutstandingToken.objects.filter(user_id=user_id, expires_at__gt=timezone.now(),
                                             blacklistedtoken__isnull=True)
    created = BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in tokens],
                                                   ignore_conflicts=True)
    return len(created)


def membership_add(*, user, org: Org, role: str = Role.VIEWER) -> Membership:
    """Make `user` a member of `org`, or change their role there. Their groups and `is_staff` follow in the
    same transaction (Membership's post_save runs `user_admin_access_sync`)."""
    membership, _ = Membership.objects.update_or_create(user=user, org=org, defaults={"role": role})
    return membership


def membership_role_set(*, membership: Membership, role: str) -> Membership:
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Remove a member: their refresh tokens are revoked and their groups follow (post_delete signals)."""
    membership.delete()


def user_admin_access_sync(*, user) -> None:
    """The user's groups become the union of their roles' groups, and `is_staff` says whether they have any
    membership (admin login); superusers keep theirs. Which org each right applies to is checked per object
    (accounts.admin.OrgScopedAdmin): the groups only say what the user may do somewhere.

    Membership's post_save and post_delete call this (accounts.signals) rather than each service, so a
    membership written by an admin inline, a fixture or the shell cannot leave the groups behind.
    """
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    groups = sync_role_groups()
    role_group_ids = {group.pk for group in groups.values()}
    current = set(user.groups.values_list("pk", flat=True))
    wanted = (current - role_group_ids) | {groups[Role(role)].pk for role in roles}
    if wanted != current:
        user.groups.set(wanted)
    staff = bool(roles) or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
