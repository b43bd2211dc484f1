"""Thin storefront views: validate, call one service or selector, serialize."""

import hashlib
import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import PublicOrgAccess
from core.api.schema import ERROR
from orders import selectors, services
from orders.api import serializers as s
from orders.api.callers import checkout_caller
from orders.api.customer_proof import PROOF_PARAMETERS, require_customer_proof, staff_of_org
from orders.api.throttles import CheckoutThrottle, CustomerLookupThrottle
from orders.models import InventoryItem, Order
from orders.services.edits import UNSET
from orders.services.errors import InsufficientStock

ORG_HEADER = OpenApiParameter("orgid", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                              description="The org's slug.")
CHECKOUT_AUTH_HEADER = OpenApiParameter(
    "Authorization", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Optional. `StorefrontKey <key>`: the org's storefront server (may pass shippingTotal and taxTotal); "
                "`Bearer <jwt>`: staff, manager or owner (may also use the manual gateway). A bad or revoked "
                "credential is 401, never treated as anonymous.")
IDEMPOTENCY_HEADER = OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                      description="Retries with the same key and body return the same result; "
                                                  "the same key with another body is 409 idempotency_mismatch.")


def body_hash(data) -> str:
    """sha256 of the request body in canonical JSON (key order and whitespace do not matter)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _detail(order) -> dict:
    return s.OrderDetailSerializer(selectors.order_detail(org=order.org, order_number=order.order_number)).data


class CheckoutView(APIView):
    permission_classes = [PublicOrgAccess]
    authentication_classes: list = []
    throttle_classes = [CheckoutThrottle]

    def get_authenticate_header(self, request):
        """A refused credential is a 401 with its challenge (DRF answers 403 to a view without one)."""
        return 'Bearer realm="api", StorefrontKey'

    @extend_schema(tags=["storefront"], parameters=[ORG_HEADER, IDEMPOTENCY_HEADER, CHECKOUT_AUTH_HEADER],
                   request=s.CheckoutSerializer,
                   responses={201: s.CustomerOrderSerializer, 200: s.CustomerOrderSerializer, 400: ERROR, 401: ERROR,
                              403: ERROR, 409: ERROR, 502: ERROR},
                   summary="Check out a cart (no login): catalogue prices, the hub's shipping and tax (a storefront "
                           "key may pass its own), a verified gateway payment; 400 over the quantity limits; "
                           "409 naming short SKUs (counts only for staff) or idempotency_mismatch")
    def post(self, request):
        caller, staff_user = checkout_caller(request)
        body = s.CheckoutSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            order, created = services.checkout_cart(
                org=request.org, customer=data["customer"], lines=data["lines"],
                shipping_address=data["shipping_address"], billing_address=data.get("billing_address"),
                payment=data.get("payment"), currency=data.get("currency"), shipping_total=data.get("shipping_total"),
                tax_total=data.get("tax_total"), customer_note=data["customer_note"], tags=data["tags"],
                is_test=data["is_test"], idempotency_key=request.headers.get("Idempotency-Key") or None,
                idempotency_body_hash=body_hash(request.data), caller=caller, actor=staff_user,
            )
        except InsufficientStock as short:
            # How many are left is the merchant's business: only staff of the org see the count.
            if staff_of_org(request):
                raise
            raise short.without_counts() from None
        # No customerId: the email may belong to an existing customer, and an id is not for strangers.
        order = selectors.customer_order_by_author(org=request.org, author=order.customer.sk,
                                                   order_number=order.order_number)
        return Response(s.CustomerOrderSerializer(order).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _verb_view(verb: str, body_serializer, summary: str):
    class VerbView(APIView):
        @extend_schema(tags=["storefront"], parameters=[ORG_HEADER], request=body_serializer,
                       responses={200: s.OrderDetailSerializer, 400: ERROR, 404: ERROR, 409: ERROR,
                                  **({502: ERROR} if verb == "refund" else {})},
                       summary=summary, operation_id=f"storefront_order_{verb}")
        def post(self, request, order_number: str):
            body = body_serializer(data=request.data)
            body.is_valid(raise_exception=True)
            fields = dict(body.validated_data)
            if verb == "refund":
                fields["idempotency_key"] = request.headers.get("Idempotency-Key") or None
            order = services.order_transition(verb, org=request.org, order_number=order_number,
                                              actor=request.user, **fields)
            return Response(_detail(order))

    VerbView.__name__ = f"Order{verb.title()}View"
    VerbView.__qualname__ = VerbView.__name__
    return VerbView


VERB_VIEWS = {
    "process": _verb_view("process", s.NoteSerializer, "new -> processing"),
    "ship": _verb_view("ship", s.ShipSerializer,
                       "processing -> shipped (or stays processing while lines remain unshipped)"),
    "deliver": _verb_view("deliver", s.NoteSerializer, "shipped -> delivered"),
    "complete": _verb_view("complete", s.NoteSerializer, "delivered -> completed (locks the order)"),
    "hold": _verb_view("hold", s.HoldSerializer, "new, processing -> on-hold (reason required)"),
    "release": _verb_view("release", s.NoteSerializer, "on-hold -> the prior state"),
    "cancel": _verb_view("cancel", s.CancelSerializer, "new, processing, on-hold -> cancelled (stock released)"),
    "refund": _verb_view("refund", s.RefundSerializer,
                         "refund through the payment gateway; refunded when nothing is left"),
}


class OrderUpdateView(APIView):
    @extend_schema(tags=["storefront"], parameters=[ORG_HEADER], request=s.OrderUpdateSerializer,
                   responses={200: s.OrderDetailSerializer, 404: ERROR, 409: ERROR},
                   summary="Addresses (before shipping), internal notes, tags; 409 on locked orders")
    def post(self, request, order_number: str):
        body = s.OrderUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        order = services.order_update(
            org=request.org, order_number=order_number, actor=request.user,
            **{key: data.get(key, UNSET) for key in ("shipping_address", "billing_address", "internal_notes", "tags")},
        )
        return Response(_detail(order))


class SendWelcomeView(APIView):
    @extend_schema(tags=["storefront"], parameters=[ORG_HEADER], request=None,
                   responses={202: inline_serializer("WelcomeQueued", {"queued": serializers.BooleanField(),
                                                                      "requestId": serializers.CharField()}),
                              404: ERROR},
                   summary="Queue the welcome email to the order's customer")
    def post(self, request, order_number: str):
        request_id = services.order_send_welcome(org=request.org, order_number=order_number, actor=request.user)
        return Response({"queued": True, "requestId": request_id}, status=status.HTTP_202_ACCEPTED)


class RemoveTestOrdersView(APIView):
    required_role = Role.OWNER

    @extend_schema(tags=["storefront"], parameters=[ORG_HEADER], request=None,
                   responses={200: inline_serializer("Removed", {"removed": serializers.ListField(
                       child=serializers.CharField())}), 404: ERROR, 409: ERROR},
                   summary="Owner only: delete the author's test order (or all their test orders)")
    def post(self, request, author: str, order_number: str | None = None):
        removed = services.order_remove_test(org=request.org, author=author, order_number=order_number)
        return Response({"removed": removed})


class RemoveAllTestOrdersView(RemoveTestOrdersView):
    @extend_schema(tags=["storefront"], parameters=[ORG_HEADER], request=None,
                   operation_id="storefront_order_remove_all",
                   responses={200: inline_serializer("RemovedAll", {"removed": serializers.ListField(
                       child=serializers.CharField())}), 404: ERROR, 409: ERROR},
                   summary="Owner only: delete all of the author's test orders")
    def post(self, request, author: str):
        return super().post(request, author)


class OrderListView(generics.ListAPIView):
    serializer_class = s.OrderListSerializer

    @extend_schema(tags=["storefront"], parameters=[
        ORG_HEADER,
        OpenApiParameter("status", OpenApiTypes.STR, description="One status or a comma-separated list."),
        OpenApiParameter("isTest", OpenApiTypes.BOOL), OpenApiParameter("tag", OpenApiTypes.STR),
        OpenApiParameter("email", OpenApiTypes.STR), OpenApiParameter("q", OpenApiTypes.STR,
                                                                      description="Number, email or tracking."),
        OpenApiParameter("fromDate", OpenApiTypes.DATETIME), OpenApiParameter("toDate", OpenApiTypes.DATETIME),
    ], summary="Staff: list orders")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        params = self.request.query_params
        date = serializers.DateTimeField()
        is_test = params.get("isTest")
        try:
            date_from = date.to_internal_value(params["fromDate"]) if params.get("fromDate") else None
            date_to = date.to_internal_value(params["toDate"]) if params.get("toDate") else None
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"fromDate/toDate": exc.detail})
        return selectors.order_list(
            org=self.request.org, status=params.get("status"), tag=params.get("tag"), email=params.get("email"),
            is_test=None if is_test is None else is_test.lower() in {"1", "true", "yes"},
            date_from=date_from, date_to=date_to, q=params.get("q"),
        )


class OrderDetailView(APIView):
    @extend_schema(tags=["storefront"], parameters=[ORG_HEADER], responses={200: s.OrderDetailSerializer, 404: ERROR},
                   summary="Staff: one order with shipments, payments, refunds and activity")
    def get(self, request, order_number: str):
        return Response(s.OrderDetailSerializer(selectors.order_detail(org=request.org,
                                                                      order_number=order_number)).data)


class InventoryListView(generics.ListAPIView):
    serializer_class = s.InventorySerializer

    @extend_schema(tags=["storefront"], parameters=[ORG_HEADER, OpenApiParameter("sku", OpenApiTypes.STR)],
                   summary="Staff: stock per SKU with reserved and available")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InventoryItem.objects.none()
        return selectors.inventory_list(org=self.request.org, sku=self.request.query_params.get("sku"))


class InventoryItemView(APIView):
    @extend_schema(tags=["storefront"], parameters=[ORG_HEADER], request=s.InventoryPutSerializer,
                   responses={200: s.InventorySerializer, 400: ERROR, 409: ERROR},
                   summary="Staff: set on-hand for a SKU (creates it); 409 below what is reserved")
    def put(self, request, sku: str):
        body = s.InventoryPutSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        item = services.inventory_set_on_hand(org=request.org, sku=sku, on_hand=data["on_hand"],
                                              name=data.get("name"), unit_price=data.get("unit_price"),
                                              currency=data.get("currency"))
        return Response(s.InventorySerializer(item).data)


class _CustomerView(APIView):
    permission_classes = [PublicOrgAccess]
    authentication_classes: list = []
    throttle_classes = [CustomerLookupThrottle]


class CustomerOrderByEmailView(_CustomerView):
    @extend_schema(tags=["storefront-customer"], parameters=[ORG_HEADER],
                   responses={200: s.CustomerOrderSerializer, 404: ERROR, 429: ERROR},
                   summary="Customer: one order by email and number (no login; rate-limited)")
    def get(self, request, email: str, order_number: str):
        order = selectors.customer_order_by_email(org=request.org, email=email, order_number=order_number)
        return Response(s.CustomerOrderSerializer(order).data)


class CustomerOrderByAuthorView(_CustomerView):
    @extend_schema(tags=["storefront-customer"], parameters=[ORG_HEADER, *PROOF_PARAMETERS],
                   responses={200: s.CustomerOrderSerializer, 404: ERROR, 429: ERROR},
                   summary="Customer: one order by customer id and number, with the signed account token "
                           "(or a staff JWT); the bare id is 404")
    def get(self, request, author: str, order_number: str):
        require_customer_proof(request, author)
        order = selectors.customer_order_by_author(org=request.org, author=author, order_number=order_number)
        return Response(s.CustomerOrderSerializer(order).data)


class CustomerOrdersView(_CustomerView, generics.ListAPIView):
    serializer_class = s.CustomerOrderSerializer

    @extend_schema(tags=["storefront-customer"], parameters=[ORG_HEADER, *PROOF_PARAMETERS],
                   summary="Customer: their orders, with the signed account token (or a staff JWT); "
                           "the bare id is 404")
    def get(self, request, *args, **kwargs):
        require_customer_proof(request, kwargs["author"])
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return selectors.customer_orders(org=self.request.org, author=self.kwargs["author"])
