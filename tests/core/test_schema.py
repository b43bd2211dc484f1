import pytest
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_openapi_schema_and_swagger_ui_load():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    doc = schema.json()
    assert doc["openapi"].startswith("3.")
    assert "/auth/token" in doc["paths"] and "/org" in doc["paths"]
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
