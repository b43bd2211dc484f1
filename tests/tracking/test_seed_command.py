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


def test_the_seeded_order_was_processed_before_it_shipped(org, client):
    """The demo order is placed 21 Apr and ships 22 Apr; its page said "Processing 3 Dec" (the day of the seed)
    between them, and the admin timeline put the process and ship rows months after the parcel left."""
    from orders.links import order_email_url
    from orders.models import Activity, Order

    call_command("seed_tracking_demo", "--org", org.slug, stdout=StringIO())
    order = Order.objects.get(org=org)
    assert order.created_at < order.processed_at <= order.shipped_at
    assert order.shipped_at.date().isoformat() == "2026-04-22"
    stamps = dict(Activity.objects.filter(order=order).values_list("verb", "at"))
    assert stamps["checkout"] == order.created_at
    assert stamps["checkout"] < stamps["process"] <= stamps["ship"] == order.shipped_at
    html = client.get("/" + order_email_url(order).split("/", 3)[3]).content.decode()
    processing = html.split(">Processing<", 1)[1][:300]
    assert "22 Apr" in processing, processing
