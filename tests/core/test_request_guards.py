import pytest
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_body_over_the_limit_is_413_before_any_view(settings, owner):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = owner.client.patch("/org", {"name": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    owner.org.refresh_from_db()
    assert owner.org.name != "x" * 2000


@pytest.mark.django_db
def test_malformed_json_is_400_with_the_error_shape(owner):
    response = owner.client.generic("PATCH", "/org", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


@pytest.mark.django_db
def test_wrong_content_type_is_415(owner):
    response = owner.client.generic("PATCH", "/org", "name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.django_db
def test_unknown_api_route_is_a_json_404():
    response = APIClient().get("/sales-channel/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
