"""The receiver path is an attribute of each provider class; WEBHOOK_PATHS is the one table built from them."""

from __future__ import annotations

from channels_sync.providers import PROVIDER_MODULES, provider_class
from channels_sync.services.channels import WEBHOOK_PATHS
from channels_sync.webhook_lane import WebhookLane


def test_the_table_is_built_from_the_provider_classes_and_the_paths_did_not_move():
    assert WEBHOOK_PATHS == {
        "shopify": "/upstream/webhooks/shopify/orders",
        "woocommerce": "/upstream/webhooks/woocommerce/orders",
        "amazon": "/upstream/webhooks/amazon/notifications",
        "ebay": "/upstream/webhooks/ebay/notifications",
        "tiktok": "/upstream/webhooks/tiktok/orders",
        "walmart": "/upstream/webhooks/walmart/orders",
    }
    for name in PROVIDER_MODULES:
        if name in WEBHOOK_PATHS:
            assert provider_class(name).webhook_path == WEBHOOK_PATHS[name]


def test_the_lane_and_the_urlconf_serve_every_path_of_the_table():
    from django.urls import resolve

    lane = WebhookLane(lambda environ, start_response: None)
    assert lane.providers == {path: name for name, path in WEBHOOK_PATHS.items()}
    for name, path in WEBHOOK_PATHS.items():
        match = resolve(path)
        assert match.kwargs["provider_name"] == name
