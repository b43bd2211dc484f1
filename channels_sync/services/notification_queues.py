"""Notification queues the hub reads itself: Amazon delivers ORDER_CHANGE only to an SQS queue, so instead of a
relay per merchant the hub long-polls the app's queue and stores each message as a webhook delivery.

A message goes through the same storage and processing as an HTTP delivery (`webhook_store`: deduplicated by
NotificationId, processed by the drain, failures kept and retried). It is deleted from the queue only once its
delivery is stored, or once it is known never to be storable (not an order notification for a connected
seller); anything else (the database down, the hub stopped mid-batch) leaves it on the queue, where SQS shows it
again after its visibility timeout.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from channels_sync.models import Channel, normalize_identity
from channels_sync.providers.amazon.webhooks import WebhooksMixin, queue_key
from channels_sync.providers.errors import ChannelError, WebhookRejected
from channels_sync.services.webhooks import webhook_rejection_count, webhook_store

logger = logging.getLogger(__name__)

LONG_POLL_SECONDS = 20   # SQS's longest WaitTimeSeconds


def amazon_queues_consume(*, max_seconds: float = 50, wait_seconds: int = LONG_POLL_SECONDS) -> int:
    """Read every Amazon channel's queue (channels of one app share it) until each is empty or `max_seconds`
    have passed; the number of deliveries stored."""
    queues: dict[tuple, list[Channel]] = defaultdict(list)
    for channel in Channel.objects.select_related("org").filter(provider="amazon", enabled=True):
        key = queue_key(channel.config or {})
        if key:
            queues[key].append(channel)
    deadline = time.monotonic() + max_seconds
    stored = 0
    for channels in queues.values():
        try:
            stored += _consume(channels, deadline=deadline, wait_seconds=wait_seconds)
        except ChannelError as exc:   # this queue is unreachable now; the next run tries again
            logger.warning("amazon notification queue of %s: %s", channels[0].channel_id, exc)
    return stored


def _consume(channels: list[Channel], *, deadline: float, wait_seconds: int) -> int:
    by_seller = {channel.account_identity: channel for channel in channels if channel.account_identity}
    reader = channels[0].provider_instance()
    stored = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return stored
        messages = reader.queue_receive(wait_seconds=min(wait_seconds, int(remaining)))
        if not messages:
            return stored
        for receipt, request in messages:
            if _store(by_seller, request):
                stored += 1
            reader.queue_delete(receipt)


def _store(by_seller: dict[str, Channel], request) -> bool:
    """Store one queue message as its channel's delivery; False when it is not one to keep (logged, and for a
    connected seller counted as a rejection). A storage error propagates: the message stays on the queue."""
    channel = by_seller.get(normalize_identity(WebhooksMixin.webhook_identity(request)))
    if channel is None:
        logger.warning("amazon queue message %s names no connected seller; dropped",
                       request.header("X-Amz-Sqs-Message-Id"))
        return False
    provider = channel.provider_instance()
    try:
        provider.verify_queue_message(request)
    except WebhookRejected as exc:
        logger.warning("amazon queue message %s refused for channel %s: %s",
                       request.header("X-Amz-Sqs-Message-Id"), channel.channel_id, exc)
        webhook_rejection_count(channel=channel)
        return False
    return not webhook_store(channel=channel, request=request, provider=provider).duplicate

