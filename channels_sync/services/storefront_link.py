"""The link between channel orders and storefront orders (orders app), both ways.

A channel with `create_local_orders` gets a storefront order for each new channel order (linked by the
`AggregatedOrder.local_order` column here and `metadata.channelOrderId` there); every parcel of that
storefront order (`order.partially_shipped`, then `order.shipped`: see orders.events.SUBSCRIBERS) queues
one channel writeback with that parcel's tracking and lines (`parcel_lines`), with no client call.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_sync import scheduling
from channels_sync.models import AggregatedOrder, Writeback
from channels_sync.normalized import CommonStatus
from core.api.exceptions import ApiError
from core.backoff import retry_delay

logger = logging.getLogger(__name__)


LOCAL_ORDERS_MAX_ATTEMPTS = 6


def local_orders_create(*, aggregated_order_pks: list[int], attempt: int = 1) -> None:
    """The create_local_orders task: each channel order's storefront order. The ones that raised (a database
    error, not a refused checkout: that is kept on the order) are sent again with backoff, up to
    LOCAL_ORDERS_MAX_ATTEMPTS tries; `local_order_create` is idempotent, so a repeat makes no second order."""
    failed = []
    for pk in aggregated_order_pks:
        try:
            local_order_create(aggregated_order_pk=pk)
        except Exception:
            logger.exception("storefront order for channel order %s failed (try %s)", pk, attempt)
            failed.append(pk)
    if failed and attempt < LOCAL_ORDERS_MAX_ATTEMPTS:
        scheduling.local_orders(failed, attempt=attempt + 1, countdown=retry_delay(attempt=attempt, base=30, cap=600))


def _storefront_sku(order: AggregatedOrder, line: dict) -> str | None:
    """The SKU a channel order line has in the storefront order: its own, else `<channel>:<channel's id>`."""
    channel_sku = line.get("channelSku")
    sku = line.get("sku") or (f"{order.channel.channel_id}:{channel_sku}" if channel_sku else None)
    return sku[:64] if sku else None


def _local_lines(order: AggregatedOrder) -> list[dict]:
    lines = []
    for line in order.lines or []:
        sku = _storefront_sku(order, line)
        if not sku or not line.get("quantity"):
            continue
        lines.append({"sku": sku, "quantity": int(line["quantity"]), "name": line.get("name") or "",
                      "unit_price": Decimal(str(line.get("unitPrice") or "0"))})
    return lines


def _line_key(line: dict) -> tuple:
    return line.get("channelLineId"), line.get("sku"), line.get("channelSku")


def parcel_lines(order: AggregatedOrder, *, shipment_id: int) -> list[dict]:
    """One storefront parcel's lines as the channel order's lines (each a copy of the channel line with the
    parcel's quantity), for a writeback that fulfils just them.

    A storefront SKU found on several channel lines fills them in order, after what earlier parcels' writebacks
    already claimed. SKUs the channel order does not have are left out; no match at all gives [] (the writeback
    is then for the whole order, as before parcels were known)."""
    from orders.models import ShipmentLine

    shipped: dict[str, int] = {}
    for sku, quantity in ShipmentLine.objects.filter(
            shipment_id=shipment_id, shipment__order_id=order.local_order_id).values_list("sku", "quantity"):
        shipped[sku] = shipped.get(sku, 0) + quantity
    claimed: dict[tuple, int] = {}
    earlier = (Writeback.objects.filter(order=order, source=Writeback.Source.STOREFRONT)
               .exclude(storefront_shipment_id=shipment_id).values_list("lines", flat=True))
    for lines in earlier:
        for line in lines or []:
            claimed[_line_key(line)] = claimed.get(_line_key(line), 0) + int(line.get("quantity") or 0)
    result = []
    for line in order.lines or []:
        sku = _storefront_sku(order, line)
        wanted = shipped.get(sku, 0) if sku else 0
        if not wanted:
            continue
        key = _line_key(line)
        room = max(int(line.get("quantity") or 0) - claimed.get(key, 0), 0)
        take = min(wanted, room)
        if take:
            result.append({**line, "quantity": take})
            shipped[sku] -= take
            claimed[key] = claimed.get(key, 0) + take
    return result


def local_order_create(*, aggregated_order_pk: int) -> str | None:
    """Create (once) the storefront order for a channel order; returns its order number.

    Idempotent through the checkout's idempotency key, so a retried task never makes two orders.
    Short stock does not refuse it (the channel has sold the units): the order is imported as a backorder
    (`Order.is_backorder`, `OrderLine.quantity_backordered`). A failure (no usable lines, no price) is kept
    on the aggregated order as `data.localOrderError`.
    """
    from orders.services import checkout_cart, order_process
    from orders.services.errors import InsufficientStock, InvalidRequest

    order = AggregatedOrder.objects.select_related("channel", "org", "local_order").get(pk=aggregated_order_pk)
    if order.local_order is not None:
        return order.local_order.order_number
    address = order.shipping_address or {}
    try:
        local, created = checkout_cart(
            org=order.org,
            customer={"email": order.customer_email or f"{order.channel_order_id}@{order.channel.channel_id}.invalid",
                      "name": order.customer_name},
            lines=_local_lines(order), shipping_address=address, currency=order.currency,
            shipping_total=order.shipping, tax_total=order.tax,
            idempotency_key=f"channel:{order.channel_id}:{order.channel_order_id}",
            source=f"channel:{order.channel.provider}"[:32],
            metadata={"channel": order.channel.channel_id, "channelOrderId": order.channel_order_id,
                      "aggregatedOrderId": order.public_id},
            actor_label=f"channel {order.channel.channel_id}",
            # The marketplace has sold it already: short stock is a backorder to fill, not a refusal.
            allow_backorder=True,
        )
        if created and order.status == CommonStatus.PROCESSING:
            order_process(org=order.org, order_number=local.order_number,
                          note="Paid on the channel", actor_label=f"channel {order.channel.channel_id}")
    except (InsufficientStock, InvalidRequest) as exc:
        logger.info("no storefront order for %s: %s", order.public_id, exc)
        _set_data(order.pk, {"localOrderError": str(getattr(exc, "detail", exc))[:500]})
        return None
    _set_data(order.pk, {}, drop=("localOrderError",), local_order=local)
    return local.order_number


def _set_data(order_pk: int, values: dict, drop: tuple = (), local_order=None) -> None:
    with transaction.atomic():
        order = AggregatedOrder.objects.select_for_update().get(pk=order_pk)
        data = {k: v for k, v in (order.data or {}).items() if k not in drop}
        data.update(values)
        order.data = data
        fields = ["data"]
        if local_order is not None:
            order.local_order = local_order
            fields.append("local_order")
        order.save(update_fields=fields)


def on_order_shipped(event) -> None:
    """orders' `order.partially_shipped` and `order.shipped` handler (runs in a worker): write this parcel, with
    its tracking and only its lines, back to the linked channel order.

    Idempotent per parcel: a redelivered event finds the writeback of its shipment (unique per order and
    shipment, so two racing deliveries still make one)."""
    from channels_sync.services.writeback import StatusNotWritable, order_status_update

    linked = (AggregatedOrder.objects.select_related("channel")
              .filter(org_id=event.org_id, local_order_id=event.order_id).first())
    if linked is None:
        return
    data = event.data or {}
    shipment_id = data.get("shipmentId")
    tracking = data.get("trackingNumber") or ""
    carrier = data.get("carrier") or ""
    same_parcel = {"storefront_shipment_id": shipment_id} if shipment_id else {"tracking_number": tracking}
    if Writeback.objects.filter(order=linked, source=Writeback.Source.STOREFRONT, **same_parcel).exists():
        return
    lines = parcel_lines(linked, shipment_id=shipment_id) if shipment_id else []
    if shipment_id and not lines:
        logger.warning("shipment %s of %s matches no channel line: writing back the whole order",
                       shipment_id, linked.public_id)
    try:
        order_status_update(order=linked, status=CommonStatus.SHIPPED.value, tracking_number=tracking or None,
                            carrier=carrier or None, source=Writeback.Source.STOREFRONT, shipment_id=shipment_id,
                            lines=lines)
    except IntegrityError:  # the same parcel's writeback, made by a concurrent delivery of this event
        logger.info("writeback for shipment %s of %s already made", shipment_id, linked.public_id)
    except StatusNotWritable as exc:
        # Not an error to retry: the channel order is somewhere it cannot be shipped from (cancelled there, say).
        _refused(linked, tracking=tracking, carrier=carrier, reason=str(exc.detail))
    except ApiError as exc:
        if exc.status_code != 400:
            raise
        # The parcel itself is one the channel cannot take (a carrier it cannot map, Walmart's unlisted carrier
        # with no tracking URL, TikTok's unknown provider): the same parcel would be refused on every retry.
        reasons = [str(text) for texts in (exc.details or {}).values() for text in (texts or [])]
        _refused(linked, tracking=tracking, carrier=carrier, reason=" ".join(reasons) or str(exc.detail))


def _refused(linked: AggregatedOrder, *, tracking: str, carrier: str, reason: str) -> None:
    """Keep on the channel order, for staff, why a storefront parcel was not written back (its page and the
    storefront order's timeline show it); the handler then succeeds, as a failed local-order creation does."""
    parcel = " ".join(part for part in (carrier.strip(), tracking.strip()) if part) or "without tracking"
    logger.warning("parcel %s of %s not written back: %s", parcel, linked.public_id, reason)
    _set_data(linked.pk, {"writebackRefused": reason[:2000], "writebackRefusedParcel": parcel[:200],
                          "writebackRefusedAt": timezone.now().isoformat()})
