"""Signed, expiring links to the public order pages (django.core.signing.TimestampSigner).

The customer's account page is reached only through `customer_account_url(customer)` (the
confirmation email carries it): its token signs the customer's id, so knowing or guessing the
id alone opens nothing, and the link stops working after CUSTOMER_ACCOUNT_LINK_MAX_AGE.

An order page link signs (org id, order id): the store is part of the link, so nothing (no `?org=`)
is added by hand. The one an email carries (`order_email_url`) is signed under its own salt and
lives ORDER_EMAIL_LINK_MAX_AGE; the one the lookup form redirects to lives ORDER_PAGE_LINK_MAX_AGE.
Parcel pages hang under the order's link, so the same proof opens them.

The links live in `orders` (its emails carry them); the pages that open them are `customer_pages`.
The salts keep their first names, so links already sent keep working.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.urls import reverse

ACCOUNT_SALT = "orders.pages.account"
ORDER_SALT = "orders.pages.order"
ORDER_EMAIL_SALT = "orders.pages.order.email"


def _account_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=ACCOUNT_SALT)


def account_token(customer) -> str:
    """The `ts:signature` part of the signed customer id (the id itself is in the path)."""
    return _account_signer().sign(customer.sk)[len(customer.sk) + 1:]


def customer_account_url(customer) -> str:
    """Absolute link to the customer's orders, valid for CUSTOMER_ACCOUNT_LINK_MAX_AGE seconds."""
    path = reverse("order-pages-account", kwargs={"author": customer.sk})
    return f"{settings.PUBLIC_BASE_URL}{path}?token={quote(account_token(customer), safe='')}"


def account_token_valid(author: str, token: str) -> bool:
    try:
        _account_signer().unsign(f"{author}:{token}", max_age=settings.CUSTOMER_ACCOUNT_LINK_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return False
    return True


def _token(org_id: int, order_id: int, *, emailed: bool) -> str:
    salt = ORDER_EMAIL_SALT if emailed else ORDER_SALT
    return signing.TimestampSigner(salt=salt).sign_object({"o": org_id, "n": order_id})


def order_token(order, *, emailed: bool = False) -> str:
    return _token(order.org_id, order.pk, emailed=emailed)


def order_page_url(order, *, token: str | None = None) -> str:
    return reverse("order-pages-order", kwargs={"token": token or order_token(order)})


def order_email_url(order) -> str:
    """Absolute link for an order email: opens the order's page directly, no email or number to retype."""
    return f"{settings.PUBLIC_BASE_URL}{order_page_url(order, token=order_token(order, emailed=True))}"


def parcel_page_url(shipment, *, token: str) -> str:
    """Our scan timeline for one parcel, under the order link `token` (the same proof opens it)."""
    return reverse("order-pages-parcel", kwargs={"token": token, "parcel": shipment.public_id})


def carrier_tracking_url(shipment) -> str:
    """The carrier's own public tracking page, or "" when the carrier is not one we know."""
    from orders.models import CARRIER_TRACKING_URLS

    if shipment.public_tracking_url:
        return shipment.public_tracking_url
    if shipment.carrier.lower() in CARRIER_TRACKING_URLS:
        return shipment.tracking_url
    return ""


def customer_tracking_url(shipment, *, token: str, absolute: bool = False) -> str:
    """The tracking link a customer sees: the carrier's page where known, our parcel page otherwise (never
    the JSON API)."""
    carrier = carrier_tracking_url(shipment)
    if carrier:
        return carrier
    path = parcel_page_url(shipment, token=token)
    return f"{settings.PUBLIC_BASE_URL}{path}" if absolute else path


def shipment_customer_tracking_url(shipment) -> str:
    """Absolute customer tracking link for a parcel on its own (the customer API's `trackingUrl`): the
    parcel page is signed like an emailed order link, so a storefront can show it as is."""
    carrier = carrier_tracking_url(shipment)
    if carrier:
        return carrier
    token = _token(shipment.org_id, shipment.order_id, emailed=True)
    return f"{settings.PUBLIC_BASE_URL}{parcel_page_url(shipment, token=token)}"


def order_from_token(token: str) -> tuple[int, int] | None:
    """(org id, order id), or None for a forged or expired token (either kind of order link)."""
    for salt, max_age in ((ORDER_SALT, settings.ORDER_PAGE_LINK_MAX_AGE),
                          (ORDER_EMAIL_SALT, settings.ORDER_EMAIL_LINK_MAX_AGE)):
        try:
            data = signing.TimestampSigner(salt=salt).unsign_object(token, max_age=max_age)
        except signing.BadSignature:
            continue
        try:
            return int(data["o"]), int(data["n"])
        except (KeyError, TypeError, ValueError):
            return None
    return None
