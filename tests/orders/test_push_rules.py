"""Push requirements refused with a plain reason, multi-source partial pushes, idempotence
after a timeout, and stock: pushing never moves the source's stock."""

from decimal import Decimal
from html import escape

import pytest

from orders.models import DestinationOrder, OrderPush
from orders.push import order_push_execute
from orders.services import (
    OrderPushRefused,
    order_push_prepare,
    order_push_request,
)
from stores.connections import connection_block
from syncer.shopify import ShopifyOutcomeUnknown
from syncer.shopify import client as shopify_client
from tests.htmx_events import said
from tests.orders.conftest import SOURCE, SOURCE_2

pytestmark = pytest.mark.django_db(transaction=True)


def toast(response) -> str:
    return said(response)["message"]


def push_by_hand(world, order, **data):
    return world.client.post(f"/orders/{order.pk}/push", data, headers=world.headers())


@pytest.mark.parametrize(("sale", "reason"), [
    ({"financial_status": "pending"},
     "This order is not paid (payment status: pending). Only paid orders are pushed."),
    ({"customer": {"email": "nobody@example.com"}, "shipping_address": {"address1": "1 Road",
                                                                         "city": "Leeds",
                                                                         "country_code": "GB"}},
     "This order has no customer name. Add the customer's name to its shipping address in "
     "Shopify, then push again."),
    ({"shipping_address": {"first_name": "Ada", "last_name": "Lovelace", "city": "London"}},
     "This order has no complete shipping address (street, city and country). Add it in "
     "Shopify, then push again."),
])
def test_refused_pushes_say_why_and_create_nothing(world, sale, reason):
    order = world.mirrored(world.sell({"SHIRT-S": 1}, **sale))
    response = push_by_hand(world, order, shipping_fee="5.00")
    assert response.status_code == 409
    assert toast(response) == reason
    assert escape(reason) in world.client.get(f"/orders/{order.pk}/",
                                      headers=world.headers()).content.decode()
    assert world.orders_of(SOURCE) == []
    assert not OrderPush.objects.exists()


def test_an_order_with_a_zero_total_is_refused(world):
    world.emulator.product_create(SOURCE, title="Sample", variants=[
        {"sku": "FREE-1", "price": "0.00", "available": 5}])
    from tests.orders.factories import link_product

    link_product(world.emulator, connection=world.connection, title="Free sample",
                 variants=[("FREE-1", "0.00", 5)])
    order = world.mirrored(world.sell({"FREE-1": 1}, shipping_lines=[]))
    with pytest.raises(OrderPushRefused, match="total is 0.00"):
        order_push_request(order=order)
    assert world.orders_of(SOURCE) == []


def test_cancelled_orders_land_in_cancelled_and_cannot_be_pushed(world):
    sold = world.sell({"SHIRT-S": 1})
    world.emulator._json("POST", f"/_emulator/shops/{world.destination.domain}/orders/"
                                 f"{sold['id']}/cancel", json={"restock": True})
    world.emulator.flush_webhooks()
    order = world.mirrored(sold)
    assert order.push_state == DestinationOrder.PushState.CANCELLED
    response = push_by_hand(world, order)
    assert toast(response) == "This order was cancelled, so it cannot be pushed."
    assert world.orders_of(SOURCE) == []


def test_a_blocked_source_refuses_and_the_other_source_still_gets_its_part(world):
    order = world.mirrored(world.sell({"SHIRT-S": 1, "MUG-1": 2}))
    connection_block(connection=world.connection, actor=world.source)
    result = order_push_request(order=order)
    assert result.refusals == {
        "Demo Source": "Demo Source has blocked your store, so orders cannot be pushed to it."}
    assert [push.source.domain for push in result.pushes] == [SOURCE_2]
    assert world.orders_of(SOURCE) == []
    assert len(world.orders_of(SOURCE_2)) == 1
    order.refresh_from_db()
    assert order.push_state == DestinationOrder.PushState.PARTIAL


def test_multi_source_order_is_partially_pushed_then_pushed(world):
    order = world.mirrored(world.sell({"SHIRT-M": 1, "MUG-1": 3}))
    assert order.push_state == DestinationOrder.PushState.NOT_PUSHED
    # when the merchant pushes to the first source only, with a shipping fee
    response = push_by_hand(world, order, source=world.source.pk, shipping_fee="7.25")
    assert response.status_code == 200
    assert toast(response) == "Pushed to Demo Source."
    order.refresh_from_db()
    assert order.push_state == DestinationOrder.PushState.PARTIAL
    (first,) = world.orders_of(SOURCE)
    assert first["shipping_lines"][0]["price"] == "7.25"
    assert world.orders_of(SOURCE_2) == []
    # then to the second
    push_by_hand(world, order, source=world.source_2.pk)
    order.refresh_from_db()
    assert order.push_state == DestinationOrder.PushState.PUSHED
    (second,) = world.orders_of(SOURCE_2)
    assert [(li["sku"], li["quantity"]) for li in second["line_items"]] == [("MUG-1", 3)]
    assert second["shipping_lines"][0]["price"] == "0.00"
    # pushing again changes nothing
    again = push_by_hand(world, order)
    assert toast(again) == "Already pushed to Demo Source, Second Source."
    assert len(world.orders_of(SOURCE)) == len(world.orders_of(SOURCE_2)) == 1


def test_a_push_retried_after_a_timeout_finds_the_order_instead_of_creating_another(
        world, settings):
    order = world.mirrored(world.sell({"SHIRT-S": 2}))
    (push,) = order_push_prepare(order=order, shipping_fee=Decimal("3.00")).pushes
    # Shopify creates the order but the answer never arrives
    settings.SHOPIFY_HTTP_TIMEOUT = 1.0
    shopify_client._clients.clear()
    world.emulator.faults(shop=SOURCE, timeout_rate=1.0)
    with pytest.raises(ShopifyOutcomeUnknown):
        order_push_execute(push_id=push.pk)
    push.refresh_from_db()
    assert (push.status, push.attempts) == (OrderPush.Status.PENDING, 1)
    assert push.error == ("We could not confirm the change with Shopify. We will check and "
                          "finish it shortly.")
    assert len(world.orders_of(SOURCE)) == 1
    # when the task runs again with Shopify answering
    world.emulator.faults(shop=SOURCE, timeout_rate=0.0)
    order_push_execute(push_id=push.pk)
    # then it adopted the order it had made: still exactly one
    (source_order,) = world.orders_of(SOURCE)
    push.refresh_from_db()
    assert (push.status, push.source_order_id, push.attempts) == (
        OrderPush.Status.PUSHED, source_order["id"], 1)
    assert push.lines.get().source_line_item_id == source_order["line_items"][0]["id"]
    order.refresh_from_db()
    assert order.push_state == DestinationOrder.PushState.PUSHED


def test_pushing_never_changes_source_stock(world):
    order = world.mirrored(world.sell({"SHIRT-S": 2, "MUG-1": 1}))
    before = (world.levels(SOURCE), world.levels(SOURCE_2))
    order_push_request(order=order)
    world.emulator.flush_webhooks()
    assert {push.status for push in order.pushes.all()} == {OrderPush.Status.PUSHED}
    assert (world.levels(SOURCE), world.levels(SOURCE_2)) == before


def test_a_stalled_push_is_resumed_by_the_sweeper(world):
    from datetime import timedelta

    from django.utils import timezone

    from orders.tasks import order_work_resume_task

    order = world.mirrored(world.sell({"SHIRT-S": 1}))
    (push,) = order_push_prepare(order=order).pushes  # queued, but the broker lost it
    order_work_resume_task()
    assert OrderPush.objects.get(pk=push.pk).status == OrderPush.Status.PENDING  # too recent
    OrderPush.objects.filter(pk=push.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    order_work_resume_task()
    assert OrderPush.objects.get(pk=push.pk).status == OrderPush.Status.PUSHED
    assert len(world.orders_of(SOURCE)) == 1
