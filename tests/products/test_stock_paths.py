"""Stock paths proven end to end through the emulator (issue 23): a pending payment, a refund
without restock, a destination that follows two sources, and stock over several locations."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from products.inventory.drift import destination_level_changed
from products.inventory.effects import inventory_effect_apply
from products.inventory.holds import destination_holds_release
from products.inventory.locations import source_decrement_location_id
from products.inventory.relocation import stock_to_clear_apply
from products.inventory.settings import connection_inventory_save, source_locations_save
from products.inventory.tasks import (
    inventory_flush_destination_task,
    inventory_flush_on_commit,
    inventory_sweep_task,
    stock_to_clear_on_commit,
)
from products.models import (
    DestinationHold,
    DestinationStock,
    InventoryEffect,
    ProductLink,
    SourceLevel,
    SourceProduct,
    SourceVariant,
    SyncEvent,
    VariantLink,
)
from stores.connections import connection_create
from stores.models import Connection, Shop
from stores.services import shop_role_choose
from tests.products.inventory_world import World, build, source_adjust
from tests.products.test_inventory_engine import reconcile_all, settle
from tests.webhooks.conftest import webhook_headers

pytestmark = pytest.mark.django_db(transaction=True)


def pending_order(emulator, shop: str, sku: str, quantity: int) -> int:
    order = emulator.order_create(shop, lines=[{"sku": sku, "quantity": quantity}],
                                  financial_status="pending")
    return order.get("id") or order["order"]["id"]


def settings_save(connection: Connection, **changes) -> None:
    """The destination's Inventory settings for one source, saved as the page saves them."""
    values = {"destination_location_id": connection.destination_location_id,
              "safety_stock": connection.safety_stock,
              "count_pending_orders": connection.count_pending_orders,
              "stock_percent": connection.stock_percent, "stock_max": connection.stock_max,
              "draft_below": connection.draft_below, **changes}
    inventory_flush_on_commit(connection_inventory_save(connection=connection, **values))
    stock_to_clear_on_commit(connection=connection)


def counting_pending(connection: Connection, on: bool) -> None:
    settings_save(connection, count_pending_orders=on)


def test_a_pending_order_moves_the_source_only_once_paid_when_the_option_is_off(emulator):
    world = build(emulator)
    reconcile_all(world)
    seller = world.destinations[0]
    # when a customer of destination 1 orders 3 shirts and has not paid yet
    order_id = pending_order(emulator, seller, "SHIRT-S", 3)
    settle(world)
    # then the source keeps its stock
    assert world.level(world.source, "SHIRT-S") == 10
    assert InventoryEffect.objects.count() == 0
    # when the payment arrives
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/pay")
    settle(world)
    # then the source loses the 3, once, and the other destination follows
    assert world.level(world.source, "SHIRT-S") == 7
    assert world.level(world.destinations[1], "SHIRT-S") == 7
    assert list(InventoryEffect.objects.values_list("kind", "delta", "status")) == [
        ("sale", -3, "applied")]


def test_a_pending_order_moves_the_source_at_once_and_only_once_when_the_option_is_on(emulator):
    world = build(emulator)
    reconcile_all(world)
    seller = world.destinations[0]
    counting_pending(Connection.objects.get(destination__domain=seller), on=True)
    # when a customer orders 2 totes with payment pending
    order_id = pending_order(emulator, seller, "TOTE-1", 2)
    settle(world)
    # then the source loses them straight away, and nothing is held at the store
    assert world.level(world.source, "TOTE-1") == 23
    assert world.level(world.destinations[1], "TOTE-1") == 23
    assert DestinationHold.objects.count() == 0
    # and when the payment arrives, nothing moves again
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/pay")
    settle(world)
    assert world.level(world.source, "TOTE-1") == 23
    assert list(InventoryEffect.objects.values_list("kind", "delta")) == [("sale", -2)]


def drift_grace_over(world) -> None:
    """The stores' own drops have waited out their grace: every flush that waited runs."""
    DestinationStock.objects.filter(due_at__isnull=False).update(
        due_at=timezone.now() - timedelta(seconds=1))
    for destination in Shop.objects.filter(domain__in=world.destinations):
        inventory_flush_destination_task(destination.pk)
    settle(world)


@pytest.fixture
def shirts_held(emulator) -> tuple[World, str, str, int]:
    """A customer of destination 1 ordered 3 of the source's 10 shirts, not paid yet
    (destination 1 counts paid orders only: the default), and the store's drop has had its
    grace. Returns (world, that store, the other store, the order's id)."""
    world = build(emulator)
    reconcile_all(world)
    seller, other = world.destinations
    order_id = pending_order(emulator, seller, "SHIRT-S", 3)
    settle(world)
    drift_grace_over(world)
    return world, seller, other, order_id


def test_a_pending_orders_units_stay_off_sale_at_its_store_until_it_is_paid(emulator,
                                                                           shirts_held):
    # given an unpaid order of 3 of the source's 10 shirts at destination 1
    world, seller, other, order_id = shirts_held
    # then the 3 stay off sale there (Shopify took them out of its available stock, and
    # Syncer does not put them back), while the source and the other store keep all 10
    assert world.level(seller, "SHIRT-S") == 7
    assert world.level(world.source, "SHIRT-S") == 10
    assert world.level(other, "SHIRT-S") == 10
    assert list(DestinationHold.objects.values_list("quantity", "released_at")) == [(3, None)]
    # and a change at the source reaches the seller less what its customer holds
    source_adjust(world, "SHIRT-S", available=12)
    settle(world)
    assert [world.level(shop, "SHIRT-S") for shop in (seller, other)] == [9, 12]

    # when the payment arrives
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/pay")
    settle(world)
    drift_grace_over(world)
    # then the source loses the 3, once, and every store shows what it has left, the seller
    # never offering the 3 again on the way (its raise waits for the sale to be counted)
    assert [world.level(shop, "SHIRT-S") for shop in (world.source, seller, other)] == [9, 9, 9]
    assert list(SyncEvent.objects.filter(
        kind=SyncEvent.Kind.INVENTORY, connection__destination__domain=seller,
        source_variant_id=VariantLink.objects.get(
            connection__destination__domain=seller, source_variant__sku="SHIRT-S",
        ).source_variant_id, result=SyncEvent.Result.OK).order_by("pk").values_list(
            "from_value", "to_value")) == [("0", "10"), ("7", "9")]
    assert DestinationHold.objects.filter(released_at__isnull=True).count() == 0
    assert list(InventoryEffect.objects.values_list("kind", "delta", "status")) == [
        ("sale", -3, "applied")]


def test_a_pending_order_cancelled_unpaid_puts_its_units_back_on_sale_at_its_store(
        emulator, shirts_held):
    # given an unpaid order of 3 shirts at destination 1, its units off sale there
    world, seller, other, order_id = shirts_held
    assert world.level(seller, "SHIRT-S") == 7
    # when it is cancelled (without restocking at the store)
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/cancel",
                   json={"restock": False})
    settle(world)
    drift_grace_over(world)
    # then the store offers the source's 10 again, and nothing moved at the source
    assert [world.level(shop, "SHIRT-S") for shop in (world.source, seller, other)] == [
        10, 10, 10]
    assert DestinationHold.objects.get().released_at is not None
    assert InventoryEffect.objects.count() == 0


def test_a_pending_order_of_another_destination_is_still_counted_only_when_paid(emulator):
    # the option is one destination's choice for one source: the other is not affected
    world = build(emulator)
    reconcile_all(world)
    counting_pending(Connection.objects.get(destination__domain=world.destinations[0]), on=True)
    pending_order(emulator, world.destinations[1], "SHIRT-M", 1)
    settle(world)
    assert world.level(world.source, "SHIRT-M") == 8
    assert InventoryEffect.objects.count() == 0


def test_a_refund_without_restock_moves_nothing(emulator):
    world = build(emulator)
    reconcile_all(world)
    seller = world.destinations[1]
    order = emulator.order_create(seller, lines=[{"sku": "SHIRT-S", "quantity": 3}],
                                  financial_status="paid")
    settle(world)
    assert world.level(world.source, "SHIRT-S") == 7
    order_id = order.get("id") or order["order"]["id"]
    # when the destination refunds 2 of them without putting them back in stock
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/refund",
                   json={"lines": [{"sku": "SHIRT-S", "quantity": 2}], "restock": False})
    settle(world)
    # then the source and every destination keep the stock the sale left
    assert world.level(world.source, "SHIRT-S") == 7
    assert world.level(world.destinations[0], "SHIRT-S") == 7
    assert world.level(seller, "SHIRT-S") == 7
    assert list(InventoryEffect.objects.values_list("kind", flat=True)) == ["sale"]


def test_a_destination_following_two_sources_keeps_each_apart(emulator):
    # given destination 1 following the usual source and a second one with its own catalogue
    world = build(emulator, destinations=1)
    reconcile_all(world)
    second = "src-2.myshopify.com"
    destination_domain = world.destinations[0]
    emulator.shop_create(second)
    emulator.install(second)
    second_source = shop_role_choose(shop=Shop.objects.get(domain=second), role="source")
    destination = Shop.objects.get(domain=destination_domain)
    connection_create(destination=destination, store_key=second_source.store_key)
    second_world = build_second_source(emulator, world, second)
    reconcile_all(world)
    first_connection = Connection.objects.get(source__domain=world.source)
    second_connection = Connection.objects.get(source__domain=second)
    assert second_world.level(destination_domain, "MUG-1") == 12
    # and a safety stock of 2 for the first source only
    settings_save(first_connection, safety_stock=2)
    settle(world)
    assert world.level(destination_domain, "TOTE-1") == 23
    assert second_world.level(destination_domain, "MUG-1") == 12
    # when the destination sells a tote and a mug in one order
    emulator.order_create(destination_domain, financial_status="paid", lines=[
        {"sku": "TOTE-1", "quantity": 1}, {"sku": "MUG-1", "quantity": 4}])
    settle(world)
    # then each source loses only its own product, and the destination follows each
    assert world.level(world.source, "TOTE-1") == 24
    assert second_world.level(second, "MUG-1") == 8
    assert world.level(destination_domain, "TOTE-1") == 22
    assert second_world.level(destination_domain, "MUG-1") == 8
    effects = dict(InventoryEffect.objects.values_list("source__domain", "delta"))
    assert effects == {world.source: -1, second: -4}
    # and each source's history holds only its own products' changes
    first_fields = set(SyncEvent.objects.filter(connection=first_connection,
                                                kind=SyncEvent.Kind.INVENTORY)
                       .values_list("product_link__source_product__title", flat=True))
    second_fields = set(SyncEvent.objects.filter(connection=second_connection,
                                                 kind=SyncEvent.Kind.INVENTORY)
                        .values_list("product_link__source_product__title", flat=True))
    assert "Enamel mug" not in first_fields
    assert second_fields == {"Enamel mug"}


def build_second_source(emulator, world, second: str):
    """The second source's one product, at the source and the destination, linked by SKU."""
    destination_domain = world.destinations[0]
    emulator.product_create(second, title="Enamel mug", vendor="Acme",
                            variants=[{"sku": "MUG-1", "price": "8.00", "available": 12}])
    emulator.product_create(destination_domain, title="Enamel mug", vendor="Acme",
                            variants=[{"sku": "MUG-1", "price": "8.00", "available": 0}])
    emulator.flush_webhooks()
    second_shop = Shop.objects.get(domain=second)
    connection = Connection.objects.get(source=second_shop)
    source_product = emulator.shop(second)["products"][0]
    dest_product = next(p for p in emulator.shop(destination_domain)["products"]
                        if p["title"] == "Enamel mug")
    mirror, _ = SourceProduct.objects.update_or_create(
        shop=second_shop, shopify_id=source_product["id"], defaults={"title": "Enamel mug"})
    variant = source_product["variants"][0]
    source_variant, _ = SourceVariant.objects.update_or_create(
        shop=second_shop, shopify_id=variant["id"],
        defaults={"product": mirror, "sku": "MUG-1",
                  "inventory_item_id": variant["inventory_item_id"]})
    product_link = ProductLink.objects.create(connection=connection, source_product=mirror,
                                              origin="mapped",
                                              destination_product_id=dest_product["id"])
    dest_variant = dest_product["variants"][0]
    VariantLink.objects.create(connection=connection, product_link=product_link,
                               source_variant=source_variant,
                               destination_variant_id=dest_variant["id"],
                               destination_inventory_item_id=dest_variant["inventory_item_id"])
    second_world = World(emulator=emulator, source=second, destinations=[destination_domain])
    second_world.items["MUG-1"] = {second: (variant["id"], variant["inventory_item_id"]),
                                   destination_domain: (dest_variant["id"],
                                                        dest_variant["inventory_item_id"])}
    return second_world


def locations_of(emulator, shop: str) -> tuple[int, int]:
    """(primary, second) location ids: every emulator shop has two."""
    snapshot = emulator.shop(shop, orders=False)
    primary = snapshot["primary_location_id"]
    second = next(loc["id"] for loc in snapshot["locations"] if loc["id"] != primary)
    return primary, second


def level_at(emulator, shop: str, item_id: int, location_id: int) -> int | None:
    for level in emulator.shop(shop, orders=False)["inventory_levels"]:
        if (level["inventory_item_id"], level["location_id"]) == (item_id, location_id):
            return level["available"]
    return None


def test_stock_shared_over_two_source_locations_sums_and_sales_come_from_the_chosen_one(
        emulator):
    world = build(emulator)
    reconcile_all(world)
    primary, second = locations_of(emulator, world.source)
    item = world.items["SHIRT-S"][world.source][1]
    # given 5 more shirts at the source's second location, shared with destinations, and
    # destination sales taken from that location
    emulator._json("POST", f"/_emulator/shops/{world.source}/inventory",
                   json={"sku": "SHIRT-S", "available": 5, "location_id": second})
    inventory_flush_on_commit(source_locations_save(
        source=Shop.objects.get(domain=world.source), shared_location_ids=[primary, second],
        decrement_location_id=second))
    settle(world)
    # then each destination shows the sum of both
    assert world.level(world.destinations[0], "SHIRT-S") == 15
    assert world.level(world.destinations[1], "SHIRT-S") == 15
    # when destination 1 sells 2
    emulator.order_create(world.destinations[0], lines=[{"sku": "SHIRT-S", "quantity": 2}],
                          financial_status="paid")
    settle(world)
    # then they come off the second location, the primary keeps its 10, and both show 13
    assert level_at(emulator, world.source, item, second) == 3
    assert level_at(emulator, world.source, item, primary) == 10
    assert world.level(world.destinations[1], "SHIRT-S") == 13
    effect = InventoryEffect.objects.get()
    assert (effect.location_id, effect.delta) == (second, -2)


def test_a_location_the_source_does_not_share_is_left_out(emulator):
    world = build(emulator)
    reconcile_all(world)
    primary, second = locations_of(emulator, world.source)
    # given a source that shares its primary location only (all are shared until it chooses)
    inventory_flush_on_commit(source_locations_save(
        source=Shop.objects.get(domain=world.source), shared_location_ids=[primary],
        decrement_location_id=primary))
    # when it stocks 40 totes at its second location
    emulator._json("POST", f"/_emulator/shops/{world.source}/inventory",
                   json={"sku": "TOTE-1", "available": 40, "location_id": second})
    settle(world)
    # then destinations still show the primary location's 25
    assert world.level(world.destinations[0], "TOTE-1") == 25
    assert world.level(world.destinations[1], "TOTE-1") == 25
    # and a change at the primary location still reaches them
    source_adjust(world, "TOTE-1", delta=-5)
    settle(world)
    assert world.level(world.destinations[0], "TOTE-1") == 20


def destination_2_reconciled(emulator) -> tuple[World, str, tuple[int, int]]:
    """The usual world after a first reconciliation: destination 2 and its (primary, second)
    locations."""
    world = build(emulator)
    reconcile_all(world)
    receiver = world.destinations[1]
    return world, receiver, locations_of(emulator, receiver)


def test_a_destination_receives_at_the_location_it_chose(emulator):
    world, receiver, (primary, second) = destination_2_reconciled(emulator)
    connection = Connection.objects.get(destination__domain=receiver)
    # when destination 2 chooses its second location to receive the source's stock
    settings_save(connection, destination_location_id=second)
    settle(world)
    item = world.items["SHIRT-M"][receiver][1]
    # then the source's stock is written there, and moved out of the primary location: on sale
    # at both, the store would offer the source's 8 shirts twice
    assert level_at(emulator, receiver, item, second) == 8
    assert level_at(emulator, receiver, item, primary) == 0
    assert sorted(SyncEvent.objects.filter(location_id=primary, to_value="0").values_list(
        "from_value", "cause")) == [
        (quantity, "this source's stock is kept at Second location (your receiving location) "
                   "only: set to 0 at Main warehouse") for quantity in ("10", "25", "8")]
    # and a source change lands there too, not at its primary location
    source_adjust(world, "SHIRT-M", delta=-3)
    settle(world)
    assert level_at(emulator, receiver, item, second) == 5
    assert level_at(emulator, receiver, item, primary) == 0
    # and the other destination, which did not move, keeps its stock where it was
    assert world.level(world.destinations[0], "SHIRT-M") == 5


def test_a_move_reads_the_new_location_even_for_a_link_never_written_by_the_engine(emulator):
    # given destination 2's medium shirt as an import leaves it: 8 written at the primary
    # location by the import itself, no stock row yet
    world, receiver, (primary, second) = destination_2_reconciled(emulator)
    link = VariantLink.objects.get(connection__destination__domain=receiver,
                                   source_variant__sku="SHIRT-M")
    DestinationStock.objects.filter(variant_link=link).delete()
    VariantLink.objects.filter(pk=link.pk).update(last_written_quantity=8)
    # when the destination moves its receiving location to the second one
    settings_save(Connection.objects.get(destination__domain=receiver),
                  destination_location_id=second)
    settle(world)
    # then the 8 are written at the second location (not believed there already) and leave
    # the primary one
    item = world.items["SHIRT-M"][receiver][1]
    assert (level_at(emulator, receiver, item, second),
            level_at(emulator, receiver, item, primary)) == (8, 0)


def test_the_location_left_is_not_emptied_once_it_receives_again(emulator):
    # given destination 2 moved to its second location and straight back to the primary one,
    # the primary location's emptying still waiting
    world, receiver, (primary, _) = destination_2_reconciled(emulator)
    connection = Connection.objects.get(destination__domain=receiver)
    Connection.objects.filter(pk=connection.pk).update(destination_location_id=primary,
                                                       stock_to_clear={str(primary): "all"})
    # when it runs
    zeroed = stock_to_clear_apply(connection_id=connection.pk)
    # then it changes nothing there, where the stock lands again, and is done
    assert zeroed == 0
    assert world.level(receiver, "SHIRT-M") == 8
    assert SyncEvent.objects.filter(location_id=primary, to_value="0").count() == 0
    assert Connection.objects.get(pk=connection.pk).stock_to_clear == {}


def test_a_location_left_whose_task_was_lost_is_emptied_by_the_sweeper(emulator):
    # given destination 2 receiving at its second location, the primary one still holding the
    # source's stock because the task that was to empty it was lost
    world, receiver, (primary, second) = destination_2_reconciled(emulator)
    connection = Connection.objects.get(destination__domain=receiver)
    inventory_flush_on_commit(connection_inventory_save(
        connection=connection, destination_location_id=second, safety_stock=0,
        count_pending_orders=False, stock_percent=100, stock_max=None, draft_below=None))
    settle(world)
    assert world.level(receiver, "SHIRT-M") == 8
    # when the inventory sweeper runs a minute later
    Connection.objects.filter(pk=connection.pk).update(
        stock_to_clear_since=timezone.now() - timedelta(minutes=1))
    inventory_sweep_task()
    # then the primary location is emptied, and nothing is left to do
    assert world.levels(receiver) == {"SHIRT-S": 0, "SHIRT-M": 0, "TOTE-1": 0}
    assert (Connection.objects.values_list("stock_to_clear", "stock_to_clear_since")
            .get(pk=connection.pk)) == ({}, None)


def test_stocking_at_a_new_location_echoes_no_drift_when_its_echo_comes_last(emulator):
    # given destination 2 receiving at its second location, where Syncer stocked the shirts
    # (activated at 0) and wrote 8
    world, receiver, (_, second) = destination_2_reconciled(emulator)
    settings_save(Connection.objects.get(destination__domain=receiver),
                  destination_location_id=second)
    settle(world)
    stock = DestinationStock.objects.get(destination__domain=receiver, location_id=second,
                                         variant_link__source_variant__sku="SHIRT-M")
    item = world.items["SHIRT-M"][receiver][1]
    # when the activation's level webhook (0) arrives after the write, in the same second
    flush = destination_level_changed(
        destination=stock.destination, inventory_item_id=item, location_id=second,
        available=0, updated_at=stock.last_written_at)
    # then it is no hand edit, and the next source change is written at once
    assert flush == set()
    assert SyncEvent.objects.filter(kind="drift").count() == 0
    source_adjust(world, "SHIRT-M", delta=-3)
    settle(world)
    assert level_at(emulator, receiver, item, second) == 5


def test_a_sale_applied_at_the_source_lowers_every_target_before_the_sources_webhook(emulator):
    # given a sale of 2 shirts at destination 1, waiting to be taken off the source
    world = build(emulator)
    reconcile_all(world)
    seller = Shop.objects.get(domain=world.destinations[0])
    source = Shop.objects.get(domain=world.source)
    item = world.items["SHIRT-S"][world.source][1]
    effect = InventoryEffect.objects.create(
        destination=seller, source=source, kind=InventoryEffect.Kind.SALE, key="line-1",
        order_id=1, line_item_id=1, inventory_item_id=item,
        location_id=source_decrement_location_id(source=source), delta=-2,
        idempotency_key="syncer-sale-test-1")
    # when it is applied, the source's own inventory_levels/update held back by Shopify
    emulator.faults(webhook_delay_ms=5_000)
    to_flush = inventory_effect_apply(effect_id=effect.pk)
    emulator.faults(webhook_delay_ms=0)
    # then the source's level is known at once from Shopify's answer, and both destinations'
    # targets already hold 8: no flush in between can hand the seller its 2 back
    assert SourceLevel.objects.get(shop=source, inventory_item_id=item).available == 8
    assert to_flush == {seller.pk, Shop.objects.get(domain=world.destinations[1]).pk}
    assert sorted(DestinationStock.objects.filter(
        variant_link__source_variant__inventory_item_id=item).values_list("target", flat=True)
    ) == [8, 8]


def test_a_refund_restocked_at_the_location_left_is_taken_off_there(emulator):
    # given destination 2 sold a shirt from its primary location, then moved its receiving
    # location to the second one
    world, receiver, (primary, second) = destination_2_reconciled(emulator)
    order = emulator.order_create(receiver, lines=[{"sku": "SHIRT-M", "quantity": 1}],
                                  financial_status="paid")
    settle(world)
    settings_save(Connection.objects.get(destination__domain=receiver),
                  destination_location_id=second)
    settle(world)
    item = world.items["SHIRT-M"][receiver][1]
    assert (level_at(emulator, receiver, item, second),
            level_at(emulator, receiver, item, primary)) == (7, 0)
    # when the order is refunded and Shopify restocks the shirt where it was sold from
    order_id = order.get("id") or order["order"]["id"]
    emulator._json("POST", f"/_emulator/shops/{receiver}/orders/{order_id}/refund",
                   json={"lines": [{"sku": "SHIRT-M", "quantity": 1}], "restock": True})
    settle(world)
    # then the source has it back and so has the receiving location, and it is no longer on
    # sale at the primary location too
    assert world.level(world.source, "SHIRT-M") == 8
    assert (level_at(emulator, receiver, item, second),
            level_at(emulator, receiver, item, primary)) == (8, 0)
    assert Connection.objects.get(destination__domain=receiver).stock_to_clear == {}


def test_stock_of_a_variant_not_synced_is_left_at_any_location(emulator):
    # given destination 2's totes not synced (auto sync off): their stock is the merchant's
    world, receiver, (_, second) = destination_2_reconciled(emulator)
    ProductLink.objects.filter(connection__destination__domain=receiver,
                               source_product__title="Canvas tote").update(auto_sync=False)
    # when the merchant stocks 4 of them at the second location, which receives nothing
    emulator._json("POST", f"/_emulator/shops/{receiver}/inventory",
                   json={"sku": "TOTE-1", "available": 4, "location_id": second})
    settle(world)
    # then they stay there, and nothing is queued to empty it
    assert level_at(emulator, receiver, world.items["TOTE-1"][receiver][1], second) == 4
    assert Connection.objects.get(destination__domain=receiver).stock_to_clear == {}


def test_stock_at_another_location_whose_webhook_was_lost_is_found_by_the_reconciliation(
        emulator):
    # given 3 shirts put at destination 2's second location (it receives at the primary one),
    # Shopify's webhook of it lost
    world, receiver, (primary, second) = destination_2_reconciled(emulator)
    emulator.faults(webhook_drop_rate=1.0)
    emulator._json("POST", f"/_emulator/shops/{receiver}/inventory",
                   json={"sku": "SHIRT-M", "available": 3, "location_id": second})
    emulator.faults(webhook_drop_rate=0.0)
    settle(world)
    item = world.items["SHIRT-M"][receiver][1]
    assert level_at(emulator, receiver, item, second) == 3
    # when the reconciliation runs, then the sweeper
    reconcile_all(world)
    settle(world)
    # then they are no longer on sale beside the source's 8
    assert (level_at(emulator, receiver, item, primary),
            level_at(emulator, receiver, item, second)) == (8, 0)


def test_an_order_paid_before_its_creation_arrives_holds_nothing(emulator, client):
    # given destination 1's unpaid order of 3 shirts whose orders/paid webhook overtakes its
    # orders/create (Shopify sends them in any order)
    world = build(emulator)
    reconcile_all(world)
    seller = world.destinations[0]
    link = VariantLink.objects.get(connection__destination__domain=seller,
                                   source_variant__sku="SHIRT-S")
    order = {"id": 880001, "name": "#1001", "line_items": [
        {"id": 990001, "variant_id": link.destination_variant_id, "quantity": 3}]}
    for topic, status in (("orders/paid", "paid"), ("orders/create", "pending")):
        body = json.dumps({**order, "financial_status": status}).encode()
        answer = client.post("/webhooks/shopify", data=body, content_type="application/json",
                             headers=webhook_headers(topic=topic, shop=seller, body=body))
        assert answer.json() == {"status": "accepted"}
    settle(world)
    # then the sale moves the source once and nothing stays held at the store
    hold = DestinationHold.objects.get()
    assert (hold.quantity, hold.released_at is not None) == (3, True)
    assert list(InventoryEffect.objects.values_list("kind", "delta")) == [("sale", -3)]
    assert world.level(world.source, "SHIRT-S") == 7


def test_a_hold_is_released_when_paid_even_if_the_store_now_counts_pending_orders(
        emulator, shirts_held):
    # given an unpaid order holding 3 shirts at destination 1, which then starts counting
    # pending orders
    world, seller, other, order_id = shirts_held
    counting_pending(Connection.objects.get(destination__domain=seller), on=True)
    # when the order is paid
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/pay")
    settle(world)
    drift_grace_over(world)
    # then the hold is gone and the sale moved the source once
    assert DestinationHold.objects.filter(released_at__isnull=True).count() == 0
    assert [world.level(shop, "SHIRT-S") for shop in (world.source, seller, other)] == [7, 7, 7]


def test_a_paid_orders_units_are_not_offered_again_before_its_sale_is_counted(emulator,
                                                                             shirts_held):
    # given an unpaid order holding 3 of the source's 10 shirts at destination 1
    world, seller, other, order_id = shirts_held
    destination = Shop.objects.get(domain=seller)
    hold = DestinationHold.objects.get()
    link = VariantLink.objects.get(pk=hold.variant_link_id)
    # when its payment releases the hold and the store is flushed at once, before its sale
    # has moved the source (Syncer still holds the source's 10)
    inventory_flush_on_commit(destination_holds_release(destination=destination, paid=True,
                                                        payload={"id": order_id, "line_items": [
        {"id": hold.line_item_id, "variant_id": link.destination_variant_id, "quantity": 3}]}))
    inventory_flush_destination_task(destination.pk)
    # then the store does not offer the 3 again meanwhile: the raise waits for the sale
    assert world.level(seller, "SHIRT-S") == 7
    assert DestinationStock.objects.get(variant_link=link).due_at > timezone.now()
