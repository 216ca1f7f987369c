"""Inventory levels: activating an item at a location, moving its quantities, and the
merchant's own edits in the admin (control API)."""

from __future__ import annotations

from shopify_emulator.domains.inventory.models import ON_HAND_PARTS, InventoryItem, InventoryLevel
from shopify_emulator.domains.inventory.rest import inventory_level
from shopify_emulator.domains.locations.models import Location
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.world import EmulatorError, World

# ---- primitives (the caller holds the transaction)


def level_activate(*, world: World, item: InventoryItem, location: Location) -> InventoryLevel:
    level = item.levels.get(location.id)
    if level is None:
        now = world.now()
        level = InventoryLevel(
            inventory_item_id=item.id,
            location_id=location.id,
            group_id=location.group_id,
            created_at=now,
            updated_at=now,
            quantities={name: 0 for name in ON_HAND_PARTS + ("incoming",)},
        )
        item.levels[location.id] = level
    return level


def level_change(*, world: World, level: InventoryLevel, name: str, delta: int) -> None:
    """Move one quantity state by ``delta`` (on_hand moves with its parts)."""
    if delta == 0:
        return
    if name == "on_hand":
        name = "available"
    now = world.now()
    level.quantities[name] = level.quantities.get(name, 0) + delta
    level.quantity_updated_at[name] = now
    level.updated_at = now


def level_find(*, shop: Shop, sku: str, location_id: int | None,
               world: World | None = None) -> InventoryLevel:
    """The SKU's level at the location (the primary one by default). With `world`, an item not
    yet stocked there is stocked first, as the admin's quantity field does when a merchant
    types a figure for a new location."""
    variant = shop.variant_by_sku(sku)
    if variant is None:
        raise EmulatorError(f"No variant with sku {sku!r} in {shop.domain}")
    item = shop.item_of(variant)
    location = shop.locations.get(location_id or shop.primary_location_id)
    if location is None:
        raise EmulatorError(f"Unknown location {location_id}")
    level = item.levels.get(location.id)
    if level is None and world is not None:
        level = level_activate(world=world, item=item, location=location)
    if level is None:
        raise EmulatorError(f"{sku!r} is not stocked at location {location.id}")
    return level


# ---- merchant edits


def inventory_set_available(
    *, world: World, shop_domain: str, sku: str, available: int, location_id: int | None = None
) -> dict:
    """The merchant types a new available quantity in the admin (at a location the item was
    not stocked at, it is stocked there first)."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        level = level_find(shop=shop, sku=sku, location_id=location_id, world=world)
        delta = int(available) - level.available
        if delta:
            level_change(world=world, level=level, name="available", delta=delta)
            world.emit(shop, "inventory_levels/update", inventory_level(level))
        return inventory_level(level)


def inventory_adjust_available(
    *, world: World, shop_domain: str, sku: str, delta: int, location_id: int | None = None
) -> dict:
    with world.transaction():
        shop = world.require_shop(shop_domain)
        level = level_find(shop=shop, sku=sku, location_id=location_id)
        if delta:
            level_change(world=world, level=level, name="available", delta=int(delta))
            world.emit(shop, "inventory_levels/update", inventory_level(level))
        return inventory_level(level)


def inventory_level_set(
    *,
    world: World,
    shop_domain: str,
    inventory_item_id: int,
    location_id: int | None = None,
    available: int | None = None,
    delta: int | None = None,
) -> dict:
    """Like inventory_set_available / _adjust_available, by inventory item id."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        item = shop.inventory_items.get(inventory_item_id)
        if item is None:
            raise EmulatorError(f"Unknown inventory item {inventory_item_id}")
        level = item.levels.get(location_id or shop.primary_location_id)
        if level is None:
            raise EmulatorError(f"{inventory_item_id} is not stocked at {location_id}")
        change = int(available) - level.available if available is not None else int(delta or 0)
        if change:
            level_change(world=world, level=level, name="available", delta=change)
            world.emit(shop, "inventory_levels/update", inventory_level(level))
        return inventory_level(level)
