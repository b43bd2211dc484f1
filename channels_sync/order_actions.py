"""What staff may do to a channel order from its admin page now, and why not when they may not.

Fulfil (shipped, with carrier and tracking) and cancel are written back through `order_status_update`, the
status API's path. This page offers them for open (pending or processing) orders only; which of them the channel
takes from the order's status is asked of its provider (`writable_statuses`, `done_elsewhere`, through
`services.writeback.not_writable`), the same rule the status API and the Set status page apply, with the same
words. A provider without a table (WooCommerce, a test double) is offered both; its writeback says whether the
channel agreed.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels_sync.models import AggregatedOrder, Outcome
from channels_sync.normalized import CommonStatus
from channels_sync.services.writeback import not_writable

OPEN = {CommonStatus.PENDING, CommonStatus.PROCESSING}


@dataclass(frozen=True)
class Action:
    name: str          # fulfil, cancel
    label: str
    allowed: bool
    reason: str = ""   # why not, in words, when not allowed


def _state_reason(order: AggregatedOrder, status: CommonStatus, verb: str) -> str | None:
    """The page's own rule (open orders only) first; then whether the channel takes `status` from here."""
    if order.status not in OPEN:
        return f"The order is {order.status}; only pending or processing orders can be {verb}."
    refused = not_writable(order=order, status=status.value)
    return refused[0] if refused else None


def order_actions(order: AggregatedOrder) -> list[Action]:
    """Fulfil and cancel, each allowed or with the reason it is not (the channel, the state, the link)."""
    channel = order.channel
    common = []
    if not channel.enabled:
        common.append(f"The channel {channel.channel_id} is disabled: enable it to write back.")
    if order.writebacks.filter(status__in=[Outcome.QUEUED, Outcome.RUNNING]).exists():
        common.append("A writeback to the channel is still in flight: wait for it (see Writebacks).")

    fulfil_reasons = list(common)
    if reason := _state_reason(order, CommonStatus.SHIPPED, "fulfilled"):
        fulfil_reasons.insert(0, reason)
    if order.local_order_id:
        fulfil_reasons.append(f"Ship it from its storefront order {order.local_order.order_number}: each parcel "
                              "shipped there is written back to the channel.")
    cancel_reasons = list(common)
    if reason := _state_reason(order, CommonStatus.CANCELLED, "cancelled"):
        cancel_reasons.insert(0, reason)
    return [
        Action("fulfil", "Fulfil with tracking", not fulfil_reasons, " ".join(fulfil_reasons)),
        Action("cancel", "Cancel on the channel", not cancel_reasons, " ".join(cancel_reasons)),
    ]


def action_for(order: AggregatedOrder, name: str) -> Action:
    return next(action for action in order_actions(order) if action.name == name)
