"""Every route is either deliberately public or requires auth and is scoped by org.

Adding a route fails this suite until it is one or the other: an org-scoped DRF view (the
default permission, IsOrgMember), or an entry in PUBLIC_ROUTES saying why it is public.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.permissions import IsAuthenticatedNoOrg, IsOrgMember, PublicOrgAccess
from tests.api import authed_client

# route -> why it needs no login. Webhooks authenticate by signature, customer endpoints by orgid
# (plus email/author and rate limits), pages by signed tokens or forms.
PUBLIC_ROUTES = {
    "health": "load balancer and operators",
    "api/schema/": "OpenAPI document",
    "api/docs/": "Swagger UI",
    "api/redoc/": "Redoc",
    "": "landing page (static links, names no org)",
    "auth/token": "login",
    "auth/token/refresh": "refresh-token rotation",
    "storefront/checkout-cart": "storefront checkout (orgid)",
    "storefront/orders/get/<str:author>": "customer order list (orgid + account token)",
    "storefront/order/email/<str:email>/<str:order_number>": "customer lookup (orgid + email)",
    "storefront/order/get/<str:author>/<str:order_number>": "customer lookup (orgid + account token)",
    "storefront/subscriptions/get/<str:author>/<str:subscription_id>": "customer subscription (orgid + account token)",
    "storefront/subscriptions/get/<str:author>": "customer subscriptions (orgid + account token)",
    "shipping/track/<str:tracking_number>": "public tracking (orgid, rate-limited)",
    "shipping/order/<str:order_number>/status": "customer shipping status (orgid + email or link)",
    "shipping/webhooks/<str:provider>": "carrier webhooks (HMAC signature)",
    "upstream/webhooks/shopify/orders": "channel webhook (signature)",
    "upstream/webhooks/woocommerce/orders": "channel webhook (signature)",
    "upstream/webhooks/amazon/notifications": "channel notification (verified relay)",
    "upstream/webhooks/ebay/notifications": "channel notification (signature, challenge)",
    "upstream/webhooks/tiktok/orders": "channel webhook (signature)",
    "upstream/webhooks/walmart/orders": "channel notification (HMAC signature)",
    "upstream/webhooks/<slug:provider_name>/<slug:topic>": "channel webhook (signature)",
    "orders/lookup": "customer lookup page (form, CSRF, rate-limited)",
    "orders/view/<str:token>": "customer order page (signed token)",
    "orders/view/<str:token>/parcels/<str:parcel>": "customer parcel page (the order's signed token)",
    "orders/view/<str:token>/cancel": "customer cancellation request (signed token, CSRF, rate-limited)",
    "orders/account/<str:author>": "customer orders page (signed, expiring link)",
}
# Authenticated but about the caller, not an org.
USER_ROUTES = {"auth/me", "auth/logout"}


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def api_routes():
    return [(route, view) for route, view in walk(get_resolver().url_patterns) if not route.startswith("admin/")]


def view_class(callback):
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def concrete_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?\w+>", "zz-not-there", route).lstrip("^").rstrip("$")


def methods_of(cls) -> list[str]:
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]


def test_every_route_is_public_on_purpose_or_org_scoped():
    unclassified = []
    for route, callback in api_routes():
        if route in PUBLIC_ROUTES:
            continue
        cls = view_class(callback)
        permissions = getattr(cls, "permission_classes", []) if cls else []
        if route in USER_ROUTES:
            ok = IsAuthenticatedNoOrg in permissions
        else:
            ok = bool(cls) and issubclass(cls, APIView) and IsOrgMember in permissions
        if not ok:
            unclassified.append(route)
    assert not unclassified, f"routes neither on the public allow-list nor org-scoped: {unclassified}"


def test_the_allow_list_names_only_routes_that_exist():
    routes = {route for route, _ in api_routes()}
    assert set(PUBLIC_ROUTES) <= routes, sorted(set(PUBLIC_ROUTES) - routes)


@pytest.mark.django_db
def test_org_scoped_routes_refuse_strangers_at_the_door(org, other_owner):
    """Without a token: 401 on every method. With a token but another org's orgid: 404."""
    anonymous = APIClient(HTTP_ORGID=org.slug)
    stranger = authed_client(other_owner.user, org.slug)
    for route, callback in api_routes():
        if route in PUBLIC_ROUTES or route in USER_ROUTES:
            continue
        path = concrete_path(route)
        for method in methods_of(view_class(callback)):
            response = getattr(anonymous, method)(path, {}, format="json")
            assert response.status_code == 401, (method, path, response.status_code)
            response = getattr(stranger, method)(path, {}, format="json")
            assert response.status_code == 404, (method, path, response.status_code)


@pytest.mark.django_db
def test_public_org_endpoints_need_an_orgid():
    for route, callback in api_routes():
        cls = view_class(callback)
        if route in PUBLIC_ROUTES and PublicOrgAccess in getattr(cls, "permission_classes", []):
            method = methods_of(cls)[0]
            response = getattr(APIClient(), method)(concrete_path(route), {}, format="json")
            assert response.status_code == 400, (route, response.status_code)
            assert response.json()["error"]["code"] == "orgid_required"


@pytest.mark.django_db
def test_admin_requires_a_staff_login():
    response = APIClient().get("/admin/orders/order/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
