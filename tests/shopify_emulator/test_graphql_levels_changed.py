"""Levels changed since a time: each level keeps its own updated_at (a quantity change moves
that level's, however it was made), and `Location.inventoryLevels(query: "updated_at:…")`
filters on it with Shopify's search syntax, as the incremental reconciliation reads it."""

from __future__ import annotations

from datetime import UTC, datetime

from shopify_emulator.domains.inventory.operations import inventory_set_available
from shopify_emulator.domains.products.operations import product_create
from shopify_emulator.domains.shop.operations import shop_create
from shopify_emulator.world import World
from tests.shopify_emulator.graphql_support import SHOP, call, ids_for

START = 1_790_000_000  # 2026-09-21T14:13:20Z

LEVELS = """
query Levels($location: ID!, $query: String, $first: Int!, $after: String) {
  location(id: $location) {
    inventoryLevels(first: $first, after: $after, query: $query) {
      nodes { updatedAt item { sku } quantities(names: ["available"]) { quantity } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { code } }
}
"""


class Clock:
    def __init__(self) -> None:
        self.now = float(START)

    def __call__(self) -> float:
        return self.now


def world_at(clock: Clock, skus: tuple[str, ...]) -> World:
    world = World(clock=clock)
    shop_create(world=world, domain=SHOP, name="Source")
    for sku in skus:
        product_create(world=world, shop_domain=SHOP, title=sku, vendor="Acme", tags=[],
                       variants=[{"sku": sku, "price": "10.00", "available": 5}])
    return world


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def changed(world: World, query: str, *, first: int = 250) -> list[tuple[str, int, str]]:
    """(sku, available, updatedAt) of every level at the primary location the query matches,
    every page read."""
    location = ids_for(world, "A")["location"]
    found, after = [], None
    while True:
        body = call(world, LEVELS, {"location": location, "query": query, "first": first,
                                    "after": after})
        connection = body["data"]["location"]["inventoryLevels"]
        found += [(node["item"]["sku"], node["quantities"][0]["quantity"], node["updatedAt"])
                  for node in connection["nodes"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return found
        after = connection["pageInfo"]["endCursor"]


def test_a_quantity_change_moves_its_own_levels_updated_at() -> None:
    # given levels created at START
    clock = Clock()
    world = world_at(clock, ("A", "B", "C"))
    # when B is edited in the admin a minute later and C set through the API two minutes later
    clock.now = START + 60
    inventory_set_available(world=world, shop_domain=SHOP, sku="B", available=3)
    clock.now = START + 120
    ids = ids_for(world, "C")
    body = call(world, SET, {"key": "k-1", "input": {
        "name": "available", "reason": "correction", "quantities": [{
            "inventoryItemId": ids["item"], "locationId": ids["location"], "quantity": 9,
            "changeFromQuantity": 5}]}})
    assert body["data"]["inventorySetQuantities"]["userErrors"] == []
    # then the levels changed since START + 30 are B's and C's, each with its own time
    assert changed(world, f"updated_at:>'{iso(START + 30)}'") == [
        ("B", 3, iso(START + 60)), ("C", 9, iso(START + 120))]


def test_updated_at_comparisons_follow_the_search_syntax() -> None:
    clock = Clock()
    world = world_at(clock, ("A", "B"))
    clock.now = START + 60
    inventory_set_available(world=world, shop_domain=SHOP, sku="B", available=1)
    # strictly after the second of the change: nothing; at or after it (quoted or not): B
    assert changed(world, f"updated_at:>'{iso(START + 60)}'") == []
    assert changed(world, f"updated_at:>='{iso(START + 60)}'") == [("B", 1, iso(START + 60))]
    assert changed(world, f"updated_at:>={iso(START + 60)}") == [("B", 1, iso(START + 60))]
    # before: the level untouched since it was created
    assert changed(world, f"updated_at:<'{iso(START + 60)}'") == [("A", 5, iso(START))]


def test_a_filtered_read_pages_through_the_changed_levels_only() -> None:
    # given 7 items of which 5 changed
    clock = Clock()
    skus = tuple(f"S-{n}" for n in range(7))
    world = world_at(clock, ("A", *skus[1:]))
    clock.now = START + 10
    for sku in skus[2:]:
        inventory_set_available(world=world, shop_domain=SHOP, sku=sku, available=0)
    # when they are read two at a time
    found = changed(world, f"updated_at:>='{iso(START + 10)}'", first=2)
    # then every page holds changed levels only, each once
    assert [sku for sku, _, _ in found] == list(skus[2:])
