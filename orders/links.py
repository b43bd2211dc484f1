"""Signed, expiring links to the public order pages (django.core.signing.TimestampSigner).

The customer's account page is reached only through `customer_account_url(customer)` (the
confirmation email carries it): its token signs the customer's id, so knowing or guessing the
id alone opens nothing, and the link stops working after CUSTOMER_ACCOUNT_LINK_MAX_AGE.

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


def order_token(order) -> str:
    return signing.TimestampSigner(salt=ORDER_SALT).sign_object({"o": order.org_id, "n": order.pk})


def order_page_url(order) -> str:
    return reverse("order-pages-order", kwargs={"token": order_token(order)})


def order_from_token(token: str) -> tuple[int, int] | None:
    """(org id, order id), or None for a forged or expired token."""
    try:
        data = signing.TimestampSigner(salt=ORDER_SALT).unsign_object(token, max_age=settings.ORDER_PAGE_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    try:
        return int(data["o"]), int(data["n"])
    except (KeyError, TypeError, ValueError):
        return None
