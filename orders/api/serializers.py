"""Request and response shapes for the storefront API (camelCase written out, money as strings)."""

from decimal import Decimal

from rest_framework import serializers

from core.api.serializers import StrictSerializer
from orders.links import shipment_customer_tracking_url
from orders.models import Order

# PostgreSQL `integer`, the column type of quantities and stock: a bigger number is a 400, not a DataError.
DB_INT_MAX = 2_147_483_647


def Money(**kwargs):
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


# --- requests -----------------------------------------------------------------------------

class ItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    quantity = serializers.IntegerField(min_value=1, max_value=DB_INT_MAX)


class CartLineSerializer(StrictSerializer, ItemSerializer):
    name = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                 help_text="Staff only; other callers get the catalogue's name.")
    unitPrice = Money(required=False, min_value=0, source="unit_price",
                      help_text="Ignored: the catalogue's price counts. Staff only, for a SKU without one.")


class CartCustomerSerializer(StrictSerializer):
    email = serializers.EmailField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CartPaymentSerializer(StrictSerializer):
    gateway = serializers.ChoiceField(choices=["manual", "stripe"], default="manual",
                                      help_text="manual: staff only (money taken outside any gateway).")
    reference = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                      help_text="Stripe: the PaymentIntent id (pi_...), verified with Stripe: "
                                                "succeeded (captured) or requires_capture (authorized), for "
                                                "exactly the order total and currency, used by no other order.")
    amount = Money(required=False, min_value=0,
                   help_text="manual only: the amount staff took; defaults to the order total. Ignored for a "
                             "gateway, whose own answer counts.")


class CheckoutSerializer(StrictSerializer):
    customer = CartCustomerSerializer()
    lines = CartLineSerializer(many=True, allow_empty=False)
    shippingAddress = serializers.DictField(source="shipping_address")
    billingAddress = serializers.DictField(source="billing_address", required=False)
    payment = CartPaymentSerializer(required=False)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False,
                                      help_text="Optional: the catalogue's currency; another one is a 400.")
    shippingTotal = Money(source="shipping_total", required=False, min_value=0,
                          help_text="Storefront key or staff only; otherwise (or left out) the hub's rules.")
    taxTotal = Money(source="tax_total", required=False, min_value=0,
                     help_text="Storefront key or staff only; otherwise (or left out) the hub's rules.")
    note = serializers.CharField(source="customer_note", required=False, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    isTest = serializers.BooleanField(source="is_test", required=False, default=False)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ShipSerializer(NoteSerializer):
    carrier = serializers.CharField(max_length=32)
    tracking = serializers.CharField(max_length=100, source="tracking_number")
    service = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    cost = Money(required=False, min_value=0, default=Decimal("0.00"))
    items = ItemSerializer(many=True, required=False, allow_empty=False,
                           help_text="Omit to ship everything still unshipped.")
    shipDate = serializers.DateTimeField(source="ship_date", required=False)


class HoldSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefundSerializer(serializers.Serializer):
    amount = Money(required=False, min_value=0, help_text="Defaults to the items' value, else to all that is left.")
    items = ItemSerializer(many=True, required=False)
    reason = serializers.CharField(max_length=500)
    restock = serializers.BooleanField(required=False, default=False,
                                       help_text="Put the refunded items' shipped units back on hand (needs items).")
    notifyCustomer = serializers.BooleanField(source="notify_customer", required=False, default=True,
                                              help_text="false: record the refund without emailing the customer.")


class OrderUpdateSerializer(serializers.Serializer):
    shippingAddress = serializers.DictField(source="shipping_address", required=False)
    billingAddress = serializers.DictField(source="billing_address", required=False)
    notes = serializers.CharField(source="internal_notes", required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)


class InventoryPutSerializer(serializers.Serializer):
    onHand = serializers.IntegerField(min_value=0, max_value=DB_INT_MAX, source="on_hand")
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    unitPrice = Money(required=False, min_value=0, source="unit_price", allow_null=True,
                      help_text="The list price checkout charges; a SKU without one cannot be bought anonymously.")
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False, help_text="Of unitPrice (USD).")


# --- responses ----------------------------------------------------------------------------

class InventorySerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    unitPrice = Money(source="unit_price", allow_null=True)
    currency = serializers.CharField()
    onHand = serializers.IntegerField(source="on_hand")
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()
    updatedAt = serializers.DateTimeField(source="updated_at")


class LineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unitPrice = Money(source="unit_price")
    quantityShipped = serializers.IntegerField(source="quantity_shipped")
    quantityRefunded = serializers.IntegerField(source="quantity_refunded")
    quantityBackordered = serializers.IntegerField(
        source="quantity_backordered", help_text="Units sold without stock to hold (reserved when they ship).")


class ShipmentLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class CustomerShipmentSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    carrier = serializers.CharField()
    trackingNumber = serializers.CharField(source="tracking_number")
    trackingUrl = serializers.SerializerMethodField(
        help_text="A page a customer can open: the carrier's tracking page, or for carriers without one the "
                  "parcel's scan timeline on the store's order pages (signed; never the JSON API).")
    service = serializers.CharField()
    status = serializers.CharField()
    shipDate = serializers.DateTimeField(source="ship_date")
    items = ShipmentLineSerializer(source="lines", many=True)


    def get_trackingUrl(self, shipment) -> str:
        return shipment_customer_tracking_url(shipment)


class StaffShipmentSerializer(CustomerShipmentSerializer):
    cost = Money()
    currency = serializers.CharField()


class PaymentSerializer(serializers.Serializer):
    gateway = serializers.CharField()
    reference = serializers.CharField()
    status = serializers.CharField(help_text="captured, or authorized (held on the card, not yet captured).")
    amountCaptured = Money(source="amount_captured")
    currency = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


class RefundOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = Money()
    items = ItemSerializer(many=True)
    reason = serializers.CharField()
    gateway = serializers.CharField()
    gatewayReference = serializers.CharField(source="gateway_reference")
    createdAt = serializers.DateTimeField(source="created_at")


class ActivitySerializer(serializers.Serializer):
    verb = serializers.CharField()
    actor = serializers.CharField(source="actor_label")
    fromStatus = serializers.CharField(source="from_status")
    toStatus = serializers.CharField(source="to_status")
    data = serializers.JSONField()
    at = serializers.DateTimeField()


class CustomerRefSerializer(serializers.Serializer):
    id = serializers.CharField(source="sk")
    email = serializers.EmailField()
    name = serializers.CharField()


class CustomerTotalsSerializer(serializers.Serializer):
    subtotal = Money()
    shipping = Money(source="shipping_total")
    tax = Money(source="tax_total")
    grandTotal = Money(source="grand_total")
    refunded = Money(source="refunded_total")


class StaffTotalsSerializer(CustomerTotalsSerializer):
    captured = Money(source="captured_total")
    refundable = Money(source="refundable_total")


class CustomerOrderSerializer(serializers.Serializer):
    """What a customer may see: no internal notes, costs, payments or staff names."""

    orderNumber = serializers.CharField(source="order_number")
    status = serializers.CharField()
    currency = serializers.CharField()
    totals = CustomerTotalsSerializer(source="*")
    lines = LineSerializer(many=True)
    shippingAddress = serializers.JSONField(source="shipping_address")
    note = serializers.CharField(source="customer_note")
    shipments = CustomerShipmentSerializer(many=True)
    createdAt = serializers.DateTimeField(source="created_at")


class OrderListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    orderNumber = serializers.CharField(source="order_number")
    status = serializers.CharField()
    customer = CustomerRefSerializer()
    currency = serializers.CharField()
    totals = StaffTotalsSerializer(source="*")
    lines = LineSerializer(many=True)
    tags = serializers.SerializerMethodField()
    isTest = serializers.BooleanField(source="is_test")
    backorder = serializers.BooleanField(source="is_backorder",
                                         help_text="Some units are backordered (imported although stock was short).")
    locked = serializers.BooleanField(source="is_locked")
    frozen = serializers.BooleanField(source="is_frozen")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_tags(self, order: Order) -> list[str]:
        return [row.name for row in order.tag_rows.all()]


class OrderDetailSerializer(OrderListSerializer):
    priorStatus = serializers.CharField(source="prior_status")
    allowedVerbs = serializers.SerializerMethodField()
    shippingAddress = serializers.JSONField(source="shipping_address")
    billingAddress = serializers.JSONField(source="billing_address")
    note = serializers.CharField(source="customer_note")
    customerName = serializers.CharField(source="customer_name", help_text="The name typed at checkout.")
    internalNotes = serializers.CharField(source="internal_notes")
    holdReason = serializers.CharField(source="hold_reason")
    cancelReason = serializers.CharField(source="cancel_reason")
    shipments = StaffShipmentSerializer(many=True)
    payments = PaymentSerializer(many=True)
    refunds = RefundOutSerializer(many=True)
    activity = ActivitySerializer(source="activities", many=True)
    processedAt = serializers.DateTimeField(source="processed_at", allow_null=True)
    shippedAt = serializers.DateTimeField(source="shipped_at", allow_null=True)
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)

    def get_allowedVerbs(self, order: Order) -> list[str]:
        from orders.services import allowed_verbs

        return allowed_verbs(order)
