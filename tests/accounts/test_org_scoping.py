"""The orgid header and roles: missing, unknown, not a member, too junior."""

import pytest

from tests.api import authed_client, error_code

pytestmark = pytest.mark.django_db


def test_org_answers_the_org_and_the_callers_role(manager):
    response = manager.client.get("/org")
    assert response.status_code == 200
    assert response.json()["slug"] == manager.org.slug
    assert response.json()["role"] == "manager"


def test_missing_orgid_is_400(owner):
    client = authed_client(owner.user, None)
    response = client.get("/org")
    assert response.status_code == 400
    assert error_code(response) == "orgid_required"


def test_unknown_org_and_foreign_org_get_the_same_404(owner, other_org):
    unknown = authed_client(owner.user, "no-such-org").get("/org")
    foreign = authed_client(owner.user, other_org.slug).get("/org")
    assert unknown.status_code == foreign.status_code == 404
    assert unknown.json() == foreign.json()
    assert other_org.name not in foreign.content.decode()


def test_org_endpoint_without_login_is_401_even_with_orgid(org):
    from rest_framework.test import APIClient

    response = APIClient(HTTP_ORGID=org.slug).get("/org")
    assert response.status_code == 401


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_non_owner_cannot_rename_the_org(org, role):
    from tests.api import make_actor

    actor = make_actor(org, role=role)
    response = actor.client.patch("/org", {"name": "Hijacked"}, format="json")
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"
    org.refresh_from_db()
    assert org.name != "Hijacked"


def test_owner_renames_the_org_and_bad_input_is_400(owner):
    assert owner.client.patch("/org", {"name": ""}, format="json").status_code == 400
    response = owner.client.patch("/org", {"name": "Acme Outfitters"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Outfitters"


def test_a_member_of_two_orgs_sees_each_org_by_its_header(owner, other_org, membership_factory):
    membership_factory(user=owner.user, org=other_org, role="viewer")
    assert authed_client(owner.user, owner.org.slug).get("/org").json()["role"] == "owner"
    assert authed_client(owner.user, other_org.slug).get("/org").json()["role"] == "viewer"
    assert authed_client(owner.user, other_org.slug).patch("/org", {"name": "x"}, format="json").status_code == 403
