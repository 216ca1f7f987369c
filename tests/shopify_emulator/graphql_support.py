"""Shared helpers for the GraphQL emulator tests (a world, a shop, a way to call the API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shopify_emulator.domains.products.operations import product_create
from shopify_emulator.domains.shop.operations import shop_create
from shopify_emulator.graphql_api import execute
from shopify_emulator.ids import gid
from shopify_emulator.world import World

CAPTURES = Path("/work/shared/shopify/captures")
SHOP = "source.myshopify.com"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict]] = []

    def __call__(self, shop_domain: str, topic: str, payload: dict) -> None:
        self.events.append((shop_domain, topic, payload))

    @property
    def topics(self) -> list[str]:
        return [topic for _shop, topic, _payload in self.events]

    def of(self, topic: str) -> list[dict]:
        return [payload for _shop, t, payload in self.events if t == topic]


def make_world(
    *, skus: tuple[str, ...] = ("SKU-1",), available: int = 10
) -> tuple[World, Recorder]:
    world = World()
    recorder = Recorder()
    shop_create(world=world, domain=SHOP, name="Source")
    for sku in skus:
        product_create(
            world=world,
            shop_domain=SHOP,
            title=f"Product {sku}",
            vendor="Acme",
            tags=["summer"],
            variants=[{"sku": sku, "price": "10.00", "available": available}],
        )
    world.listeners.append(recorder)
    return world, recorder


def call(world: World, query: str, variables: dict | None = None, shop: str = SHOP) -> dict:
    status, body = execute(
        world, shop_domain=shop, body={"query": query, "variables": variables or {}},
        api_version="2026-07",
    )
    assert status == 200
    return json.loads(json.dumps(body))


def ids_for(world: World, sku: str) -> dict[str, Any]:
    shop = world.shop_get(SHOP)
    assert shop is not None
    variant = shop.variant_by_sku(sku)
    assert variant is not None
    return {
        "variant": gid("ProductVariant", variant.id),
        "product": gid("Product", variant.product_id),
        "item": gid("InventoryItem", variant.inventory_item_id),
        "item_id": variant.inventory_item_id,
        "location": gid("Location", shop.primary_location_id),
        "location_id": shop.primary_location_id,
        "second_location": gid("Location", [i for i in shop.locations
                                            if i != shop.primary_location_id][0]),
    }


def level_quantities(world: World, sku: str, location_id: int | None = None) -> dict[str, int]:
    shop = world.shop_get(SHOP)
    assert shop is not None
    variant = shop.variant_by_sku(sku)
    assert variant is not None
    level = shop.item_of(variant).levels[location_id or shop.primary_location_id]
    return {name: level.get(name) for name in ("available", "committed", "on_hand")}


def capture(relative: str) -> dict:
    return json.loads((CAPTURES / relative).read_text())


def document(name: str) -> str:
    return (CAPTURES / "documents" / name).read_text()


def remap(value: Any, mapping: dict[str, str]) -> Any:
    """Swap a capture's real gids for this world's (unknown ids are left as they are)."""
    if isinstance(value, dict):
        return {k: remap(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [remap(v, mapping) for v in value]
    if isinstance(value, str):
        return mapping.get(value, value)
    return value
