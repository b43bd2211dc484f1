"""Staff comments on an order: an Activity row (verb `comment`), so the timeline and the API's activity show
them in order with everything else. Allowed on every order, locked ones too: a note about a refunded order
changes nothing about it."""

from django.db import transaction
from django.http import Http404

from orders.models import Activity, Order
from orders.services.errors import InvalidRequest

COMMENT_MAX = 2000


def order_comment_add(*, org, order_number: str, text: str, actor=None) -> Activity:
    text = (text or "").strip()
    if not text:
        raise InvalidRequest("A comment needs some text.", field="text", errors="This field is required.")
    if len(text) > COMMENT_MAX:
        raise InvalidRequest(f"A comment is at most {COMMENT_MAX} characters.", field="text",
                             errors=f"At most {COMMENT_MAX} characters ({len(text)} given).")
    with transaction.atomic():
        order = Order.objects.filter(org=org, order_number=order_number).first()
        if order is None:
            raise Http404
        return Activity.objects.create(order=order, actor=actor if getattr(actor, "pk", None) else None,
                                       actor_label=getattr(actor, "username", "") or "staff", verb="comment",
                                       from_status=order.status, to_status=order.status, data={"text": text})
