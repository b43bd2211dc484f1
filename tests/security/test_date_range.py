"""Issue 15, item 17: a date outside years 1000-9999 is a 400 with a field error wherever the API parses one
(query filters and body fields), instead of being stored and answered as an invalid ISO string."""

import pytest
from rest_framework import serializers

from tests.subscriptions.conftest import ADDRESS
from tests.subscriptions.conftest import coffee as coffee_fixture

pytestmark = pytest.mark.django_db
coffee = coffee_fixture  # the subscriptions' SKU-with-a-price fixture, used here by name


@pytest.mark.parametrize("value", ["0999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "0500-06-01"])
def test_order_list_date_filter_refuses_years_before_1000(manager, value):
    response = manager.client.get("/storefront/orders", {"fromDate": value})
    assert response.status_code == 400
    assert response.json()["error"]["details"]


def test_order_list_date_filter_still_accepts_ordinary_dates(manager):
    assert manager.client.get("/storefront/orders", {"fromDate": "1000-01-01T00:00:00Z"}).status_code == 200


@pytest.mark.parametrize("value", ["0999-05-01T09:00:00Z", "0010-05-01T09:00:00Z"])
def test_subscription_body_start_date_refuses_years_before_1000(manager, coffee, value):
    response = manager.client.post("/storefront/subscriptions", {
        "customer": {"email": "new@example.com", "name": "New"}, "priceId": "coffee-monthly",
        "shippingAddress": ADDRESS, "startAt": value}, format="json")
    assert response.status_code == 400
    assert "startAt" in response.json()["error"]["details"]


def test_every_drf_date_field_refuses_out_of_range_years():
    for field in (serializers.DateTimeField(), serializers.DateField()):
        with pytest.raises(serializers.ValidationError):
            field.to_internal_value("0999-01-01")
        with pytest.raises(serializers.ValidationError):
            field.to_internal_value("10000-01-01")
    assert serializers.DateTimeField().to_internal_value("1000-01-01T00:00:00Z").year == 1000
