"""Thin subscription views: validate, call one service or selector, serialize."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import PublicOrgAccess
from orders.api.customer_proof import PROOF_PARAMETERS, require_customer_proof
from orders.api.throttles import CustomerLookupThrottle
from orders.api.views import ERROR, ORG_HEADER
from subscriptions import selectors, services
from subscriptions.api import serializers as s
from subscriptions.models import Price, Subscription


class PriceListView(generics.ListAPIView):
    serializer_class = s.PriceSerializer

    @extend_schema(tags=["subscriptions"], parameters=[ORG_HEADER, OpenApiParameter("active", OpenApiTypes.BOOL)],
                   summary="Staff: prices")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["subscriptions"], parameters=[ORG_HEADER], request=s.PriceCreateSerializer,
                   responses={201: s.PriceSerializer, 400: ERROR}, summary="Staff: create a price")
    def post(self, request):
        body = s.PriceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        price = services.price_create(org=request.org, **body.validated_data)
        return Response(s.PriceSerializer(price).data, status=status.HTTP_201_CREATED)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Price.objects.none()
        active = self.request.query_params.get("active")
        return selectors.price_list(org=self.request.org,
                                    active=None if active is None else active.lower() in {"1", "true", "yes"})


class PriceDetailView(APIView):
    @extend_schema(tags=["subscriptions"], parameters=[ORG_HEADER], responses={200: s.PriceSerializer, 404: ERROR},
                   summary="Staff: one price")
    def get(self, request, price_id: str):
        return Response(s.PriceSerializer(selectors.price_detail(org=request.org, price_id=price_id)).data)


class SubscriptionListView(generics.ListAPIView):
    serializer_class = s.StaffSubscriptionSerializer

    @extend_schema(tags=["subscriptions"], parameters=[
        ORG_HEADER, OpenApiParameter("status", OpenApiTypes.STR, description="One status or a comma-separated list."),
        OpenApiParameter("email", OpenApiTypes.STR)], summary="Staff: subscriptions")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["subscriptions"], parameters=[ORG_HEADER], request=s.SubscriptionCreateSerializer,
                   responses={201: s.StaffSubscriptionSerializer, 400: ERROR},
                   summary="Staff: subscribe a customer to a price (the first period is billed by the next run)")
    def post(self, request):
        body = s.SubscriptionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sub = services.subscription_create(org=request.org, **body.validated_data)
        detail = selectors.subscription_detail(org=request.org, subscription_id=sub.subscription_id)
        return Response(s.StaffSubscriptionSerializer(detail).data, status=status.HTTP_201_CREATED)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        params = self.request.query_params
        return selectors.subscription_list(org=self.request.org, status=params.get("status"),
                                           email=params.get("email"))


class SubscriptionDetailView(APIView):
    @extend_schema(tags=["subscriptions"], parameters=[ORG_HEADER],
                   responses={200: s.StaffSubscriptionSerializer, 404: ERROR},
                   summary="Staff: one subscription with its billing cycles")
    def get(self, request, subscription_id: str):
        sub = selectors.subscription_detail(org=request.org, subscription_id=subscription_id)
        return Response(s.StaffSubscriptionSerializer(sub).data)


class UpdateSubscriptionView(APIView):
    @extend_schema(tags=["subscriptions"], parameters=[ORG_HEADER], request=s.UpdateSubscriptionSerializer,
                   responses={200: s.StaffSubscriptionSerializer, 400: ERROR, 404: ERROR, 409: ERROR},
                   summary="pause | resume | cancel | change-plan (effective next cycle); 409 when not allowed")
    def post(self, request):
        body = s.UpdateSubscriptionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        sub = services.subscription_apply_action(
            org=request.org, subscription_id=data["subscription_id"], action=data["action"],
            price_id=data.get("price_id"), quantity=data.get("quantity"),
        )
        detail = selectors.subscription_detail(org=request.org, subscription_id=sub.subscription_id)
        return Response(s.StaffSubscriptionSerializer(detail).data)


class _CustomerView(APIView):
    permission_classes = [PublicOrgAccess]
    authentication_classes: list = []
    throttle_classes = [CustomerLookupThrottle]


class CustomerSubscriptionView(_CustomerView):
    @extend_schema(tags=["storefront-customer"], parameters=[ORG_HEADER, *PROOF_PARAMETERS],
                   responses={200: s.CustomerSubscriptionSerializer, 404: ERROR, 429: ERROR},
                   summary="Customer: one subscription, with the signed account token (or a staff JWT)")
    def get(self, request, author: str, subscription_id: str):
        require_customer_proof(request, author)
        sub = selectors.customer_subscription(org=request.org, author=author, subscription_id=subscription_id)
        return Response(s.CustomerSubscriptionSerializer(sub).data)


class CustomerSubscriptionsView(_CustomerView, generics.ListAPIView):
    serializer_class = s.CustomerSubscriptionSerializer

    @extend_schema(tags=["storefront-customer"], parameters=[ORG_HEADER, *PROOF_PARAMETERS],
                   summary="Customer: their subscriptions, with the signed account token (or a staff JWT)")
    def get(self, request, *args, **kwargs):
        require_customer_proof(request, kwargs["author"])
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        return selectors.customer_subscriptions(org=self.request.org, author=self.kwargs["author"])
