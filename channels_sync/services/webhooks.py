"""Webhook deliveries: route to a channel, verify, store raw (deduplicated), process in a worker."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from channels_sync import scheduling
from channels_sync.conf import (
    webhook_drain_nudge_seconds,
    webhook_drainers,
    webhook_max_attempts,
    webhook_route_cache_seconds,
)
from channels_sync.models import Channel, WebhookDelivery, WebhookRejection, new_delivery_id, normalize_identity
from channels_sync.normalized import WebhookRequest
from channels_sync.providers import UnknownProvider, provider_class
from channels_sync.providers.errors import ChannelError, WebhookMalformed, WebhookRejected
from channels_sync.services.compliance import compliance_handle
from channels_sync.services.ingest import IngestResult, ingest
from core.backoff import SWEEP_GRACE, retry_delay, retry_not_due
from core.storage import InsertIgnoringConflicts
from core.text import storable_text

logger = logging.getLogger(__name__)


class UnknownChannel(LookupError):
    """No enabled channel matches the delivery: answered 404, nothing stored."""


class DeliveryNotFound(LookupError):
    pass


@dataclass
class Received:
    pk: int | None  # the stored row; None for a duplicate (the first copy's row is not looked up)
    duplicate: bool


# Routing answers, per process, for a few seconds: the lookup (query + decrypting the config) was the
# largest cost of accepting a delivery. Any Channel save/delete in this process clears it; other
# processes see a change within CHANNEL_WEBHOOK_ROUTE_CACHE_SECONDS.
_route_cache: dict[tuple, tuple[float, list[Channel]]] = {}


def route_cache_clear(**kwargs) -> None:
    _route_cache.clear()


def webhook_route(*, provider_name: str, request: WebhookRequest, include_disabled: bool = False) -> list[Channel]:
    """Enabled channels the delivery may belong to: by `?channel=` (and `org=`), else by the account identity.

    `include_disabled` is for ownership challenges: eBay checks the endpoint while the channel is being enabled,
    before `enabled` is saved."""
    try:
        cls = provider_class(provider_name)
    except (UnknownProvider, ImportError):
        raise UnknownChannel(provider_name) from None
    if not cls.supports_webhooks:  # e.g. Walmart: polled only, so nothing may arrive here
        raise UnknownChannel(provider_name)
    channel_id = request.query.get("channel")
    identity = "" if channel_id else _identity(cls, request)
    key = (provider_name, channel_id, request.query.get("org") if channel_id else None, identity, include_disabled)
    ttl = webhook_route_cache_seconds()
    cached = _route_cache.get(key) if ttl else None
    if cached and cached[0] > time.monotonic():
        found = cached[1]
    else:
        found = _route_query(provider_name, channel_id, request.query.get("org"), identity, include_disabled)
        if ttl:
            if len(_route_cache) > 10_000:
                _route_cache.clear()
            _route_cache[key] = (time.monotonic() + ttl, found)
    if not found:
        raise UnknownChannel(provider_name)
    return found


def _identity(cls, request: WebhookRequest) -> str:
    """The account a delivery names, read from unverified bytes: one that cannot be read names none."""
    try:
        return normalize_identity(cls.webhook_identity(request))
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
        return ""


ROUTE_CANDIDATES = 20


def _route_query(provider_name: str, channel_id: str | None, org_slug: str | None, identity: str,
                 include_disabled: bool) -> list[Channel]:
    channels = Channel.objects.select_related("org").filter(provider=provider_name)
    if not include_disabled:
        channels = channels.filter(enabled=True)
    if channel_id:
        channels = channels.filter(channel_id=channel_id)
        if org_slug:
            channels = channels.filter(org__slug=org_slug)
    elif identity:
        channels = channels.filter(account_identity=identity)
    else:
        return []
    # By primary key, not the model's org ordering: which candidate comes first decides nothing (webhook_verify
    # tries them all), and a cap keeps a forged `?channel=` cheap.
    return list(channels.order_by("pk")[:ROUTE_CANDIDATES])


class AmbiguousDelivery(LookupError):
    """Several channels (of different orgs) verify the delivery and its account names none of them alone:
    answered 409 and not stored, never given to whichever channel happens to come first."""


def webhook_verify(*, channels: list[Channel], request: WebhookRequest):
    """(channel, provider) for the one channel whose secret signs the delivery; WebhookRejected (counted) when none
    does. Every candidate is tried: when two verify (a `?channel=` without `org=` shared by two orgs whose channels
    use one app secret), the account the delivery names decides, else AmbiguousDelivery."""
    verified = []
    for channel in channels:
        provider = channel.provider_instance()
        try:
            provider.verify_webhook(request)
        except WebhookMalformed:
            raise   # the header is unreadable for every candidate alike: a 400, not worth a rejection count
        except WebhookRejected:
            continue
        verified.append((channel, provider))
    if len(verified) == 1:
        return verified[0]
    if verified:
        identity = _identity(type(verified[0][1]), request)
        named = [pair for pair in verified if identity and pair[0].account_identity == identity]
        if len(named) == 1:
            return named[0]
        raise AmbiguousDelivery(f"{len(verified)} channels verify this delivery")
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


def _delivery_identity(provider, request: WebhookRequest, body_sha256: str) -> tuple[str, str]:
    """The channel's delivery id and topic (from headers where the channel sends them, else from the parsed
    payload); the body's hash when neither can say."""
    try:
        identity = provider.webhook_delivery_identity(request)
        if identity is None:
            event = provider.parse_webhook(request)
            identity = event.delivery_id, event.topic
        delivery_id, topic = str(identity[0] or ""), str(identity[1] or "")
    except Exception:  # a malformed payload is still stored: processing will fail it visibly
        delivery_id, topic = "", ""
    if not delivery_id:
        delivery_id = "sha256:" + body_sha256
    return delivery_id[:255], topic[:128]


# Words that make a header a credential whichever channel sent it (issue 15, item 15): a relay's own secret,
# a proxy's Authorization, a signature under a name no provider lists yet. Kept out of stored rows.
SECRET_HEADER_WORDS = ("signature", "hmac", "secret", "authorization", "cookie", "token", "api-key", "apikey",
                       "password")


@functools.lru_cache(maxsize=1024)
def _secret_by_name(lowered: str) -> bool:
    return any(word in lowered for word in SECRET_HEADER_WORDS)


def storable_headers(headers: dict, provider) -> dict:
    """The delivery's headers without its proof: the provider's signature and secret headers and any header
    named like a credential. Only verified deliveries are stored and processing never verifies again, so
    nothing a retry needs is lost, and a leaked row (backup, admin screen) cannot be replayed as signed."""
    dropped = provider.webhook_secret_header_names()
    return {name: value for name, value in headers.items()
            if (lowered := name.lower()) not in dropped and not _secret_by_name(lowered)}


# The receiver's one statement (core/storage.py): its columns are WebhookDelivery's own fields.
# Any conflict: the same delivery id, or the same body bytes (a replay under a new unsigned id header).
_deliveries = InsertIgnoringConflicts(WebhookDelivery, conflict=())


def webhook_store(*, channel: Channel, request: WebhookRequest, provider=None) -> Received:
    """Keep the raw delivery once; a repeated delivery id, or the same body bytes again (whatever unsigned id
    header came with them), is a duplicate, acknowledged but not processed.

    One autocommitted `INSERT ... ON CONFLICT DO NOTHING` (the channel is answered only once the row is
    durable), then a debounced nudge to the drain task instead of one Celery message per delivery. The values
    go by field name to core/storage.py's statement, not through a model instance: one per delivery cost more
    than the statement's own Python work.
    """
    provider = provider or channel.provider_instance()
    body_sha256 = hashlib.sha256(request.body).hexdigest()  # once: the replay key, and the id of last resort
    delivery_id, topic = _delivery_identity(provider, request, body_sha256)
    pk = _deliveries.insert({
        "public_id": new_delivery_id(), "org": channel.org_id, "channel": channel.pk, "delivery_id": delivery_id,
        "topic": topic, "body": request.body, "body_sha256": body_sha256,
        "headers": storable_headers(request.headers, provider), "query": dict(request.query),
        "url": request.url, "status": WebhookDelivery.Status.RECEIVED.value, "attempts": 0, "orders_count": 0,
        "last_error": "", "received_at": timezone.now()})
    if pk is None:
        return Received(pk=None, duplicate=True)
    transaction.on_commit(webhook_drain_soon, robust=True)
    return Received(pk=pk, duplicate=False)


_DRAIN_PENDING_KEY = "channels_sync:webhook-drain-pending"

class _DrainNudger:
    """One daemon thread per process that nudges the drain at most once per window.

    A Redis round trip per delivery was a fifth of a delivery's cost. A request only sets an event after its
    commit; the thread clears the event, then nudges, so every stored delivery is followed by a nudge sent after
    its commit. The thread keeps its own cache connection (a thread per nudge would connect each time).
    """

    def __init__(self):
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._pid = None

    def request(self) -> None:
        if self._pid != os.getpid():  # first use in this process (a forked child has no copy of the thread)
            with self._lock:
                if self._pid != os.getpid():
                    self._wake = threading.Event()
                    threading.Thread(target=self._run, args=(self._wake,), name="webhook-drain-nudger",
                                     daemon=True).start()
                    self._pid = os.getpid()
        self._wake.set()

    @staticmethod
    def _run(wake: threading.Event) -> None:
        while True:
            wake.wait()
            wake.clear()
            try:
                webhook_drain_nudge()
                time.sleep(webhook_drain_nudge_seconds())
            except Exception:  # never let the thread die: this process's deliveries would wait for the sweep
                logger.exception("webhook drain nudger")
                time.sleep(1)


_nudger = _DrainNudger()


def webhook_drain_soon() -> None:
    """Make sure a drain runs after this point: at once, or through this process's nudger thread when
    CHANNEL_WEBHOOK_DRAIN_NUDGE_SECONDS sets a window."""
    if webhook_drain_nudge_seconds() > 0:
        _nudger.request()
    else:
        webhook_drain_nudge()


def webhook_drain_nudge() -> None:
    """Queue one drain task unless one is already pending (a cache flag; Redis makes it shared)."""
    try:
        if cache.add(_DRAIN_PENDING_KEY, 1, timeout=10):
            scheduling.webhook_drain()
    except Exception as exc:  # broker or cache down: the delivery is stored, beat's sweep drains it later
        logger.warning("could not queue a webhook drain (the sweep will pick the delivery up): %s", exc)


def webhook_drain(*, batch_size: int = 100, max_seconds: float = 50) -> int:
    """Process stored deliveries in batches (one ingest per channel per batch) until none is left.

    Drainers share the backlog through `SKIP LOCKED`; a full batch calls helpers (`webhook_drain_help`). Before
    giving up, the pending flag is cleared and the table checked once more, so a delivery stored meanwhile
    either is seen here or queues a new drain.
    """
    started, processed = time.monotonic(), 0
    while time.monotonic() - started < max_seconds:
        count = _drain_batch(batch_size)
        if count:
            processed += count
            if count == batch_size:
                _call_drain_helpers()
            continue
        cache.delete(_DRAIN_PENDING_KEY)
        count = _drain_batch(batch_size)
        if not count:
            return processed
        processed += count
    cache.delete(_DRAIN_PENDING_KEY)  # out of time with work left: hand over to a fresh task
    webhook_drain_nudge()
    return processed


_DRAIN_HELPER_KEY = "channels_sync:webhook-drain-helper:{}"


def _call_drain_helpers() -> None:
    """A backlog gets up to CHANNEL_WEBHOOK_DRAINERS drainers in all, one task per free helper slot."""
    for slot in range(1, webhook_drainers()):
        try:
            if cache.add(_DRAIN_HELPER_KEY.format(slot), 1, timeout=120):
                scheduling.webhook_drain(helper=slot)
        except Exception as exc:  # the drain goes on alone
            logger.warning("could not call a webhook drain helper: %s", exc)
            return


def webhook_drain_help(*, slot: int, batch_size: int = 100, max_seconds: float = 50) -> int:
    """A helper drains until it finds nothing, then frees its slot; the main drain keeps the pending flag."""
    started, processed = time.monotonic(), 0
    try:
        while time.monotonic() - started < max_seconds:
            count = _drain_batch(batch_size)
            if not count:
                break
            processed += count
    finally:
        cache.delete(_DRAIN_HELPER_KEY.format(slot))
    return processed


def _drain_batch(batch_size: int) -> int:
    with transaction.atomic():
        deliveries = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.RECEIVED).order_by("received_at", "id")[:batch_size]
        )
        # Each channel loaded (and its secrets decrypted) once per batch, not once per delivery.
        channels = Channel.objects.select_related("org").in_bulk({delivery.channel_id for delivery in deliveries})
        by_channel: dict[int, list[WebhookDelivery]] = {}
        for delivery in deliveries:
            delivery.channel = channels[delivery.channel_id]
            by_channel.setdefault(delivery.channel_id, []).append(delivery)
        for group in by_channel.values():
            _process_group(group)
    return len(deliveries)


def _process_group(deliveries: list[WebhookDelivery]) -> None:
    """One channel's deliveries: a single ingest for all their orders; any failure falls back to one by one."""
    channel = deliveries[0].channel
    provider = channel.provider_instance()
    parsed: list[tuple[WebhookDelivery, list[dict]]] = []
    for delivery in deliveries:
        try:
            event = provider.parse_webhook(_as_request(delivery))
            if event.compliance is not None:
                _handle_compliance(channel, delivery, event)
                continue
            parsed.append((delivery, list(event.orders) + [provider.fetch_order(ref) for ref in event.order_refs]))
        except Exception as exc:
            _record_failure(delivery, exc)
    if not parsed:
        return
    try:
        with transaction.atomic():
            result = ingest(channel=channel, raw_orders=[raw for _, raws in parsed for raw in raws])
            if result.failed:
                raise _OneByOne()
    except Exception as exc:
        if not isinstance(exc, _OneByOne):
            logger.warning("batched ingest of %s deliveries failed, retrying one by one: %s", len(parsed),
                           storable_text(str(exc)))
        for delivery, raws in parsed:
            try:
                with transaction.atomic():
                    _record_success(delivery, _ingest_one(channel, raws))
            except Exception as one_exc:
                _record_failure(delivery, one_exc)
        return
    _mark_processed(parsed)
    _acknowledge_new(provider, [raw for _, raws in parsed for raw in raws])


def _acknowledge_new(provider, raws: list[dict]) -> None:
    """Acknowledge the orders a notification brought that the channel expects acknowledged once stored (a
    Walmart PO_CREATED), after they are committed. Best effort: one still unacknowledged reads so on the next
    poll, which acknowledges it then."""
    ids = list(dict.fromkeys(ack for raw in raws if (ack := provider.acknowledgement_id(raw))))
    if not ids:
        return
    try:
        outcomes = provider.acknowledge(ids)
    except ChannelError as exc:
        logger.warning("acknowledging %s notified orders failed: %s", len(ids), storable_text(str(exc)))
        return
    failed = {ack: outcome for ack, outcome in outcomes.items() if outcome != "acknowledged"}
    if failed:
        logger.warning("%s of %s notified orders not acknowledged (the next poll retries): %s", len(failed),
                       len(ids), storable_text(str(failed))[:500])


def _mark_processed(parsed: list[tuple[WebhookDelivery, list[dict]]]) -> None:
    """One UPDATE per distinct order count (almost always one): bulk_update's CASE per row and field cost
    more than the ingest itself."""
    now = timezone.now()
    by_count: dict[int, list[int]] = {}
    for delivery, raws in parsed:
        by_count.setdefault(len(raws), []).append(delivery.pk)
    for orders_count, pks in by_count.items():
        WebhookDelivery.objects.filter(pk__in=pks).update(
            status=WebhookDelivery.Status.PROCESSED, processed_at=now, attempts=F("attempts") + 1,
            orders_count=orders_count, last_error="", next_retry_at=None)


class _OneByOne(Exception):
    pass


def _ingest_one(channel: Channel, raws: list[dict]) -> IngestResult:
    result = ingest(channel=channel, raw_orders=raws)
    if result.failed and not (result.created or result.updated or result.unchanged):
        raise ValueError("no order in the delivery could be normalized: " + "; ".join(result.errors))
    return result


def _handle_compliance(channel: Channel, delivery: WebhookDelivery, event) -> None:
    """A privacy request (Shopify's compliance topics): recorded and carried out, no order ingested."""
    with transaction.atomic():
        compliance_handle(channel=channel, event=event, delivery=delivery)
        _record_success(delivery, IngestResult())


def _record_success(delivery: WebhookDelivery, result: IngestResult) -> None:
    delivery.status = WebhookDelivery.Status.PROCESSED
    delivery.attempts += 1
    delivery.orders_count = result.fetched
    delivery.last_error = storable_text("; ".join(result.errors), 2000)
    delivery.processed_at = timezone.now()
    delivery.next_retry_at = None
    delivery.save(update_fields=["status", "attempts", "orders_count", "last_error", "processed_at", "next_retry_at"])


def _record_failure(delivery: WebhookDelivery, exc: Exception, *, schedule: bool = True) -> float | None:
    """Keep the delivery, note the error, and (attempts left) schedule its own retry with backoff."""
    attempt = delivery.attempts + 1
    retry_after = exc.retry_after if isinstance(exc, ChannelError) else None
    # Channel data quoted in the error must not reach the logs as unencodable text either.
    logger.warning("webhook delivery %s failed (attempt %s): %s", delivery.pk, attempt, storable_text(str(exc)))
    delay = None
    if attempt < webhook_max_attempts():
        delay = retry_delay(attempt=attempt, base=30, cap=3600, retry_after=retry_after)
    delivery.status = WebhookDelivery.Status.FAILED
    delivery.last_error = storable_text(f"{type(exc).__name__}: {exc}", 2000)
    delivery.attempts = attempt
    delivery.next_retry_at = timezone.now() + timedelta(seconds=delay) if delay is not None else None
    delivery.save(update_fields=["status", "last_error", "attempts", "next_retry_at"])
    if schedule and delay is not None:
        scheduling.webhook_delivery_retry(delivery.pk, countdown=delay)
    return delay


def _as_request(delivery: WebhookDelivery) -> WebhookRequest:
    return WebhookRequest(headers=dict(delivery.headers), body=bytes(delivery.body), query=dict(delivery.query),
                          url=delivery.url)


def webhook_attempt(*, delivery_pk: int) -> None:
    """The process_webhook_delivery task: one try of one delivery, its next try sent through scheduling when
    it failed with tries left. A delivery deleted meanwhile is nothing to do."""
    try:
        delay = webhook_process(delivery_pk=delivery_pk)
    except DeliveryNotFound:
        return
    if delay is not None:
        scheduling.webhook_delivery_retry(delivery_pk, countdown=delay)


def webhook_process(*, delivery_pk: int) -> float | None:
    """Process one delivery (its retries, and admin's). Returns a retry delay when it failed and may retry;
    the caller (`webhook_attempt`) schedules that retry."""
    with transaction.atomic():
        try:
            delivery = (WebhookDelivery.objects.select_for_update().select_related("channel")
                        .get(pk=delivery_pk))
        except WebhookDelivery.DoesNotExist:
            raise DeliveryNotFound(delivery_pk) from None
        if delivery.status == WebhookDelivery.Status.PROCESSED:
            return None
        if retry_not_due(delivery.next_retry_at):
            return None  # a duplicate task (the sweep's copy): the one due then runs the try
        try:
            with transaction.atomic():
                provider = delivery.channel.provider_instance()
                event = provider.parse_webhook(_as_request(delivery))
                if event.compliance is not None:
                    _handle_compliance(delivery.channel, delivery, event)
                    return None
                raws = list(event.orders) + [provider.fetch_order(ref) for ref in event.order_refs]
                result = _ingest_one(delivery.channel, raws)
        except Exception as exc:
            return _record_failure(delivery, exc, schedule=False)
        _record_success(delivery, result)
        transaction.on_commit(lambda: _acknowledge_new(provider, raws))   # no channel call under the row lock
        return None


def webhook_sweep(*, now=None, limit: int = 500) -> int:
    """After a lost message (a broker restart, a killed worker): drain when stored deliveries have waited over a
    minute, and queue again the failed ones whose retry is over SWEEP_GRACE late. Returns how many it re-queued."""
    now = now or timezone.now()
    if WebhookDelivery.objects.filter(status=WebhookDelivery.Status.RECEIVED,
                                      received_at__lt=now - timedelta(minutes=1)).exists():
        cache.delete(_DRAIN_PENDING_KEY)  # the flag may belong to a drain that never ran
        scheduling.webhook_drain()
    late = list(WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED,
                                               next_retry_at__lt=now - SWEEP_GRACE)
                .order_by("next_retry_at").values_list("pk", flat=True)[:limit])
    for pk in late:
        scheduling.webhook_delivery_now(pk)
    return len(late)


def webhook_retry(*, delivery: WebhookDelivery) -> bool:
    """Admin's retry: queue a failed delivery again (attempts keep counting). False if it already succeeded."""
    if delivery.status == WebhookDelivery.Status.PROCESSED:
        return False
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.RECEIVED, next_retry_at=None)
    scheduling.webhook_delivery_after_commit(delivery.pk)
    return True
