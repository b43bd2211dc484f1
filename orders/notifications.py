"""Customer emails: Django templates rendered and sent by the Celery task of an order event.

Every attempt is one EmailLog row (keyed by `dedupe_key`), so a retried task never sends twice
and the admin shows exactly what each customer received.
"""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

from orders import events
from orders.carrier_formats import carrier_label
from orders.links import customer_tracking_url, order_email_url, order_token
from orders.models import EmailLog, Order

logger = logging.getLogger(__name__)

# event -> email kind (templates/emails/<kind>_subject.txt and <kind>_body.txt); orders.events.SUBSCRIBERS
# runs `on_order_event` for exactly these events (a test holds the two together).
EVENT_EMAILS = {
    "order.created": "confirmation",
    "order.partially_shipped": "shipped",
    "order.shipped": "shipped",
    "order.delivered": "delivered",
    "order.cancelled": "cancelled",
    "order.refunded": "refunded",
}

def on_order_event(event: events.OrderEvent) -> None:
    kind = EVENT_EMAILS.get(event.name)
    if not kind or event.data.get("notifyCustomer") is False:  # staff chose not to tell the customer
        return
    ref = event.data.get("shipmentId") or event.data.get("refundId") or ""
    send_order_email(order_id=event.order_id, kind=kind, dedupe_key=f"{kind}:{event.order_id}:{ref}",
                     extra=event.data)


def order_lookup_url(order) -> str:
    """The public lookup page (email + order number), which never expires; the JSON API otherwise."""
    try:
        return f"{settings.PUBLIC_BASE_URL}{reverse('order-pages-lookup')}?{urlencode({'org': order.org.slug})}"
    except NoReverseMatch:
        return f"{settings.PUBLIC_BASE_URL}/storefront/order/get/{order.customer.sk}/{order.order_number}"


def send_order_email(*, order_id: int, kind: str, dedupe_key: str, extra: dict | None = None) -> EmailLog | None:
    """Render and send one email unless it was already sent; record the attempt either way."""
    order = Order.objects.select_related("customer", "org").filter(pk=order_id).first()
    if order is None:
        return None
    done = EmailLog.objects.filter(org_id=order.org_id, dedupe_key=dedupe_key, status=EmailLog.Status.SENT).first()
    if done:
        return done
    extra = extra or {}
    shipment = None
    if extra.get("shipmentId"):
        shipment = order.shipments.prefetch_related("lines").filter(pk=extra["shipmentId"]).first()
    order_url = order_email_url(order)
    context = {
        "order": order,
        "customer": order.customer,
        "org": order.org,
        "lines": list(order.lines.all()),
        "shipment": shipment,
        "carrier_name": carrier_label(shipment.carrier) if shipment else "",
        "data": extra,
        "lookup_url": order_lookup_url(order),
        # The order's own page, signed: the store is in the link and nothing is retyped (issue 18).
        "order_url": order_url,
        "track_url": (customer_tracking_url(shipment, token=order_token(order, emailed=True), absolute=True)
                      if shipment else ""),
    }
    subject = " ".join(render_to_string(f"emails/{kind}_subject.txt", context).split())
    body = render_to_string(f"emails/{kind}_body.txt", context)
    to = order.customer.email
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    except Exception as exc:
        EmailLog.objects.update_or_create(
            org_id=order.org_id, dedupe_key=dedupe_key,
            defaults={"order": order, "kind": kind, "to": to, "subject": subject, "body": body,
                      "status": EmailLog.Status.FAILED, "error": repr(exc)[:2000]},
        )
        logger.warning("email %s for %s failed: %r", kind, order.order_number, exc)
        raise
    log, _ = EmailLog.objects.update_or_create(
        org_id=order.org_id, dedupe_key=dedupe_key,
        defaults={"order": order, "kind": kind, "to": to, "subject": subject, "body": body,
                  "status": EmailLog.Status.SENT, "error": ""},
    )
    return log
