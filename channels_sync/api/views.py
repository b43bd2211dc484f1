"""Thin views for /sales-channel/...: validate, call one service or selector, render."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import transaction
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.tenancy import OrgScopedMixin, get_for_org
from channels_sync import selectors
from channels_sync.api.serializers import (
    AggregatedOrderSerializer,
    ChannelConnectSerializer,
    ChannelEnableSerializer,
    ChannelSerializer,
    HistoryPageSerializer,
    HistoryQuerySerializer,
    OrderListQuerySerializer,
    OrderSummarySerializer,
    StatusUpdateSerializer,
    SyncRequestSerializer,
    SyncRunSerializer,
)
from channels_sync.models import AggregatedOrder, Channel
from channels_sync.services import (
    channel_connect,
    channel_disable,
    channel_enable,
    order_status_update,
    sync_start,
)
from core.api.pagination import PagePagination
from core.api.schema import ERROR


def _channel_context(channels) -> dict:
    ids = [c.pk for c in channels]
    return {"last_runs": selectors.last_runs(channel_ids=ids), "rejected": selectors.rejected_counts(channel_ids=ids)}


class ChannelListView(OrgScopedMixin, generics.GenericAPIView):
    queryset = Channel.objects.select_related("org")
    serializer_class = ChannelSerializer
    write_role = Role.OWNER  # connecting a channel stores its credentials: the owner's call (accounts.roles)

    @extend_schema(responses=ChannelSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset().order_by("channel_id"))
        return self.get_paginated_response(ChannelSerializer(page, many=True, context=_channel_context(page)).data)

    @extend_schema(request=ChannelConnectSerializer, responses={201: ChannelSerializer, 409: ERROR})
    def post(self, request):
        body = ChannelConnectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        channel = channel_connect(org=request.org, channel_id=data["channelId"], provider=data["provider"],
                                  config=data["config"], webhook_secret=data.get("webhookSecret", ""),
                                  poll_interval_minutes=data.get("pollIntervalMinutes"),
                                  create_local_orders=data.get("createLocalOrders", False),
                                  claim=data.get("claim", False))
        return Response(ChannelSerializer(channel, context=_channel_context([channel])).data,
                        status=status.HTTP_201_CREATED)


class ChannelDetailView(APIView):
    serializer_class = ChannelSerializer

    @extend_schema(responses=ChannelSerializer)
    def get(self, request, channel_id: str):
        channel = get_for_org(Channel.objects.select_related("org"), org=request.org, channel_id=channel_id)
        return Response(ChannelSerializer(channel, context=_channel_context([channel])).data)


class ChannelToggleView(APIView):
    serializer_class = ChannelSerializer
    action = "enable"
    write_role = Role.OWNER  # registers or drops webhooks with the channel; syncing stays the manager's

    @property
    def documented_errors(self) -> tuple[str, ...]:
        """Enabling registers webhooks with the channel: 502 when it cannot be reached, 409 when another channel
        holds the account (core.api.schema)."""
        return ("409", "502") if self.action == "enable" else ()

    @extend_schema(request=ChannelEnableSerializer, responses=ChannelSerializer)
    def post(self, request, channel_id: str):
        channel = get_for_org(Channel.objects.select_related("org"), org=request.org, channel_id=channel_id)
        if self.action == "enable":
            body = ChannelEnableSerializer(data=request.data or {})
            body.is_valid(raise_exception=True)
            channel = channel_enable(channel=channel, claim=body.validated_data["claim"])
        else:
            channel = channel_disable(channel=channel)
        return Response(ChannelSerializer(channel, context=_channel_context([channel])).data)


class ChannelSyncView(APIView):
    serializer_class = SyncRunSerializer

    @extend_schema(operation_id="sales_channel_orders_sync_channel", request=SyncRequestSerializer,
                   responses={202: SyncRunSerializer})
    def post(self, request, channel_id: str):
        channel = get_for_org(Channel.objects.select_related("org"), org=request.org, channel_id=channel_id)
        body = SyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        run = sync_start(channel=channel, from_date=data.get("fromDate"), to_date=data.get("toDate"),
                         status=data.get("status") or None)
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class SyncAllView(APIView):
    serializer_class = SyncRunSerializer

    @extend_schema(operation_id="sales_channel_orders_sync_all", request=SyncRequestSerializer,
                   responses={202: inline_serializer("SyncAllResult", {"results": SyncRunSerializer(many=True)})})
    def post(self, request):
        body = SyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with transaction.atomic():
            runs = [sync_start(channel=channel, from_date=data.get("fromDate"), to_date=data.get("toDate"),
                               status=data.get("status") or None)
                    for channel in Channel.objects.filter(org=request.org, enabled=True).select_related("org")]
        return Response({"results": SyncRunSerializer(runs, many=True).data}, status=status.HTTP_202_ACCEPTED)


class _KnownCountPagination(PagePagination):
    """Page numbers as usual, but the total may come from the summary instead of COUNT(*) over orders."""

    known_total: int | None = None

    def django_paginator_class(self, object_list, per_page):
        known = self.known_total

        class _Paginator(Paginator):
            @cached_property
            def count(self):
                return known if known is not None else super().count

        return _Paginator(object_list, per_page)


class OrderListView(OrgScopedMixin, generics.ListAPIView):
    queryset = AggregatedOrder.objects.all()
    serializer_class = AggregatedOrderSerializer
    pagination_class = _KnownCountPagination

    @extend_schema(parameters=[OpenApiParameter("channel", str), OpenApiParameter("status", str),
                               OpenApiParameter("fromDate", str), OpenApiParameter("toDate", str),
                               OpenApiParameter("page", int), OpenApiParameter("pageSize", int)])
    def get(self, request, *args, **kwargs):
        query = OrderListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        self.filters = query.validated_data
        return super().get(request, *args, **kwargs)

    def scope_queryset(self, queryset):
        f = self.filters
        return selectors.orders_filtered(org=self.request.org, queryset=queryset.defer("raw"),
                                         channel=f.get("channel"),
                                         status=f.get("status") or None, from_date=f.get("fromDate"),
                                         to_date=f.get("toDate"))

    def paginate_queryset(self, queryset):
        f = self.filters
        if not f.get("fromDate") and not f.get("toDate"):
            self.paginator.known_total = selectors.orders_count_from_summary(
                org=self.request.org, channel=f.get("channel"), status=f.get("status") or None)
        return super().paginate_queryset(queryset)


class OrderDetailView(APIView):
    serializer_class = AggregatedOrderSerializer

    @extend_schema(responses=AggregatedOrderSerializer)
    def get(self, request, order_id: str):
        order = get_for_org(AggregatedOrder.objects.select_related("channel"), org=request.org, public_id=order_id)
        return Response(AggregatedOrderSerializer(order).data)


class OrderStatusView(APIView):
    serializer_class = AggregatedOrderSerializer

    @extend_schema(request=StatusUpdateSerializer, responses=AggregatedOrderSerializer)
    def put(self, request, order_id: str):
        order = get_for_org(AggregatedOrder.objects.select_related("channel"), org=request.org, public_id=order_id)
        body = StatusUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        writeback = order_status_update(order=order, status=data["status"], tracking_number=data.get("trackingNumber"),
                                        carrier=data.get("carrier"))
        payload = AggregatedOrderSerializer(order).data
        payload_with_writeback = {**payload, "writeback": {"id": writeback.public_id, "status": writeback.status}}
        return Response(payload_with_writeback, status=status.HTTP_200_OK)


class OrderSummaryView(APIView):
    @extend_schema(parameters=[OpenApiParameter("channel", str)], responses=OrderSummarySerializer)
    def get(self, request):
        channel = request.query_params.get("channel") or None
        return Response(selectors.orders_summary(org=request.org, channel=channel))


class SyncHistoryView(APIView):
    @extend_schema(parameters=[HistoryQuerySerializer], responses=HistoryPageSerializer)
    def get(self, request):
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        items, total = selectors.sync_history(org=request.org, channel=q.get("channel"), kind=q.get("kind"),
                                              outcome=q.get("outcome"), page=q["page"], page_size=q["pageSize"])
        return Response({"results": items, "page": q["page"], "pageSize": q["pageSize"], "total": total})
