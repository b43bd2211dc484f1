"""Tenancy for the API, in one place.

Every DRF view is guarded by `IsOrgMember` by default (settings), so a new view is org-scoped
unless it deliberately opts out. The permission resolves the `orgid` header once and puts the
org and membership on the request; `OrgScopedMixin` then filters every queryset by that org.
"""

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Role
from accounts.selectors import membership_for, org_by_slug
from core.api.exceptions import ApiError

ORG_HEADER = "orgid"


class OrgHeaderMissing(ApiError):
    default_code = "orgid_required"
    default_detail = "The orgid header is required: send the slug of your org."


class OrgNotFound(exceptions.NotFound):
    """Same answer for an org that does not exist and one the caller is not a member of."""

    default_code = "org_not_found"
    default_detail = "Org not found."


def org_slug_from(request) -> str:
    slug = (request.headers.get(ORG_HEADER) or "").strip()
    if not slug:
        raise OrgHeaderMissing()
    return slug


class IsOrgMember(BasePermission):
    """Authenticated member of the org named by `orgid`; writes need the manager role or more.

    A view raises the bar for its writes with `write_role = Role.OWNER`, or for every method
    with `required_role`.
    """

    # What the API schema documents (core.api.schema reads these; core imports no app).
    documented_errors = frozenset({"400", "401", "404"})  # orgid missing; no token; unknown org or not a member
    documents_403_on_write = True
    openapi_security = (("jwtAuth", "orgid"),)  # both on one request (core.api.schema)

    write_role = Role.MANAGER

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        membership = membership_for(user=request.user, org_slug=org_slug_from(request))
        if membership is None:
            raise OrgNotFound()
        request.org = membership.org
        request.membership = membership
        required = getattr(view, "required_role", None)
        if required is None and request.method not in SAFE_METHODS:
            required = getattr(view, "write_role", self.write_role)
        if required and not membership.has_role(required):
            raise exceptions.PermissionDenied(f"This needs the {required} role; you are {membership.role}.")
        return True


class PublicOrgAccess(BasePermission):
    """No login, but the `orgid` header must name an existing org (customer-facing endpoints)."""

    documented_errors = frozenset({"400", "404"})
    # Public: no security scheme; each such view documents orgid as a header parameter of its own.
    openapi_security = ()

    def has_permission(self, request, view) -> bool:
        org = org_by_slug(slug=org_slug_from(request))
        if org is None:
            raise OrgNotFound()
        request.org = org
        request.membership = None
        return True


class IsAuthenticatedNoOrg(BasePermission):
    """For the few endpoints about the caller, not an org (`/auth/me`)."""

    documented_errors = frozenset({"401"})
    openapi_security = (("jwtAuth",),)

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        return True
