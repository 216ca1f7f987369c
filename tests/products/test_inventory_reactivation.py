"""Items unstocked at a location (issue 24, Shopify 2026-04): the level stays, inactive, with
its quantities. At a destination's receiving location an inventoryActivate without quantities
brings them back, not 0, and a later unstocking needs a later activation, not a replay; at a
source's shared location they sell nothing and must stop counting (at once: Syncer takes
inventory_levels/disconnect; and at the next reconciliation, which forgets the level)."""

import json
from datetime import datetime, timedelta

import pytest

from products.inventory.settings import source_locations_save
from products.inventory.tasks import inventory_flush_on_commit
from products.models import DestinationStock, SourceLevel
from stores.models import Connection, Shop
from tests.products.inventory_world import build, source_adjust
from tests.products.test_inventory_engine import reconcile_all, settle
from tests.products.test_stock_paths import (
    destination_2_reconciled,
    level_at,
    locations_of,
    settings_save,
)
from tests.webhooks.conftest import webhook_headers

pytestmark = pytest.mark.django_db(transaction=True)


def unstock(emulator, shop: str, sku: str, location_id: int) -> None:
    """The merchant unstocks the item at the location in the admin (the level stays, inactive,
    with its quantities)."""
    emulator._json("POST", f"/_emulator/shops/{shop}/inventory/deactivate",
                   json={"sku": sku, "location_id": location_id})


def test_a_reactivated_receiving_location_is_written_from_what_it_holds_not_from_zero(emulator):
    # given a source out of SHIRT-M, and destination 2 whose second location held 6 of them
    # before its merchant unstocked the item there
    world = build(emulator)
    reconcile_all(world)
    source_adjust(world, "SHIRT-M", available=0)
    settle(world)
    receiver = world.destinations[1]
    primary, second = locations_of(emulator, receiver)
    item = world.items["SHIRT-M"][receiver][1]
    emulator._json("POST", f"/_emulator/shops/{receiver}/inventory",
                   json={"sku": "SHIRT-M", "available": 6, "location_id": second})
    unstock(emulator, receiver, "SHIRT-M", second)
    settle(world)  # the merchant's edit is heard before the location changes
    assert level_at(emulator, receiver, item, second) is None
    # when destination 2 chooses that location to receive the source's stock
    settings_save(Connection.objects.get(destination__domain=receiver),
                  destination_location_id=second)
    settle(world)
    # then the item is stocked there again, its 6 came back with it, and Syncer wrote the
    # source's 0 over them: the 6 are not left on sale
    assert level_at(emulator, receiver, item, second) == 0
    stock = DestinationStock.objects.get(variant_link__destination_inventory_item_id=item)
    # (The activation's own level webhook, 6, may reach Syncer after the write of 0 within
    # Shopify's one-second resolution: it is then taken for a hand edit and the 0 written
    # again after the drift grace. Either way the store holds 0, which is what matters.)
    assert (stock.location_id, stock.target) == (second, 0)
    assert stock.known_quantity in (0, 6)
    assert stock.dirty is (stock.known_quantity != 0)
    assert level_at(emulator, receiver, item, primary) == 0


def test_a_location_unstocked_again_is_stocked_again_by_the_next_write(emulator):
    # given destination 2 receiving SHIRT-M at its second location, written there once
    world, receiver, (_primary, second) = destination_2_reconciled(emulator)
    item = world.items["SHIRT-M"][receiver][1]
    settings_save(Connection.objects.get(destination__domain=receiver),
                  destination_location_id=second)
    settle(world)
    assert level_at(emulator, receiver, item, second) == 8
    # when its merchant unstocks the item there, and then the source's stock changes
    unstock(emulator, receiver, "SHIRT-M", second)
    source_adjust(world, "SHIRT-M", delta=-3)
    settle(world)
    # then Syncer stocks it there again (a new activation, not a replay of the first one) and
    # writes the source's 5
    assert level_at(emulator, receiver, item, second) == 5
    assert world.level(world.destinations[0], "SHIRT-M") == 5


def five_more_shirts_at_a_second_shared_location(emulator):
    """The world with SHIRT-S also stocked (5) at the source's second location, both shared:
    every destination shows 15. Returns (world, primary location, second location)."""
    world = build(emulator)
    reconcile_all(world)
    primary, second = locations_of(emulator, world.source)
    emulator._json("POST", f"/_emulator/shops/{world.source}/inventory",
                   json={"sku": "SHIRT-S", "available": 5, "location_id": second})
    inventory_flush_on_commit(source_locations_save(
        source=Shop.objects.get(domain=world.source), shared_location_ids=[primary, second],
        decrement_location_id=primary))
    settle(world)
    assert world.level(world.destinations[0], "SHIRT-S") == 15
    return world, primary, second


@pytest.mark.parametrize("read", ["paged", "bulk"])
def test_stock_unstocked_at_a_shared_source_location_stops_counting_at_reconciliation(
        emulator, settings, read):
    if read == "bulk":  # every level of the shop from one bulk query, in any order
        settings.INVENTORY_BULK_READ_MIN_ITEMS = 1
    # given 5 more shirts at the source's second location, shared: destinations show 15
    world, primary, second = five_more_shirts_at_a_second_shared_location(emulator)
    # when the source's merchant unstocks the shirt at the second location (the 5 stay on the
    # inactive level, unsellable) and reconciliation runs
    unstock(emulator, world.source, "SHIRT-S", second)
    reconcile_all(world)
    settle(world)
    # then only the primary location's 10 count: every destination shows 10
    item = world.items["SHIRT-S"][world.source][1]
    assert list(SourceLevel.objects.filter(inventory_item_id=item).values_list(
        "location_id", "available")) == [(primary, 10)]
    assert world.level(world.destinations[0], "SHIRT-S") == 10
    assert world.level(world.destinations[1], "SHIRT-S") == 10
    # and the other items' levels are kept
    assert world.level(world.destinations[0], "TOTE-1") == 25


def test_stock_unstocked_at_a_shared_source_location_stops_counting_at_once(emulator):
    # given 5 more shirts at the source's second location, shared: destinations show 15
    world, primary, second = five_more_shirts_at_a_second_shared_location(emulator)
    # when the source's merchant unstocks the shirt at the second location (Shopify sends
    # inventory_levels/disconnect), with no reconciliation
    unstock(emulator, world.source, "SHIRT-S", second)
    settle(world)
    # then only the primary location's 10 count, at once: every destination shows 10
    item = world.items["SHIRT-S"][world.source][1]
    assert sorted(SourceLevel.objects.filter(inventory_item_id=item).values_list(
        "location_id", "available")) == sorted([(primary, 10), (second, 0)])
    assert world.level(world.destinations[0], "SHIRT-S") == 10
    assert world.level(world.destinations[1], "SHIRT-S") == 10
    # and the other items are untouched
    assert world.level(world.destinations[0], "TOTE-1") == 25



def level_delivered(client, topic: str, shop: str, payload: dict, *,
                    triggered_at: datetime) -> None:
    """A level webhook through the real endpoint, triggered at the given time."""
    body = json.dumps(payload).encode()
    headers = webhook_headers(topic=topic, shop=shop, body=body)
    headers["X-Shopify-Triggered-At"] = triggered_at.isoformat().replace("+00:00", "Z")
    answer = client.post("/webhooks/shopify", data=body, content_type="application/json",
                         headers=headers)
    assert answer.json() == {"status": "accepted"}


def second_shirt_level(world, second: int) -> SourceLevel:
    return SourceLevel.objects.get(inventory_item_id=world.items["SHIRT-S"][world.source][1],
                                   location_id=second)


def test_a_disconnect_that_arrives_after_the_item_was_stocked_again_changes_nothing(emulator,
                                                                                   client):
    # given 5 shirts at the source's second shared location, last changed at `changed`
    world, _, second = five_more_shirts_at_a_second_shared_location(emulator)
    changed = second_shirt_level(world, second).shopify_updated_at
    # when a disconnect of that level triggered a second before that change arrives only now
    level_delivered(client, "inventory_levels/disconnect", world.source, {
        "inventory_item_id": world.items["SHIRT-S"][world.source][1], "location_id": second,
    }, triggered_at=changed - timedelta(seconds=1))
    settle(world)
    # then the level still counts: every destination shows 15
    level = second_shirt_level(world, second)
    assert (level.available, level.shopify_updated_at) == (5, changed)
    assert world.level(world.destinations[0], "SHIRT-S") == 15
    assert world.level(world.destinations[1], "SHIRT-S") == 15


def test_a_level_update_from_before_the_unstocking_that_arrives_late_counts_nothing(emulator,
                                                                                  client):
    # given 5 shirts at the source's second shared location, last changed at `changed`, and
    # the merchant unstocking the shirt there 2 seconds later
    world, _, second = five_more_shirts_at_a_second_shared_location(emulator)
    changed = second_shirt_level(world, second).shopify_updated_at
    item = world.items["SHIRT-S"][world.source][1]
    unstocked = changed + timedelta(seconds=2)
    level_delivered(client, "inventory_levels/disconnect", world.source,
                    {"inventory_item_id": item, "location_id": second}, triggered_at=unstocked)
    settle(world)
    assert world.level(world.destinations[0], "SHIRT-S") == 10
    # when a level update of 7 made a second before the unstocking arrives only now
    level_delivered(client, "inventory_levels/update", world.source, {
        "inventory_item_id": item, "location_id": second, "available": 7,
        "updated_at": (unstocked - timedelta(seconds=1)).isoformat(),
    }, triggered_at=unstocked - timedelta(seconds=1))
    settle(world)
    # then it is stale: the unstocked level stays at 0 and every destination shows 10
    level = second_shirt_level(world, second)
    assert (level.available, level.shopify_updated_at) == (0, unstocked)
    assert world.level(world.destinations[0], "SHIRT-S") == 10
    assert world.level(world.destinations[1], "SHIRT-S") == 10
