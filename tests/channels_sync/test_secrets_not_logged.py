"""Channel credentials and webhook secrets never reach a log line, an error text or an API answer, even when
the channel refuses them, a sync fails or a forged webhook arrives."""

import logging

import pytest

from channels_sync.models import Channel, SyncRun
from channels_sync.services.polling import sync_run

CONSUMER_KEY = "ck_live_5f1e0a9b"
CONSUMER_SECRET = "cs_live_7d3c2b1a_do_not_log"
WEBHOOK_SECRET = "whsec_9a8b7c6d_do_not_log"
SECRETS = (CONSUMER_SECRET, WEBHOOK_SECRET)


@pytest.mark.parametrize("query_string_auth", [False, True], ids=["basic-auth", "query-string-auth"])
def test_failures_never_show_the_secrets(owner, responses_mock, caplog, client, query_string_auth,
                                         django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    config = {"baseUrl": "https://woo.example", "consumerKey": CONSUMER_KEY, "consumerSecret": CONSUMER_SECRET,
              "queryStringAuth": query_string_auth}
    connected = owner.client.post("/sales-channel/channels", {
        "channelId": "woo", "provider": "woocommerce", "config": config, "webhookSecret": WEBHOOK_SECRET,
    }, format="json")
    assert connected.status_code == 201, connected.content
    answers = [connected.content.decode()]

    responses_mock.post("https://woo.example/wp-json/wc/v3/webhooks", status=401,
                        json={"code": "woocommerce_rest_authentication_error", "message": "Invalid signature"})
    refused = owner.client.post("/sales-channel/channels/woo/enable")
    assert refused.status_code == 502
    answers.append(refused.content.decode())

    Channel.objects.filter(channel_id="woo").update(enabled=True)
    responses_mock.get("https://woo.example/wp-json/wc/v3/orders", status=401,
                       json={"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources."})
    with django_capture_on_commit_callbacks():
        started = owner.client.post("/sales-channel/orders/sync/woo", {}, format="json")
    run = sync_run(run_pk=SyncRun.objects.get(public_id=started.json()["id"]).pk)
    assert run.status == "failed" and "401" in run.error

    forged = client.post("/upstream/webhooks/woocommerce/orders?channel=woo", data=b'{"id": 1}',
                         content_type="application/json", HTTP_X_WC_WEBHOOK_SIGNATURE="AAAA",
                         HTTP_X_WC_WEBHOOK_SOURCE="https://woo.example/")
    assert forged.status_code == 401

    answers += [owner.client.get(path).content.decode() for path in (
        "/sales-channel/channels", "/sales-channel/channels/woo", "/sales-channel/sync/history")]
    for secret in SECRETS:
        assert secret not in caplog.text
        assert secret not in run.error
        assert all(secret not in answer for answer in answers)
    if query_string_auth:  # the secret did travel, as WooCommerce asks, but only in the request itself
        assert CONSUMER_SECRET in responses_mock.calls[-1].request.url
