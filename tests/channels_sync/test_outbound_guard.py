"""Channel base URLs are typed in by merchants: the workers must not be aimed at private networks.

With ALLOW_PRIVATE_OUTBOUND off, loopback, private, link-local (the cloud metadata service) and
IPv6 loopback targets are refused when a channel is connected (400 naming the config key) and on
every call the shared HTTP client makes, redirects included; with it on (tests, the simulator) they
work. Literal IP addresses are used so no test depends on DNS.
"""

import pytest
import responses as responses_lib
from django.contrib.auth.models import Permission

from channels_sync.models import Channel, SyncRun
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.services import sync_start
from channels_sync.services.polling import sync_run
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.channels_sync.fake_provider import raw_order

pytestmark = pytest.mark.django_db

PRIVATE_TARGETS = ["http://127.0.0.1:8765/shopify", "http://10.1.2.3", "http://169.254.169.254/latest/meta-data",
                   "http://[::1]:8080/", "http://192.168.0.10:80", "http://[::ffff:127.0.0.1]/"]
PUBLIC = "https://93.184.215.14"  # a public address: no DNS needed


@pytest.fixture
def private_refused(settings):
    settings.ALLOW_PRIVATE_OUTBOUND = False
    return settings


def connect(client, base_url, **config):
    body = {"channelId": "shop-main", "provider": "fakeshop", "webhookSecret": "s3cret",
            "config": {"shopDomain": "main.fake.example", "accessToken": "tok", "baseUrl": base_url, **config}}
    return client.post("/sales-channel/channels", body, format="json")


@pytest.mark.parametrize("target", PRIVATE_TARGETS)
def test_connecting_a_channel_to_a_private_address_is_400_naming_the_key(owner, private_refused, target):
    response = connect(owner.client, target)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert "not a host the hub may call" in error["details"]["config"]["baseUrl"].lower()
    assert not Channel.objects.exists()


def test_token_and_auth_urls_are_checked_too(owner, private_refused):
    response = connect(owner.client, PUBLIC, tokenUrl="http://169.254.169.254/token")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]["config"]) == {"tokenUrl"}


def test_a_shopify_domain_that_is_a_private_address_is_refused(owner, private_refused):
    body = {"channelId": "shop", "provider": "shopify",
            "config": {"shopDomain": "169.254.169.254", "accessToken": "shpat"}}
    response = owner.client.post("/sales-channel/channels", body, format="json")
    assert response.status_code == 400
    assert "shopDomain" in response.json()["error"]["details"]["config"]


def test_not_http_at_all_is_refused(owner, private_refused):
    assert connect(owner.client, "file:///etc/passwd").status_code == 400
    assert connect(owner.client, "gopher://93.184.215.14/").status_code == 400


@pytest.mark.parametrize("target", PRIVATE_TARGETS[:4])
def test_private_addresses_are_allowed_when_the_setting_says_so(owner, settings, target):
    settings.ALLOW_PRIVATE_OUTBOUND = True
    assert connect(owner.client, target).status_code == 201


@pytest.mark.parametrize("target", PRIVATE_TARGETS)
def test_a_stored_channel_pointed_inside_fails_its_sync_visibly_without_calling(owner, org, private_refused,
                                                                             responses_mock, target):
    """A channel stored before the check (or edited in the database) is stopped by the HTTP client itself."""
    channel = Channel.objects.create(org=org, channel_id="inside", provider="fakeshop", enabled=True,
                                     config={"shopDomain": "x.fake.example", "accessToken": "t", "baseUrl": target},
                                     webhook_secret="s")
    run = sync_start(channel=channel)
    sync_run(run_pk=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "refused" in run.error
    assert len(responses_mock.calls) == 0  # nothing left the building
    history = owner.client.get("/sales-channel/sync/history", {"channel": "inside"}).json()["results"]
    assert history[0]["outcome"] == "failed" and "non-public address" in history[0]["error"]


def test_the_same_channel_syncs_when_private_targets_are_allowed(org, settings, responses_mock):
    settings.ALLOW_PRIVATE_OUTBOUND = True
    channel = Channel.objects.create(org=org, channel_id="sim", provider="fakeshop", enabled=True,
                                     config={"shopDomain": "x.fake.example", "accessToken": "t",
                                             "baseUrl": "http://127.0.0.1:8765"}, webhook_secret="s")
    responses_mock.get("http://127.0.0.1:8765/orders.json", json={"orders": [raw_order(1)], "next_page": None})
    run = sync_start(channel=channel)
    sync_run(run_pk=run.pk)
    assert SyncRun.objects.get(pk=run.pk).status == "succeeded"


@responses_lib.activate
def test_a_redirect_towards_the_metadata_service_is_refused(private_refused):
    metadata = responses_lib.get("http://169.254.169.254/latest/meta-data/", body="secret")
    responses_lib.get(f"{PUBLIC}/orders.json", status=302,
                      headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(PermanentChannelError, match="redirect refused"):
        ChannelHttpClient(PUBLIC).get_json("/orders.json")
    assert len(metadata.calls) == 0


@responses_lib.activate
def test_a_public_target_and_its_public_redirects_are_called(private_refused):
    responses_lib.get(f"{PUBLIC}/old", status=301, headers={"Location": f"{PUBLIC}/new"})
    responses_lib.get(f"{PUBLIC}/new", json={"ok": True})
    assert ChannelHttpClient(PUBLIC).get_json("/old") == {"ok": True}


def test_admin_refuses_a_private_base_url_on_edit(client, org, private_refused):
    channel = Channel.objects.create(org=org, channel_id="edit-me", provider="fakeshop",
                                     config={"shopDomain": "x.fake.example", "accessToken": "t",
                                             "baseUrl": PUBLIC}, webhook_secret="s")
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="channels_sync"))
    MembershipFactory(user=user, org=org)
    client.force_login(user)
    response = client.post(f"/admin/channels_sync/channel/{channel.pk}/change/", {
        "org": org.pk, "channel_id": "edit-me", "provider": "fakeshop", "poll_interval_minutes": 15,
        "config": '{"shopDomain": "x.fake.example", "accessToken": "t", "baseUrl": "http://10.0.0.1"}',
    })
    assert response.status_code == 200  # the form again, with the error
    assert b"Not a host the hub may call" in response.content
    channel.refresh_from_db()
    assert channel.config["baseUrl"] == PUBLIC
