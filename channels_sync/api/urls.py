from django.urls import path

from channels_sync.api import views
from channels_sync.services.channels import WEBHOOK_PATHS
from channels_sync.webhook_views import webhook_receiver

urlpatterns = [
    path("sales-channel/channels", views.ChannelListView.as_view(), name="sales-channel-channels"),
    path("sales-channel/shopify/install", views.ShopifyInstallView.as_view(), name="sales-channel-shopify-install"),
    path("sales-channel/shopify/install/callback", views.ShopifyInstallCallbackView.as_view(),
         name="sales-channel-shopify-callback"),
    path("sales-channel/channels/<slug:channel_id>", views.ChannelDetailView.as_view(), name="sales-channel-channel"),
    path("sales-channel/channels/<slug:channel_id>/enable", views.ChannelToggleView.as_view(action="enable"),
         name="sales-channel-enable"),
    path("sales-channel/channels/<slug:channel_id>/disable", views.ChannelToggleView.as_view(action="disable"),
         name="sales-channel-disable"),
    path("sales-channel/orders/sync", views.SyncAllView.as_view(), name="sales-channel-sync-all"),
    path("sales-channel/orders/sync/<slug:channel_id>", views.ChannelSyncView.as_view(), name="sales-channel-sync"),
    path("sales-channel/orders/stats/summary", views.OrderSummaryView.as_view(), name="sales-channel-summary"),
    path("sales-channel/orders", views.OrderListView.as_view(), name="sales-channel-orders"),
    path("sales-channel/orders/lookup", views.OrderLookupView.as_view(), name="sales-channel-order-lookup"),
    path("sales-channel/orders/<str:order_id>", views.OrderDetailView.as_view(), name="sales-channel-order"),
    path("sales-channel/orders/<str:order_id>/status", views.OrderStatusView.as_view(), name="sales-channel-status"),
    path("sales-channel/writebacks/<str:writeback_id>/retry", views.WritebackRetryView.as_view(),
         name="sales-channel-writeback-retry"),
    path("sales-channel/sync/history", views.SyncHistoryView.as_view(), name="sales-channel-history"),
    # Channel webhooks: signature-checked, no JWT. docs/architecture.md names these paths; the webhook lane
    # (channels_sync/webhook_lane.py) serves the same ones from the same table.
    *(path(receiver_path.lstrip("/"), webhook_receiver, {"provider_name": provider})
      for provider, receiver_path in WEBHOOK_PATHS.items()),
    path("upstream/webhooks/<slug:provider_name>/<slug:topic>", webhook_receiver, name="upstream-webhook"),
]
