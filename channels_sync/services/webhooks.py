"""Webhook deliveries: route to a channel, verify, store raw (deduplicated), process in a worker."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from channels_sync.conf import webhook_max_attempts
from channels_sync.models import Channel, WebhookDelivery, WebhookRejection, normalize_identity
from channels_sync.normalized import WebhookRequest
from channels_sync.providers import UnknownProvider, provider_class
from channels_sync.providers.errors import ChannelError, WebhookRejected
from channels_sync.services.backoff import retry_delay
from channels_sync.services.ingest import IngestResult, ingest

logger = logging.getLogger(__name__)


class UnknownChannel(LookupError):
    """No enabled channel matches the delivery: answered 404, nothing stored."""


class DeliveryNotFound(LookupError):
    pass


@dataclass
class Received:
    delivery: WebhookDelivery
    duplicate: bool


def webhook_route(*, provider_name: str, request: WebhookRequest) -> list[Channel]:
    """Enabled channels the delivery may belong to: by `?channel=` (and `org=`), else by the account identity."""
    try:
        cls = provider_class(provider_name)
    except (UnknownProvider, ImportError):
        raise UnknownChannel(provider_name) from None
    channels = Channel.objects.select_related("org").filter(provider=provider_name, enabled=True)
    channel_id = request.query.get("channel")
    if channel_id:
        channels = channels.filter(channel_id=channel_id)
        if request.query.get("org"):
            channels = channels.filter(org__slug=request.query["org"])
    else:
        identity = normalize_identity(cls.webhook_identity(request))
        if not identity:
            raise UnknownChannel(provider_name)
        channels = channels.filter(account_identity=identity)
    found = list(channels[:5])
    if not found:
        raise UnknownChannel(provider_name)
    return found


def webhook_verify(*, channels: list[Channel], request: WebhookRequest) -> Channel:
    """The channel whose secret signs the delivery; WebhookRejected (counted) when none does."""
    for channel in channels:
        try:
            channel.provider_instance().verify_webhook(request)
        except WebhookRejected:
            continue
        return channel
    for channel in channels[:1]:
        webhook_rejection_count(channel=channel)
    raise WebhookRejected("signature does not verify")


def webhook_rejection_count(*, channel: Channel) -> None:
    today, now = timezone.now().date(), timezone.now()
    updated = WebhookRejection.objects.filter(channel=channel, day=today).update(count=F("count") + 1, last_at=now)
    if not updated:
        try:
            with transaction.atomic():
                WebhookRejection.objects.create(channel=channel, day=today, count=1, last_at=now)
        except IntegrityError:
            WebhookRejection.objects.filter(channel=channel, day=today).update(count=F("count") + 1, last_at=now)


def _delivery_identity(channel: Channel, request: WebhookRequest) -> tuple[str, str]:
    """The channel's delivery id and topic; a hash of the body when the payload cannot say."""
    try:
        event = channel.provider_instance().parse_webhook(request)
        delivery_id, topic = str(event.delivery_id or ""), str(event.topic or "")
    except Exception:  # a malformed payload is still stored: processing will fail it visibly
        delivery_id, topic = "", ""
    if not delivery_id:
        delivery_id = "sha256:" + hashlib.sha256(request.body).hexdigest()
    return delivery_id[:255], topic[:128]


def webhook_store(*, channel: Channel, request: WebhookRequest) -> Received:
    """Keep the raw delivery once; a repeated delivery id is a duplicate, acknowledged but not processed."""
    from channels_sync.tasks import process_webhook_delivery

    delivery_id, topic = _delivery_identity(channel, request)
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                org_id=channel.org_id, channel=channel, delivery_id=delivery_id, topic=topic,
                body=request.body, headers=dict(request.headers), query=dict(request.query), url=request.url,
            )
            transaction.on_commit(lambda: process_webhook_delivery.delay(delivery.pk), robust=True)
    except IntegrityError:
        existing = WebhookDelivery.objects.get(channel=channel, delivery_id=delivery_id)
        return Received(delivery=existing, duplicate=True)
    return Received(delivery=delivery, duplicate=False)


def _as_request(delivery: WebhookDelivery) -> WebhookRequest:
    return WebhookRequest(headers=dict(delivery.headers), body=bytes(delivery.body), query=dict(delivery.query),
                          url=delivery.url)


def webhook_process(*, delivery_pk: int) -> float | None:
    """Parse, fetch what the delivery only names, ingest. Returns a retry delay when it failed and may retry."""
    with transaction.atomic():
        try:
            delivery = (WebhookDelivery.objects.select_for_update().select_related("channel")
                        .get(pk=delivery_pk))
        except WebhookDelivery.DoesNotExist:
            raise DeliveryNotFound(delivery_pk) from None
        if delivery.status == WebhookDelivery.Status.PROCESSED:
            return None
        attempt = delivery.attempts + 1
        retry_after = None
        try:
            with transaction.atomic():
                result = _process(delivery)
        except Exception as exc:
            retry_after = exc.retry_after if isinstance(exc, ChannelError) else None
            logger.warning("webhook delivery %s failed (attempt %s): %s", delivery.pk, attempt, exc)
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            delay = None
            if attempt < webhook_max_attempts():
                delay = retry_delay(attempt=attempt, base=30, cap=3600, retry_after=retry_after)
                delivery.next_retry_at = timezone.now() + timezone.timedelta(seconds=delay)
            else:
                delivery.next_retry_at = None
            delivery.attempts = attempt
            delivery.save(update_fields=["status", "last_error", "attempts", "next_retry_at"])
            return delay
        delivery.status = WebhookDelivery.Status.PROCESSED
        delivery.attempts = attempt
        delivery.orders_count = result.fetched
        delivery.last_error = "; ".join(result.errors)[:2000]
        delivery.processed_at = timezone.now()
        delivery.next_retry_at = None
        delivery.save(update_fields=["status", "attempts", "orders_count", "last_error", "processed_at",
                                     "next_retry_at"])
        return None


def _process(delivery: WebhookDelivery) -> IngestResult:
    provider = delivery.channel.provider_instance()
    event = provider.parse_webhook(_as_request(delivery))
    raw_orders = list(event.orders) + [provider.fetch_order(ref) for ref in event.order_refs]
    result = ingest(channel=delivery.channel, raw_orders=raw_orders)
    if result.failed and not (result.created or result.updated or result.unchanged):
        raise ValueError("no order in the delivery could be normalized: " + "; ".join(result.errors))
    return result


def webhook_retry(*, delivery: WebhookDelivery) -> bool:
    """Admin's retry: queue a failed delivery again (attempts keep counting). False if it already succeeded."""
    from channels_sync.tasks import process_webhook_delivery

    if delivery.status == WebhookDelivery.Status.PROCESSED:
        return False
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.RECEIVED, next_retry_at=None)
    transaction.on_commit(lambda: process_webhook_delivery.delay(delivery.pk), robust=True)
    return True
