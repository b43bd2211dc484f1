"""Checkout: a cart becomes an order with its stock reserved, in one transaction.

Lock order (the same in every service): inventory rows by SKU, then the org's order counter,
then the new rows. A retried checkout with the same Idempotency-Key and the same body returns the
first order; the same key with another body is a 409 (issue 15: a key is no way into someone's order).

Who is asking decides whose word about money counts (issue 15, item 3; `Caller`):

| caller | line prices | shipping and tax | payment |
|---|---|---|---|
| anonymous | catalogue (unpriced SKU: 400) | the hub's rules | gateway, verified |
| storefront (API key) | catalogue (same) | its own if sent, else the rules | verified |
| staff (JWT, manager+) | catalogue; cart price for an unpriced SKU | its own, else the rules | verified; `manual` |
| system (in-process) | as staff | as passed (default 0) | as passed |

Anonymous and storefront checkouts never edit an existing customer and take line names from the catalogue:
the hub's emails carry no free text a stranger typed. A verified payment is asked of the gateway before the
transaction (no lock is held across the network), then the locked quote must still be the amount verified.

An anonymous checkout may not ask for more units than ORDERS_CHECKOUT_MAX_LINE_QUANTITY /
_MAX_ORDER_QUANTITY, and what it reserves is released by orders/services/expiry.py when nothing is paid
within ORDER_UNPAID_RESERVATION_TTL.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from core.api.exceptions import UpstreamError
from orders import events
from orders.conf import orders_settings
from orders.models import (
    ZERO,
    Activity,
    Customer,
    InventoryItem,
    Order,
    OrderLine,
    OrderNumberCounter,
    OrderTag,
    Payment,
)
from orders.payments import GatewayError, PaymentNotVerified, get_gateway
from orders.services.errors import IdempotencyMismatch, InsufficientStock, InvalidRequest, PricesChanged
from orders.services.inventory import inventory_reserve, inventory_reserve_available, short_lines
from orders.services.pricing import hub_shipping_and_tax

CENT = Decimal("0.01")
MONEY_MAX = Decimal("9999999999.99")  # orders.models.MONEY: 12 digits, 2 after the point


class Caller(StrEnum):
    ANONYMOUS = "anonymous"  # the public endpoint without a credential
    STOREFRONT = "storefront"  # the merchant's storefront server, with the org's storefront API key
    STAFF = "staff"  # a staff JWT of the org, manager or owner
    SYSTEM = "system"  # in-process: channel imports, subscription billing, seeds, the bench


API_CALLERS = {Caller.ANONYMOUS, Caller.STOREFRONT, Caller.STAFF}
# Their text comes from buyers: catalogue line names, no customer renamed.
BUYER_TEXT_CALLERS = {Caller.ANONYMOUS, Caller.STOREFRONT}
MANUAL_PAYMENT_CALLERS = {Caller.STAFF, Caller.SYSTEM}


_BUMP_COUNTER = (
    f"UPDATE {OrderNumberCounter._meta.db_table} SET last_value = last_value + 1"
    " WHERE org_id = %s AND year = %s RETURNING last_value"
)


def next_order_number(*, org, year: int | None = None) -> str:
    """ORD-<year>-<seq>: the per-org counter row is locked, so numbers are unique and never reused.

    One UPDATE ... RETURNING both locks the row until commit and reads the new value (the ORM's
    update() cannot return it; SELECT FOR UPDATE then save() was a second round trip per checkout).
    """
    year = year or timezone.now().year
    with connection.cursor() as cursor:
        cursor.execute(_BUMP_COUNTER, [org.pk, year])
        row = cursor.fetchone()
        if row is None:  # the org's first order of the year
            OrderNumberCounter.objects.bulk_create([OrderNumberCounter(org=org, year=year)], ignore_conflicts=True)
            cursor.execute(_BUMP_COUNTER, [org.pk, year])
            row = cursor.fetchone()
    return f"ORD-{year}-{row[0]:04d}"


def customer_get_or_create(*, org, email: str, name: str = "", update_name: bool = True) -> Customer:
    """`update_name=False` (anonymous input): an existing customer's profile is left as it is."""
    email = email.strip().lower()
    customer, created = Customer.objects.get_or_create(org=org, email=email, defaults={"name": name})
    if update_name and not created and name and customer.name != name:
        customer.name = name
        customer.save(update_fields=["name"])
    return customer


def _replay(*, org, idempotency_key: str, body_hash: str | None) -> Order | None:
    """The order first created with this key, if the body matches (None when the key is new).

    `body_hash` None: an in-process caller (billing, channel import) that owns its keys. A key first used
    without a hash (by such a caller, or before the hash existed) never answers a request body.
    """
    existing = Order.objects.filter(org=org, idempotency_key=idempotency_key).first()
    if existing is not None and body_hash is not None and existing.idempotency_body_hash != body_hash:
        raise IdempotencyMismatch()
    return existing


def _merge_lines(lines: list[dict]) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for line in lines:
        sku = line["sku"]
        if sku in merged:
            merged[sku]["quantity"] += line["quantity"]
        else:
            merged[sku] = dict(line)
    return merged


def _limit_quantities(wanted: dict[str, dict]) -> None:
    """400 when an anonymous cart asks for more units than the settings allow (per SKU, then in all): one
    stranger's checkout cannot take a whole shelf (issue 15, item 4). Channel imports and renewals are not
    limited: their quantities were sold elsewhere."""
    per_line = orders_settings.ORDERS_CHECKOUT_MAX_LINE_QUANTITY
    per_order = orders_settings.ORDERS_CHECKOUT_MAX_ORDER_QUANTITY
    too_many = [f"{sku}: at most {per_line} units per order ({row['quantity']} asked)."
                for sku, row in sorted(wanted.items()) if per_line and row["quantity"] > per_line]
    if too_many:
        raise InvalidRequest("Too many units of one item.", field="lines", errors=too_many)
    total = sum(row["quantity"] for row in wanted.values())
    if per_order and total > per_order:
        raise InvalidRequest("Too many units in one order.", field="lines",
                             errors=f"At most {per_order} units per order ({total} asked).")


@dataclass
class Quote:
    lines: list[OrderLine]
    currency: str
    subtotal: Decimal
    shipping_total: Decimal
    tax_total: Decimal

    @property
    def grand_total(self) -> Decimal:
        return self.subtotal + self.shipping_total + self.tax_total


def _quote(*, org, items: dict[str, InventoryItem], wanted: dict[str, dict], caller: Caller, currency: str | None,
           shipping_total, tax_total) -> Quote:
    """The order's lines and totals from the catalogue rows `items`, trusting the caller as far as `Caller` says."""
    lines, missing_price = [], []
    for sku in sorted(wanted):
        item, row = items.get(sku), wanted[sku]
        price = item.unit_price if item else None
        if price is None and caller in (Caller.STAFF, Caller.SYSTEM):
            price = row.get("unit_price")
        if price is None:
            missing_price.append(sku)
            continue
        name = item.name if caller in BUYER_TEXT_CALLERS else (row.get("name") or getattr(item, "name", ""))
        lines.append(OrderLine(sku=sku, name=name, quantity=row["quantity"], unit_price=Decimal(price).quantize(CENT)))
    if missing_price:
        if caller in BUYER_TEXT_CALLERS:
            raise InvalidRequest("Every SKU needs a list price to be bought here.", field="lines",
                                 errors=[f"{sku}: has no price in the catalogue, so it cannot be bought."
                                         for sku in missing_price])
        raise InvalidRequest("Every line needs a price.", field="lines",
                             errors=[f"{sku}: unitPrice is required (the SKU has no list price)."
                                     for sku in missing_price])
    if caller in API_CALLERS:
        currency = _catalogue_currency(items=items, wanted=wanted, asked=currency)
    currency = (currency or "USD").upper()
    subtotal = sum((line.line_total for line in lines), ZERO)
    if caller is Caller.SYSTEM:
        shipping, tax = Decimal(str(shipping_total or ZERO)), Decimal(str(tax_total or ZERO))
    else:
        rule_shipping, rule_tax = hub_shipping_and_tax(org=org, subtotal=subtotal)
        trusted = caller in (Caller.STOREFRONT, Caller.STAFF)
        shipping = Decimal(str(shipping_total)) if trusted and shipping_total is not None else rule_shipping
        tax = Decimal(str(tax_total)) if trusted and tax_total is not None else rule_tax
    quote = Quote(lines=lines, currency=currency, subtotal=subtotal, shipping_total=shipping, tax_total=tax)
    if quote.grand_total > MONEY_MAX:
        raise InvalidRequest("The order total is larger than an order can hold.", field="lines",
                             errors=f"The total may not exceed {MONEY_MAX}.")
    return quote


def _catalogue_currency(*, items, wanted, asked: str | None) -> str:
    """The currency the catalogue prices the cart in; a cart asking for another is a 400, not a conversion."""
    currencies = sorted({items[sku].currency.upper() for sku in wanted})
    if len(currencies) > 1:
        raise InvalidRequest("The cart mixes SKUs priced in different currencies.", field="lines",
                             errors=f"One order is in one currency; these SKUs are in {', '.join(currencies)}.")
    if asked and asked.upper() != currencies[0]:
        raise InvalidRequest(f"The catalogue prices these SKUs in {currencies[0]}.", field="currency",
                             errors=f"Must be {currencies[0]} (or left out).")
    return currencies[0]


@dataclass(frozen=True)
class _Paid:
    gateway: str
    reference: str
    status: str
    captured: Decimal | None  # None: the order's grand total (a manual payment without an amount)
    verified_total: Decimal | None  # the total the gateway confirmed; the locked quote must still be it


def _payment_accept(*, org, payment: dict, caller: Caller, quote) -> _Paid:
    """What the order may count as paid. A client's word (amount, status) is never taken: a gateway payment is
    verified with the gateway; `manual` (money outside any gateway) is staff's word, so staff only.

    `quote()` prices the cart; it is called only when a gateway must be asked (outside the transaction)."""
    gateway = get_gateway(payment.get("gateway") or "manual", org=org)
    reference = payment.get("reference") or ""
    if caller is Caller.SYSTEM or (gateway.name == "manual" and caller in MANUAL_PAYMENT_CALLERS):
        amount = payment.get("amount")
        return _Paid(gateway.name, reference, Payment.Status.CAPTURED,
                     None if amount is None else Decimal(amount).quantize(CENT), None)
    if gateway.name == "manual":
        raise PermissionDenied(detail="The manual gateway records money taken outside any gateway: staff only. "
                                      "Pay through a gateway (stripe) and send its payment id.")
    if not reference:
        raise InvalidRequest("A gateway payment needs its id.", field="payment",
                             errors="reference is required (Stripe: the PaymentIntent id, pi_...).")
    if Payment.objects.filter(gateway=gateway.name, reference=reference).exists():
        raise _payment_used(reference)
    priced = quote()
    try:
        verified = gateway.verify(reference=reference, amount=priced.grand_total, currency=priced.currency)
    except PaymentNotVerified as exc:
        raise InvalidRequest(f"The payment does not pay for this order: {exc}", field="payment", errors=str(exc))
    except GatewayError as exc:
        raise UpstreamError(f"The {exc.gateway} gateway could not verify the payment: {exc}", code="gateway_error",
                            details={"gateway": exc.gateway, "gatewayStatus": exc.status, "gatewayCode": exc.code})
    captured = verified.amount if verified.status == Payment.Status.CAPTURED else ZERO
    return _Paid(gateway.name, reference, verified.status, captured.quantize(CENT), priced.grand_total)


def _prequote(*, org, wanted: dict, quantities: dict, price: dict) -> Quote:
    """The quote from unlocked rows, short stock refused first: the gateway is not asked about a doomed cart."""
    items = {i.sku: i for i in InventoryItem.objects.filter(org=org, sku__in=sorted(wanted))}
    if short := short_lines(items, quantities):
        raise InsufficientStock(short)
    return _quote(org=org, items=items, wanted=wanted, **price)


def _payment_used(reference: str) -> InvalidRequest:
    return InvalidRequest("This payment already pays for another order.", field="payment",
                          errors=f"{reference} is already used by another order.")


def checkout_cart(
    *,
    org,
    customer: dict,
    lines: list[dict],
    shipping_address: dict,
    billing_address: dict | None = None,
    payment: dict | None = None,
    currency: str | None = None,
    shipping_total: Decimal | None = None,
    tax_total: Decimal | None = None,
    customer_note: str = "",
    tags: list[str] | None = None,
    is_test: bool = False,
    idempotency_key: str | None = None,
    idempotency_body_hash: str | None = None,
    caller: Caller = Caller.SYSTEM,
    source: str = "storefront",
    metadata: dict | None = None,
    actor=None,
    actor_label: str = "customer",
    allow_backorder: bool = False,
) -> tuple[Order, bool]:
    """Create the order and reserve its stock; returns (order, created). 409 naming short SKUs, unless
    `allow_backorder` (system callers importing an order sold elsewhere): then what is short is backordered
    on its lines and the order is flagged `is_backorder`.

    `caller` says whose word about money counts (the table in this module's docstring); in-process callers
    are `system`. `shipping_total`/`tax_total` None: the hub's rules (system callers: 0).
    """
    caller = Caller(caller)
    if idempotency_key:
        existing = _replay(org=org, idempotency_key=idempotency_key, body_hash=idempotency_body_hash)
        if existing:
            return existing, False
    if not lines:
        raise InvalidRequest("A cart needs at least one line.", field="lines", errors="This list may not be empty.")
    wanted = _merge_lines(lines)
    if caller == Caller.ANONYMOUS:
        _limit_quantities(wanted)
    quantities = {sku: row["quantity"] for sku, row in wanted.items()}
    price = {"caller": caller, "currency": currency, "shipping_total": shipping_total, "tax_total": tax_total}
    # A gateway is asked before the transaction: no row stays locked across a network call.
    paid = _payment_accept(org=org, payment=payment, caller=caller,
                           quote=lambda: _prequote(org=org, wanted=wanted, quantities=quantities, price=price)
                           ) if payment else None
    try:
        with transaction.atomic():
            backordered = {}
            if allow_backorder and caller == Caller.SYSTEM:
                items, backordered = inventory_reserve_available(org=org, quantities=quantities)
            else:
                items = inventory_reserve(org=org, quantities=quantities)
            # Inside the transaction: a checkout refused for stock or price leaves no customer behind.
            quote = _quote(org=org, items=items, wanted=wanted, **price)
            if paid is not None and paid.verified_total is not None and quote.grand_total != paid.verified_total:
                raise PricesChanged(verified=paid.verified_total, now=quote.grand_total, currency=quote.currency)
            typed_name = customer.get("name", "")
            anonymous = caller in BUYER_TEXT_CALLERS
            buyer = customer_get_or_create(org=org, email=customer["email"], name="" if anonymous else typed_name,
                                           update_name=not anonymous)
            order = Order(
                org=org, order_number=next_order_number(org=org), customer=buyer, currency=quote.currency,
                subtotal=quote.subtotal, shipping_total=quote.shipping_total, tax_total=quote.tax_total,
                grand_total=quote.grand_total, captured_total=_captured(paid, quote),
                shipping_address=shipping_address, billing_address=billing_address or shipping_address,
                customer_note=customer_note, is_test=is_test, source=source, metadata=metadata or {},
                idempotency_key=idempotency_key or None, idempotency_body_hash=idempotency_body_hash or "",
                customer_name=typed_name, is_backorder=bool(backordered),
            )
            order.save(force_insert=True)
            for line in quote.lines:
                line.order = order
                line.quantity_backordered = backordered.get(line.sku, 0)
            OrderLine.objects.bulk_create(quote.lines)
            if tags:
                OrderTag.objects.bulk_create([OrderTag(order=order, name=t) for t in sorted(set(tags))])
            if paid:
                _payment_create(order=order, paid=paid)
            Activity.objects.create(order=order, actor=actor, actor_label=_label(actor, actor_label), verb="checkout",
                                    from_status="", to_status=order.status,
                                    data={"lines": {sku: wanted[sku]["quantity"] for sku in sorted(wanted)},
                                          **({"payment": paid.status} if paid else {}),
                                          **({"backordered": dict(sorted(backordered.items()))}
                                             if backordered else {})})
            events.publish("order.created", order=order, to_status=order.status, actor=_label(actor, actor_label),
                           data={"source": source, "isTest": is_test})
    except IntegrityError:
        # Two retries of one checkout raced: the loser answers with the winner's order.
        if idempotency_key:
            existing = _replay(org=org, idempotency_key=idempotency_key, body_hash=idempotency_body_hash)
            if existing:
                return existing, False
        raise
    return order, True


def _payment_create(*, order: Order, paid: _Paid) -> None:
    row = Payment(order=order, gateway=paid.gateway, reference=paid.reference, status=paid.status,
                  amount_captured=order.captured_total, currency=order.currency)
    if paid.gateway == "manual" or not paid.reference:  # outside the unique constraint: no savepoint needed
        row.save(force_insert=True)
        return
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        # Two checkouts raced with one PaymentIntent: the unique (gateway, reference) lets one win.
        raise _payment_used(paid.reference) from None


def _captured(paid: _Paid | None, quote: Quote) -> Decimal:
    if paid is None:
        return ZERO
    return quote.grand_total if paid.captured is None else paid.captured


def _label(actor, fallback: str) -> str:
    return getattr(actor, "username", "") or fallback
