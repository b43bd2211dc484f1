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
