"""Subscription and price endpoints: staff, customer (no JWT), actions as FSM transitions, tenancy."""

from datetime import timedelta

import pytest
from django.test import override_settings

from orders.links import account_token
from subscriptions.models import Subscription
from subscriptions.services import subscription_apply_action
from tests.api import assert_tenant_isolation, error_code
from tests.subscriptions.conftest import ADDRESS, T0, public_client, subscribe

UPDATE = "/storefront/update-subscription"


def act(actor, sub, action, **extra):
    return actor.client.post(UPDATE, {"subscriptionId": sub.subscription_id, "action": action, **extra},
                             format="json")


def test_price_create_and_list(manager):
    body = {"priceId": "tea-weekly", "productSku": "TEA-250", "amount": "7.5", "currency": "eur",
            "interval": "week", "intervalCount": 2}
    created = manager.client.post("/storefront/prices", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json() == {"priceId": "tea-weekly", "productSku": "TEA-250", "name": "", "amount": "7.50",
                              "currency": "EUR", "interval": "week", "intervalCount": 2, "active": True}
    again = manager.client.post("/storefront/prices", body, format="json")
    assert again.status_code == 400 and "priceId" in again.json()["error"]["details"]
    bad = manager.client.post("/storefront/prices", {**body, "priceId": "x", "interval": "fortnight",
                                                     "amount": "0"}, format="json")
    assert bad.status_code == 400 and {"interval", "amount"} <= set(bad.json()["error"]["details"])
    listed = manager.client.get("/storefront/prices").json()
    assert [p["priceId"] for p in listed["results"]] == ["tea-weekly"] and listed["total"] == 1
    assert manager.client.get("/storefront/prices/tea-weekly").json()["amount"] == "7.50"


def test_viewer_reads_but_cannot_create_or_act(viewer, coffee):
    sub = subscribe(viewer.org, coffee)
    assert viewer.client.get("/storefront/prices").status_code == 200
    assert viewer.client.post("/storefront/prices", {}, format="json").status_code == 403
    assert act(viewer, sub, "pause").status_code == 403
    assert Subscription.objects.get(pk=sub.pk).status == "active"


def test_staff_create_list_and_detail(manager, coffee):
    created = manager.client.post("/storefront/subscriptions", {
        "customer": {"email": "New@Example.com", "name": "New"}, "priceId": "coffee-monthly", "quantity": 2,
        "shippingAddress": ADDRESS, "startAt": "2026-05-01T09:00:00Z"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "active" and body["quantity"] == 2
    assert (body["currentPeriodStart"], body["currentPeriodEnd"], body["nextBillingAt"]) == (
        "2026-05-01T09:00:00Z", "2026-06-01T09:00:00Z", "2026-05-01T09:00:00Z")
    assert body["customer"]["email"] == "new@example.com"
    assert body["allowedActions"] == ["pause", "cancel", "change-plan"]
    assert body["price"]["amount"] == "19.90"
    unknown = manager.client.post("/storefront/subscriptions", {
        "customer": {"email": "a@example.com"}, "priceId": "nope", "shippingAddress": ADDRESS}, format="json")
    assert unknown.status_code == 400 and "priceId" in unknown.json()["error"]["details"]
    stripe_without_card = manager.client.post("/storefront/subscriptions", {
        "customer": {"email": "a@example.com"}, "priceId": "coffee-monthly", "shippingAddress": ADDRESS,
        "gateway": "stripe"}, format="json")
    assert stripe_without_card.status_code == 400
    listed = manager.client.get("/storefront/subscriptions?status=active").json()
    assert [s["subscriptionId"] for s in listed["results"]] == [body["subscriptionId"]]
    assert manager.client.get("/storefront/subscriptions?status=paused").json()["total"] == 0
    detail = manager.client.get(f"/storefront/subscriptions/{body['subscriptionId']}")
    assert detail.status_code == 200 and detail.json()["cycles"] == []


def test_pause_resume_cancel_are_transitions_with_their_rules(manager, coffee):
    sub = subscribe(manager.org, coffee, start_at=T0)
    paused = act(manager, sub, "pause")
    assert paused.status_code == 200, paused.content
    assert (paused.json()["status"], paused.json()["nextBillingAt"]) == ("paused", None)
    assert paused.json()["allowedActions"] == ["resume", "cancel", "change-plan"]
    again = act(manager, sub, "pause")
    assert again.status_code == 409 and error_code(again) == "invalid_transition"
    assert again.json()["error"]["details"] == {"action": "pause", "currentState": "paused",
                                                "allowedActions": ["resume", "cancel", "change-plan"]}
    resumed = act(manager, sub, "resume").json()
    # paused past the start of the unbilled period: a fresh period starts now, not back-billed
    assert resumed["status"] == "active"
    assert resumed["nextBillingAt"] > "2026-05-01T09:00:00Z"
    cancelled = act(manager, sub, "cancel").json()
    assert (cancelled["status"], cancelled["nextBillingAt"], cancelled["allowedActions"]) == ("cancelled", None, [])
    for action, extra in [("resume", {}), ("pause", {}), ("cancel", {}), ("change-plan", {"quantity": 2})]:
        refused = act(manager, sub, action, **extra)
        assert refused.status_code == 409, action
        assert refused.json()["error"]["details"]["currentState"] == "cancelled"
        assert refused.json()["error"]["details"]["allowedActions"] == []
        assert "cancelled" in refused.json()["error"]["message"]


def test_resume_within_the_paid_period_keeps_the_billing_date(org, coffee):
    sub = subscribe(org, coffee, start_at=T0)
    Subscription.objects.filter(pk=sub.pk).update(next_period_start=T0 + timedelta(days=20))
    subscription_apply_action(org=org, subscription_id=sub.subscription_id, action="pause", now=T0)
    resumed = subscription_apply_action(org=org, subscription_id=sub.subscription_id, action="resume",
                                        now=T0 + timedelta(days=2))
    assert resumed.next_billing_at == T0 + timedelta(days=20)


def test_change_plan_rules(manager, coffee):
    from decimal import Decimal

    from subscriptions.services import price_create

    price_create(org=manager.org, price_id="coffee-eur", product_sku="COFFEE-1KG", amount=Decimal("18"),
                 currency="EUR")
    price_create(org=manager.org, price_id="coffee-2", product_sku="COFFEE-1KG", amount=Decimal("30"))
    sub = subscribe(manager.org, coffee)
    assert act(manager, sub, "change-plan").status_code == 400  # neither priceId nor quantity
    assert act(manager, sub, "change-plan", quantity=0).status_code == 400
    assert act(manager, sub, "change-plan", priceId="missing").status_code == 400
    assert act(manager, sub, "change-plan", priceId="coffee-eur").status_code == 400  # currency switch
    changed = act(manager, sub, "change-plan", priceId="coffee-2", quantity=3)
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["pendingChange"] == {"priceId": "coffee-2", "quantity": 3}
    assert (body["price"]["priceId"], body["quantity"]) == ("coffee-monthly", 1)  # effective next cycle
    assert act(manager, sub, "explode").status_code == 400


def test_customer_endpoints_without_login_hide_internals(org, coffee, bill):
    sub = subscribe(org, coffee, gateway="stripe", gateway_customer="cus_secret", payment_method="pm_secret")
    author = sub.customer.sk
    client = public_client(org)
    client.defaults["HTTP_X_ACCOUNT_TOKEN"] = account_token(sub.customer)  # the id alone is a 404 (issue 15)
    listed = client.get(f"/storefront/subscriptions/get/{author}")
    assert listed.status_code == 200
    assert [s["subscriptionId"] for s in listed.json()["results"]] == [sub.subscription_id]
    one = client.get(f"/storefront/subscriptions/get/{author}/{sub.subscription_id}")
    assert one.status_code == 200
    text = one.content.decode()
    for secret in ("cus_secret", "pm_secret", "gateway", "paymentMethod", "allowedActions", "error", "attempts"):
        assert secret not in text
    assert one.json()["price"]["amount"] == "19.90"
    # wrong author, unknown id and another customer's id are the same 404
    other = subscribe(org, coffee, email="other@example.com")
    for url in (f"/storefront/subscriptions/get/cus_nobody/{sub.subscription_id}",
                f"/storefront/subscriptions/get/{author}/sub_missing",
                f"/storefront/subscriptions/get/{author}/{other.subscription_id}"):
        response = client.get(url)
        assert response.status_code == 404 and "error" in response.json()
    assert client.get("/storefront/subscriptions/get/cus_nobody").status_code == 404
    no_org = public_client(org)
    no_org.defaults.pop("HTTP_ORGID")
    assert no_org.get(f"/storefront/subscriptions/get/{author}").status_code == 400


def test_customer_view_shows_billed_cycles_with_their_order_numbers(org, coffee, bill, dispatched):
    sub = subscribe(org, coffee)
    bill(now=T0)
    body = public_client(org).get(f"/storefront/subscriptions/get/{sub.customer.sk}/{sub.subscription_id}",
                                  {"token": account_token(sub.customer)}).json()
    [cycle] = body["cycles"]
    assert cycle["outcome"] == "success" and cycle["orderNumber"].startswith("ORD-")
    assert (cycle["periodStart"], cycle["amount"]) == ("2026-05-01T09:00:00Z", "19.90")


@override_settings(ORDERS_CUSTOMER_RATE_LIMIT="3/min")
def test_customer_endpoints_are_rate_limited(org, coffee):
    sub = subscribe(org, coffee)
    client = public_client(org)
    client.defaults["HTTP_X_ACCOUNT_TOKEN"] = account_token(sub.customer)
    url = f"/storefront/subscriptions/get/{sub.customer.sk}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get(f"{url}/{sub.subscription_id}")
    assert limited.status_code == 429


def test_tenant_isolation(org, coffee, other_owner, manager):
    sub = subscribe(org, coffee)
    assert_tenant_isolation(
        other_owner,
        list_urls=["/storefront/subscriptions", "/storefront/prices"],
        foreign_ids=[sub.subscription_id, coffee.price_id],
        id_field="subscriptionId",
        detail_urls=[f"/storefront/subscriptions/{sub.subscription_id}", f"/storefront/prices/{coffee.price_id}"],
        write_calls=[("post", UPDATE, {"subscriptionId": sub.subscription_id, "action": "cancel"}),
                     ("post", UPDATE, {"subscriptionId": sub.subscription_id, "action": "change-plan",
                                       "quantity": 5})],
    )
    prices = other_owner.client.get("/storefront/prices").json()["results"]
    assert coffee.price_id not in {p["priceId"] for p in prices}
    # creating in org B with org A's price id is unknown there
    response = other_owner.client.post("/storefront/subscriptions", {
        "customer": {"email": "x@example.com"}, "priceId": coffee.price_id, "shippingAddress": ADDRESS},
        format="json")
    assert response.status_code == 400
    # customer endpoints: org A's customer is not found through org B's orgid
    stranger = public_client(other_owner.org)
    stranger.defaults["HTTP_X_ACCOUNT_TOKEN"] = account_token(sub.customer)
    assert stranger.get(f"/storefront/subscriptions/get/{sub.customer.sk}/{sub.subscription_id}").status_code == 404
    assert stranger.get(f"/storefront/subscriptions/get/{sub.customer.sk}").json()["total"] == 0  # token, wrong org
    sub.refresh_from_db()
    assert (sub.status, sub.pending_quantity) == ("active", None)


@pytest.mark.parametrize("path", ["/storefront/subscriptions", "/storefront/prices", UPDATE])
def test_staff_endpoints_need_a_login(org, path):
    client = public_client(org)
    response = client.post(path, {}, format="json") if path == UPDATE else client.get(path)
    assert response.status_code == 401
