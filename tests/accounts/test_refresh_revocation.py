"""Issue 15, item 12: a refresh token is good once even under concurrent refreshes; a password change or a removed
membership revokes the user's refresh tokens; POST /auth/logout revokes the caller's own refresh token."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.accounts.factories import PASSWORD, MembershipFactory
from tests.api import error_code
from tests.concurrency import at_once


def _login(user):
    response = APIClient().post("/auth/token", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()


def _refresh(token):
    return APIClient().post("/auth/token/refresh", {"refresh": token}, format="json")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_yield_exactly_one_new_token():
    user = MembershipFactory().user
    token = _login(user)["refresh"]
    outcomes = at_once([lambda: _refresh(token) for _ in range(8)])
    codes = sorted(getattr(outcome, "status_code", repr(outcome)) for outcome in outcomes)
    assert codes == [200] + [401] * 7


@pytest.mark.django_db
def test_changing_the_password_revokes_outstanding_refresh_tokens(owner):
    tokens = [_login(owner.user)["refresh"] for _ in range(2)]
    owner.user.set_password("a-new-password-77")
    owner.user.save()
    assert [_refresh(token).status_code for token in tokens] == [401, 401]


@pytest.mark.django_db
def test_saving_a_user_without_a_password_change_keeps_refresh_tokens(owner):
    token = _login(owner.user)["refresh"]
    owner.user.first_name = "Renamed"
    owner.user.save()
    assert _refresh(token).status_code == 200


@pytest.mark.django_db
def test_removing_a_membership_revokes_outstanding_refresh_tokens(owner):
    token = _login(owner.user)["refresh"]
    owner.user.memberships.get(org=owner.org).delete()
    assert _refresh(token).status_code == 401


@pytest.mark.django_db
def test_logout_revokes_the_callers_refresh_token(owner):
    tokens = _login(owner.user)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = client.post("/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204
    assert _refresh(tokens["refresh"]).status_code == 401


@pytest.mark.django_db
def test_logout_refuses_a_token_not_the_callers_or_malformed(owner, viewer):
    mine = _login(owner.user)
    theirs = _login(viewer.user)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {mine['access']}")
    other = client.post("/auth/logout", {"refresh": theirs["refresh"]}, format="json")
    assert other.status_code == 400
    assert "refresh" in other.json()["error"]["details"]
    assert _refresh(theirs["refresh"]).status_code == 200  # untouched
    assert client.post("/auth/logout", {"refresh": "not-a-token"}, format="json").status_code == 400
    assert client.post("/auth/logout", {}, format="json").status_code == 400
    access_as_refresh = client.post("/auth/logout", {"refresh": mine["access"]}, format="json")
    assert access_as_refresh.status_code == 400


@pytest.mark.django_db
def test_logout_needs_the_access_token(owner):
    refresh = str(RefreshToken.for_user(owner.user))
    response = APIClient().post("/auth/logout", {"refresh": refresh}, format="json")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"
