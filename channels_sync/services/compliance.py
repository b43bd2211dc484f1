"""Privacy requests from channels (Shopify's mandatory compliance webhooks): recorded for staff, and acted on.

customers/redact: that customer's personal data (email, name, addresses, phone) is removed from the channel's
stored orders (the columns, the metadata and the raw payload) and from the stored webhook bodies of those orders;
shop/redact: the same for every order of the channel; customers/data_request: recorded (a ComplianceRequest row in
admin) for staff to answer the merchant, nothing is changed. Every request is recorded, whatever it asked.
eBay's marketplace account deletion (`ebay_account_deletion`) removes that buyer from every eBay channel's orders.
"""

from __future__ import annotations

import json
import logging

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, TextField
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast
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


# eBay's spellings (Fulfillment API Order): the buyer's username, registration and tax addresses, the ship-to.
EBAY_PERSONAL_OBJECTS = {"shipTo", "buyerRegistrationAddress", "taxAddress", "contactAddress", "primaryPhone"}
EBAY_PERSONAL_FIELDS = {"username", "userId", "fullName", "email", "companyName", "taxIdentifier"}


def redact_payload(value, *, objects=PERSONAL_OBJECTS, fields=PERSONAL_FIELDS, customer_keys=CUSTOMER_KEYS):
    """A copy of a channel payload without personal data; ids, lines, money and statuses are kept."""
    if isinstance(value, list):
        return [redact_payload(item, objects=objects, fields=fields, customer_keys=customer_keys) for item in value]
    if not isinstance(value, dict):
        return value
    redacted = {}
    for key, item in value.items():
        if key in customer_keys and isinstance(item, dict):
            redacted[key] = {"id": item.get("id")} if item.get("id") is not None else None
        elif key in objects and item not in (None, "", [], {}):
            redacted[key] = None
        elif key in fields and item not in (None, ""):
            redacted[key] = None
        else:
            redacted[key] = redact_payload(item, objects=objects, fields=fields, customer_keys=customer_keys)
    return redacted


def redact_ebay_payload(value):
    return redact_payload(value, objects=EBAY_PERSONAL_OBJECTS, fields=EBAY_PERSONAL_FIELDS, customer_keys=set())


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


def _redact_orders(orders, redact=redact_payload) -> set[str]:
    now, ids = timezone.now(), set()
    for order in orders.select_for_update():
        order.customer_email = ""
        order.customer_name = ""
        order.shipping_address = None
        order.channel_metadata = redact(order.channel_metadata or {})
        order.raw = redact(order.raw or {})
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


def _ebay_deletion_delivered(channel: Channel, delivery: WebhookDelivery | None, delivery_id: str,
                             username: str) -> ComplianceRequest:
    """An eBay account deletion that came to a channel's own URL: carried out for every eBay channel, as at the
    keyset's endpoint; the stored delivery (the user's data itself) loses the username; the receiving channel's
    record says what was done, even when it had none of the user's orders."""
    with transaction.atomic():
        records = ebay_account_deletion(channels=list(Channel.objects.filter(provider="ebay")),
                                        delivery_id=delivery_id, username=username)
        if delivery is not None:
            try:
                body = json.loads(bytes(delivery.body) or b"{}")
            except ValueError:
                body = {}
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                body=json.dumps(redact_ebay_payload(body), separators=(",", ":")).encode())
        record = next((r for r in records if r.channel_id == channel.pk), None)
        if record is None:
            record, _ = ComplianceRequest.objects.get_or_create(
                channel=channel, delivery_id=delivery_id[:255],
                defaults={"org_id": channel.org_id, "kind": ComplianceRequest.Kind.ACCOUNT_DELETION,
                          "note": f"eBay marketplace account deletion: carried out for {len(records)} eBay "
                                  f"channel(s) with this buyer's orders; none here.",
                          "processed_at": timezone.now()})
    return record


def compliance_handle(*, channel: Channel, event: WebhookEvent, delivery: WebhookDelivery | None = None
                      ) -> ComplianceRequest:
    """Record the request and carry it out, in one transaction; a repeated delivery finds its first record."""
    request = event.compliance or {}
    delivery_id = event.delivery_id or (delivery.delivery_id if delivery else "")
    if request.get("kind") == ComplianceRequest.Kind.ACCOUNT_DELETION:
        return _ebay_deletion_delivered(channel, delivery, delivery_id, request.get("username") or "")
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


# The stored eBay buyer: normalize keeps the order's `buyer` in channel_metadata (jsonb), indexed by this
# expression (migration agg_ebay_buyer_idx) so a deletion notification, sent for every eBay user to every app,
# costs one index look-up.
def ebay_buyer_username():
    return KeyTextTransform("username", KeyTransform("buyer", "channel_metadata"))


def ebay_account_deletion(*, channels: list[Channel], delivery_id: str, username: str) -> list[ComplianceRequest]:
    """eBay's MARKETPLACE_ACCOUNT_DELETION: that user's personal data is removed from every stored order of these
    channels that names them (username, buyer and ship-to names, addresses, phone, email, in the columns, the
    metadata and the raw payload), and each channel that had some gets a ComplianceRequest for staff. eBay sends
    the notification for every deleted user to every app, so a channel without that user gets no record (admin
    would drown), and a repeated notification finds the orders already clean and does nothing."""
    if not username or not channels:
        return []
    records = []
    with transaction.atomic():
        username_of = ebay_buyer_username()
        if connection.vendor != "postgresql":   # SQLite would read the compared username as JSON ("malformed JSON")
            username_of = Cast(username_of, TextField())
        matching = (AggregatedOrder.objects.annotate(ebay_username=username_of)
                    .filter(ebay_username=username, channel__in=[channel.pk for channel in channels]))
        by_channel: dict[int, list[int]] = {}
        for channel_pk, order_pk in matching.values_list("channel_id", "pk"):
            by_channel.setdefault(channel_pk, []).append(order_pk)
        for channel in channels:
            if channel.pk not in by_channel:
                continue
            ids = _redact_orders(AggregatedOrder.objects.filter(pk__in=by_channel[channel.pk]),
                                 redact=redact_ebay_payload)
            record, _ = ComplianceRequest.objects.get_or_create(
                channel=channel, delivery_id=delivery_id[:255],
                defaults={"org_id": channel.org_id, "kind": ComplianceRequest.Kind.ACCOUNT_DELETION})
            record.redacted_orders += len(ids)
            record.note = (f"eBay marketplace account deletion: the buyer's personal data was removed from "
                           f"{record.redacted_orders} order(s): {', '.join(sorted(ids))}.")
            record.processed_at = timezone.now()
            record.save()
            records.append(record)
    for record in records:
        logger.info("channel %s: eBay account deletion processed (%s)", record.channel_id, record.note[:200])
    return records
