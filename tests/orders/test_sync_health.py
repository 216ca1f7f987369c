"""The destination dashboard's Sync health: failed and stuck work of the shop that asks (and no
other), each kind with the age of its oldest, and Try again, which queues that work once more
through its own service."""

import json
import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from orders.models import OrderPush
from orders.push import order_push_execute
from orders.services import order_push_prepare
from products.inventory.health import destination_stock_waiting
from products.inventory.tasks import inventory_sweep_task
from products.models import (
    DestinationStock,
    InventoryWriteBatch,
    ProductLink,
    ReconciliationRun,
    SourceProduct,
    SourceVariant,
    VariantLink,
)
from stores.auth import shop_csrf_token
from stores.connections import connection_block, connection_unblock
from stores.models import Connection, Shop
from tests.htmx_events import said
from tests.orders.conftest import SOURCE
from tests.orders.dashboard_world import V1, pushed_order, session_headers
from tests.products.inventory_world import build, source_adjust
from tests.stores.factories import ConnectionFactory, DestinationFactory
from tests.webhooks.conftest import flaky_handler, post_webhook
from webhooks.models import WebhookDelivery

__all__ = ["flaky_handler", "post_webhook"]  # fixtures, imported for pytest

pytestmark = pytest.mark.django_db(transaction=True)


def as_shop(shop: Shop) -> dict[str, str]:
    return {**session_headers(shop, htmx=True),
            "X-CSRFToken": shop_csrf_token(shop_domain=shop.domain, user_id="1")}


def cells(html: str) -> list[str]:
    return [" ".join(unescape(re.sub(r"<[^>]+>", "", cell)).split())
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


def work_health(client, shop: Shop) -> dict[str, list[str]]:
    """The Sync health table, row by row (work → its cells, without the button's)."""
    html = client.get("/dashboard/", headers=session_headers(shop)).content.decode()
    table = re.search(r'<div id="work-health">(.*?)</table>', html, re.S).group(1)
    return {kind: cells(row)[:4] if not kind.endswith("-held") else cells(row)
            for kind, row in re.findall(r'<tr data-work="([\w-]+)">(.*?)</tr>', table, re.S)}


def try_again(client, shop: Shop, kind: str):
    return client.post("/dashboard/try-again", {"kind": kind}, headers=as_shop(shop))


def toast(response) -> str:
    return said(response)["message"]


_numbers = iter(range(1, 1_000_000))


def troubled_work(connection: Connection) -> None:
    """One failed and one stuck piece of each kind of work for the connection's destination,
    as each leaves itself, and beside each something that must not count."""
    now = timezone.now()
    destination, n = connection.destination, next(_numbers)

    def delivery(**fields) -> WebhookDelivery:
        fields.setdefault("due_at", now)
        return WebhookDelivery.objects.create(
            shop_domain=destination.domain, topic="syncer_test/unhandled",
            webhook_id=f"w-{next(_numbers)}", raw_body="{}", **fields)

    # webhook deliveries: failed two hours ago; received ten minutes ago and never taken;
    # received a minute ago (normal); processed
    delivery(status="failed", received_at=now - timedelta(hours=2), attempts=8,
             failed_at=now - timedelta(hours=1), last_error="KeyError: 'line_items'",
             due_at=now + timedelta(days=3650))
    delivery(status="received", received_at=now - timedelta(minutes=10))
    delivery(status="received", received_at=now - timedelta(minutes=1))
    delivery(status="processed", received_at=now - timedelta(hours=5), processed_at=now)

    # stock: a row whose write was refused (its change seen three hours ago), a row of the
    # same refused batch written since, a row due twenty minutes ago that no flush took, a
    # zero held back thirty minutes ago, a row changed a minute ago...
    product = SourceProduct.objects.create(shop=connection.source, shopify_id=n, title="Tee")
    product_link = ProductLink.objects.create(connection=connection, source_product=product,
                                              destination_product_id=n, origin="imported")

    def stock(**fields) -> DestinationStock:
        number = next(_numbers)
        link = VariantLink.objects.create(
            product_link=product_link, connection=connection, destination_variant_id=number,
            destination_inventory_item_id=number, source_variant=SourceVariant.objects.create(
                product=product, shop=connection.source, shopify_id=number,
                inventory_item_id=number))
        fields = {"location_id": 1, "target": 5, "known_quantity": 3, **fields}
        return DestinationStock.objects.create(variant_link=link, destination=destination,
                                               **fields)

    refused = stock(dirty=True, changed_at=now - timedelta(hours=3),
                    due_at=now + timedelta(minutes=4), last_written_at=now - timedelta(days=1))
    healed = stock(dirty=False, changed_at=now - timedelta(hours=3),
                   last_written_at=now - timedelta(minutes=30))
    batch = InventoryWriteBatch.objects.create(
        destination=destination, idempotency_key=f"k-{n}", status="failed",
        error="The quantity is higher than Shopify allows.",
        items=[{"stock": row.pk, "item": row.variant_link.destination_inventory_item_id,
                "location": 1, "quantity": 5, "from": 3} for row in (refused, healed)])
    InventoryWriteBatch.objects.filter(pk=batch.pk).update(
        completed_at=now - timedelta(hours=1))
    stock(dirty=True, changed_at=now - timedelta(minutes=20))
    stock(dirty=True, changed_at=now - timedelta(minutes=30), target=0, hold="held")
    stock(dirty=True, changed_at=now - timedelta(minutes=1))
    # ... and a batch of two formed forty minutes ago whose flush died before Shopify
    # answered, beside one formed a minute ago
    for minutes, rows in ((40, [stock(dirty=False), stock(dirty=False)]), (1, [stock()])):
        unsent = InventoryWriteBatch.objects.create(
            destination=destination, idempotency_key=f"k-{next(_numbers)}",
            items=[{"stock": row.pk, "item": row.variant_link.destination_inventory_item_id,
                    "location": 1, "quantity": 5, "from": 3} for row in rows])
        InventoryWriteBatch.objects.filter(pk=unsent.pk).update(
            created_at=now - timedelta(minutes=minutes))

    # resyncs: the latest failed four hours ago (an earlier failure was healed by a later run)
    for status, hours in (("failed", 6), ("done", 5), ("failed", 4)):
        run = ReconciliationRun.objects.create(connection=connection, status=status,
                                               error="Shopify did not answer in time.")
        ReconciliationRun.objects.filter(pk=run.pk).update(
            started_at=now - timedelta(hours=hours),
            finished_at=now - timedelta(hours=hours))

    # order pushes: refused a day ago; pending ten minutes, nobody on it; pending just now
    pushes = [pushed_order(store=destination, source=connection.source, at=None,
                           status=status, lines=[(V1, 1, "10.00")])
              for status in ("failed", "pending", "pending")]
    OrderPush.objects.filter(pk=pushes[0].pk).update(
        error="Demo Source has blocked your store, so orders cannot be pushed to it.",
        updated_at=now - timedelta(days=1))
    OrderPush.objects.filter(pk=pushes[1].pk).update(updated_at=now - timedelta(minutes=10))


def test_sync_health_counts_the_shops_own_failed_and_stuck_work_only(client):
    mine = ConnectionFactory(destination=DestinationFactory(name="My Store"))
    other = ConnectionFactory(destination=DestinationFactory(name="Other Store"))
    troubled_work(mine)
    troubled_work(other)
    troubled_work(other)  # twice: a count that leaked from it would show
    # when
    health = work_health(client, mine.destination)
    # then
    assert health == {
        "webhooks": ["Webhook deliveries", "1 (oldest 2 hours ago)", "1 (oldest 10 minutes ago)",
                     "KeyError: 'line_items'"],
        "stock": ["Stock updates", "1 (oldest 3 hours ago)", "3 (oldest 40 minutes ago)",
                  "The quantity is higher than Shopify allows."],
        "stock-held": ["Held back for you: 1 update to zero (oldest 30 minutes ago). So many "
                       "variants going to zero at once looks like a mistake at the source: "
                       "review them in Inventory."],
        "resyncs": ["Resyncs", "1 (oldest 4 hours ago)", "0", "Shopify did not answer in time."],
        "pushes": ["Order pushes", "1 (oldest 1 day ago)", "1 (oldest 10 minutes ago)",
                   "Demo Source has blocked your store, so orders cannot be pushed to it."],
    }


def test_updates_waiting_counts_writes_out_at_shopify_and_each_variant_once(client):
    # given four dirty rows and three rows in writes not yet confirmed by Shopify, and another
    # store with the same
    mine = ConnectionFactory()
    other = ConnectionFactory()
    troubled_work(mine)
    troubled_work(other)
    destination = mine.destination
    # then all seven wait
    assert destination_stock_waiting(destination=destination) == 7
    assert figure(client, destination, "pending-writes") == "7"

    # when a row out at Shopify changes again before its write is confirmed
    in_flight = InventoryWriteBatch.objects.filter(destination=destination,
                                                   status="pending").first().items[0]["stock"]
    DestinationStock.objects.filter(pk=in_flight).update(dirty=True)
    # then it still waits once
    assert destination_stock_waiting(destination=destination) == 7

    # when the writes are confirmed
    InventoryWriteBatch.objects.filter(destination=destination).update(status="done")
    # then only the dirty rows wait
    assert destination_stock_waiting(destination=destination) == 5

    # when two variants' stock is found at a location that does not receive (still to clear)
    Connection.objects.filter(pk=mine.pk).update(stock_to_clear={"7000000099": [11, 12]})
    # then they wait too
    assert destination_stock_waiting(destination=destination) == 7
    assert figure(client, destination, "pending-writes") == "7"


def figure(client, shop: Shop, name: str) -> str:
    html = client.get("/dashboard/", headers=session_headers(shop)).content.decode()
    return re.search(rf'data-figure="{name}">([^<]*)<', html).group(1)


def test_try_again_is_for_the_asking_shops_work_only(client):
    mine = ConnectionFactory()
    other = ConnectionFactory()
    troubled_work(mine)
    troubled_work(other)
    others_before = list(WebhookDelivery.objects.filter(
        shop_domain=other.destination.domain).order_by("pk").values())
    # when my shop tries its webhook deliveries again
    response = try_again(client, mine.destination, "webhooks")
    # then its failed and stuck ones were processed again (no handler: ignored)
    assert response.status_code == 200
    assert toast(response) == "Webhook deliveries: 2 queued again."
    assert sorted(WebhookDelivery.objects.filter(shop_domain=mine.destination.domain)
                  .values_list("status", "attempts")) == [
        ("ignored", 1), ("ignored", 9), ("processed", 0), ("received", 0)]
    # and nothing of the other shop's changed
    assert list(WebhookDelivery.objects.filter(
        shop_domain=other.destination.domain).order_by("pk").values()) == others_before
    # and the card it answers with counts none any more
    assert cells(re.search(r'<tr data-work="webhooks">(.*?)</tr>',
                           response.content.decode(), re.S).group(1))[:3] == [
        "Webhook deliveries", "0", "0"]


def test_try_again_needs_a_kind_of_work(client):
    shop = ConnectionFactory().destination
    response = client.post("/dashboard/try-again", {"kind": "everything"}, headers=as_shop(shop))
    assert response.status_code == 422
    assert said(response) == {
        "message": "Choose the work to try again.", "error": True}


def test_try_again_writes_a_refused_stock_update_again_at_once(client, emulator):
    world = build(emulator, destinations=1)
    destination = Shop.objects.get(domain=world.destinations[0])
    # given a source quantity Shopify refuses to set: the write fails and its row waits
    source_adjust(world, "TOTE-1", available=1_000_000_001)
    emulator.flush_webhooks()
    (refused,) = InventoryWriteBatch.objects.filter(destination=destination)
    assert (refused.status, refused.error) == (
        "failed", "The quantity is higher than Shopify allows.")
    assert work_health(client, destination)["stock"] == [
        "Stock updates", "1 (oldest just now)", "0",
        "The quantity is higher than Shopify allows."]
    # and the merchant fixes the source: the row still waits out the pause after a failure
    source_adjust(world, "TOTE-1", available=30)
    emulator.flush_webhooks()
    assert world.level(world.destinations[0], "TOTE-1") == 0
    # when the merchant tries again
    response = try_again(client, destination, "stock")
    # then it is written now, as a new request (a new idempotency key: Shopify would only
    # replay its refusal of the old one)
    assert toast(response) == "Stock updates: 1 queued again."
    assert world.level(world.destinations[0], "TOTE-1") == 30
    assert list(InventoryWriteBatch.objects.filter(destination=destination).order_by("pk")
                .values_list("status", flat=True)) == ["failed", "done"]
    assert work_health(client, destination)["stock"] == ["Stock updates", "0", "0", "—"]


def test_try_again_starts_a_new_resync_where_the_last_failed(client, emulator):
    world = build(emulator, destinations=1)
    connection = Connection.objects.select_related("destination").get()
    # given a resync whose task was lost, ended by the sweeper
    lost = ReconciliationRun.objects.create(connection=connection, trigger="merchant")
    ReconciliationRun.objects.filter(pk=lost.pk).update(
        started_at=timezone.now() - timedelta(hours=1))
    inventory_sweep_task()
    assert work_health(client, connection.destination)["resyncs"][:3] == [
        "Resyncs", "1 (oldest just now)", "0"]
    # when
    response = try_again(client, connection.destination, "resyncs")
    # then a new resync ran to the end
    assert toast(response) == "Resyncs: 1 queued again."
    assert list(ReconciliationRun.objects.order_by("pk").values_list("status", "checked")) == [
        ("failed", 0), ("done", 3)]
    assert world.levels(world.destinations[0]) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}
    assert work_health(client, connection.destination)["resyncs"] == ["Resyncs", "0", "0", "—"]


def test_try_again_pushes_failed_and_stalled_orders(world):
    # given an order whose push was refused when the source had blocked the store (since
    # unblocked), and one whose queued push the broker lost ten minutes ago
    refused = world.mirrored(world.sell({"SHIRT-S": 1}))
    stalled = world.mirrored(world.sell({"SHIRT-M": 2}))
    (refused_push,) = order_push_prepare(order=refused).pushes
    connection_block(connection=world.connection, actor=world.source)
    order_push_execute(push_id=refused_push.pk)
    connection_unblock(connection=world.connection, actor=world.source)
    (stalled_push,) = order_push_prepare(order=stalled).pushes
    OrderPush.objects.filter(pk=stalled_push.pk).update(
        updated_at=timezone.now() - timedelta(minutes=10))
    assert work_health(world.client, world.destination)["pushes"] == [
        "Order pushes", "1 (oldest just now)", "1 (oldest 10 minutes ago)",
        "Demo Source has blocked your store, so orders cannot be pushed to it."]
    assert world.orders_of(SOURCE) == []
    # when
    response = try_again(world.client, world.destination, "pushes")
    # then both are pushed, once each
    assert toast(response) == "Order pushes: 2 queued again."
    # and the dashboard's figures (failed pushes) are fetched again, not only this table
    assert json.loads(response["HX-Trigger"])["work-retried"] == {}
    assert sorted(OrderPush.objects.values_list("status", flat=True)) == ["pushed", "pushed"]
    assert sorted(order["name"] for order in world.orders_of(SOURCE)) == ["#1001", "#1002"]


def test_try_again_processes_a_failed_delivery_once_its_cause_is_fixed(client, post_webhook,
                                                                        flaky_handler):
    shop = DestinationFactory(domain="flaky-dest.myshopify.com")
    topic, state = flaky_handler
    # given a delivery whose handler failed
    post_webhook(topic, {"id": 7}, shop=shop.domain)
    assert work_health(client, shop)["webhooks"] == [
        "Webhook deliveries", "1 (oldest just now)", "0",
        "RuntimeError: the handler has a bug"]
    # when the bug is fixed and the merchant tries again
    state["broken"] = False
    response = try_again(client, shop, "webhooks")
    # then it is processed
    assert toast(response) == "Webhook deliveries: 1 queued again."
    assert state["handled"] == [{"id": 7}]
    assert list(WebhookDelivery.objects.values_list("status", "attempts")) == [("processed", 2)]
    # and trying again with nothing left says so
    assert toast(try_again(client, shop, "webhooks")) == (
        "Webhook deliveries: nothing is waiting to be tried again.")
