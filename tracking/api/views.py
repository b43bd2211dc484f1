"""Thin tracking views: public tracking, the order status in docs/architecture.md's shape, carrier webhooks."""

import logging

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import PublicOrgAccess
from core.api.exceptions import ApiError
from core.api.schema import ERROR
from orders.links import order_from_token
from tracking import selectors
from tracking.api.serializers import (
    OrderStatusSerializer,
    ScanInSerializer,
    ScanOutSerializer,
    ShipmentTrackingSerializer,
    TrackAnswerSerializer,
)
from tracking.api.throttles import PublicTrackingThrottle
from tracking.carriers import PROVIDERS
from tracking.carriers.base import WebhookRejected, WebhookUnreadable
from tracking.live import tracking_live_status
from tracking.models import ScanEvent
from tracking.services import carrier_webhook_receive, shipment_add_scan

logger = logging.getLogger(__name__)

ORG_HEADER = OpenApiParameter("orgid", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                              description="The org's slug.")


class TrackView(APIView):
    """The org named by `orgid` answers for its own parcels only (issue 15): another org's shipment with
    the same tracking number is neither shown nor updated from this request."""

    permission_classes = [PublicOrgAccess]
    authentication_classes: list = []
    throttle_classes = [PublicTrackingThrottle]

    @staticmethod
    def _browser_without_store(request) -> bool:
        """A person following an old email's link (emails used to link unknown carriers here): a browser
        asking for HTML, with no `orgid` (which a link cannot carry). API clients never match."""
        accept = request.META.get("HTTP_ACCEPT", "")
        return "text/html" in accept and not request.META.get("HTTP_ORGID")

    def check_permissions(self, request):
        if self._browser_without_store(request):
            return  # answered below with a page that names no org and reads nothing
        super().check_permissions(request)

    @extend_schema(tags=["tracking"], parameters=[ORG_HEADER],
                   responses={200: TrackAnswerSerializer, 400: ERROR, 404: ERROR, 429: ERROR},
                   summary="Public: the org's parcel status, live through the carrier (cached) or stored when down")
    def get(self, request, tracking_number: str):
        if self._browser_without_store(request):
            return render(request._request, "tracking/track_link.html", {"tracking_number": tracking_number[:100]})
        return Response(tracking_live_status(org=request.org, tracking_number=tracking_number))


class OrderStatusView(APIView):
    permission_classes = [PublicOrgAccess]
    authentication_classes: list = []
    throttle_classes = [PublicTrackingThrottle]

    @extend_schema(tags=["tracking"], parameters=[
        ORG_HEADER,
        OpenApiParameter("email", OpenApiTypes.STR, description="The order's email (case-insensitive)."),
        OpenApiParameter("token", OpenApiTypes.STR, description="Or the signed order link's token."),
    ], responses={200: OrderStatusSerializer, 404: ERROR, 429: ERROR},
        summary="Customer: shipped and pending lines and each parcel's latest scan (orgid and the order's email "
                "or signed link; otherwise 404)")
    def get(self, request, order_number: str):
        order_id = None
        token = request.query_params.get("token")
        if token:
            ids = order_from_token(token)
            if ids is None or ids[0] != request.org.pk:
                raise Http404
            order_id = ids[1]
        tracking = selectors.order_tracking(org=request.org, order_number=order_number,
                                            email=request.query_params.get("email"), order_id=order_id)
        return Response(OrderStatusSerializer(tracking).data)


class WebhookUnauthorized(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "webhook_rejected"


class CarrierWebhookView(APIView):
    """Carrier aggregator webhooks: verified (HMAC, freshness), stored once per event, applied."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=["tracking"], request=OpenApiTypes.OBJECT,
                   responses={200: inline_serializer("CarrierWebhookAck", {
                       "received": serializers.BooleanField(), "duplicate": serializers.BooleanField(),
                       "outcome": serializers.CharField()}), 400: ERROR, 401: ERROR, 404: ERROR, 413: ERROR},
                   summary="Signed carrier webhook (EasyPost X-Hmac-Signature)")
    def post(self, request, provider: str):
        if provider not in PROVIDERS or provider == "manual":
            raise ApiError("No such carrier webhook.", code="not_found", status_code=404)
        body = request.body
        if len(body) > getattr(settings, "CHANNEL_WEBHOOK_MAX_BODY_BYTES", 2 * 1024 * 1024):
            raise ApiError("Webhook body too large.", code="payload_too_large", status_code=413)
        try:
            delivery, duplicate = carrier_webhook_receive(provider_name=provider, body=body, headers=request.headers)
        except WebhookRejected as exc:
            logger.warning("%s webhook rejected: %s", provider, exc)
            raise WebhookUnauthorized(f"Webhook rejected: {exc}")
        except WebhookUnreadable as exc:
            logger.warning("%s webhook unreadable: %s", provider, exc)
            raise ApiError(f"Webhook unreadable: {exc}", code="unreadable_event", status_code=400)
        return Response({"received": True, "duplicate": duplicate, "outcome": delivery.outcome})


class ShipmentScansView(generics.ListAPIView):
    """Staff: a parcel's scans (GET, any member) and a hand-entered scan (POST, manager)."""

    serializer_class = ScanOutSerializer

    @extend_schema(tags=["tracking"], parameters=[ORG_HEADER], responses={200: ScanOutSerializer(many=True),
                                                                         404: ERROR},
                   summary="Staff: a parcel's scans, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ScanEvent.objects.none()
        shipment = selectors.shipment_for_org(org=self.request.org, public_id=self.kwargs["shipment_id"])
        return shipment.scans.order_by("-occurred_at", "-id")

    @extend_schema(tags=["tracking"], parameters=[ORG_HEADER], request=ScanInSerializer,
                   responses={201: ShipmentTrackingSerializer, 400: ERROR, 404: ERROR},
                   summary="Staff: add a scan by hand; the parcel's status and the order follow")
    def post(self, request, shipment_id: str):
        shipment = selectors.shipment_for_org(org=request.org, public_id=shipment_id)
        body = ScanInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = shipment_add_scan(org=request.org, shipment_id=shipment.pk, **body.validated_data)
        outcome.shipment.order.refresh_from_db(fields=["status"])
        return Response(ShipmentTrackingSerializer(outcome.shipment).data, status=status.HTTP_201_CREATED)
