"""Privacy requests from channels (Shopify's mandatory compliance webhooks): recorded for staff, and acted on.

customers/redact: that customer's personal data (email, name, addresses, phone) is removed from the channel's
stored orders (the columns, the metadata and the raw payload) and from the stored webhook bodies of those orders;
shop/redact: the same for every order of the channel; customers/data_request: recorded (a ComplianceRequest row in
admin) for staff to answer the merchant, nothing is changed. Every request is recorded, whatever it asked.
"""

from __future__ import annotations

import json
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from channels_sync.models import AggregatedOrder, Channel, ComplianceRequest, WebhookDelivery
from channels_sync.normalized import WebhookEvent

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
# Objects that are personal data as a whole (REST and GraphQL spellings): replaced by a marker, the customer by
# its bare id (so a later request can still find the order).
PERSONAL_OBJECTS = {"shipping_address", "billing_address", "shippingAddress", "billingAddress", "destination",
                    "default_address", "defaultAddress", "client_details", "clientDetails", "addresses"}
PERSONAL_FIELDS = {"email", "contact_email", "contactEmail", "phone", "browser_ip", "browserIp", "first_name",
                   "last_name", "firstName", "lastName", "customer_locale", "note"}
CUSTOMER_KEYS = {"customer"}


def redact_payload(value):
    """A copy of a channel payload without personal data; ids, lines, money and statuses are kept."""
    if isinstance(value, list):
        return [redact_payload(item) for item in value]
    if not isinstance(value, dict):
        return value
    redacted = {}
    for key, item in value.items():
        if key in CUSTOMER_KEYS and isinstance(item, dict):
            redacted[key] = {"id": item.get("id")} if item.get("id") is not None else None
        elif key in PERSONAL_OBJECTS and item not in (None, "", [], {}):
            redacted[key] = None
        elif key in PERSONAL_FIELDS and item not in (None, ""):
            redacted[key] = None
        else:
            redacted[key] = redact_payload(item)
    return redacted


def _orders_for(channel: Channel, request: dict):
    orders = AggregatedOrder.objects.filter(org_id=channel.org_id, channel=channel)
    if request["kind"] == ComplianceRequest.Kind.SHOP_REDACT:
        return orders
    match = Q(pk__in=[])
    if request["order_ids"]:
        match |= Q(channel_order_id__in=request["order_ids"])
    if request["customer_id"]:
        match |= Q(channel_metadata__customer_id=request["customer_id"])
    if request["customer_email"]:
        match |= Q(customer_email__iexact=request["customer_email"])
    return orders.filter(match)


def _redact_orders(orders) -> set[str]:
    now, ids = timezone.now(), set()
    for order in orders.select_for_update():
        order.customer_email = ""
        order.customer_name = ""
        order.shipping_address = None
        order.channel_metadata = redact_payload(order.channel_metadata or {})
        order.raw = redact_payload(order.raw or {})
        order.data = {**(order.data or {}), "personalDataRedactedAt": now.isoformat()}
        order.updated_at = now
        order.save(update_fields=["customer_email", "customer_name", "shipping_address", "channel_metadata", "raw",
                                  "data", "updated_at"])
        ids.add(order.channel_order_id)
    return ids


def _delivery_order_id(body: dict) -> str | None:
    value = body.get("id") if isinstance(body, dict) else None
    return None if value is None else str(value).rsplit("/", 1)[-1]


def _redact_deliveries(channel: Channel, order_ids: set[str], *, everything: bool, request_delivery_pk=None) -> int:
    """Stored order deliveries of those orders (all of them for a shop) get their body without personal data."""
    count = 0
    # Not the ones still waiting to be processed (they would lose their order data); the request's own, yes.
    deliveries = WebhookDelivery.objects.filter(channel=channel).filter(
        ~Q(status=WebhookDelivery.Status.RECEIVED) | Q(pk=request_delivery_pk))
    for delivery in deliveries.only("pk", "body", "topic").iterator():
        try:
            body = json.loads(bytes(delivery.body) or b"{}")
        except ValueError:
            continue
        if delivery.pk != request_delivery_pk and not everything and _delivery_order_id(body) not in order_ids:
            continue
        redacted = redact_payload(body)
        if redacted != body:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                body=json.dumps(redacted, separators=(",", ":")).encode())
            count += 1
    return count


def compliance_handle(*, channel: Channel, event: WebhookEvent, delivery: WebhookDelivery | None = None
                      ) -> ComplianceRequest:
    """Record the request and carry it out, in one transaction; a repeated delivery finds its first record."""
    request = event.compliance or {}
    delivery_id = event.delivery_id or (delivery.delivery_id if delivery else "")
    with transaction.atomic():
        if delivery_id:
            existing = ComplianceRequest.objects.filter(channel=channel, delivery_id=delivery_id).first()
            if existing is not None and existing.processed_at is not None:
                return existing
        try:
            with transaction.atomic():
                record = ComplianceRequest.objects.create(
                    org_id=channel.org_id, channel=channel, kind=request["kind"], delivery_id=delivery_id,
                    shop_domain=request.get("shop_domain", "")[:255], customer_id=request.get("customer_id", "")[:64],
                    customer_email=request.get("customer_email", "")[:254], order_ids=request.get("order_ids") or [])
        except IntegrityError:
            record = ComplianceRequest.objects.get(channel=channel, delivery_id=delivery_id)
        if record.kind == ComplianceRequest.Kind.DATA_REQUEST:
            found = list(_orders_for(channel, request).values_list("channel_order_id", flat=True))
            record.note = (f"Stored orders of this customer: {', '.join(found) or 'none'}. "
                           f"Data request id {request.get('data_request_id') or '-'}.")
        else:
            ids = _redact_orders(_orders_for(channel, request))
            record.redacted_orders = len(ids)
            record.redacted_deliveries = _redact_deliveries(
                channel, ids, everything=record.kind == ComplianceRequest.Kind.SHOP_REDACT,
                request_delivery_pk=delivery.pk if delivery else None)
            record.customer_email = ""   # the request itself no longer names the customer by email
            record.note = f"Redacted {len(ids)} order(s): {', '.join(sorted(ids)) or 'none stored'}."
        record.processed_at = timezone.now()
        record.save()
    logger.info("channel %s: %s processed (%s)", channel.pk, record.kind, record.note[:200])
    return record
