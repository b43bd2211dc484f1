"""Changing an aggregated order's status here and writing it back to the channel, with retries."""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from urllib.parse import quote

from django.db import models, transaction
from django.utils import timezone

from channels_sync import scheduling
from channels_sync.conf import retry_max_delay_seconds, writeback_backoff_seconds, writeback_max_attempts
from channels_sync.models import AggregatedOrder, Channel, OrderSku, Outcome, Writeback, WritebackAttempt
from channels_sync.normalized import CommonStatus, OrderLineData, WritebackRequest
from channels_sync.providers import provider_class
from channels_sync.providers.errors import ChannelError, RetryableChannelError
from channels_sync.services import events
from channels_sync.services.summary import SummaryDelta
from core.api.exceptions import ApiError, Conflict
from core.backoff import SWEEP_GRACE, retry_delay, retry_not_due
from core.text import storable_text

logger = logging.getLogger(__name__)


def _validate_carrier(order: AggregatedOrder, carrier: str | None, tracking_number: str | None = None,
                      shipment_id: int | None = None) -> None:
    """A shipment's carrier must be one the channel knows, checked before anything is saved or queued; where the
    channel takes an unlisted carrier only with a tracking URL (Walmart's otherCarrier), one must be known."""
    provider = order.channel.provider_instance()
    accepted = provider.carrier_problem(carrier, order.raw or {})
    if accepted is None and not provider.tracking_url_required(carrier):
        return
    if accepted is None:
        if parcel_tracking_url(org_id=order.org_id, local_order_id=order.local_order_id,
                               tracking_number=tracking_number, carrier=carrier, shipment_id=shipment_id):
            return
        message = (f"{provider.label} takes the carrier \"{carrier.strip()}\" only with a tracking URL, and none is "
                   "known for this parcel.")
        accepted = provider.accepted_carriers() or []
    else:
        message = (f"{provider.label} does not accept the carrier \"{carrier.strip()}\"." if (carrier or "").strip()
                   else f"{provider.label} needs a carrier on a shipment.")
    names = ", ".join(accepted) or "none is set up for this channel yet"
    raise ApiError(message, code="invalid", status_code=400,
                   details={"carrier": [f"{message} Accepted carriers: {names}."]})


def _validate(status: str, tracking_number: str | None) -> CommonStatus:
    try:
        common = CommonStatus(status)
    except ValueError:
        raise ApiError("Unknown status.", code="invalid", status_code=400,
                       details={"status": [f"Choose one of: {', '.join(s.value for s in CommonStatus)}."]})
    if common == CommonStatus.SHIPPED and not (tracking_number or "").strip():
        raise ApiError("A shipped order needs a tracking number.", code="invalid", status_code=400,
                       details={"trackingNumber": ["Required when status is shipped."]})
    return common


def _words(statuses) -> str:
    statuses = [str(status) for status in statuses]
    return statuses[0] if len(statuses) == 1 else ", ".join(statuses[:-1]) + " or " + statuses[-1]


class StatusNotWritable(Conflict):
    """A status the order's channel cannot be told from the order's current status: refused before anything is
    saved, instead of a writeback that could only fail."""


def not_writable(*, order: AggregatedOrder, status: str, current: str | None = None) -> tuple[str, dict] | None:
    """Why the order's channel cannot be told `status` from `current` (the order's status), in words, with the
    details for the 409; None when it can. The one rule for the status API, the Set status page and the channel
    order page's actions: the provider's `writable_statuses` and `done_elsewhere`."""
    provider = provider_class(order.channel.provider)
    current = str(current if current is not None else order.status)
    allowed = provider.writable_from(current)
    if allowed is None or str(status) in allowed:
        return None
    details = {"currentStatus": current, "requestedStatus": str(status), "allowedStatuses": list(allowed)}
    if allowed:
        message = (f"{provider.label} cannot take this order from {current} to {status}. From {current} it accepts "
                   f"{_words(allowed)}.")
    else:
        message = (f"{provider.label} cannot take this order from {current} to {status}: it accepts no status "
                   f"change from {current} (the channel moves such orders itself).")
    if elsewhere := provider.done_elsewhere.get(str(status)):
        message += f" {elsewhere}"
    return message, details


def check_writable(*, order: AggregatedOrder, status: str, current: str | None = None) -> None:
    """Raise StatusNotWritable (409) naming, in words, the statuses the channel accepts from the current one."""
    if refused := not_writable(order=order, status=status, current=current):
        message, details = refused
        raise StatusNotWritable(message, code="invalid_transition", details=details)


def order_status_update(*, order: AggregatedOrder, status: str, tracking_number: str | None = None,
                        carrier: str | None = None, source: str = Writeback.Source.API,
                        shipment_id: int | None = None, lines: list[dict] | None = None) -> Writeback:
    """Save the new status now and queue its writeback once that is committed.

    `shipment_id` (a storefront parcel) makes the writeback unique per parcel: a second one for the same
    parcel raises IntegrityError and rolls the whole update back. `lines` (that parcel's lines, as channel order
    lines) make the channel fulfil only them; without, the writeback is for the whole order."""
    common = _validate(status, tracking_number)
    check_writable(order=order, status=common.value)
    if common == CommonStatus.SHIPPED:
        _validate_carrier(order, carrier, tracking_number, shipment_id)
    with transaction.atomic():
        locked = AggregatedOrder.objects.select_for_update().get(pk=order.pk)
        from_status = locked.status
        check_writable(order=order, status=common.value, current=from_status)  # as it is now, not as it was read
        delta = SummaryDelta(locked.org_id)
        delta.remove(locked.channel_id, locked.status, locked.currency, locked.grand_total)
        locked.status = common.value
        if tracking_number:
            locked.tracking_number = tracking_number.strip()[:128]
        if carrier:
            locked.carrier = carrier.strip()[:64]
        locked.updated_at = timezone.now()
        locked.save(update_fields=["status", "tracking_number", "carrier", "updated_at"])
        OrderSku.objects.filter(order=locked).update(status=locked.status)  # the SKU search filters on it
        delta.add(locked.channel_id, locked.status, locked.currency, locked.grand_total)
        delta.apply()
        writeback = Writeback.objects.create(
            org_id=locked.org_id, channel_id=locked.channel_id, order=locked, target_status=common.value,
            tracking_number=locked.tracking_number, carrier=locked.carrier, source=source,
            max_attempts=writeback_max_attempts(), storefront_shipment_id=shipment_id, lines=lines or [],
        )
        scheduling.writeback(writeback.pk)
        events.status_set(order=locked, from_status=from_status, actor=f"{source}-status")
    order.refresh_from_db()
    return writeback


def _request_for(writeback: Writeback) -> WritebackRequest:
    """A parcel's writeback carries only that parcel's lines (`parcel=True`); any other, every line of the order."""
    order = writeback.order
    parcel = bool(writeback.lines)
    lines = [
        OrderLineData(sku=line.get("sku"), channel_sku=line.get("channelSku"), quantity=int(line.get("quantity") or 0),
                      unit_price=Decimal(str(line.get("unitPrice") or "0")), name=line.get("name"),
                      channel_line_id=line.get("channelLineId"))
        for line in (writeback.lines if parcel else order.lines or [])
    ]
    return WritebackRequest(
        channel_order_id=order.channel_order_id, status=CommonStatus(writeback.target_status), lines=lines,
        raw=order.raw or {}, tracking_number=writeback.tracking_number or None, carrier=writeback.carrier or None,
        ship_date=timezone.now() if writeback.target_status == CommonStatus.SHIPPED else None, parcel=parcel,
        tracking_url=(_tracking_url(writeback) if writeback.target_status == CommonStatus.SHIPPED
                      and provider_class(writeback.channel.provider).wants_tracking_url else None),
    )


def _tracking_url(writeback: Writeback) -> str | None:
    return parcel_tracking_url(org_id=writeback.org_id, local_order_id=writeback.order.local_order_id,
                               tracking_number=writeback.tracking_number, carrier=writeback.carrier,
                               shipment_id=writeback.storefront_shipment_id)


def parcel_tracking_url(*, org_id: int, local_order_id: int | None, tracking_number: str | None,
                        carrier: str | None, shipment_id: int | None) -> str | None:
    """Where the buyer can follow the parcel, for channels that want it (Walmart requires one with a carrier
    outside its list): the storefront parcel's public tracking page (its tracking provider's), else the local
    order's parcel with this tracking number, else the carrier's own page for carriers we know. None: unknown."""
    from orders.models import CARRIER_TRACKING_URLS, Shipment

    number = (tracking_number or "").strip()
    if not number:
        return None
    shipments = Shipment.objects.filter(org_id=org_id)
    if shipment_id:
        shipment = shipments.filter(pk=shipment_id).first()
    elif local_order_id:
        shipment = shipments.filter(order_id=local_order_id, tracking_number=number).first()
    else:
        shipment = None
    if shipment is not None and shipment.public_tracking_url:
        return shipment.public_tracking_url
    template = CARRIER_TRACKING_URLS.get((carrier or (shipment.carrier if shipment else "")).strip().lower())
    return template.format(tn=quote(number, safe="")) if template else None


# How long a claimed attempt may take before another worker may take the writeback over (a worker killed
# mid-call); far longer than any provider call, whose HTTP timeouts are seconds.
RUNNING_LEASE = timezone.timedelta(minutes=10)


def _claim(writeback_pk: int) -> Writeback | None:
    """The first short transaction: lock the row, check it is due, mark it running with its attempt number, commit.

    The claim is a conditional UPDATE (status and attempts as read), so of two workers holding the same
    writeback (a duplicate message, the sweep's copy) only one calls the channel, on SQLite too."""
    with transaction.atomic():
        writeback = (Writeback.objects.select_for_update()
                     .select_related("order", "channel").get(pk=writeback_pk))
        now = timezone.now()
        if writeback.status in (Outcome.SUCCEEDED, Outcome.FAILED):
            return None
        if writeback.status == Outcome.RUNNING:
            if writeback.next_attempt_at and writeback.next_attempt_at > now:
                return None  # another worker is calling the channel right now
            if writeback.attempts >= writeback.max_attempts:  # its last attempt was abandoned (worker lost)
                abandoned = dict(status=Outcome.FAILED, next_attempt_at=None, finished_at=now,
                                 last_error=writeback.last_error or "The last attempt was abandoned (its worker was "
                                                                    "lost).")
                if Writeback.objects.filter(pk=writeback.pk, status=Outcome.RUNNING,
                                            attempts=writeback.attempts).update(**abandoned):
                    for name, value in abandoned.items():
                        setattr(writeback, name, value)
                    events.writeback_finished(writeback=writeback)
                return None
        elif retry_not_due(writeback.next_attempt_at):
            return None  # a duplicate task (the sweep's copy): the one due then runs the try
        number = writeback.attempts + 1
        as_read = Writeback.objects.filter(pk=writeback.pk, status=writeback.status, attempts=writeback.attempts)
        claimed = as_read.update(status=Outcome.RUNNING, attempts=number, next_attempt_at=now + RUNNING_LEASE)
        if not claimed:
            return None
    writeback.status, writeback.attempts = Outcome.RUNNING, number
    return writeback


def writeback_attempt(*, writeback_pk: int) -> float | None:
    """One try. Returns the delay before the next try when a retryable failure leaves attempts, else None.

    Never holds a transaction or a row lock while the channel is called: claim (lock, mark running, commit),
    call, then record the outcome in a new short transaction. Each try is a WritebackAttempt row (time,
    request summary, response code, duration, error).
    """
    writeback = _claim(writeback_pk)
    if writeback is None:
        return None
    number = writeback.attempts
    request = _request_for(writeback)
    attempt = WritebackAttempt(writeback=writeback, number=number, started_at=timezone.now(),
                               request_summary=f"{writeback.target_status} {writeback.order.channel_order_id}"
                                               + (f" tracking {writeback.tracking_number}"
                                                  if writeback.tracking_number else ""))
    started = time.monotonic()
    delay = None
    outcome: dict = {}
    try:
        result = writeback.channel.provider_instance().write_back(request)
    except ChannelError as exc:
        attempt.response_code = exc.status_code
        attempt.error = storable_text(f"{type(exc).__name__}: {exc}", 2000)
        attempt.retryable = isinstance(exc, RetryableChannelError)
        attempt.response_body = storable_text(exc.response_body or "", 2000)
        outcome.update(last_error=attempt.error, last_response_body=attempt.response_body)
        if attempt.retryable and number < writeback.max_attempts:
            delay = retry_delay(attempt=number, base=writeback_backoff_seconds(), cap=retry_max_delay_seconds(),
                                retry_after=exc.retry_after)
            outcome.update(status=Outcome.QUEUED, next_attempt_at=timezone.now() + timezone.timedelta(seconds=delay))
        else:
            outcome.update(status=Outcome.FAILED, next_attempt_at=None, finished_at=timezone.now())
    except Exception as exc:  # a provider bug: not worth retrying blindly, visible in history
        logger.exception("writeback %s crashed", writeback.pk)
        attempt.error = storable_text(f"{type(exc).__name__}: {exc}", 2000)
        outcome.update(last_error=attempt.error, status=Outcome.FAILED, next_attempt_at=None,
                       finished_at=timezone.now())
    else:
        attempt.succeeded = True
        attempt.response_code = result.response_code
        if result.request_summary:
            attempt.request_summary = result.request_summary[:2000]
        outcome.update(status=Outcome.SUCCEEDED, channel_reference=(result.channel_reference or "")[:255],
                       last_error="", last_response_body="", next_attempt_at=None, finished_at=timezone.now())
        if result.tracking_number:   # the channel's own tracking (TikTok's label) replaces what was typed
            outcome.update(tracking_number=result.tracking_number.strip()[:128],
                           carrier=(result.carrier or writeback.carrier or "").strip()[:64])
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    with transaction.atomic():
        attempt.save()
        # Only while the claim is still ours: after RUNNING_LEASE another worker may have taken the writeback over.
        if not Writeback.objects.filter(pk=writeback.pk, status=Outcome.RUNNING, attempts=number).update(**outcome):
            logger.warning("writeback %s attempt %s finished after its claim was taken over", writeback.pk, number)
            return None
        for name, value in outcome.items():
            setattr(writeback, name, value)
        if attempt.succeeded and result.learned_config:
            _remember(writeback.channel_id, result.learned_config)
        if "tracking_number" in outcome:
            AggregatedOrder.objects.filter(pk=writeback.order_id).update(
                tracking_number=outcome["tracking_number"], carrier=outcome["carrier"])
        events.writeback_finished(writeback=writeback)  # succeeded, or failed for good; nothing while retrying
    return delay


def _remember(channel_pk: int, learned: dict) -> None:
    """Merge what a writeback learned about the channel account into its config (locked: an edit meanwhile
    keeps its own keys)."""
    channel = Channel.objects.select_for_update().filter(pk=channel_pk).first()
    if channel is not None and any(channel.config.get(key) != value for key, value in learned.items()):
        channel.config = {**channel.config, **learned}
        channel.save(update_fields=["config", "updated_at"])


def writeback_sweep(*, now=None, limit: int = 500) -> int:
    """Queue again the writebacks whose task was lost (a broker restart drops queued and countdown messages):
    queued and due for over SWEEP_GRACE, or running past their lease (a worker killed mid-call). A task that was
    only late finds the row already tried and does nothing."""
    now = now or timezone.now()
    stale = list(Writeback.objects.filter(status__in=[Outcome.QUEUED, Outcome.RUNNING]).filter(
        models.Q(next_attempt_at__lt=now - SWEEP_GRACE)
        | models.Q(next_attempt_at__isnull=True, created_at__lt=now - SWEEP_GRACE)
    ).order_by("created_at").values_list("pk", flat=True)[:limit])
    for pk in stale:
        scheduling.writeback(pk)
    if stale:
        logger.warning("re-queued %s writebacks whose task was lost", len(stale))
    return len(stale)


def writeback_retry_consequence(writeback: Writeback) -> str:
    """What a person confirms before retrying: one more attempt, and whether the channel said trying again is
    pointless (a permanent refusal)."""
    last = writeback.attempt_rows.order_by("-number").first()
    refusal = ""
    if last is not None and not last.retryable:
        code = f" (HTTP {last.response_code})" if last.response_code else ""
        refusal = (f" The channel refused the last attempt for good{code}: the same request will fail again unless "
                   "the cause was fixed on the channel's side.")
    return (f"This sends the {writeback.target_status} status of order {writeback.order.channel_order_id} to the "
            f"channel once more: attempt {writeback.attempts + 1}, after {writeback.attempts} failed. It is not "
            f"retried automatically if it fails.{refusal}")


def writeback_retry(*, writeback: Writeback, confirmed: bool = False) -> Writeback:
    """A person's retry of a failed writeback: exactly one more attempt (the ceiling moves by one, counted in
    `manual_retries`), queued now. Needs `confirmed` (400 saying what it will do); 409 unless failed."""
    if writeback.status != Outcome.FAILED:
        raise Conflict(f"This writeback is {writeback.state_label.lower()}, not failed: only a failed writeback "
                       "can be retried.", code="invalid_transition",
                       details={"state": writeback.state, "allowedStates": ["failed"]})
    if not confirmed:
        raise ApiError("Confirm the retry.", code="confirmation_required", status_code=400,
                       details={"confirm": [writeback_retry_consequence(writeback) + " Send confirm: true."]})
    with transaction.atomic():
        updated = Writeback.objects.filter(pk=writeback.pk, status=Outcome.FAILED).update(
            status=Outcome.QUEUED, max_attempts=models.F("attempts") + 1,
            manual_retries=models.F("manual_retries") + 1, next_attempt_at=None, finished_at=None)
        if not updated:  # retried by someone else meanwhile
            raise Conflict("This writeback was retried meanwhile.", code="invalid_transition")
        scheduling.writeback(writeback.pk)
    writeback.refresh_from_db()
    return writeback


__all__ = ["StatusNotWritable", "check_writable", "not_writable", "order_status_update", "writeback_attempt",
           "writeback_retry", "writeback_sweep"]
