"""Bulk actions of the order list: each row goes through the same service the API calls for that order.

A row is a storefront order (orders.services verbs) or a channel order (channels_sync's status update, which
writes back to the channel). Every row is judged on its own: the role in its org, its current state; one
refused row never stops the others, and each outcome is reported in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import Http404

from accounts.roles import role_allows
from backoffice.models import OrderListRow
from channels_sync.models import AggregatedOrder
from channels_sync.services import order_status_update
from core.api.exceptions import ApiError
from orders import services as order_services
from orders.models import Order

NOT_YOUR_ROLE = "your role in this org does not allow changing orders"


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "NUMBER: why"

    def refuse(self, row: OrderListRow, why: str) -> None:
        self.refused.append(f"{row.number}: {why}")


def _error_text(exc: ApiError) -> str:
    details = "; ".join(f"{key}: {' '.join(map(str, value)) if isinstance(value, list) else value}"
                        for key, value in (exc.details or {}).items()
                        if key not in {"allowed", "current", "verb"})
    return f"{exc.detail} {details}".strip()


def row_allows(row: OrderListRow, roles: dict[int, str], *, superuser: bool = False) -> bool:
    """The role in the row's own org may change that kind of order (as in the API)."""
    label = "orders.order" if row.kind == OrderListRow.Kind.STOREFRONT else "channels_sync.aggregatedorder"
    return superuser or role_allows(roles.get(row.org_id), label, "change")


def _run(rows, roles, superuser, result: BulkResult, storefront, channel) -> BulkResult:
    for row in rows:
        if not row_allows(row, roles, superuser=superuser):
            result.refuse(row, NOT_YOUR_ROLE)
            continue
        try:
            if row.kind == OrderListRow.Kind.STOREFRONT:
                order = Order.objects.select_related("org").get(pk=row.source_id, org_id=row.org_id)
                why = storefront(order)
            else:
                order = (AggregatedOrder.objects.select_related("channel", "org")
                         .get(pk=row.source_id, org_id=row.org_id))
                why = channel(order)
        except ApiError as exc:
            why = _error_text(exc)
        except (Http404, Order.DoesNotExist, AggregatedOrder.DoesNotExist):
            why = "no longer exists"
        if why:
            result.refuse(row, why)
        else:
            result.done.append(row.number)
    return result


def bulk_process(*, rows, roles: dict[int, str], actor, superuser: bool = False) -> BulkResult:
    """Storefront orders: the `process` verb. Channel orders still pending: status `processing`, written back."""

    def storefront(order):
        order_services.order_transition("process", org=order.org, order_number=order.order_number, actor=actor)

    def channel(order):
        if order.status != "pending":
            return f"the channel order is {order.status}; only pending ones are processed"
        order_status_update(order=order, status="processing", source="admin")

    return _run(rows, roles, superuser, BulkResult(), storefront, channel)


def bulk_hold(*, rows, roles: dict[int, str], actor, reason: str, superuser: bool = False) -> BulkResult:
    """Storefront orders only: channels have no hold status to write back, so a channel order is refused."""

    def storefront(order):
        order_services.order_transition("hold", org=order.org, order_number=order.order_number, actor=actor,
                                        reason=reason)

    def channel(order):
        return "channel orders cannot be held (the channel has no hold status)"

    return _run(rows, roles, superuser, BulkResult(), storefront, channel)


def bulk_ship(*, rows, roles: dict[int, str], actor, parcels: dict[str, dict],
              superuser: bool = False) -> BulkResult:
    """Each row with its own carrier and tracking number (`parcels[row.key]`): a storefront order ships what
    is left to ship; a channel order becomes shipped and the tracking is written back to the channel."""
    current: dict = {}

    def storefront(order):
        order_services.order_transition("ship", org=order.org, order_number=order.order_number, actor=actor,
                                        carrier=current["carrier"], tracking_number=current["tracking"])

    def channel(order):
        order_status_update(order=order, status="shipped", tracking_number=current["tracking"],
                            carrier=current["carrier"], source="admin")

    result = BulkResult()
    for row in rows:
        current.clear()
        current.update(parcels.get(row.key) or {})
        if not current.get("carrier") or not current.get("tracking"):
            result.refuse(row, "a carrier and a tracking number are needed")
            continue
        _run([row], roles, superuser, result, storefront, channel)
    return result
