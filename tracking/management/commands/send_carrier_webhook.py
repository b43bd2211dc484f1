"""Send a signed EasyPost `tracker.updated` webhook for a parcel, as EasyPost would (demo and checks).

    .venv/bin/python manage.py send_carrier_webhook 1Z999AA10123456784 --status delivered

The event has EasyPost's documented shape (tests/tracking/fixtures/easypost/) and is signed with
EASYPOST_WEBHOOK_SECRET; `--print` shows the body and headers instead of posting them.
"""

import email.utils
import json
import uuid
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tracking.carriers.easypost import signature_for

STEPS = [
    ("pre_transit", "status_update", "Shipping Label Created", {"city": "HOUSTON", "state": "TX", "zip": "77063"}),
    ("in_transit", "arrived_at_facility", "Arrived at Origin Facility", {"city": "HOUSTON", "state": "TX"}),
    ("out_for_delivery", "out_for_delivery", "Out for Delivery", {"city": "SPRINGFIELD", "state": "IL"}),
    ("delivered", "arrived_at_destination", "Delivered, Front Door/Porch", {"city": "SPRINGFIELD", "state": "IL"}),
]


def build_event(*, tracking_code: str, carrier: str, status: str, now: datetime) -> dict:
    order = [step[0] for step in STEPS]
    if status not in order:
        raise CommandError(f"--status must be one of {order}")
    steps = STEPS[: order.index(status) + 1]
    start = now - timedelta(hours=6 * (len(steps) - 1) + 1)  # the last scan an hour ago
    details = [{
        "object": "TrackingDetail", "message": message, "description": "", "status": code,
        "status_detail": detail, "datetime": (start + timedelta(hours=6 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": carrier.upper(), "carrier_code": "",
        "tracking_location": {"object": "TrackingLocation", "country": "US", "zip": None, **location},
    } for i, (code, detail, message, location) in enumerate(steps)]
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "description": "tracker.updated", "mode": "test", "previous_attributes": {}, "created_at": stamp,
        "updated_at": stamp, "pending_urls": [], "completed_urls": [], "id": f"evt_{uuid.uuid4().hex}",
        "user_id": "user_demo", "status": "pending", "object": "Event",
        "result": {"id": f"trk_{uuid.uuid5(uuid.NAMESPACE_URL, tracking_code).hex}", "object": "Tracker",
                   "mode": "test", "tracking_code": tracking_code, "status": status,
                   "status_detail": steps[-1][1], "carrier": carrier.upper(), "tracking_details": details,
                   "public_url": ""},
    }


class Command(BaseCommand):
    help = "POST a signed EasyPost tracker.updated webhook for a tracking number to this hub."

    def add_arguments(self, parser):
        parser.add_argument("tracking_number")
        parser.add_argument("--status", default="delivered")
        parser.add_argument("--carrier", default="ups")
        parser.add_argument("--url", default=f"{settings.PUBLIC_BASE_URL}/shipping/webhooks/easypost")
        parser.add_argument("--print", action="store_true", dest="print_only")

    def handle(self, *args, tracking_number, status, carrier, url, print_only, **options):
        secret = settings.EASYPOST_WEBHOOK_SECRET
        if not secret:
            raise CommandError("EASYPOST_WEBHOOK_SECRET is not set")
        now = datetime.now(UTC)
        body = json.dumps(build_event(tracking_code=tracking_number, carrier=carrier, status=status, now=now)).encode()
        headers = {"Content-Type": "application/json", "X-Hmac-Signature": signature_for(body, secret),
                   "X-Timestamp": email.utils.format_datetime(now)}
        if print_only:
            self.stdout.write(json.dumps({"url": url, "headers": headers, "body": json.loads(body)}, indent=2))
            return
        response = requests.post(url, data=body, headers=headers, timeout=10)
        self.stdout.write(f"{response.status_code} {response.text}")
