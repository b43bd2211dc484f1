"""API test helpers every app reuses: authenticated clients per org, and the tenant-isolation check."""

from dataclasses import dataclass

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.accounts.factories import MembershipFactory


@dataclass
class OrgActor:
    """A user acting in one org: `client` already sends the bearer token and the `orgid` header."""

    org: object
    user: object
    client: APIClient


def authed_client(user, org_slug: str | None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    if org_slug is not None:
        client.defaults["HTTP_ORGID"] = org_slug
    return client


def make_actor(org, *, role: str = "owner", user=None) -> OrgActor:
    membership = MembershipFactory(org=org, role=role, **({"user": user} if user else {}))
    return OrgActor(org=org, user=membership.user, client=authed_client(membership.user, org.slug))


def error_code(response) -> str:
    return response.json()["error"]["code"]


def assert_tenant_isolation(stranger: OrgActor, *, list_urls=(), foreign_ids=(), id_field="id",
                            detail_urls=(), write_calls=()):
    """Org B's `stranger` must never see or touch org A's rows.

    - every URL in `list_urls` answers 200 and none of its `results` carries an id in `foreign_ids`;
    - every URL in `detail_urls` (org A's objects) answers 404 with the not-found error shape;
    - every (method, url, body) in `write_calls` (aimed at org A's objects) answers 404 and
      the caller checks afterwards that nothing changed.
    """
    foreign = {str(i) for i in foreign_ids}
    for url in list_urls:
        response = stranger.client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        seen = {str(row.get(id_field)) for row in response.json()["results"]}
        assert not seen & foreign, f"{url} leaked another org's rows: {sorted(seen & foreign)}"
    for url in detail_urls:
        response = stranger.client.get(url)
        assert response.status_code == 404, (url, response.status_code, response.content[:300])
        assert "error" in response.json()
    for method, url, body in write_calls:
        response = getattr(stranger.client, method.lower())(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code, response.content[:300])
