"""Proof that the caller may read a customer's (`:author`) orders: the id alone is not a credential.

Accepted (issue 15, item 1): the signed account token the emails carry (orders.links.account_token),
as `?token=` or the `X-Account-Token` header, a staff JWT of a member of the org named by `orgid`, or the
org's storefront server with its storefront API key (`Authorization: StorefrontKey sfk_...`, orders.api.callers).
Anything else (another org's key, a revoked one) is the same 404 as an unknown customer, so the endpoints
confirm no id.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.selectors import membership_for
from orders.api.callers import storefront_key_for_org
from orders.links import account_token_valid

TOKEN_HEADER = "X-Account-Token"

PROOF_PARAMETERS = [
    OpenApiParameter("token", OpenApiTypes.STR, description="The signed account token from the customer's email "
                     "link (or send it as the X-Account-Token header). Staff may send their JWT instead, the "
                     "org's storefront server `Authorization: StorefrontKey <key>`."),
    OpenApiParameter(TOKEN_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                     description="The signed account token, instead of ?token=."),
]


def staff_of_org(request) -> bool:
    """A valid staff JWT of a member of the org named by `orgid` (on endpoints that authenticate nobody)."""
    try:
        authenticated = JWTAuthentication().authenticate(request)
    except (AuthenticationFailed, InvalidToken, TokenError):
        return False
    if authenticated is None:
        return False
    return membership_for(user=authenticated[0], org_slug=request.org.slug) is not None


def require_customer_proof(request, author: str) -> None:
    """Raise 404 unless the request proves it is `author` (or staff of the org)."""
    token = request.query_params.get("token") or request.headers.get(TOKEN_HEADER) or ""
    if token and account_token_valid(author, token):
        return
    if storefront_key_for_org(request) is not None:
        return
    if staff_of_org(request):
        return
    raise Http404
