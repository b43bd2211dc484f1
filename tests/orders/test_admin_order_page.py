"""The storefront order's admin page (issue 17): header, actions allowed now, formatted addresses, notes and
tags through the update service, the timeline with comments, and the ship and refund dialogs calling the same
services as the API. Staff are members whose rights come from their role only."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.carrier_formats import tracking_error
from orders.models import Activity, EmailLog, InventoryItem, Order, OrderLine, Refund, Shipment
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.orders.factories import order_in


def member(org, role):
    user = UserFactory()
    MembershipFactory(user=user, org=org, role=role)
    user.refresh_from_db()
    return user


@pytest.fixture
def as_role(client, org):
    def login(role):
        client.force_login(member(org, role))
        return client
    return login


def url(order, name="change"):
    return reverse(f"admin:orders_order_{name}", args=[order.pk])


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_page_has_header_actions_formatted_addresses_and_no_save_button(as_role, stocked, org):
    order = order_in(org, "processing")
    page = html_of(as_role("manager").get(url(order)))
    assert re.search(r'data-testid="order-state">Processing<', page)
    assert re.search(r'data-testid="order-payment">Paid \(manual\)<', page)
    assert re.search(r'data-testid="order-fulfilment">Unfulfilled<', page)
    address = re.search(r'data-testid="shipping-address">(.*?)</address>', page, re.S).group(1)
    assert address == "1 Main St<br>Springfield<br>US<br>"
    assert "&quot;line1&quot;" not in page and '"line1"' not in page  # never the JSON
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    verbs = set(re.findall(r'name="_fsm_transition_to" value="([^"]+)"', page))
    assert verbs == {"hold", "cancel"}  # process is done; ship opens the dialog instead
    assert 'data-dialog="ship-dialog"' in page and 'id="ship-dialog"' in page
    assert 'data-dialog="refund-dialog"' not in page
    assert "Refund: offered once the order has shipped" in page


def test_viewer_sees_the_order_but_no_action_and_cannot_post_one(as_role, stocked, org):
    order = order_in(org, "processing")
    client = as_role("viewer")
    page = html_of(client.get(url(order)))
    assert "_fsm_transition_to" not in page and "data-dialog" not in page
    assert "Save notes and tags" not in page and "Add comment" not in page
    assert "can view this order but not change it" in page
    for name, data in (("ship", {"carrier": "ups", "tracking": "1Z999AA10123456784", "qty_1": 1}),
                       ("refund", {"reason": "x"}), ("notes", {"tags": "vip"}), ("comment", {"text": "hi"})):
        assert client.post(url(order, name), data).status_code == 403
    assert not Shipment.objects.exists() and not Activity.objects.filter(verb__in=["comment", "update"]).exists()


def test_another_orgs_order_is_a_404_on_every_page(client, stocked, org, other_org):
    from tests.orders.factories import stock

    stock(other_org, A=5, B=5)
    theirs = order_in(other_org, "processing")
    client.force_login(member(org, "owner"))
    for name in ("ship", "refund", "notes", "comment"):
        assert client.get(url(theirs, name)).status_code == 404
    assert client.post(url(theirs, "comment"), {"text": "x"}).status_code == 404


def _ship_data(order, **quantities):
    lines = {line.sku: line.pk for line in order.lines.all()}
    data = {"carrier": "ups", "service": "UPS Ground", "tracking": "1z999aa1 0123456784", "cost": ""}
    data.update({f"qty_{lines[sku]}": qty for sku, qty in quantities.items()})
    return data


def test_ship_dialog_ships_part_of_the_order_through_the_service(as_role, stocked, org):
    order = order_in(org, "processing")  # A x2, B x1
    client = as_role("manager")
    page = html_of(client.get(url(order)))
    a_line = order.lines.get(sku="A")
    assert re.search(rf'name="qty_{a_line.pk}"[^>]*min="0" max="2"', page)  # bounded by what is left

    response = client.post(url(order, "ship"), _ship_data(order, A=1, B=0))
    assert response.status_code == 302 and response["Location"] == url(order)
    order.refresh_from_db()
    assert order.status == "processing"
    shipment = Shipment.objects.get(order=order)
    assert (shipment.carrier, shipment.tracking_number, shipment.service) == ("ups", "1Z999AA10123456784",
                                                                              "UPS Ground")
    assert [(line.sku, line.quantity) for line in shipment.lines.all()] == [("A", 1)]
    assert InventoryItem.objects.get(org=org, sku="A").on_hand == 9
    page = html_of(client.get(url(order)))
    assert "Partially shipped (1 of 3 units)" in page
    assert re.search(rf'name="qty_{a_line.pk}"[^>]*min="0" max="1"', page)
    assert "Shipped 1 unit(s) with UPS 1Z999AA10123456784" in page

    client.post(url(order, "ship"), _ship_data(order, A=1, B=1) | {"tracking": "1Z999AA10123456785"})
    order.refresh_from_db()
    assert order.status == "shipped"


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"qty_A": 3}, "qty_A", "less than or equal to 2"),
    ({"tracking": "12345"}, "tracking", "not a UPS tracking number"),
    ({"carrier": "fedex"}, "service", "UPS Ground is not a FedEx service"),
    ({"carrier": "other", "service": ""}, "carrier_name", "Name the carrier"),
    ({"qty_A": 0, "qty_B": 0}, None, "Pick at least one unit to ship"),
])
def test_ship_dialog_refuses_bad_input_and_ships_nothing(as_role, stocked, org, change, field, message):
    order = order_in(org, "processing")
    lines = {line.sku: line.pk for line in order.lines.all()}
    data = _ship_data(order, A=1, B=0)
    data.update({(f"qty_{lines[k[4:]]}" if k.startswith("qty_") else k): v for k, v in change.items()})
    response = as_role("manager").post(url(order, "ship"), data)
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(f"qty_{lines[field[4:]]}" if field and field.startswith("qty_") else field or "__all__")
    assert errors and message in " ".join(errors)
    assert message in response.content.decode()
    assert not Shipment.objects.exists()


def test_other_carrier_takes_free_text_tracking(as_role, stocked, org):
    order = order_in(org, "processing")
    data = _ship_data(order, A=2, B=1) | {"carrier": "other", "carrier_name": "Royal Mail", "service": "",
                                          "tracking": "rm-local-42"}
    assert as_role("manager").post(url(order, "ship"), data).status_code == 302
    shipment = Shipment.objects.get()
    assert (shipment.carrier, shipment.tracking_number) == ("royal mail", "rm-local-42")


def test_tracking_formats_per_carrier():
    assert tracking_error("ups", "1Z999AA10123456784") is None
    assert tracking_error("usps", "9400 1118 9922 3197 4284 90") is None
    assert tracking_error("usps", "EC123456789US") is None
    assert tracking_error("fedex", "123456789012") is None
    assert tracking_error("dhl", "1234567890") is None
    assert "UPS" in tracking_error("ups", "9400111899223197428490")
    assert "FedEx" in tracking_error("fedex", "1Z999AA10123456784")
    assert "DHL" in tracking_error("dhl", "12345")
    assert tracking_error("other", "anything-goes") is None
    assert tracking_error("ups", "  ") == "Enter the tracking number."


def _refund_data(order, **quantities):
    lines = {line.sku: line.pk for line in order.lines.all()}
    page_form = {"request_id": "req-1", "reason": "arrived damaged", "amount": "", "notify_customer": "on"}
    return page_form | {f"qty_{lines[sku]}": qty for sku, qty in quantities.items()}


def test_refund_dialog_shows_the_refundable_amount_and_refunds_lines_with_restock(
        as_role, stocked, org, dispatched, django_capture_on_commit_callbacks):
    order = order_in(org, "shipped")  # 30.00 paid
    client = as_role("manager")
    page = html_of(client.get(url(order)))
    assert re.search(r'data-testid="refundable">30.00 USD<', page)
    assert 'data-dialog="refund-dialog"' in page
    dispatched.calls.clear()

    data = _refund_data(order, A=0, B=1) | {"restock": "on"}
    del data["notify_customer"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(order, "refund"), data)
    assert "order.refunded" in dispatched.names()
    assert response.status_code == 302
    refund = Refund.objects.get(order=order)
    assert refund.amount == Decimal("10.00") and refund.items == [{"sku": "B", "quantity": 1}]
    assert OrderLine.objects.get(order=order, sku="B").quantity_refunded == 1
    assert InventoryItem.objects.get(org=org, sku="B").on_hand == 10  # shipped 1, came back
    order.refresh_from_db()
    assert order.status == "shipped" and order.refundable_total == Decimal("20.00")
    dispatched.run_all()
    assert not EmailLog.objects.filter(kind="refunded").exists()  # "Email the customer" was unticked

    # A double submit of the same dialog refunds once.
    assert client.post(url(order, "refund"), data).status_code == 302
    assert Refund.objects.filter(order=order).count() == 1
    page = html_of(client.get(url(order)))
    assert re.search(r'data-testid="refundable">20.00 USD<', page)
    # The refunds table names the items as the dialogs do, not as stored JSON.
    assert re.search(r'<td class="field-items_refunded">\s*<p>B x1</p>', page)
    assert "&quot;sku&quot;" not in page


def test_refund_dialog_notifies_by_default_and_needs_a_reason(as_role, stocked, org, dispatched,
                                                              django_capture_on_commit_callbacks):
    order = order_in(org, "shipped")
    client = as_role("manager")
    missing = client.post(url(order, "refund"), _refund_data(order, A=1) | {"reason": ""})
    assert missing.status_code == 200 and "This field is required." in missing.content.decode()
    too_much = client.post(url(order, "refund"), _refund_data(order) | {"amount": "31.00", "request_id": "r2"})
    assert "At most 30.00 USD can be refunded." in too_much.content.decode()
    assert not Refund.objects.exists()
    dispatched.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(order, "refund"), _refund_data(order, A=1) | {"request_id": "r3"})
    assert response.status_code == 302
    dispatched.run_all()
    assert EmailLog.objects.filter(kind="refunded", order=order, status="sent").count() == 1


def test_notes_and_tags_go_through_the_update_service(as_role, stocked, org):
    order = order_in(org, "processing")
    client = as_role("manager")
    response = client.post(url(order, "notes"), {"internal_notes": "Call before delivery", "tags": "vip, gift ,"},
                           follow=True)
    assert "Notes and tags saved." in response.content.decode()
    order.refresh_from_db()
    assert order.internal_notes == "Call before delivery"
    assert sorted(order.tag_rows.values_list("name", flat=True)) == ["gift", "vip"]
    update = Activity.objects.get(order=order, verb="update")
    assert update.data == {"fields": ["internalNotes", "tags"]}


def test_locked_order_has_no_notes_form_and_refuses_the_edit(as_role, stocked, org):
    order = order_in(org, "cancelled")
    client = as_role("manager")
    assert "Save notes and tags" not in html_of(client.get(url(order)))
    response = client.post(url(order, "notes"), {"internal_notes": "late", "tags": ""}, follow=True)
    assert "can no longer be edited" in response.content.decode()
    order.refresh_from_db()
    assert order.internal_notes == ""


def test_timeline_merges_activity_comments_emails_scans_and_writebacks(as_role, stocked, org):
    from channels_sync.models import AggregatedOrder, Channel, Writeback
    from tracking.models import ScanEvent

    order = order_in(org, "shipped")
    client = as_role("manager")
    response = client.post(url(order, "comment"), {"text": "Customer asked for a gift note"}, follow=True)
    assert "Comment added." in response.content.decode()
    shipment = Shipment.objects.get(order=order)
    now = timezone.now()
    ScanEvent.objects.create(org=org, shipment=shipment, status="in_transit", description="Departed facility",
                             location="Louisville, KY", occurred_at=now + timezone.timedelta(minutes=1),
                             dedupe_key="k1")
    EmailLog.objects.create(org=org, order=order, kind="shipped", to="buyer@example.com", subject="Your order shipped",
                            body="...", status="failed", error="SMTP 550 mailbox unavailable", dedupe_key="d1")
    channel = Channel.objects.create(org=org, channel_id="woo-main", provider="woocommerce", config={})
    channel_order = AggregatedOrder.objects.create(
        org=org, channel=channel, channel_order_id="77", status="shipped", currency="USD", created_at=now,
        channel_updated_at=now, local_order=order)
    Writeback.objects.create(org=org, channel=channel, order=channel_order, target_status="shipped", status="failed",
                             attempts=3, last_error="PermanentChannelError: 401 woocommerce_rest_cannot_edit",
                             created_at=now + timezone.timedelta(minutes=2))

    page = html_of(client.get(url(order)))
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S).group(1)
    titles = re.findall(r"<strong>(.*?)</strong>", timeline)
    assert titles[:2] == ["Writeback to woo-main: shipped failed",
                          "UPS 1Z999AA10123456784: In transit"]
    assert "Comment" in titles and "Email shipped failed to buyer@example.com" in titles
    assert "Ship: processing \u2192 shipped" in titles and "Checkout: start \u2192 new" in titles or any(
        t.endswith("\u2192 new") for t in titles)
    assert "Customer asked for a gift note" in timeline and "Louisville, KY" in timeline
    assert "401 woocommerce_rest_cannot_edit" in timeline and "SMTP 550" in timeline
    assert timeline.count("timeline-problem") == 2


def test_empty_comment_is_refused(as_role, stocked, org):
    order = order_in(org, "new")
    response = as_role("manager").post(url(order, "comment"), {"text": "  "}, follow=True)
    assert "This field is required." in response.content.decode()
    assert not Activity.objects.filter(verb="comment").exists()
    assert Order.objects.get(pk=order.pk).status == "new"


def test_a_dialog_sent_after_the_order_moved_on_says_why_in_words(as_role, stocked, org):
    order = order_in(org, "shipped")
    client = as_role("manager")
    response = client.post(url(order, "ship"), {"carrier": "ups", "tracking": "1Z999AA10123456784"}, follow=True)
    assert "Cannot ship an order that is shipped; allowed now: deliver, refund." in response.content.decode()
    assert Shipment.objects.filter(order=order).count() == 1
    new = order_in(org, "new")
    response = client.get(url(new, "refund"), follow=True)
    assert "Cannot refund an order that is new; allowed now: process, hold, cancel." in response.content.decode()


def test_a_partly_shipped_orders_page_names_carrier_and_parcel_status_in_words(as_role, stocked, org):
    """The shipments table said "speedy couriers" and "label_created", and the refund hint told staff to "cancel an
    unshipped order instead" on an order with units already on their way."""
    from orders import services

    order = order_in(org, "processing")
    line = order.lines.first()
    services.order_ship(org=org, order_number=order.order_number, carrier="Speedy Couriers",
                        tracking_number="SPD123456789", items=[{"sku": line.sku, "quantity": 1}])
    page = html_of(as_role("manager").get(url(order)))
    shipments = page[page.index("SPD123456789") - 400:page.index("SPD123456789") + 3000]
    assert "Speedy Couriers" in shipments and "speedy couriers" not in shipments
    assert "Label created" in shipments and "label_created" not in shipments
    units = sum(each.quantity for each in order.lines.all())
    assert f"Refund: offered once every unit has shipped (1 of {units} so far)" in page
    assert "cancel an unshipped order instead" not in page
