"""Admin applies the org roles the API applies (issue 15 items 13, 14, 18; issue 17 "by role").

Nobody here is given a permission by hand: memberships alone (through their signals and the membership
service) decide the groups, `is_staff` and what each page allows.
"""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from accounts.models import Membership
from accounts.roles import ROLE_GROUPS, ROLE_RIGHTS
from accounts.services import membership_add, membership_remove, membership_role_set
from channels_sync.models import Channel
from channels_sync.services.channels import SECRET_MASK, SECRET_MOVED, channel_config_keep_secrets
from orders.models import InventoryItem
from tests.accounts.factories import MembershipFactory, OrgFactory, UserFactory
from tests.api import authed_client
from tests.orders.factories import order_in, stock

SHOP = {"shopDomain": "main.myshopify.com", "accessToken": "shpat-stored-secret"}


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def member(org, role: str):
    return MembershipFactory(org=org, role=role).user


def make_channel(org, channel_id="shop-main", **config) -> Channel:
    return Channel.objects.create(org=org, channel_id=channel_id, provider="shopify", config={**SHOP, **config},
                                  webhook_secret="whsec-stored")


def channel_post(channel, *, config: dict, **fields) -> dict:
    return {"org": channel.org_id, "channel_id": channel.channel_id, "provider": channel.provider,
            "config": json.dumps(config), "webhook_secret": "", "poll_interval_minutes": 15, **fields}


def change_url(obj) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"


# Groups follow memberships.

def test_each_role_group_holds_exactly_the_role_table(db):
    membership_add(user=UserFactory(), org=OrgFactory(), role="viewer")
    for role, name in ROLE_GROUPS.items():
        held = {f"{p.content_type.app_label}.{p.content_type.model}:{p.codename.split('_')[0]}"
                for p in Group.objects.get(name=name).permissions.select_related("content_type")}
        wanted = {f"{label}:{action}" for label, actions in ROLE_RIGHTS[role].items() for action in actions}
        assert held == wanted, role


def test_groups_and_staff_follow_memberships_across_orgs(db):
    user, shop, other = UserFactory(), OrgFactory(), OrgFactory()
    assert not user.is_staff
    first = membership_add(user=user, org=shop, role="viewer")
    membership_add(user=user, org=other, role="owner")
    user.refresh_from_db()
    assert user.is_staff and set(user.groups.values_list("name", flat=True)) == {"Org viewer", "Org owner"}
    membership_role_set(membership=first, role="manager")
    assert set(user.groups.values_list("name", flat=True)) == {"Org manager", "Org owner"}
    membership_remove(membership=Membership.objects.get(user=user, org=other))
    membership_remove(membership=first)
    user.refresh_from_db()
    assert not user.is_staff and not user.groups.exists()


def test_a_superuser_keeps_staff_when_their_last_membership_goes(db):
    user = UserFactory(is_staff=True, is_superuser=True)
    membership_remove(membership=membership_add(user=user, org=OrgFactory(), role="viewer"))
    user.refresh_from_db()
    assert user.is_staff


def test_seeded_demo_user_sees_every_section_of_the_admin(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    client = Client()
    assert client.login(username="demo", password="demo12345")
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "have permission to view or edit anything" not in index.content.decode()
    sections = {app["app_label"]: {m["object_name"] for m in app["models"]} for app in index.context["app_list"]}
    assert set(sections) == {"accounts", "auth", "orders", "channels_sync", "subscriptions", "workflows",
                             "backoffice"}
    assert sections["backoffice"] == {"OrderListRow"}  # the one order list (issue 17)
    assert sections["orders"] >= {"Order", "Shipment", "InventoryItem", "Customer", "EventHandlerRun"}
    assert sections["channels_sync"] >= {"Channel", "AggregatedOrder", "SyncRun", "WebhookDelivery", "Writeback"}
    assert sections["accounts"] == {"Org", "Membership", "OrgBranding", "StorefrontApiKey"}
    assert sections["auth"] == {"User"}
    for url in ("/admin/orders/order/", "/admin/channels_sync/channel/", "/admin/accounts/membership/",
                "/admin/orders/shipment/", "/admin/subscriptions/subscription/", "/admin/workflows/workflow/"):
        assert client.get(url).status_code == 200, url


# Item 13: what each role may change.

def test_viewer_changes_nothing_not_even_their_own_membership(db):
    org = OrgFactory()
    viewer = member(org, "viewer")
    channel = make_channel(org)
    own = Membership.objects.get(user=viewer)
    client = login(viewer)
    assert client.get("/admin/").status_code == 200
    assert client.get(change_url(channel)).status_code == 200  # read-only view
    promote = client.post(change_url(own), {"user": viewer.pk, "org": org.pk, "role": "owner"})
    assert promote.status_code == 403
    own.refresh_from_db()
    assert own.role == "viewer"
    assert client.post(change_url(channel), channel_post(channel, config=SHOP, enabled="on")).status_code == 403
    assert client.get("/admin/accounts/membership/add/").status_code == 403
    assert client.post(f"/admin/accounts/membership/{own.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Membership.objects.filter(pk=own.pk).exists()


def test_viewer_sees_no_transition_buttons_and_cannot_run_one(db):
    org = OrgFactory()
    stock(org, A=5, B=5)
    order = order_in(org, "new")
    client = login(member(org, "viewer"))
    page = client.get(change_url(order))
    assert page.status_code == 200 and b"_fsm_transition_to" not in page.content
    assert client.post(change_url(order), {"_fsm_transition_to": "process"}).status_code == 403
    hold = f"/admin/orders/order/{order.pk}/transition/hold/"
    assert client.post(hold, {"reason": "mine now"}).status_code == 403
    order.refresh_from_db()
    assert order.status == "new"


def test_viewer_is_offered_no_admin_actions(db):
    org = OrgFactory()
    make_channel(org)
    page = login(member(org, "viewer")).get("/admin/channels_sync/channel/")
    assert page.status_code == 200
    assert b"sync_now" not in page.content and b"enable_channels" not in page.content


def test_manager_cannot_edit_connect_or_enable_channels_but_may_sync(db):
    org = OrgFactory()
    manager = member(org, "manager")
    channel = make_channel(org)
    client = login(manager)
    assert client.post(change_url(channel), channel_post(channel, config=SHOP, enabled="on")).status_code == 403
    assert client.get("/admin/channels_sync/channel/add/").status_code == 403
    listing = client.get("/admin/channels_sync/channel/").content
    assert b"sync_now" in listing and b"enable_channels" not in listing
    api = authed_client(manager, org.slug)
    connect = api.post("/sales-channel/channels", {"channelId": "new", "provider": "shopify", "config": SHOP},
                       format="json")
    assert connect.status_code == 403
    assert api.post(f"/sales-channel/channels/{channel.channel_id}/disable").status_code == 403
    assert Channel.objects.filter(org=org).count() == 1


def test_owner_edits_channels_and_memberships(db):
    org = OrgFactory()
    owner, viewer = member(org, "owner"), member(org, "viewer")
    channel = make_channel(org)
    client = login(owner)
    config = {**SHOP, "accessToken": SECRET_MASK}
    response = client.post(change_url(channel), channel_post(channel, config=config, poll_interval_minutes=30))
    assert response.status_code == 302, response.content[:2000]
    channel.refresh_from_db()
    assert channel.poll_interval_minutes == 30 and channel.config["accessToken"] == "shpat-stored-secret"
    membership = Membership.objects.get(user=viewer)
    response = client.post(change_url(membership), {"user": viewer.pk, "org": org.pk, "role": "manager"})
    assert response.status_code == 302
    assert set(viewer.groups.values_list("name", flat=True)) == {"Org manager"}


def test_a_role_counts_only_in_its_own_org(db):
    """Owner of one org, viewer of another: the owner group is theirs, yet the second org's rows stay
    read-only, and an action over both orgs' rows touches only the first's."""
    mine, theirs = OrgFactory(), OrgFactory()
    user = member(mine, "owner")
    MembershipFactory(user=user, org=theirs, role="viewer")
    their_shop = {**SHOP, "shopDomain": "theirs.myshopify.com"}  # one enabled channel per shop (issue 15, item 9)
    my_channel, their_channel = make_channel(mine, "mine"), make_channel(theirs, "theirs", **their_shop)
    client = login(user)
    assert client.post(change_url(their_channel),
                       channel_post(their_channel, config=their_shop, poll_interval_minutes=30)).status_code == 403
    assert client.post(change_url(my_channel),
                       channel_post(my_channel, config=SHOP, poll_interval_minutes=30)).status_code == 302
    Channel.objects.update(enabled=True)
    response = client.post("/admin/channels_sync/channel/", {
        "action": "disable_channels", "_selected_action": [my_channel.pk, their_channel.pk]}, follow=True)
    assert b"Skipped 1 row(s)" in response.content
    assert Channel.objects.get(pk=their_channel.pk).enabled and not Channel.objects.get(pk=my_channel.pk).enabled
    their_membership = Membership.objects.get(user=user, org=theirs)
    promote = client.post(change_url(their_membership), {"user": user.pk, "org": theirs.pk, "role": "owner"})
    assert promote.status_code == 403


def test_changing_a_channels_host_needs_the_secret_again(db):
    org = OrgFactory()
    channel = make_channel(org)
    client = login(member(org, "owner"))
    moved = {**SHOP, "accessToken": SECRET_MASK, "baseUrl": "https://collector.example"}
    response = client.post(change_url(channel), channel_post(channel, config=moved))
    assert response.status_code == 200 and SECRET_MOVED.encode() in response.content.replace(b"&#x27;", b"'")
    channel.refresh_from_db()
    assert channel.config == SHOP
    retyped = {**moved, "accessToken": "shpat-typed-again"}
    assert client.post(change_url(channel), channel_post(channel, config=retyped)).status_code == 302
    channel.refresh_from_db()
    assert channel.config["baseUrl"] == "https://collector.example"
    assert channel.config["accessToken"] == "shpat-typed-again"


@pytest.mark.parametrize("change", [
    {"shopDomain": "attacker.myshopify.com"},          # Shopify's host comes from the shop domain
    {"baseUrl": "http://main.myshopify.com"},          # same host, plain HTTP
    {"baseUrl": "https://main.myshopify.com:8443"},   # same host, another port
])
def test_the_service_keeps_a_masked_secret_only_for_the_same_host(db, change):
    channel = make_channel(OrgFactory())
    config, errors = channel_config_keep_secrets(channel=channel, provider="shopify",
                                                 config={**SHOP, "accessToken": SECRET_MASK, **change})
    assert errors == {"accessToken": SECRET_MOVED} and config.get("accessToken") != SECRET_MASK
    same, none = channel_config_keep_secrets(channel=channel, provider="shopify",
                                             config={**SHOP, "accessToken": SECRET_MASK,
                                                     "baseUrl": "https://main.myshopify.com/"})
    assert none == {} and same["accessToken"] == "shpat-stored-secret"


# Item 14: never another org's rows.

def test_list_filters_offer_only_the_users_orgs_and_channels(db):
    mine, theirs = OrgFactory(slug="mine-shop"), OrgFactory(slug="their-shop")
    make_channel(mine, "my-channel")
    make_channel(theirs, "their-channel")
    client = login(member(mine, "owner"))
    channels = client.get("/admin/channels_sync/channel/").content.decode()
    assert "mine-shop" in channels and "their-shop" not in channels
    runs = client.get("/admin/channels_sync/syncrun/").content.decode()
    assert "their-channel" not in runs
    memberships = client.get("/admin/accounts/membership/").content.decode()
    assert "their-shop" not in memberships


def test_autocomplete_and_user_admin_show_only_users_sharing_an_org(db):
    mine, theirs = OrgFactory(), OrgFactory()
    owner = member(mine, "owner")
    colleague = member(mine, "viewer")
    stranger = member(theirs, "owner")
    client = login(owner)
    found = client.get("/admin/autocomplete/", {"app_label": "accounts", "model_name": "membership",
                                                "field_name": "user", "term": ""})
    assert found.status_code == 200
    ids = {row["id"] for row in found.json()["results"]}
    assert str(colleague.pk) in ids and str(stranger.pk) not in ids
    users = client.get("/admin/auth/user/").content.decode()
    assert colleague.username in users and stranger.username not in users
    assert client.get(change_url(stranger)).status_code in (302, 403, 404)
    assert client.get(change_url(colleague)).status_code == 403  # list only: no password hash, no groups


def test_a_membership_form_naming_another_orgs_user_or_org_is_refused(db):
    mine, theirs = OrgFactory(), OrgFactory()
    client = login(member(mine, "owner"))
    stranger = member(theirs, "viewer")
    into_theirs = client.post("/admin/accounts/membership/add/", {"user": member(mine, "viewer").pk,
                                                                  "org": theirs.pk, "role": "owner"})
    assert into_theirs.status_code == 200 and "org" in into_theirs.context["adminform"].form.errors
    steal = client.post("/admin/accounts/membership/add/", {"user": stranger.pk, "org": mine.pk, "role": "owner"})
    assert steal.status_code == 200 and "user" in steal.context["adminform"].form.errors
    assert stranger.username not in steal.content.decode()
    assert not Membership.objects.filter(user=stranger, org=mine).exists()


def test_an_inventory_form_may_not_move_a_row_into_an_org_where_the_role_is_viewer(db):
    mine, theirs = OrgFactory(), OrgFactory()
    user = member(mine, "manager")
    MembershipFactory(user=user, org=theirs, role="viewer")
    response = login(user).post("/admin/orders/inventoryitem/add/", {
        "org": theirs.pk, "sku": "X-1", "name": "x", "unit_price": "1.00", "on_hand": 3})
    assert response.status_code == 200 and "org" in response.context["adminform"].form.errors
    assert not InventoryItem.objects.exists()
