"""Order push is the Orders add-on. Without it a push by hand is refused in words with the way
to Plan & billing, the order list and page show the push buttons disabled with the reason,
and automatic push does not push: the order waits, saying so, and goes as soon as the
merchant adds the add-on (Shopify's approval → app_subscriptions/update → the entitlement hooks).
Nothing reaches the source in between."""

import json
import re
from html import escape

import pytest

from orders.models import DestinationOrder, OrderPush
from orders.push import order_push_execute
from orders.selectors import ORDERS_ADDON_REFUSAL, ORDERS_ADDON_WAITING
from orders.services import (
    OrderPushRefused,
    order_push_prepare,
    order_push_request,
    order_settings_update,
)
from stores.billing import subscription_request
from stores.models import Subscription
from stores.plans import shop_entitlement
from tests.htmx_events import said
from tests.orders.conftest import DEST, SOURCE, SOURCE_2
from tests.stores.factories import subscription_active

pytestmark = pytest.mark.django_db(transaction=True)

BILLING = "/billing/"
ADDON_LINK = {"url": BILLING, "label": "Add the Orders add-on"}


@pytest.fixture
def without_addon(world):
    """The world's destination on Growth without the Orders add-on, as Shopify confirmed it."""
    subscription_active(world.destination, plan="growth", orders_addon=False)
    assert not shop_entitlement(shop=world.destination).orders_addon
    return world


def failed(response) -> dict:
    return json.loads(response["HX-Trigger"])["failed"]


def button(html: str, label: str) -> str:
    """The <button> tag labelled `label` in the page."""
    found = re.search(rf"<button[^>]*>{re.escape(label)}</button>", html)
    assert found is not None, f"no {label!r} button"
    return found.group(0)


def test_a_push_by_hand_is_refused_in_words_and_nothing_reaches_the_source(without_addon):
    world = without_addon
    order = world.mirrored(world.sell({"SHIRT-S": 1, "MUG-1": 1}))
    with pytest.raises(OrderPushRefused) as refused:
        order_push_request(order=order)
    assert str(refused.value) == ORDERS_ADDON_REFUSAL == (
        "Pushing orders to your sources needs the Orders add-on. Add it to your plan on the "
        "Plan & billing page.")
    assert OrderPush.objects.count() == 0
    assert (world.orders_of(SOURCE), world.orders_of(SOURCE_2)) == ([], [])


def test_the_push_button_is_refused_with_the_way_to_the_addon(without_addon):
    world = without_addon
    order = world.mirrored(world.sell({"SHIRT-S": 1}))
    response = world.client.post(f"/orders/{order.pk}/push",
                                 {"source": world.source.pk, "shipping_fee": "0.00"},
                                 headers=world.headers())
    assert response.status_code == 409
    assert failed(response) == {"message": ORDERS_ADDON_REFUSAL, "link": ADDON_LINK}
    assert OrderPush.objects.count() == 0
    # and a bulk push of the list says it once, for the whole selection
    response = world.client.post("/orders/push", {"order": [order.pk], "tab": "not_pushed"},
                                 headers=world.headers())
    assert response.status_code == 409
    assert failed(response) == {"message": ORDERS_ADDON_REFUSAL, "link": ADDON_LINK}
    assert (OrderPush.objects.count(), world.orders_of(SOURCE)) == (0, [])


def test_the_list_and_the_order_show_the_push_buttons_disabled_with_the_reason(without_addon):
    world = without_addon
    order = world.mirrored(world.sell({"SHIRT-S": 1}))
    page = world.client.get(f"/orders/{order.pk}/", headers=world.headers()).content.decode()
    assert "disabled" in button(page, "Push to Demo Source")
    assert escape(ORDERS_ADDON_REFUSAL) in page
    assert f'<a href="{BILLING}">Add the Orders add-on</a>' in page
    listed = world.client.get("/orders/", headers=world.headers()).content.decode()
    assert "disabled" in button(listed, "Push selected")
    assert f'<a href="{BILLING}">Add the Orders add-on</a>' in listed
    # with the add-on, the same button pushes
    subscription_active(world.destination, plan="growth", orders_addon=True)
    page = world.client.get(f"/orders/{order.pk}/", headers=world.headers()).content.decode()
    assert "disabled" not in button(page, "Push to Demo Source")
    response = world.client.post(f"/orders/{order.pk}/push",
                                 {"source": world.source.pk, "shipping_fee": "0.00"},
                                 headers=world.headers())
    assert said(response) == {"message": "Pushed to Demo Source.", "error": False}
    assert len(world.orders_of(SOURCE)) == 1


def test_a_push_queued_before_the_addon_went_is_not_sent(world):
    # given a push prepared while the store had the add-on, its task not run yet
    order = world.mirrored(world.sell({"SHIRT-S": 1}))
    (push,) = order_push_prepare(order=order, source_ids=[world.source.pk]).pushes
    # when the add-on is gone before it runs
    subscription_active(world.destination, plan="growth", orders_addon=False)
    order_push_execute(push_id=push.pk)
    # then nothing was sent, and the push says why
    push.refresh_from_db()
    assert (push.status, push.error) == (OrderPush.Status.FAILED, ORDERS_ADDON_REFUSAL)
    assert world.orders_of(SOURCE) == []


def test_automatic_push_waits_for_the_addon_then_pushes_once_shopify_confirms_it(world):
    # given automatic push on, and a store that never subscribed (Free: no add-on)
    Subscription.objects.filter(shop=world.destination).delete()
    order_settings_update(shop=world.destination, auto_push=True, contact_email_method="store",
                          custom_email="", shipping_rules_enabled=False, notify_customer=True)
    # when a paid order arrives, nothing is pushed: it waits, and says for what
    order = world.mirrored(world.sell({"SHIRT-S": 1, "MUG-1": 2}))
    assert OrderPush.objects.count() == 0
    assert order.auto_push_waiting_since is not None
    page = world.client.get(f"/orders/{order.pk}/", headers=world.headers()).content.decode()
    assert escape(ORDERS_ADDON_WAITING) in page
    assert ORDERS_ADDON_WAITING.startswith("Auto push waits for the Orders add-on")
    listed = world.client.get("/orders/", headers=world.headers()).content.decode()
    assert escape(f"Demo Source: {ORDERS_ADDON_WAITING}") in listed
    # and "Push waiting parts" says the same, with the way to the add-on
    response = world.client.post(f"/orders/{order.pk}/push-waiting", headers=world.headers())
    assert failed(response) == {"message": ORDERS_ADDON_WAITING, "link": ADDON_LINK}
    assert (world.orders_of(SOURCE), world.orders_of(SOURCE_2)) == ([], [])

    # when the merchant subscribes with the add-on and approves it on Shopify's page
    confirmation = subscription_request(shop=world.destination, plan_handle="growth",
                                        orders_addon=True)
    charge = int(re.search(r"/charges/(\d+)/", confirmation).group(1))
    world.emulator.subscription_approve(DEST, charge)
    world.emulator.flush_webhooks()  # app_subscriptions/update: Shopify's word
    # then the waiting order is pushed to both sources, once, automatically
    assert shop_entitlement(shop=world.destination).orders_addon
    order.refresh_from_db()
    assert {(push.source.domain, push.status, push.trigger)
            for push in order.pushes.select_related("source")} == {
        (SOURCE, "pushed", "automatic"), (SOURCE_2, "pushed", "automatic")}
    assert (len(world.orders_of(SOURCE)), len(world.orders_of(SOURCE_2))) == (1, 1)
    assert order.push_state == DestinationOrder.PushState.PUSHED
    assert order.auto_push_waiting_since is None


def test_a_plan_change_that_keeps_the_addon_off_pushes_nothing(world):
    Subscription.objects.filter(shop=world.destination).delete()
    order_settings_update(shop=world.destination, auto_push=True, contact_email_method="store",
                          custom_email="", shipping_rules_enabled=False, notify_customer=True)
    order = world.mirrored(world.sell({"SHIRT-S": 1}))
    # when the merchant moves to Growth without the add-on
    confirmation = subscription_request(shop=world.destination, plan_handle="growth",
                                        orders_addon=False)
    charge = int(re.search(r"/charges/(\d+)/", confirmation).group(1))
    world.emulator.subscription_approve(DEST, charge)
    world.emulator.flush_webhooks()
    # then the order still waits for the add-on
    assert shop_entitlement(shop=world.destination).plan.handle == "growth"
    order.refresh_from_db()
    assert OrderPush.objects.count() == 0
    assert order.auto_push_waiting_since is not None
