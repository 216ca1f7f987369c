"""Plans through Shopify's Billing API, against the emulator: a destination asks for a
subscription, the merchant approves or declines it in Shopify, Shopify's webhook and the read
after the return decide the plan; cancelling goes back to Free."""

import html
import json
from decimal import Decimal

import pytest

from stores import registry
from stores.billing import (
    BillingError,
    subscription_cancel,
    subscription_confirm,
    subscription_declined_latest,
    subscription_pending_latest,
    subscription_request,
)
from stores.models import Shop, Subscription
from stores.plans import shop_entitlement
from syncer.shopify.operations.billing import BillingRefused
from tests.webhooks.conftest import webhook_headers
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

DEST = "demo-dest-1.myshopify.com"
TOPIC = "app_subscriptions/update"


def destination(emulator, *, plan: str = "standard", domain: str = DEST) -> Shop:
    emulator.shop_create(domain, name="Demo Dest", plan=plan)
    emulator.install(domain)
    Shop.objects.filter(domain=domain).update(role=Shop.Role.DESTINATION)
    return Shop.objects.get(domain=domain)


def number(url_or_row) -> int:
    if isinstance(url_or_row, Subscription):
        return url_or_row.shopify_id
    return int(url_or_row.split("/charges/", 1)[1].split("/", 1)[0])


@pytest.fixture
def changes(monkeypatch):
    """The shop ids the entitlement hooks ran for, in order."""
    seen: list[int] = []

    def recorder(*, shop_id):
        seen.append(shop_id)

    monkeypatch.setattr(registry, "_entitlement_hooks", [*registry._entitlement_hooks, recorder])
    return seen


def approve(emulator, shop: Shop, url: str) -> str:
    redirect = emulator.subscription_approve(shop.domain, number(url))["redirect"]
    emulator.flush_webhooks()
    return redirect


def post(client, payload, *, shop: str = DEST):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post("/webhooks/shopify", data=body, content_type="application/json",
                       headers=webhook_headers(topic=TOPIC, shop=shop, body=body))


def payload(n: int, *, name: str, status: str, price: str = "39.00",
            updated_at: str = "2026-12-01T10:00:00Z") -> dict:
    return {"app_subscription": {
        "admin_graphql_api_id": f"gid://shopify/AppSubscription/{n}", "name": name,
        "status": status, "admin_graphql_api_shop_id": "gid://shopify/Shop/1",
        "created_at": "2026-12-01T09:00:00Z", "updated_at": updated_at, "currency": "USD",
        "capped_amount": None, "price": price, "interval": "every_30_days",
        "plan_handle": None}}


def test_request_then_approve_puts_the_shop_on_the_plan_only_once_shopify_confirms(
        emulator, changes):
    shop = destination(emulator)
    # When the destination asks for Growth with the Orders add-on
    url = subscription_request(shop=shop, plan_handle="growth", orders_addon=True)
    # Then Shopify holds a pending subscription of one price (plan + add-on), and the plan waits
    row = Subscription.objects.get(shop=shop)
    assert url == row.confirmation_url
    assert "/confirm_recurring_application_charge" in url
    assert (row.name, row.plan, row.orders_addon, row.status) == (
        "Syncer Growth + Orders add-on", "growth", True, Subscription.Status.PENDING)
    assert (row.price, row.currency, row.test, row.trial_days) == (
        Decimal("39.00"), "USD", True, 14)
    charge = emulator.subscriptions(DEST)[-1]
    assert (Decimal(str(charge["price"])), charge["status"], charge["trial_days"]) == (
        Decimal("39.00"), "PENDING", 14)
    assert charge["return_url"].endswith(f"/admin/{DEST}/apps/syncer/billing/return")
    assert shop_entitlement(shop=shop).plan.handle == "free"
    assert subscription_pending_latest(shop=shop) == row
    assert changes == []
    # When the merchant approves it in Shopify (its webhook arrives)
    redirect = approve(emulator, shop, url)
    # Then the plan is Growth with the add-on, with its next charge date, announced once
    assert redirect.endswith(f"/billing/return?charge_id={number(url)}")
    row.refresh_from_db()
    assert row.status == Subscription.Status.ACTIVE
    assert row.current_period_end is not None
    assert row.status_changed_at is not None
    entitlement = shop_entitlement(shop=shop)
    assert (entitlement.plan.handle, entitlement.orders_addon, entitlement.products) == (
        "growth", True, 250)
    assert changes == [shop.pk]
    assert subscription_pending_latest(shop=shop) is None
    # And the merchant's return reads the same from Shopify: nothing changes again
    assert subscription_confirm(shop=shop, charge_id=number(url)) == row
    assert changes == [shop.pk]


def test_return_before_the_webhook_already_confirms_the_plan(emulator, changes):
    shop = destination(emulator)
    url = subscription_request(shop=shop, plan_handle="starter", orders_addon=False)
    emulator.faults(webhook_delay_ms=5_000)  # the webhook is late
    emulator.subscription_approve(DEST, number(url))
    # When the merchant comes back first
    confirmed = subscription_confirm(shop=shop, charge_id=number(url))
    # Then Shopify's read decides
    assert confirmed.status == Subscription.Status.ACTIVE
    assert shop_entitlement(shop=shop).plan.handle == "starter"
    assert changes == [shop.pk]
    # And the webhook arriving later changes nothing
    emulator.faults(webhook_delay_ms=0)
    emulator.flush_webhooks()
    assert shop_entitlement(shop=shop).plan.handle == "starter"
    assert changes == [shop.pk]


def test_upgrade_replaces_the_active_subscription_without_a_second_trial(emulator, changes):
    shop = destination(emulator)
    growth = subscription_request(shop=shop, plan_handle="growth", orders_addon=True)
    approve(emulator, shop, growth)
    # When the merchant moves to Pro without the add-on and approves it
    pro = subscription_request(shop=shop, plan_handle="pro", orders_addon=False)
    pending = Subscription.objects.get(shopify_id=number(pro))
    assert (pending.name, pending.price, pending.trial_days) == ("Syncer Pro", Decimal("79.00"), 0)
    assert shop_entitlement(shop=shop).plan.handle == "growth"  # until approved
    approve(emulator, shop, pro)
    # Then Pro replaced Growth, in Shopify and here
    entitlement = shop_entitlement(shop=shop)
    assert (entitlement.plan.handle, entitlement.orders_addon) == ("pro", False)
    assert Subscription.objects.get(shopify_id=number(growth)).status == "CANCELLED"
    statuses = {c["name"]: c["status"] for c in emulator.subscriptions(DEST)}
    assert statuses == {"Syncer Growth + Orders add-on": "CANCELLED", "Syncer Pro": "ACTIVE"}
    assert changes == [shop.pk, shop.pk]


def test_decline_leaves_the_plan_as_it_was(emulator, changes):
    shop = destination(emulator)
    url = subscription_request(shop=shop, plan_handle="growth", orders_addon=False)
    # When the merchant declines in Shopify
    redirect = emulator.subscription_decline(DEST, number(url))["redirect"]
    emulator.flush_webhooks()
    # Then Shopify sends them to the admin, the request is declined, the plan unchanged
    assert redirect.endswith(f"/admin/{DEST}/apps/syncer")
    row = Subscription.objects.get(shopify_id=number(url))
    assert row.status == Subscription.Status.DECLINED
    assert shop_entitlement(shop=shop).plan.handle == "free"
    assert subscription_declined_latest(shop=shop) == row
    assert subscription_pending_latest(shop=shop) is None
    assert changes == []


def test_cancel_goes_back_to_free(emulator, changes):
    shop = destination(emulator)
    url = subscription_request(shop=shop, plan_handle="starter", orders_addon=True)
    approve(emulator, shop, url)
    # When the merchant cancels
    cancelled = subscription_cancel(shop=shop)
    emulator.flush_webhooks()
    # Then Shopify cancelled it and the shop is on Free, without the add-on
    assert cancelled.status == Subscription.Status.CANCELLED
    assert emulator.subscriptions(DEST)[-1]["status"] == "CANCELLED"
    entitlement = shop_entitlement(shop=shop)
    assert (entitlement.plan.handle, entitlement.orders_addon) == ("free", False)
    assert changes == [shop.pk, shop.pk]
    # And a second cancel says there is nothing to cancel
    with pytest.raises(BillingError, match="no paid plan to cancel"):
        subscription_cancel(shop=shop)


def test_uninstall_ends_the_plan_and_a_reinstall_starts_on_free(emulator, changes):
    shop = destination(emulator)
    approve(emulator, shop, subscription_request(shop=shop, plan_handle="pro",
                                                 orders_addon=True))
    # When the merchant uninstalls (Shopify cancels the charge and sends no billing webhook)
    emulator.uninstall(DEST)
    emulator.flush_webhooks()
    # Then the plan ended here too, and a reinstall starts on Free
    assert emulator.subscriptions(DEST)[-1]["status"] == "CANCELLED"
    assert Subscription.objects.get(shop=shop).status == Subscription.Status.CANCELLED
    emulator.install(DEST)
    assert shop_entitlement(shop=Shop.objects.get(domain=DEST)).plan.handle == "free"
    assert changes == [shop.pk, shop.pk]


def test_requests_that_make_no_sense_are_refused_in_words(emulator):
    shop = destination(emulator)
    with pytest.raises(BillingError, match="cancel your subscription instead"):
        subscription_request(shop=shop, plan_handle="free", orders_addon=False)
    with pytest.raises(BillingError, match="Choose one of the plans"):
        subscription_request(shop=shop, plan_handle="gold", orders_addon=False)
    approve(emulator, shop, subscription_request(shop=shop, plan_handle="growth",
                                                 orders_addon=True))
    with pytest.raises(BillingError, match="already on Growth \\+ Orders add-on"):
        subscription_request(shop=shop, plan_handle="growth", orders_addon=True)
    # Only the add-on changing is a new subscription
    assert subscription_request(shop=shop, plan_handle="growth", orders_addon=False)
    Shop.objects.filter(pk=shop.pk).update(role=Shop.Role.SOURCE, store_key_hash="x" * 64)
    shop.refresh_from_db()
    with pytest.raises(BillingError, match="free for source stores"):
        subscription_request(shop=shop, plan_handle="pro", orders_addon=False)


def test_shopify_user_errors_come_back_in_plain_words(emulator, settings):
    shop = destination(emulator)
    settings.SYNCER_PLANS = [*settings.SYNCER_PLANS,
                             {"handle": "long", "name": "L" * 300, "products": 5,
                              "price": "5.00"}]
    with pytest.raises(BillingRefused) as refused:
        subscription_request(shop=shop, plan_handle="long", orders_addon=False)
    assert refused.value.merchant_message == (
        "Shopify refused the change: Name is too long (maximum is 255 characters).")
    assert not Subscription.objects.exists()


def test_real_charges_only_outside_test_mode_and_never_for_development_stores(
        emulator, settings):
    settings.SYNCER_BILLING_TEST = False
    shop = destination(emulator)
    subscription_request(shop=shop, plan_handle="starter", orders_addon=False)
    dev = destination(emulator, plan="partner_test", domain="demo-dev.myshopify.com")
    assert dev.plan_name == "Development"
    subscription_request(shop=dev, plan_handle="starter", orders_addon=False)
    assert {row.shop.domain: row.test for row in Subscription.objects.select_related("shop")} == {
        DEST: False, "demo-dev.myshopify.com": True}


def test_webhook_is_idempotent_and_safe_out_of_order(emulator, client, changes):
    shop = destination(emulator)
    # A subscription of ours we never saw the request's answer for is recorded from its name
    active = payload(901, name="Syncer Growth + Orders add-on", status="ACTIVE")
    assert post(client, active).status_code == 200
    assert post(client, active).status_code == 200  # Shopify delivers at least once
    row = Subscription.objects.get(shopify_id=901)
    assert (row.plan, row.orders_addon, row.price, row.status) == (
        "growth", True, Decimal("39.00"), "ACTIVE")
    assert row.status_changed_at.isoformat() == "2026-12-01T10:00:00+00:00"
    assert changes == [shop.pk]
    # A late PENDING never undoes the approval; a frozen then active one follows the latest word
    post(client, payload(901, name=row.name, status="PENDING", updated_at="2026-12-01T09:30:00Z"))
    post(client, payload(901, name=row.name, status="FROZEN", updated_at="2026-12-02T10:00:00Z"))
    post(client, payload(901, name=row.name, status="ACTIVE", updated_at="2026-12-01T11:00:00Z"))
    row.refresh_from_db()
    assert row.status == "FROZEN"
    assert shop_entitlement(shop=shop).plan.handle == "free"
    post(client, payload(901, name=row.name, status="ACTIVE", updated_at="2026-12-03T10:00:00Z"))
    # A newer active subscription replaces it; a cancelled one never comes back
    post(client, payload(902, name="Syncer Pro", status="ACTIVE", price="79.00",
                         updated_at="2026-12-04T10:00:00Z"))
    row.refresh_from_db()
    assert row.status == "CANCELLED"
    post(client, payload(901, name=row.name, status="ACTIVE", updated_at="2026-12-05T10:00:00Z"))
    row.refresh_from_db()
    assert row.status == "CANCELLED"
    assert shop_entitlement(shop=shop).plan.handle == "pro"
    # Another app's subscription (or an unknown shop) is not ours: ignored
    post(client, payload(903, name="Some other app Pro", status="ACTIVE"))
    post(client, payload(904, name="Syncer Pro", status="ACTIVE"), shop="nobody.myshopify.com")
    assert not Subscription.objects.filter(shopify_id__in=[903, 904]).exists()
    assert not WebhookDelivery.objects.filter(topic=TOPIC, status="failed").exists()
    assert changes == [shop.pk, shop.pk, shop.pk, shop.pk]


@pytest.mark.parametrize("body", [
    {"app_subscription": "ACTIVE"},
    {"app_subscription": {"admin_graphql_api_id": "gid://shopify/AppSubscription/x",
                          "status": "ACTIVE", "name": "Syncer Pro"}},
    {"app_subscription": {"admin_graphql_api_id": "gid://shopify/AppSubscription/7",
                          "status": "SOMETHING", "name": "Syncer Pro"}},
    {"something": "else"},
])
def test_malformed_webhook_is_a_recorded_failure_never_a_500(emulator, client, body):
    destination(emulator)
    response = post(client, body)
    assert response.status_code < 500
    delivery = WebhookDelivery.objects.get(topic=TOPIC)
    assert delivery.status == "failed"
    assert delivery.last_error
    assert not Subscription.objects.exists()


def test_odd_fields_beside_a_good_id_and_status_are_read_as_far_as_they_go(emulator, client):
    destination(emulator)
    body = {"app_subscription": {"admin_graphql_api_id": "gid://shopify/AppSubscription/7",
                                 "status": "ACTIVE", "name": "Syncer Pro", "price": "lots",
                                 "updated_at": "yesterday", "currency": ["USD"]}}
    assert post(client, body).status_code == 200
    assert WebhookDelivery.objects.get(topic=TOPIC).status == "processed"
    row = Subscription.objects.get(shopify_id=7)
    assert (row.plan, row.price, row.currency, row.status) == (
        "pro", Decimal("79.00"), "USD", "ACTIVE")


def test_a_body_that_is_not_json_is_refused_or_recorded_never_a_500(emulator, client):
    destination(emulator)
    assert post(client, b"{not json").status_code < 500


def test_the_demo_destinations_buy_their_plans_through_shopify_once(emulator, monkeypatch):
    from demo.billing import demo_billing_seed
    from demo.shops import demo_shops_seed

    monkeypatch.delenv("DEMO_SOURCE_STORE_KEY", raising=False)
    demo_shops_seed(emulator_url=emulator.url)
    # When the demo is seeded, and seeded again (a restart)
    first = demo_billing_seed(emulator_url=emulator.url)
    again = demo_billing_seed(emulator_url=emulator.url)
    # Then each destination is on its plan as Shopify approved it, bought once
    assert first == {DEST: "Syncer Growth + Orders add-on",
                     "demo-dest-2.myshopify.com": "Syncer Starter"}
    assert again == {DEST: "Syncer Growth + Orders add-on (already)",
                     "demo-dest-2.myshopify.com": "Syncer Starter (already)"}
    for domain, plan, addon in ((DEST, "growth", True),
                                ("demo-dest-2.myshopify.com", "starter", False)):
        entitlement = shop_entitlement(shop=Shop.objects.get(domain=domain))
        assert (entitlement.plan.handle, entitlement.orders_addon) == (plan, addon)
        assert [row["status"] for row in emulator.subscriptions(domain)] == ["ACTIVE"]


def test_the_page_answers_bad_input_with_words_never_a_500(emulator, client):
    from tests.stores.test_install import bearer

    shop = destination(emulator)
    headers = bearer(emulator.session_token(DEST), shop=DEST)
    page = client.get("/billing/", headers=headers)
    assert page.status_code == 200
    assert "You're on Free" in html.unescape(page.content.decode())
    # A plan that does not exist, or none: the field's words, nothing asked of Shopify
    for data in ({"plan": "gold"}, {}, {"plan": "free"}):
        response = client.post("/billing/subscribe", data, headers=headers)
        assert response.status_code == 422
        assert json.loads(response.headers["HX-Trigger"])["failed"]["message"] in (
            "Choose one of the plans listed.", "Choose a plan.")
    # Nothing to cancel: said so
    response = client.post("/billing/cancel", {}, headers=headers)
    assert response.status_code == 409
    assert "no paid plan to cancel" in json.loads(response.headers["HX-Trigger"])["failed"][
        "message"]
    # A return with a charge id that is no number, or another shop's: the page, as it is
    for charge_id in ("abc", "99999999999999999999", "7"):
        response = client.get(f"/billing/return?charge_id={charge_id}", headers=headers)
        assert response.status_code == 200
        assert "You're on Free." in html.unescape(response.content.decode())
    # Choosing a plan answers with Shopify's approval page for the admin's whole window
    response = client.post("/billing/subscribe", {"plan": "growth", "orders_addon": "on"},
                           headers=headers)
    assert response.status_code == 200
    url = json.loads(response.headers["HX-Trigger"])["billing:approve"]["url"]
    assert url == Subscription.objects.get(shop=shop).confirmation_url
    assert b"data-billing-pending" in response.content
