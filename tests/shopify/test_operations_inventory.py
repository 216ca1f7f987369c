"""Inventory operations against the emulator: the dataclasses they return, what they change (read
back from the emulator's state), and the typed errors Shopify's refusals become."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from syncer.shopify.errors import ShopifyUserErrors
from syncer.shopify.operations.inventory import (
    IdempotencyMismatch,
    InventoryLevel,
    Location,
    QuantitySet,
    QuantityStale,
    inventory_activate,
    inventory_levels_changed_read,
    inventory_levels_read,
    inventory_quantities_set,
    inventory_quantity_adjust,
    locations_read,
)


@pytest.fixture
def item(emulator, shop) -> dict[str, Any]:
    product = emulator.product_create(shop["domain"], title="Bag", variants=[
        {"sku": "BAG", "price": "5.00", "available": 3}])
    return {"id": product["variants"][0]["inventory_item_id"],
            "main": shop["locations"][0]["id"], "second": shop["locations"][1]["id"]}


def _available(emulator, shop, item_id: int) -> dict[int, int]:
    levels = emulator.control.get(f"/_emulator/shops/{shop['domain']}").json()["inventory_levels"]
    return {level["location_id"]: level["available"] for level in levels
            if level["inventory_item_id"] == item_id}


def test_locations_read_returns_each_location(session, shop):
    assert locations_read(session=session) == [
        Location(id=location["id"], name=location["name"], is_active=True)
        for location in shop["locations"]]


def test_levels_read_yields_each_stocked_location_and_nothing_for_unknown_items(session, item):
    levels = list(inventory_levels_read(session=session,
                                        inventory_item_ids=[item["id"], 999999999]))
    assert [(level.inventory_item_id, level.location_id, level.available)
            for level in levels] == [(item["id"], item["main"], 3)]
    assert isinstance(levels[0], InventoryLevel)
    assert levels[0].updated_at is not None


def test_quantities_set_compares_and_sets(session, emulator, shop, item):
    # when the level is set from what it is
    inventory_quantities_set(
        session=session, reason="correction", reference_document_uri="gid://syncer/Test/1",
        idempotency_key="k-set-1", quantities=[QuantitySet(
            inventory_item_id=item["id"], location_id=item["main"], quantity=7,
            change_from_quantity=3)])
    # then it is what we set
    assert _available(emulator, shop, item["id"]) == {item["main"]: 7}


def test_quantities_set_from_a_stale_quantity_raises_quantity_stale_and_changes_nothing(
        session, emulator, shop, item):
    with pytest.raises(QuantityStale) as raised:
        inventory_quantities_set(
            session=session, reason="correction", reference_document_uri="gid://syncer/Test/1",
            idempotency_key="k-stale", quantities=[QuantitySet(
                inventory_item_id=item["id"], location_id=item["main"], quantity=7,
                change_from_quantity=2)])
    assert raised.value.codes == ["CHANGE_FROM_QUANTITY_STALE"]
    assert _available(emulator, shop, item["id"]) == {item["main"]: 3}


def test_a_reused_key_with_other_quantities_raises_idempotency_mismatch(session, emulator, shop,
                                                                        item):
    def set_to(quantity: int) -> None:
        inventory_quantities_set(
            session=session, reason="correction", reference_document_uri="gid://syncer/Test/1",
            idempotency_key="k-reused", quantities=[QuantitySet(
                inventory_item_id=item["id"], location_id=item["main"], quantity=quantity,
                change_from_quantity=3)])

    set_to(5)
    with pytest.raises(IdempotencyMismatch):
        set_to(6)
    assert _available(emulator, shop, item["id"]) == {item["main"]: 5}


def test_activate_stocks_the_item_at_another_location(session, emulator, shop, item):
    inventory_activate(session=session, inventory_item_id=item["id"],
                       location_id=item["second"], idempotency_key="k-activate", available=4)
    assert _available(emulator, shop, item["id"]) == {item["main"]: 3, item["second"]: 4}


def test_activate_of_an_unknown_item_raises_user_errors(session, item):
    with pytest.raises(ShopifyUserErrors):
        inventory_activate(session=session, inventory_item_id=999999999,
                           location_id=item["main"], idempotency_key="k-unknown")


def test_quantity_adjust_moves_by_delta(session, emulator, shop, item):
    inventory_quantity_adjust(session=session, inventory_item_id=item["id"],
                              location_id=item["main"], delta=-2, reason="correction",
                              reference_document_uri="gid://syncer/Test/2",
                              idempotency_key="k-adjust")
    assert _available(emulator, shop, item["id"]) == {item["main"]: 1}


def test_changed_levels_read_returns_only_the_levels_changed_since(session, emulator, shop):
    # given five items, then (from the next second on) two of them changed at one location
    product = emulator.product_create(shop["domain"], title="Socks", variants=[
        {"sku": f"SOCK-{n}", "price": "5.00", "available": 3} for n in range(5)])
    items = [variant["inventory_item_id"] for variant in product["variants"]]
    time.sleep(1.05 - time.time() % 1)
    since = datetime.now(UTC)
    for sku, available in (("SOCK-1", 7), ("SOCK-3", 0)):
        response = emulator.control.post(f"/_emulator/shops/{shop['domain']}/inventory",
                                          json={"sku": sku, "available": available})
        assert response.status_code == 200, response.text
    # when the levels changed since are read, one per page
    read = inventory_levels_changed_read(session=session, location_id=shop["primary_location_id"],
                                         updated_after=since, page_size=1)
    # then there are those two, with their level's time, in two requests
    assert [(level.inventory_item_id, level.available) for level in read.levels] == [
        (items[1], 7), (items[3], 0)]
    assert all(level.updated_at is not None and level.updated_at >= since.replace(microsecond=0)
               for level in read.levels)
    assert (read.complete, read.requests) == (True, 2)
    # and a read capped at one level stops after the first page and says so
    capped = inventory_levels_changed_read(session=session, location_id=shop["primary_location_id"],
                                           updated_after=since, page_size=1, max_levels=1)
    assert ([level.inventory_item_id for level in capped.levels], capped.complete) == (
        [items[1]], False)
