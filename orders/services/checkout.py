"""Checkout: a cart becomes an order with its stock reserved, in one transaction.

Lock order (the same in every service): inventory rows by SKU, then the org's order counter,
then the new rows. A retried checkout with the same Idempotency-Key and the same body returns the
first order; the same key with another body is a 409 (issue 15: a key is no way into someone's order).

An anonymous checkout (`anonymous=True`, the public endpoint) never edits an existing customer and
takes line names from the catalogue: the hub's emails carry no free text a stranger typed. It may
not ask for more units than ORDERS_CHECKOUT_MAX_LINE_QUANTITY / _MAX_ORDER_QUANTITY, and what it reserves
is released by orders/services/expiry.py when nothing is paid within ORDER_UNPAID_RESERVATION_TTL.
"""

from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from orders import events
from orders.conf import orders_settings
from orders.models import ZERO, Activity, Customer, Order, OrderLine, OrderNumberCounter, OrderTag, Payment
from orders.payments import get_gateway
from orders.services.errors import IdempotencyMismatch, InvalidRequest
from orders.services.inventory import inventory_reserve

CENT = Decimal("0.01")
MONEY_MAX = Decimal("9999999999.99")  # orders.models.MONEY: 12 digits, 2 after the point


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


def checkout_cart(
    *,
    org,
    customer: dict,
    lines: list[dict],
    shipping_address: dict,
    billing_address: dict | None = None,
    payment: dict | None = None,
    currency: str = "USD",
    shipping_total: Decimal = ZERO,
    tax_total: Decimal = ZERO,
    customer_note: str = "",
    tags: list[str] | None = None,
    is_test: bool = False,
    idempotency_key: str | None = None,
    idempotency_body_hash: str | None = None,
    anonymous: bool = False,
    source: str = "storefront",
    metadata: dict | None = None,
    actor=None,
    actor_label: str = "customer",
) -> tuple[Order, bool]:
    """Create the order and reserve its stock; returns (order, created). 409 naming short SKUs.

    Line prices come from the inventory row when it has one (the cart cannot set its own price);
    otherwise the cart's `unit_price` is used and is required.
    """
    if idempotency_key:
        existing = _replay(org=org, idempotency_key=idempotency_key, body_hash=idempotency_body_hash)
        if existing:
            return existing, False
    if not lines:
        raise InvalidRequest("A cart needs at least one line.", field="lines", errors="This list may not be empty.")
    wanted = _merge_lines(lines)
    if anonymous:
        _limit_quantities(wanted)
    shipping_total, tax_total = Decimal(str(shipping_total)), Decimal(str(tax_total))
    try:
        with transaction.atomic():
            items = inventory_reserve(org=org, quantities={sku: row["quantity"] for sku, row in wanted.items()})
            # Inside the transaction: a checkout refused for stock or price leaves no customer behind.
            typed_name = customer.get("name", "")
            buyer = customer_get_or_create(org=org, email=customer["email"], name="" if anonymous else typed_name,
                                           update_name=not anonymous)
            order_lines, missing_price = [], []
            for sku in sorted(wanted):
                item, row = items[sku], wanted[sku]
                price = item.unit_price if item.unit_price is not None else row.get("unit_price")
                if price is None:
                    missing_price.append(sku)
                    continue
                name = item.name if anonymous else (row.get("name") or item.name)
                order_lines.append(OrderLine(sku=sku, name=name, quantity=row["quantity"],
                                             unit_price=Decimal(price).quantize(CENT)))
            if missing_price:
                raise InvalidRequest("Every line needs a price.", field="lines",
                                     errors=[f"{sku}: unitPrice is required (the SKU has no list price)."
                                             for sku in missing_price])
            subtotal = sum((line.line_total for line in order_lines), ZERO)
            grand_total = subtotal + shipping_total + tax_total
            if grand_total > MONEY_MAX:
                raise InvalidRequest("The order total is larger than an order can hold.", field="lines",
                                     errors=f"The total may not exceed {MONEY_MAX}.")
            order = Order(
                org=org, order_number=next_order_number(org=org), customer=buyer, currency=currency.upper(),
                subtotal=subtotal, shipping_total=shipping_total, tax_total=tax_total, grand_total=grand_total,
                shipping_address=shipping_address, billing_address=billing_address or shipping_address,
                customer_note=customer_note, is_test=is_test, source=source, metadata=metadata or {},
                idempotency_key=idempotency_key or None, idempotency_body_hash=idempotency_body_hash or "",
                customer_name=typed_name,
            )
            if payment:
                gateway = get_gateway(payment.get("gateway") or "manual")
                amount = payment.get("amount")
                order.captured_total = (Decimal(amount) if amount is not None else grand_total).quantize(CENT)
            order.save(force_insert=True)
            for line in order_lines:
                line.order = order
            OrderLine.objects.bulk_create(order_lines)
            if tags:
                OrderTag.objects.bulk_create([OrderTag(order=order, name=t) for t in sorted(set(tags))])
            if payment:
                Payment.objects.create(order=order, gateway=gateway.name, reference=payment.get("reference") or "",
                                       amount_captured=order.captured_total, currency=order.currency)
            Activity.objects.create(order=order, actor=actor, actor_label=_label(actor, actor_label), verb="checkout",
                                    from_status="", to_status=order.status,
                                    data={"lines": {sku: wanted[sku]["quantity"] for sku in sorted(wanted)}})
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


def _label(actor, fallback: str) -> str:
    return getattr(actor, "username", "") or fallback
