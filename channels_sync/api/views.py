"""Thin views for /sales-channel/...: validate, call one service or selector, render."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import transaction
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
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
    OrderLookupQuerySerializer,
    OrderSummarySerializer,
    ShopifyCallbackSerializer,
    ShopifyInstallSerializer,
    ShopifyInstallStartSerializer,
    StatusUpdateSerializer,
    SyncRequestSerializer,
    SyncRunSerializer,
    WritebackRetrySerializer,
)
from channels_sync.models import AggregatedOrder, Channel, Writeback
from channels_sync.selectors import ORDERINGS
from channels_sync.services import (
    channel_connect,
    channel_disable,
    channel_enable,
    order_status_update,
    sync_start,
)
from channels_sync.services.shopify_install import shopify_install_complete, shopify_install_start
from channels_sync.services.writeback import writeback_retry
from core.api.pagination import PagePagination
from core.api.schema import ERROR


def _channel_context(channels) -> dict:
    ids = [c.pk for c in channels]
    return {"last_runs": selectors.last_runs(channel_ids=ids), "rejected": selectors.rejected_counts(channel_ids=ids)}


class ChannelListView(OrgScopedMixin, generics.GenericAPIView):
    queryset = Channel.objects.select_related("org")
    serializer_class = ChannelSerializer
    write_role = Role.OWNER  # connecting a channel stores its credentials: the owner's call (accounts.roles)

    @extend_schema(responses=ChannelSerializer(many=True), summary="List the org's connected channels",
                   description="Each channel with its public config (secrets are never returned), its last sync "
                               "run and the count of webhooks refused for a bad signature.")
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset().order_by("channel_id"))
        return self.get_paginated_response(ChannelSerializer(page, many=True, context=_channel_context(page)).data)

    @extend_schema(request=ChannelConnectSerializer, responses={201: ChannelSerializer, 409: ERROR},
                   summary="Connect a channel (disabled until enabled)",
                   description="`config` takes the provider's keys (docs/channels.md); secrets are write-only. "
                               "409 when the channelId is taken.")
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

    @extend_schema(responses=ChannelSerializer, summary="One connected channel",
                   description="By its channelId; secrets are never returned.")
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

    @extend_schema(request=ChannelEnableSerializer, responses=ChannelSerializer,
                   summary="Enable (register webhooks, start polling) or disable a channel",
                   description="Enable registers the channel's webhooks and starts polling (502 when the channel "
                               "cannot be reached, 409 when another org's channel holds the account: send "
                               "`claim: true` to prove it through the channel's API); disable stops polling and "
                               "ignores its webhooks.")
    def post(self, request, channel_id: str):
        channel = get_for_org(Channel.objects.select_related("org"), org=request.org, channel_id=channel_id)
        if self.action == "enable":
            body = ChannelEnableSerializer(data=request.data or {})
            body.is_valid(raise_exception=True)
            channel = channel_enable(channel=channel, claim=body.validated_data["claim"])
        else:
            channel = channel_disable(channel=channel)
        return Response(ChannelSerializer(channel, context=_channel_context([channel])).data)


class ShopifyInstallView(APIView):
    serializer_class = ShopifyInstallSerializer
    write_role = Role.OWNER  # the install stores the store's credentials

    @extend_schema(request=ShopifyInstallStartSerializer, responses={201: ShopifyInstallSerializer},
                   summary="Start a Shopify OAuth install (authorization-code grant)",
                   description="Answers the URL to send the merchant to (the store's /admin/oauth/authorize) and its "
                               "`state`, bound to this org and user, single use, valid 10 minutes. 400 for a shop "
                               "that is not a myshopify.com store.")
    def post(self, request):
        body = ShopifyInstallStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        install, url = shopify_install_start(
            org=request.org, user=request.user, shop=data["shop"], channel_id=data["channelId"],
            client_id=data["clientId"], client_secret=data["clientSecret"], redirect_uri=data["redirectUri"],
            scopes=data.get("scopes"), api_version=data.get("apiVersion"), base_url=data.get("baseUrl"))
        return Response({"state": install.state, "installUrl": url,
                         "expiresAt": ShopifyInstallSerializer().fields["expiresAt"].to_representation(
                             install.expires_at)}, status=status.HTTP_201_CREATED)


class ShopifyInstallCallbackView(APIView):
    serializer_class = ChannelSerializer
    write_role = Role.OWNER

    @extend_schema(request=ShopifyCallbackSerializer, responses={201: ChannelSerializer},
                   summary="Finish a Shopify OAuth install with Shopify's callback parameters",
                   description="The page at the redirect URI posts every query parameter Shopify sent (code, hmac, "
                               "host, shop, state, timestamp), as the user who started the install. The hmac is "
                               "checked with the app's client secret, the state must be unused and unexpired, the "
                               "code is exchanged for an (expiring) offline token, and the channel is created, or its "
                               "tokens replaced; it stays disabled until enabled. 400 says which part was wrong.")
    def post(self, request):
        body = ShopifyCallbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        channel = shopify_install_complete(org=request.org, user=request.user, params=body.validated_data)
        return Response(ChannelSerializer(channel, context=_channel_context([channel])).data,
                        status=status.HTTP_201_CREATED)


class ChannelSyncView(APIView):
    serializer_class = SyncRunSerializer

    @extend_schema(operation_id="sales_channel_orders_sync_channel", request=SyncRequestSerializer,
                   responses={202: SyncRunSerializer}, summary="Pull one channel's orders now (one-shot sync)",
                   description="Queues a sync run for the window and status given; 202 with the run, whose "
                               "progress shows in sync history.")
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
                   responses={202: inline_serializer("SyncAllResult", {"results": SyncRunSerializer(many=True)})},
                   summary="Pull every enabled channel's orders now",
                   description="One sync run per enabled channel, queued together; 202 with the runs.")
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

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["totalIsCapped"] = bool(getattr(self.page.paginator.object_list, "capped", False))
        return response

    def get_paginated_response_schema(self, schema):
        body = super().get_paginated_response_schema(schema)
        body["required"] = [*body["required"], "totalIsCapped"]
        body["properties"]["totalIsCapped"] = {
            "type": "boolean",
            "description": f"True when a `q` search matched more than {selectors.SEARCH_COUNT_CAP:,} orders: "
                           "`total` is then that cap, not the exact count (show it as \"1,000+\"); "
                           "pages up to the cap are served, so narrow the search to see further.",
        }
        return body


def _order_context(orders) -> dict:
    """The serializer's context: each order's latest writeback, one query for the page."""
    return {"writebacks": selectors.latest_writebacks(order_ids=[order.pk for order in orders])}


class OrderListView(OrgScopedMixin, generics.ListAPIView):
    queryset = AggregatedOrder.objects.all()
    serializer_class = AggregatedOrderSerializer
    pagination_class = _KnownCountPagination

    @extend_schema(
        summary="List channel orders: filter, search (q) and sort",
        description="The org's orders from every connected channel, newest first unless `ordering` says "
                    "otherwise. `q` finds an order by the channel order number as quoted (`#1201` = `1201`), "
                    "the channel's order id, an exact SKU, part of the customer's name (from 3 characters), or "
                    "the customer's email (exact, any case); a search's `total` stops at 1,000 (`totalIsCapped`). "
                    "`ordering` is one of " + ", ".join(f"`{o}`" for o in ORDERINGS)
                    + " (400 for any other). Each order carries its latest writeback.",
        parameters=[OrderListQuerySerializer, OpenApiParameter("page", int), OpenApiParameter("pageSize", int)])
    def get(self, request, *args, **kwargs):
        query = OrderListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        self.filters = query.validated_data
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = AggregatedOrderSerializer(page, many=True, context=_order_context(page)).data
        return self.get_paginated_response(data)

    def scope_queryset(self, queryset):
        f = self.filters
        return selectors.orders_filtered(org=self.request.org, queryset=queryset.defer("raw"),
                                         channel=f.get("channel"),
                                         status=f.get("status") or None, from_date=f.get("fromDate"),
                                         to_date=f.get("toDate"), q=f.get("q") or None,
                                         ordering=f.get("ordering") or selectors.DEFAULT_ORDERING)

    def paginate_queryset(self, queryset):
        f = self.filters
        if not f.get("fromDate") and not f.get("toDate") and not (f.get("q") or "").strip():
            self.paginator.known_total = selectors.orders_count_from_summary(
                org=self.request.org, channel=f.get("channel"), status=f.get("status") or None)
        elif (f.get("q") or "").strip():
            # A search is counted up to a cap and paged from its fenced matches (selectors.SearchResults).
            ordering = f.get("ordering") or selectors.DEFAULT_ORDERING
            skus = selectors.sku_search(org=self.request.org, q=f["q"], channel=f.get("channel"),
                                        status=f.get("status") or None, from_date=f.get("fromDate"),
                                        to_date=f.get("toDate"), ordering=ordering)
            queryset = selectors.SearchResults(queryset, ordering, skus=skus)
            number = self.request.query_params.get(self.paginator.page_query_param, "1")
            if number.isdigit() and int(number) > 0:
                size = self.paginator.get_page_size(self.request)
                queryset.fetch_page((int(number) - 1) * size, size)
        return super().paginate_queryset(queryset)


class OrderLookupView(APIView):
    @extend_schema(
        summary="Find channel orders by the number the customer quotes",
        description="`number` is matched exactly against the channel order number, blind to case, spaces and "
                    "Shopify's '#' (`#1201`, `1201` and ` #1201 ` are the same), and against the channel's own "
                    "order id (Amazon's `112-1234567-1234567`, eBay's and Walmart's order ids). 404 when no order "
                    "matches; otherwise every match (several channels may use the same number), newest first, "
                    "at most 20.",
        parameters=[OrderLookupQuerySerializer],
        responses=inline_serializer("OrderLookupResult", {"results": AggregatedOrderSerializer(many=True)}))
    def get(self, request):
        query = OrderLookupQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        orders = selectors.orders_by_number(org=request.org, number=query.validated_data["number"],
                                            channel=query.validated_data.get("channel"))
        if not orders:
            raise NotFound("No channel order has this number.")
        return Response({"results": AggregatedOrderSerializer(orders, many=True, context=_order_context(orders)).data})


class OrderDetailView(APIView):
    serializer_class = AggregatedOrderSerializer

    @extend_schema(responses=AggregatedOrderSerializer, summary="One channel order, with its latest writeback",
                   description="By its `orderId` (`agg_...`). Another org's order is 404.")
    def get(self, request, order_id: str):
        order = get_for_org(AggregatedOrder.objects.select_related("channel"), org=request.org, public_id=order_id)
        return Response(AggregatedOrderSerializer(order, context=_order_context([order])).data)


class OrderStatusView(APIView):
    serializer_class = AggregatedOrderSerializer

    @extend_schema(request=StatusUpdateSerializer, responses={200: AggregatedOrderSerializer, 409: ERROR},
                   summary="Set a channel order's status; the channel is told asynchronously",
                   description="Saved now; a writeback (with the tracking number and carrier, if given) is queued "
                               "and retried with backoff. The answer's `writeback` is that new writeback; follow it "
                               "on GET /sales-channel/orders/{order_id} or in sync history. A status the channel "
                               "cannot take from the order's current one (e.g. delivered on a TikTok order) is a "
                               "409 `invalid_transition` naming the statuses it accepts, and nothing is saved.")
    def put(self, request, order_id: str):
        order = get_for_org(AggregatedOrder.objects.select_related("channel"), org=request.org, public_id=order_id)
        body = StatusUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        writeback = order_status_update(order=order, status=data["status"], tracking_number=data.get("trackingNumber"),
                                        carrier=data.get("carrier"))
        payload = AggregatedOrderSerializer(order, context={"writebacks": {order.pk: writeback}}).data
        return Response(payload, status=status.HTTP_200_OK)


class WritebackRetryView(APIView):
    serializer_class = AggregatedOrderSerializer

    @extend_schema(request=WritebackRetrySerializer, responses={200: AggregatedOrderSerializer, 409: ERROR},
                   summary="Retry a failed writeback (one more attempt, confirmed)",
                   description="By the writeback's id (`writeback.id` on the order). Without `confirm: true` the "
                               "answer is a 400 saying what the retry will do and, for a permanent refusal, that the "
                               "same request will fail again unless its cause was fixed. A confirmed retry is one "
                               "attempt, counted in `manualRetries`; it is not retried automatically. 409 unless the "
                               "writeback has failed. The answer is the order with this writeback.")
    def post(self, request, writeback_id: str):
        writeback = get_for_org(Writeback.objects.select_related("order", "order__channel"), org=request.org,
                                public_id=writeback_id)
        body = WritebackRetrySerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        writeback = writeback_retry(writeback=writeback, confirmed=body.validated_data["confirm"])
        order = writeback.order
        return Response(AggregatedOrderSerializer(order, context={"writebacks": {order.pk: writeback}}).data)


class OrderSummaryView(APIView):
    @extend_schema(parameters=[OpenApiParameter("channel", str)], responses=OrderSummarySerializer,
                   summary="Order counts and totals by channel and status",
                   description="Per currency, from running totals kept by every writer (no scan of the orders).")
    def get(self, request):
        channel = request.query_params.get("channel") or None
        return Response(selectors.orders_summary(org=request.org, channel=channel))


class SyncHistoryView(APIView):
    @extend_schema(parameters=[HistoryQuerySerializer], responses=HistoryPageSerializer,
                   summary="Sync history: sync runs, webhook deliveries and writebacks",
                   description="Newest first, failed ones included with their error; filter by channel, kind "
                               "and outcome.")
    def get(self, request):
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        items, total = selectors.sync_history(org=request.org, channel=q.get("channel"), kind=q.get("kind"),
                                              outcome=q.get("outcome"), page=q["page"], page_size=q["pageSize"])
        return Response({"results": items, "page": q["page"], "pageSize": q["pageSize"], "total": total})
