"""`manage.py send_carrier_webhook` builds a webhook the receiver accepts (the demo's delivered step)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.tracking.helpers import shipped_order

pytestmark = pytest.mark.django_db


def test_the_demo_webhook_is_accepted_and_delivers_the_order(org, anon):
    order, [shipment] = shipped_order(org, carrier="ups", parcels=[("1ZDEMO0001", None)])
    out = StringIO()
    call_command("send_carrier_webhook", "1ZDEMO0001", "--status", "delivered", "--print", stdout=out)
    sent = json.loads(out.getvalue())
    body = json.dumps(sent["body"]).encode()
    # re-sign the re-serialized body exactly as the command does
    from django.conf import settings

    from tracking.carriers.easypost import signature_for

    response = anon.post("/shipping/webhooks/easypost", data=body, content_type="application/json",
                         HTTP_X_HMAC_SIGNATURE=signature_for(body, settings.EASYPOST_WEBHOOK_SECRET),
                         HTTP_X_TIMESTAMP=sent["headers"]["X-Timestamp"])
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert shipment.status == "delivered" and order.status == "delivered"
    assert shipment.scans.count() == 4
