"""The one order list (issue 17): storefront and channel orders together, scoped to the user's orgs,
searched, filtered in the URL, acted on in bulk through the services, and exported to CSV."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from backoffice.exports import safe_cell
from channels_sync.models import AggregatedOrder, Outcome, Writeback
from orders import services
from orders.models import Order, OrderTag
from tests.api import make_actor
from tests.orders.factories import order_in, stock

LIST = reverse("admin:backoffice_orderlistrow_changelist")
EXPORT = reverse("admin:backoffice_orderlistrow_export")


@pytest.fixture
def stocked(org):
    return stock(org, A=50, B=50, **{"TEE-XL": 20})


def login(client, actor):
    client.force_login(actor.user)
    return client


def numbers(response) -> list[str]:
    return [row.number for row in response.context["cl"].result_list]


def act(client, action, rows, **extra):
    data = {"action": action, "_selected_action": [row_key(r) for r in rows], "index": "0", **extra}
    return client.post(LIST, data, follow=True)


def row_key(order) -> str:
    return f"s-{order.pk}" if isinstance(order, Order) else f"c-{order.pk}"


def read_csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_one_list_newest_first_with_the_columns_staff_scan(client, org, manager, stocked, make_channel,
                                                           channel_order):
    shop = make_channel(org, "shop-main")
    old = channel_order(shop, number="#1001", minutes_ago=60, quantity=3)
    storefront = order_in(org, "shipped")
    OrderTag.objects.create(order=storefront, name="vip")
    newest = channel_order(shop, number="#1002", status="shipped", tracking_number="1Z1", carrier="ups")
    Writeback.objects.create(org=org, channel=shop, order=newest, target_status="shipped", status=Outcome.FAILED,
                             last_error="422 from the channel")

    response = login(client, manager).get(LIST)

    assert response.status_code == 200
    assert numbers(response) == [newest.public_id, storefront.order_number, old.public_id]
    page = response.content.decode()
    assert reverse("admin:orders_order_change", args=[storefront.pk]) in page
    assert reverse("admin:channels_sync_aggregatedorder_change", args=[old.pk]) in page
    rows = {row.number: row for row in response.context["cl"].result_list}
    assert rows[storefront.order_number].items == 3  # A x2 + B x1
    assert rows[storefront.order_number].tags == ["vip"]
    assert rows[storefront.order_number].payment_state == "paid"
    assert rows[storefront.order_number].fulfilment_state == "shipped"
    assert rows[old.public_id].items == 3
    assert rows[old.public_id].channel_label == "shop-main"
    assert rows[old.public_id].fulfilment_state == "unfulfilled"
    assert rows[newest.public_id].writeback == "failed (shipped), needs a person: 422 from the channel"
    assert 'title="failed (shipped), needs a person: 422 from the channel">failed</strong>' in page
    assert "25.00 EUR" in page and "#1001" in page


def test_writeback_states_in_words(client, org, manager, make_channel, channel_order):
    shop = make_channel(org)
    sent, retrying, queued = (channel_order(shop, status="shipped", minutes_ago=i) for i in range(3))
    Writeback.objects.create(org=org, channel=shop, order=sent, target_status="shipped", status=Outcome.SUCCEEDED)
    Writeback.objects.create(org=org, channel=shop, order=retrying, target_status="shipped", status=Outcome.QUEUED,
                             attempts=2, next_attempt_at=timezone.now() + timezone.timedelta(minutes=5))
    Writeback.objects.create(org=org, channel=shop, order=queued, target_status="shipped")

    response = login(client, manager).get(LIST)

    labels = {row.number: row.writeback for row in response.context["cl"].result_list}
    assert labels[sent.public_id] == "sent (shipped)"
    assert labels[retrying.public_id].startswith("retrying (shipped), next try ")
    assert labels[queued.public_id] == "pending (shipped)"
    assert "retrying<br><small>" in response.content.decode()


def test_a_channel_order_that_made_a_storefront_order_is_one_row(client, org, manager, stocked, make_channel,
                                                                 channel_order):
    shop = make_channel(org)
    local = order_in(org, "new")
    channel_order(shop, number="#2001", local_order=local)

    response = login(client, manager).get(LIST)

    rows = response.context["cl"].result_list
    assert [(row.number, row.channel_number, row.channel_label) for row in rows] == [
        (local.order_number, "#2001", "shop-main")]


def test_other_orgs_rows_never_show(client, org, other_org, manager, stocked, make_channel, channel_order):
    stock(other_org, A=5, B=5)
    theirs = order_in(other_org, "new", email="grace@example.com")
    their_channel = channel_order(make_channel(other_org, "their-shop"), number="#1001")
    mine = channel_order(make_channel(org), number="#1001")
    client = login(client, manager)

    assert numbers(client.get(LIST)) == [mine.public_id]
    assert numbers(client.get(LIST, {"q": "#1001"})) == [mine.public_id]
    assert numbers(client.get(LIST, {"q": "grace@example.com"})) == [mine.public_id]
    exported = [row["number"] for row in read_csv(client.get(EXPORT))]
    assert exported == [mine.public_id]
    assert theirs.order_number not in client.get(LIST).content.decode()
    assert their_channel.public_id not in client.get(LIST).content.decode()


def test_search_by_number_channel_number_name_email_sku_and_tracking(client, org, manager, stocked, make_channel,
                                                                     channel_order):
    shop = make_channel(org)
    storefront = order_in(org, "shipped", email="ada@example.com", lines={"TEE-XL": 2})  # tracking 1Z999AA10123456784
    first = channel_order(shop, number="#3001", name="Grace Hopper", email="grace@navy.example", sku="COBOL-1")
    second = channel_order(shop, number="#3002", name="Alan Turing", sku="ENIGMA-2", tracking_number="TRK-77",
                           status="shipped")
    client = login(client, manager)

    def found(term):
        return numbers(client.get(LIST, {"q": term}))

    assert found(storefront.order_number) == [storefront.order_number]
    assert found(storefront.order_number.lower()) == [storefront.order_number]
    assert found("3001") == [first.public_id]
    assert found("#3002") == [second.public_id]
    assert found("hopper") == [first.public_id]
    assert found("Buyer") == [storefront.order_number]
    assert found("GRACE@navy.example") == [first.public_id]
    assert found("ada@example.com") == [storefront.order_number]
    assert found("ENIGMA-2") == [second.public_id]
    assert found("TEE-XL") == [storefront.order_number]
    assert found("1Z999AA10123456784") == [storefront.order_number]
    assert found("TRK-77") == [second.public_id]
    assert found("nothing-like-this") == []


def test_filters_are_in_the_url(client, org, manager, stocked, make_channel, channel_order):
    shop, other = make_channel(org, "shop-main"), make_channel(org, "amazon-us")
    processing = order_in(org, "processing")
    on_shop = channel_order(shop, status="pending")
    old = channel_order(other, status="shipped", minutes_ago=60 * 24 * 40)
    failed = channel_order(other, status="shipped")
    Writeback.objects.create(org=org, channel=other, order=failed, target_status="shipped", status=Outcome.FAILED)
    client = login(client, manager)

    assert numbers(client.get(LIST, {"channel": str(shop.pk)})) == [on_shop.public_id]
    assert numbers(client.get(LIST, {"channel": "storefront"})) == [processing.order_number]
    assert numbers(client.get(LIST, {"status": "processing"})) == [processing.order_number]
    assert numbers(client.get(LIST, {"fulfilment": "shipped"})) == [failed.public_id, old.public_id]
    assert numbers(client.get(LIST, {"writeback": "failed"})) == [failed.public_id]
    today = timezone.localdate()
    recent = client.get(LIST, {"placed_from": (today - timezone.timedelta(days=7)).isoformat(),
                               "placed_to": today.isoformat(), "channel": str(other.pk)})
    assert numbers(recent) == [failed.public_id]
    assert numbers(client.get(LIST, {"placed_to": (today - timezone.timedelta(days=30)).isoformat()})) == [
        old.public_id]
    # The page's links keep the other filters (the date form carries them as hidden fields).
    assert f'name="channel" value="{other.pk}"' in recent.content.decode()


def test_bulk_process_runs_the_services(client, org, manager, stocked, make_channel, channel_order):
    shop = make_channel(org)
    new, shipped = order_in(org, "new"), order_in(org, "shipped")
    pending = channel_order(shop, status="pending")

    response = act(login(client, manager), "process_orders", [new, shipped, pending])

    new.refresh_from_db()
    pending.refresh_from_db()
    assert new.status == "processing"
    assert new.activities.filter(verb="process", actor=manager.user).exists()
    assert pending.status == "processing"
    assert Writeback.objects.filter(order=pending, target_status="processing", source="admin").count() == 1
    text = response.content.decode()
    assert "Processed 2 order(s)" in text
    assert shipped.order_number in text and "shipped" in text  # refused, named with its state


def test_a_viewer_changes_nothing(client, org, viewer, stocked, make_channel, channel_order):
    new = order_in(org, "new")
    pending = channel_order(make_channel(org), status="pending")
    client = login(client, viewer)

    page = client.get(LIST)
    assert page.status_code == 200
    actions = [value for value, _ in page.context["action_form"].fields["action"].choices if value]
    assert actions == ["export_selected"]
    for action in ("process_orders", "hold_orders", "ship_orders"):
        act(client, action, [new, pending], reason="x", apply="1")
    new.refresh_from_db()
    pending.refresh_from_db()
    assert (new.status, pending.status) == ("new", "pending")
    assert not Writeback.objects.exists()


def test_each_row_is_judged_by_the_role_in_its_own_org(client, org, other_org, stocked):
    stock(other_org, A=5, B=5)
    manager = make_actor(org, role="manager")
    make_actor(other_org, role="viewer", user=manager.user)
    mine, theirs = order_in(org, "new"), order_in(other_org, "new")

    response = act(login(client, manager), "process_orders", [mine, theirs])

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("processing", "new")
    assert "your role in this org does not allow" in response.content.decode()


def test_mark_shipped_asks_tracking_per_order(client, org, manager, stocked, make_channel, channel_order):
    shop = make_channel(org)
    storefront = order_in(org, "processing")
    remote = channel_order(shop, status="processing")
    client = login(client, manager)

    page = act(client, "ship_orders", [storefront, remote])
    assert page.status_code == 200
    html = page.content.decode()
    assert f'name="tracking-s-{storefront.pk}"' in html and f'name="tracking-c-{remote.pk}"' in html

    incomplete = act(client, "ship_orders", [storefront, remote], apply="1", **{
        f"carrier-s-{storefront.pk}": "ups", f"tracking-s-{storefront.pk}": "1Z999AA10123456784",
        f"carrier-c-{remote.pk}": "usps"})
    assert "Carrier and tracking number are both required." in incomplete.content.decode()
    storefront.refresh_from_db()
    assert storefront.status == "processing"  # nothing applied while one parcel is incomplete

    done = act(client, "ship_orders", [storefront, remote], apply="1", **{
        f"carrier-s-{storefront.pk}": "ups", f"tracking-s-{storefront.pk}": "1Z999AA10123456784",
        f"carrier-c-{remote.pk}": "usps", f"tracking-c-{remote.pk}": "9400111899223197428490"})

    storefront.refresh_from_db()
    remote.refresh_from_db()
    assert storefront.status == "shipped"
    assert list(storefront.shipments.values_list("carrier", "tracking_number")) == [("ups", "1Z999AA10123456784")]
    assert (remote.status, remote.tracking_number) == ("shipped", "9400111899223197428490")
    writeback = Writeback.objects.get(order=remote)
    assert (writeback.target_status, writeback.tracking_number, writeback.carrier) == (
        "shipped", "9400111899223197428490", "usps")
    assert "Shipped 2 order(s)" in done.content.decode()


def test_hold_needs_a_reason_and_skips_channel_orders(client, org, manager, stocked, make_channel, channel_order):
    storefront = order_in(org, "new")
    remote = channel_order(make_channel(org), status="pending")
    client = login(client, manager)

    asked = act(client, "hold_orders", [storefront, remote])
    assert 'name="reason"' in asked.content.decode()
    empty = act(client, "hold_orders", [storefront, remote], apply="1", reason="")
    assert "This field is required." in empty.content.decode()

    done = act(client, "hold_orders", [storefront, remote], apply="1", reason="address check")

    storefront.refresh_from_db()
    remote.refresh_from_db()
    assert (storefront.status, storefront.hold_reason) == ("on-hold", "address check")
    assert remote.status == "pending"
    assert "channel orders cannot be held" in done.content.decode()


def test_export_selection_and_filtered_list_with_safe_cells(client, org, viewer, stocked, make_channel,
                                                           channel_order):
    shop = make_channel(org)
    evil = channel_order(shop, number="#4001", name='=HYPERLINK("http://evil.example","x")', status="pending")
    plain = channel_order(shop, number="#4002", name="Grace Hopper", status="shipped")
    storefront = order_in(org, "new")
    client = login(client, viewer)  # reading is enough to export

    selected = read_csv(act(client, "export_selected", [evil, storefront]))
    assert [row["number"] for row in selected] == [storefront.order_number, evil.public_id]
    assert selected[1]["customer"] == '\'=HYPERLINK("http://evil.example","x")'
    assert selected[0]["items"] == "3" and selected[0]["total"] == storefront.grand_total.to_eng_string()

    filtered = client.get(EXPORT, {"channel": str(shop.pk), "status": "shipped"})
    assert filtered["Content-Type"].startswith("text/csv")
    assert [row["number"] for row in read_csv(filtered)] == [plain.public_id]
    # The list's export link carries the list's filters.
    page = client.get(LIST, {"status": "shipped"}).content.decode()
    assert f'{EXPORT}?status=shipped' in page


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+44 20", "'+44 20"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("Grace", "Grace"), ("", ""), (None, ""), (12, "12")])
def test_cells_that_a_spreadsheet_would_run_get_a_quote(value, expected):
    assert safe_cell(value) == expected


def test_admin_index_leads_with_the_order_list(client, org, viewer):
    page = login(client, viewer).get(reverse("admin:index")).content.decode()
    assert 'id="backoffice-orders"' in page
    assert page.index('id="backoffice-orders"') < page.index('id="content-main"') or \
        page.index('id="backoffice-orders"') < page.index("app-accounts")
    assert LIST in page


def test_searching_many_matches_says_so(client, org, manager, make_channel, channel_order, monkeypatch):
    from backoffice import selectors

    monkeypatch.setattr(selectors, "SEARCH_LIMIT", 2)
    shop = make_channel(org)
    rows = [channel_order(shop, sku="BEST-SELLER", minutes_ago=i) for i in range(3)]
    response = login(client, manager).get(LIST, {"q": "BEST-SELLER"}, follow=True)
    assert numbers(response) == [rows[0].public_id, rows[1].public_id]
    assert "Many orders match" in response.content.decode()


def test_channel_orders_keep_their_states(org, make_channel, channel_order):
    shop = make_channel(org)
    delivered = channel_order(shop, status="delivered")
    assert AggregatedOrder.objects.filter(pk=delivered.pk).exists()
    assert services.VERBS  # the list uses the same verbs as the API


def test_channel_filter_keeps_storefront_orders_made_from_that_channel(client, org, manager, stocked, make_channel,
                                                                        channel_order):
    shop, other = make_channel(org, "shop-main"), make_channel(org, "amazon-us")
    own = order_in(org, "new")
    from_shop = order_in(org, "new")
    channel_order(shop, number="#5001", local_order=from_shop, minutes_ago=1)
    direct = channel_order(shop, number="#5002", minutes_ago=2)
    channel_order(other, number="#5003", minutes_ago=3)
    client = login(client, manager)

    assert numbers(client.get(LIST, {"channel": str(shop.pk)})) == [from_shop.order_number, direct.public_id]
    assert numbers(client.get(LIST, {"channel": "storefront"})) == [own.order_number]


def test_export_refuses_strangers_and_unknown_filters(client, org, manager, other_owner):
    from tests.accounts.factories import UserFactory

    outsider = UserFactory(is_staff=True)  # staff, but no org role: no right to the list
    client.force_login(outsider)
    assert client.get(EXPORT).status_code == 403
    assert client.get(LIST).status_code == 403

    login(client, manager)
    assert client.get(EXPORT, {"no_such_filter": "1"}).status_code == 400
