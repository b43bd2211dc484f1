"""Who is calling a public storefront endpoint: nobody in particular, the org's storefront server (its API
key) or a member of staff (a JWT). A credential that is presented and fails is refused, never downgraded to
anonymous: a storefront whose key was revoked learns it at once.

The key travels as `Authorization: StorefrontKey sfk_...` (the header proxies and log scrubbers already treat
as secret); staff send their `Authorization: Bearer <jwt>` as everywhere else.
"""

from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.models import Role
from accounts.permissions import OrgNotFound
from accounts.selectors import membership_for
from accounts.storefront_keys import storefront_key_authenticate
from orders.services.checkout import Caller

KEY_SCHEME = "StorefrontKey"


def _authorization(request) -> tuple[str, str]:
    scheme, _, value = (request.headers.get("Authorization") or "").strip().partition(" ")
    return scheme, value.strip()


def storefront_key_for_org(request):
    """The live storefront key the request presents, if it is one of the org named by `orgid`; else None."""
    scheme, value = _authorization(request)
    if scheme != KEY_SCHEME:
        return None
    key = storefront_key_authenticate(value)
    return key if key is not None and key.org_id == request.org.pk else None


def checkout_caller(request) -> tuple[Caller, object | None]:
    """(caller, the staff user or None). 401 for a bad or revoked credential, 403 for another org's key or a
    viewer's JWT, 404 for a JWT of someone who is not a member (as on every org endpoint)."""
    scheme, value = _authorization(request)
    if not scheme:
        return Caller.ANONYMOUS, None
    if scheme == KEY_SCHEME:
        key = storefront_key_authenticate(value)
        if key is None:
            raise AuthenticationFailed("Invalid or revoked storefront key.")
        if key.org_id != request.org.pk:
            raise PermissionDenied("This storefront key belongs to another org.")
        return Caller.STOREFRONT, None
    try:
        authenticated = JWTAuthentication().authenticate(request)
    except (InvalidToken, TokenError) as exc:
        raise AuthenticationFailed("Invalid or expired token.") from exc
    if authenticated is None:
        raise AuthenticationFailed(f"Send no Authorization header, `Bearer <jwt>` or `{KEY_SCHEME} <key>`.")
    membership = membership_for(user=authenticated[0], org_slug=request.org.slug)
    if membership is None:
        raise OrgNotFound()
    if not membership.has_role(Role.MANAGER):
        raise PermissionDenied(f"Checking out as staff needs the manager role; you are {membership.role}.")
    return Caller.STAFF, authenticated[0]
