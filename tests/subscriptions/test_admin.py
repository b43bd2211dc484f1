"""Admin: prices, subscriptions with their FSM actions (run through the services) and cycles."""

import pytest
from django.test import Client

from orders.models import Customer
from subscriptions.models import Subscription
from tests.accounts.factories import MembershipFactory, OrgFactory, UserFactory
from tests.subscriptions.conftest import T0, subscribe


@pytest.fixture
def staff_client(org):
    user = UserFactory(is_staff=True, is_superuser=True)
    MembershipFactory(user=user, org=org)
    client = Client()
    client.force_login(user)
    return client


def test_admin_pages_list_prices_subscriptions_and_cycles(staff_client, org, coffee, bill, dispatched):
    sub = subscribe(org, coffee)
    bill(now=T0)
    for url in ("/admin/subscriptions/price/", "/admin/subscriptions/subscription/",
                "/admin/subscriptions/billingcycle/"):
        response = staff_client.get(url)
        assert response.status_code == 200, url
    assert sub.subscription_id.encode() in staff_client.get("/admin/subscriptions/subscription/").content
    page = staff_client.get(f"/admin/subscriptions/subscription/{sub.pk}/change/")
    assert page.status_code == 200
    assert b"_fsm_transition_to" in page.content and b"Pause" in page.content
    assert b"ORD-" in page.content  # the billed cycle's child order, inline


def test_admin_action_buttons_go_through_the_service(staff_client, org, coffee):
    sub = subscribe(org, coffee)
    url = f"/admin/subscriptions/subscription/{sub.pk}/change/"
    form = staff_client.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None and key in form.fields}
    data.update({"customer": sub.customer_id, "price": sub.price_id, "org": org.pk,
                 "shipping_address": "{}", "_fsm_transition_to": "pause",
                 "cycles-TOTAL_FORMS": "0", "cycles-INITIAL_FORMS": "0"})
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    sub.refresh_from_db()
    assert (sub.status, sub.next_billing_at) == ("paused", None)  # the service's rule, not just the state


def test_staff_see_only_their_orgs(org, other_org, coffee):
    subscribe(org, coffee)
    user = UserFactory(is_staff=True, is_superuser=False)
    MembershipFactory(user=user, org=other_org)
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="subscriptions"))
    client = Client()
    client.force_login(user)
    response = client.get("/admin/subscriptions/subscription/")
    assert response.status_code == 200
    assert Subscription.objects.count() == 1 and b"coffee-monthly" not in response.content


def test_admin_change_plan_form_stores_a_pending_change(staff_client, org, coffee):
    sub = subscribe(org, coffee)
    url = f"/admin/subscriptions/subscription/{sub.pk}/transition/change_plan/"
    assert staff_client.get(url).status_code == 200
    invalid = staff_client.post(url, {"price_id": "", "quantity": ""})
    assert invalid.status_code == 200 and b"Give a price id" in invalid.content
    response = staff_client.post(url, {"price_id": "", "quantity": "3"})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert (sub.quantity, sub.pending_quantity) == (1, 3)


def test_a_subscription_form_naming_another_orgs_customer_is_refused_without_echoing_it(org, other_org, coffee):
    """Issue 15 item 14: the raw-id box takes any id, so the choices and the label next to it are scoped, and
    a customer of another org (even one the manager also belongs to) is a field error."""
    sub = subscribe(org, coffee)
    manager = UserFactory()
    MembershipFactory(user=manager, org=org, role="manager")
    MembershipFactory(user=manager, org=other_org, role="manager")
    client = Client()
    client.force_login(manager)
    foreign = Customer.objects.create(org=OrgFactory(), email="someone-elses@example.com")
    sibling = Customer.objects.create(org=other_org, email="sibling-org@example.com")
    url = f"/admin/subscriptions/subscription/{sub.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None and key in form.fields}
    data.update({"price": sub.price_id, "org": org.pk, "shipping_address": "{}",
                 "cycles-TOTAL_FORMS": "0", "cycles-INITIAL_FORMS": "0"})
    for customer in (foreign, sibling):
        response = client.post(url, {**data, "customer": customer.pk})
        assert response.status_code == 200 and "customer" in response.context["adminform"].form.errors
    response = client.post(url, {**data, "customer": foreign.pk})
    assert foreign.email not in response.content.decode()  # the raw-id box names only choices it offers
    sub.refresh_from_db()
    assert sub.customer.org_id == org.pk
