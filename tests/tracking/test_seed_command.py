"""`manage.py seed_tracking_demo`: docs/architecture.md's seed example, then delivered by a signed webhook."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.tracking.helpers import post_webhook

pytestmark = pytest.mark.django_db


def test_seed_gives_the_in_transit_example_and_runs_twice(org):
    out = StringIO()
    call_command("seed_tracking_demo", "--org", org.slug, stdout=out)
    call_command("seed_tracking_demo", "--org", org.slug, stdout=StringIO())  # idempotent
    number = out.getvalue().split("order ")[1].split(" ")[0]
    client = APIClient()
    client.defaults["HTTP_ORGID"] = org.slug
    body = client.get(f"/shipping/order/{number}/status?email=jane@example.com").json()
    assert body["overallStatus"] == "in_transit" and body["pending"] == []
    assert body["shipped"] == [{"sku": "SNK-AIR-1-9-BLK", "quantity": 1, "trackingNumber": "1Z999AA10123456784",
                                "carrier": "ups", "status": "in_transit", "shipDate": "2026-04-22T15:00:00Z"}]
    assert len(body["shipments"]) == 1
    assert body["shipments"][0]["latestScan"]["description"] == "Departed from facility"
    sent = StringIO()
    call_command("send_carrier_webhook", "1Z999AA10123456784", "--print", stdout=sent)
    event = json.loads(sent.getvalue())["body"]  # scans stamped "now": later than the seeded ones
    assert post_webhook(APIClient(), event).status_code == 200
    assert client.get(f"/shipping/order/{number}/status?email=jane@example.com").json()["overallStatus"] == "delivered"
