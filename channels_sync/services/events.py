"""Channel order events for workflows (issue 18): created, status changed, writeback failed / succeeded.

Published through orders.events.publish_channel_order, so the org's workflows (and their signed webhooks) follow
channel orders the way they follow storefront orders, while channels_sync and workflows still import neither
each other. Each is recorded in the writer's transaction and queued after commit; when no enabled workflow of
the org listens for an event, nothing is recorded (an ingest of a thousand orders queues no thousand no-ops).
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder

from orders.events import listening, publish_channel_order

CREATED = "channel_order.created"
STATUS_CHANGED = "channel_order.status_changed"
WRITEBACK_FAILED = "channel_order.writeback_failed"
WRITEBACK_SUCCEEDED = "channel_order.writeback_succeeded"


def snapshot(order, *, writeback=None) -> dict:
    """The channel order as GET /sales-channel/orders/:orderId shows it, plus the channel's provider."""
    from channels_sync.api.serializers import AggregatedOrderSerializer

    data = AggregatedOrderSerializer(order, context={"writebacks": {order.pk: writeback} if writeback else {}}).data
    # Plain JSON (the serializer's ReturnDicts and Decimals do not survive the event payload's dataclass copy).
    return {**json.loads(json.dumps(data, cls=DjangoJSONEncoder)), "provider": order.channel.provider}


def _item(order, *, subject: str, from_status: str = "", writeback=None, extra: dict | None = None) -> dict:
    return {"subject": subject, "order_number": order.channel_order_number or order.channel_order_id,
            "local_order_id": order.local_order_id, "from_status": from_status, "to_status": order.status,
            "data": {"channelOrder": snapshot(order, writeback=writeback), **(extra or {})}}


def _status_subject(order) -> str:
    """Once per order, status and change: the same status reached again later is a new event."""
    return f"{order.public_id}:{order.status}:{order.updated_at.timestamp():.3f}"


def ingested(*, channel, created_ids: list[int], changed: dict[int, str]) -> None:
    """After an ingest batch wrote its rows (in its transaction): `created_ids` are new orders, `changed` maps an
    updated order's pk to its status before, for those whose status moved."""
    from channels_sync.models import AggregatedOrder

    wanted = {name: ids for name, ids in ((CREATED, list(created_ids)), (STATUS_CHANGED, list(changed)))
              if ids and listening(name, org_id=channel.org_id)}
    if not wanted:
        return
    orders = {o.pk: o for o in AggregatedOrder.objects.filter(pk__in=[pk for ids in wanted.values() for pk in ids])
              .select_related("channel").defer("raw", "channel__config", "channel__webhook_secret")}
    if CREATED in wanted:
        publish_channel_order(CREATED, org_id=channel.org_id, actor=f"channel:{channel.channel_id}", items=[
            _item(orders[pk], subject=orders[pk].public_id) for pk in wanted[CREATED] if pk in orders])
    if STATUS_CHANGED in wanted:
        publish_channel_order(STATUS_CHANGED, org_id=channel.org_id, actor=f"channel:{channel.channel_id}", items=[
            _item(orders[pk], subject=_status_subject(orders[pk]), from_status=changed[pk])
            for pk in wanted[STATUS_CHANGED] if pk in orders])


def status_set(*, order, from_status: str, actor: str) -> None:
    """The status PUT (or a storefront parcel) moved the order's status."""
    if from_status != order.status:
        publish_channel_order(STATUS_CHANGED, org_id=order.org_id, actor=actor,
                              items=[_item(order, subject=_status_subject(order), from_status=from_status)])


def writeback_finished(*, writeback) -> None:
    """A writeback succeeded, or failed for good (no attempt left, or not retryable)."""
    from channels_sync.models import Outcome

    name = {Outcome.SUCCEEDED: WRITEBACK_SUCCEEDED, Outcome.FAILED: WRITEBACK_FAILED}.get(writeback.status)
    if name is None or not listening(name, org_id=writeback.org_id):
        return
    order = writeback.order
    publish_channel_order(name, org_id=writeback.org_id, actor="writeback", items=[_item(
        order, subject=f"{writeback.public_id}:{writeback.attempts}", writeback=writeback,
        extra={"writeback": {"id": writeback.public_id, "status": writeback.status,
                             "targetStatus": writeback.target_status, "attempts": writeback.attempts,
                             "lastError": writeback.last_error or None,
                             "trackingNumber": writeback.tracking_number or None,
                             "carrier": writeback.carrier or None}})])
