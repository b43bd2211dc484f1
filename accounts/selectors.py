from django.db.models import QuerySet

from accounts.models import Membership, Org


def membership_for(*, user, org_slug: str) -> Membership | None:
    """The caller's membership in the org named by slug; None alike for unknown orgs and non-members."""
    if not user or not user.is_authenticated:
        return None
    return Membership.objects.select_related("org").filter(user=user, org__slug=org_slug).first()


def org_by_slug(*, slug: str) -> Org | None:
    return Org.objects.filter(slug=slug).first()


def orgs_of_user(*, user) -> QuerySet[Org]:
    return Org.objects.filter(memberships__user=user)


def roles_by_org(*, user) -> dict[int, str]:
    """{org id: role} of every membership of the user."""
    if not user or not user.is_authenticated:
        return {}
    return dict(Membership.objects.filter(user=user).values_list("org_id", "role"))


def users_sharing_orgs(*, user) -> QuerySet:
    """The users who are members of at least one of `user`'s orgs (`user` included)."""
    from django.contrib.auth import get_user_model

    members = Membership.objects.filter(org__in=orgs_of_user(user=user)).values("user_id")
    return get_user_model().objects.filter(pk__in=members)
