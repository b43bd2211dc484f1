"""What staff may do to a channel order from its admin page now, and why not when they may not.

Fulfil (shipped, with carrier and tracking) and cancel are written back through `order_status_update`, the
status API's path. Which statuses a channel takes is what its provider's `write_back` sends (providers/*/
writeback.py): every channel confirms a shipment; Shopify, Walmart and WooCommerce also cancel; Amazon, eBay
and TikTok cancel only in their own seller tools. A provider not in the table (a test double, a new channel)
is offered both; its writeback says whether the channel agreed.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels_sync.models import AggregatedOrder, Outcome
from channels_sync.normalized import CommonStatus

OPEN = {CommonStatus.PENDING, CommonStatus.PROCESSING}
CANCELS_ELSEWHERE = {
    "amazon": "Amazon's API cannot cancel an order: cancel it in Seller Central.",
    "ebay": "eBay's Fulfillment API cannot cancel an order: cancel it in Seller Hub.",
    "tiktok": "TikTok Shop cancels only in its Seller Center.",
}


@dataclass(frozen=True)
class Action:
    name: str          # fulfil, cancel
    label: str
    allowed: bool
    reason: str = ""   # why not, in words, when not allowed


def _state_reason(order: AggregatedOrder, verb: str) -> str | None:
    if order.status in OPEN:
        return None
    return f"The order is {order.status}; only pending or processing orders can be {verb}."


def order_actions(order: AggregatedOrder) -> list[Action]:
    """Fulfil and cancel, each allowed or with the reason it is not (the channel, the state, the link)."""
    channel = order.channel
    provider_name = channel.provider
    common = []
    if not channel.enabled:
        common.append(f"The channel {channel.channel_id} is disabled: enable it to write back.")
    if order.writebacks.filter(status__in=[Outcome.QUEUED, Outcome.RUNNING]).exists():
        common.append("A writeback to the channel is still in flight: wait for it (see Writebacks).")

    fulfil_reasons = list(common)
    if reason := _state_reason(order, "fulfilled"):
        fulfil_reasons.insert(0, reason)
    if order.local_order_id:
        fulfil_reasons.append(f"Ship it from its storefront order {order.local_order.order_number}: each parcel "
                              "shipped there is written back to the channel.")
    cancel_reasons = list(common)
    if reason := _state_reason(order, "cancelled"):
        cancel_reasons.insert(0, reason)
    if provider_name in CANCELS_ELSEWHERE:
        cancel_reasons.append(CANCELS_ELSEWHERE[provider_name])
    return [
        Action("fulfil", "Fulfil with tracking", not fulfil_reasons, " ".join(fulfil_reasons)),
        Action("cancel", "Cancel on the channel", not cancel_reasons, " ".join(cancel_reasons)),
    ]


def action_for(order: AggregatedOrder, name: str) -> Action:
    return next(action for action in order_actions(order) if action.name == name)
