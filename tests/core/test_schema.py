import re

import pytest
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.test import APIClient

from accounts.permissions import IsOrgMember

# Endpoints a stranger may call (login, checkout, customers' lookups, public tracking, carrier webhooks):
# no security scheme on them, so Swagger never asks for a token there.
PUBLIC = {("POST", "/auth/token"), ("POST", "/auth/token/refresh"), ("POST", "/storefront/checkout-cart"),
          ("GET", "/shipping/track/{tracking_number}"), ("GET", "/shipping/order/{order_number}/status"),
          ("GET", "/storefront/order/email/{email}/{order_number}"), ("POST", "/shipping/webhooks/{provider}")}


def _schema() -> dict:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(doc):
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def _org_scoped() -> set[tuple[str, str]]:
    """(method, path) of every view guarded by IsOrgMember, read off the URL conf, not off the schema."""
    found = set()
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        view = callback.cls(**getattr(callback, "initkwargs", {}) or {})
        if any(isinstance(permission, IsOrgMember) for permission in view.get_permissions()):
            found.add((method, path))
    return found


@pytest.mark.django_db
def test_openapi_schema_and_swagger_ui_load():
    doc = _schema()
    assert doc["openapi"].startswith("3.")
    assert "/auth/token" in doc["paths"] and "/org" in doc["paths"]
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_api_docs_pages_need_no_internet(url):
    """Swagger UI and Redoc come from our own static files: every script, stylesheet and icon the page names is
    served here, and the page names no other host."""
    client = APIClient()
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "://" not in html, re.findall(r"\S*://\S*", html)
    assets = re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"', html)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content])


@pytest.mark.django_db
def test_every_operation_has_summary_description_and_the_security_its_view_checks():
    doc = _schema()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["orgid"] == {**schemes["orgid"], "type": "apiKey", "in": "header", "name": "orgid"}
    assert schemes["jwtAuth"]["scheme"] == "bearer"
    org_scoped = _org_scoped()
    assert ("GET", "/sales-channel/orders") in org_scoped and len(org_scoped) > 20
    problems = []
    for method, path, operation in _operations(doc):
        if not (operation.get("summary") or "").strip():
            problems.append(f"{method} {path}: no summary")
        if not (operation.get("description") or "").strip():
            problems.append(f"{method} {path}: no description")
        security = operation.get("security", [])
        names = {name for requirement in security for name in requirement}
        if (method, path) in org_scoped:
            if security != [{"jwtAuth": [], "orgid": []}]:
                problems.append(f"{method} {path}: org endpoint with security {security}")
            if any(p["in"] == "header" and p["name"] == "orgid" for p in operation.get("parameters", [])):
                problems.append(f"{method} {path}: orgid both as a scheme and as a parameter")
        elif "orgid" in names:
            problems.append(f"{method} {path}: orgid scheme on an endpoint that does not check membership")
        if (method, path) in PUBLIC and security:
            problems.append(f"{method} {path}: public endpoint asks for {security}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_try_it_out_sends_what_the_schema_declares(owner):
    """What Swagger's "Try it out" does: send each scheme of the operation's security as the scheme says."""
    from rest_framework_simplejwt.tokens import RefreshToken

    doc = _schema()
    schemes = doc["components"]["securitySchemes"]
    values = {"jwtAuth": str(RefreshToken.for_user(owner.user).access_token), "orgid": owner.org.slug}
    headers = {}
    for name in doc["paths"]["/sales-channel/orders"]["get"]["security"][0]:
        scheme = schemes[name]
        if scheme["type"] == "http":
            headers["Authorization"] = f"Bearer {values[name]}"
        else:
            headers[scheme["name"]] = values[name]
    response = APIClient().get("/sales-channel/orders", headers=headers)
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_landing_page_links_where_people_go():
    response = APIClient().get("/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for href in ('href="/admin/"', 'href="/api/docs/"', 'href="/api/redoc/"', 'href="/health"',
                 'action="/orders/lookup"'):
        assert href in html
    assert "urlpatterns" not in html.lower() and "Page not found" not in html
    assert "://" not in html  # no CDN


@pytest.mark.django_db
def test_a_channel_orders_nested_objects_are_documented_with_their_fields():
    """Swagger's example for GET /sales-channel/orders showed "additionalProp1" for the customer, the address, each
    line and the totals: a client could not tell from the docs which keys to read."""
    doc = _schema()
    schemas = doc["components"]["schemas"]

    def props(ref_or_schema):
        schema = ref_or_schema
        while "$ref" in schema or "allOf" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema["allOf"][0]
        return schema.get("properties", {})

    order = schemas["AggregatedOrder"]["properties"]
    assert {"email", "name"} <= set(props(order["customer"]))
    assert {"line1", "city", "postalCode", "country"} <= set(props(order["shippingAddress"]))
    assert {"sku", "channelSku", "quantity", "unitPrice"} <= set(props(order["lines"]["items"]))
    assert {"subtotal", "tax", "shipping", "grandTotal"} <= set(props(order["totals"]))
