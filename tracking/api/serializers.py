"""The exact JSON of GET /shipping/order/:orderNumber/status (docs/architecture.md, Tracking)."""

from rest_framework import serializers

from tracking.models import TrackingStatus


class ScanSerializer(serializers.Serializer):
    status = serializers.CharField()
    carrierStatus = serializers.CharField(source="raw_status")
    description = serializers.CharField()
    location = serializers.CharField()
    occurredAt = serializers.DateTimeField(source="occurred_at")


class ShippedLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    trackingNumber = serializers.CharField(source="shipment.tracking_number")
    carrier = serializers.CharField(source="shipment.carrier")
    status = serializers.CharField(source="shipment.status")
    shipDate = serializers.DateTimeField(source="shipment.ship_date")


class PendingLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class ShipmentStatusSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    tracking = serializers.CharField(source="tracking_number")
    carrier = serializers.CharField()
    status = serializers.CharField()
    shipDate = serializers.DateTimeField(source="ship_date")
    latestScan = ScanSerializer(source="latest_scan", allow_null=True)


class OrderStatusSerializer(serializers.Serializer):
    orderNumber = serializers.CharField(source="order_number")
    overallStatus = serializers.CharField(source="overall_status")
    shipped = ShippedLineSerializer(many=True)
    pending = PendingLineSerializer(many=True)
    shipments = ShipmentStatusSerializer(many=True)


class TrackEventSerializer(serializers.Serializer):
    status = serializers.CharField()
    carrierStatus = serializers.CharField()
    description = serializers.CharField()
    location = serializers.CharField()
    occurredAt = serializers.CharField(allow_null=True)


class TrackAnswerSerializer(serializers.Serializer):
    """Documentation only: the live answer is assembled in tracking.live."""

    trackingNumber = serializers.CharField()
    carrier = serializers.CharField()
    status = serializers.CharField()
    carrierStatus = serializers.CharField()
    estimatedDelivery = serializers.CharField(allow_null=True)
    updatedAt = serializers.CharField(allow_null=True)
    events = TrackEventSerializer(many=True)
    source = serializers.ChoiceField(choices=["live", "cache", "stored"])
    carrierAvailable = serializers.BooleanField()
    note = serializers.CharField(required=False)


class ScanOutSerializer(ScanSerializer):
    id = serializers.IntegerField()
    source = serializers.CharField()


class ScanInSerializer(serializers.Serializer):
    """A staff-entered scan (the `manual` provider's way in)."""

    status = serializers.ChoiceField(choices=TrackingStatus.values)
    occurredAt = serializers.DateTimeField(source="occurred_at")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    carrierStatus = serializers.CharField(source="raw_status", max_length=64, required=False, allow_blank=True,
                                          default="")


class ShipmentTrackingSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    orderNumber = serializers.CharField(source="order.order_number")
    tracking = serializers.CharField(source="tracking_number")
    carrier = serializers.CharField()
    provider = serializers.CharField()
    status = serializers.CharField()
    carrierStatus = serializers.CharField(source="raw_status")
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)
    orderStatus = serializers.CharField(source="order.status")
