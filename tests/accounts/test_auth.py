"""Login, refresh rotation and token tampering, as an API client meets them."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.accounts.factories import PASSWORD
from tests.api import error_code

pytestmark = pytest.mark.django_db


def login(username, password):
    return APIClient().post("/auth/token", {"username": username, "password": password}, format="json")


def test_login_returns_access_and_refresh_tokens_that_open_auth_me(owner):
    response = login(owner.user.username, PASSWORD)
    assert response.status_code == 200
    tokens = response.json()
    me = APIClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}").get("/auth/me")
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == owner.user.username
    assert body["memberships"] == [{"org": owner.org.slug, "orgName": owner.org.name, "role": "owner"}]


def test_bad_password_is_401_with_the_error_shape(owner):
    response = login(owner.user.username, "wrong-password")
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"no_active_account", "authentication_failed"}


def test_missing_fields_are_400_with_field_errors():
    response = APIClient().post("/auth/token", {"username": "x"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["error"]["details"]


def test_expired_access_token_is_refused(owner):
    token = AccessToken.for_user(owner.user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ORGID=owner.org.slug).get("/org")
    assert response.status_code == 401
    assert error_code(response) == "token_not_valid"


def test_tampered_token_is_refused(owner):
    token = str(AccessToken.for_user(owner.user))
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {forged}", HTTP_ORGID=owner.org.slug).get("/org")
    assert response.status_code == 401


def test_refresh_rotates_and_the_used_refresh_token_is_dead(owner):
    first = login(owner.user.username, PASSWORD).json()
    rotated = APIClient().post("/auth/token/refresh", {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first["refresh"]
    assert rotated.json()["access"]
    reused = APIClient().post("/auth/token/refresh", {"refresh": first["refresh"]}, format="json")
    assert reused.status_code == 401
    again = APIClient().post("/auth/token/refresh", {"refresh": rotated.json()["refresh"]}, format="json")
    assert again.status_code == 200


def test_auth_me_without_token_is_401():
    response = APIClient().get("/auth/me")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"
