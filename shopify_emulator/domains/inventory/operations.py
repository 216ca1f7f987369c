"""Inventory levels: activating an item at a location, moving its quantities, and the
merchant's own edits in the admin (control API)."""

from __future__ import annotations

from shopify_emulator.domains.inventory.models import ON_HAND_PARTS, InventoryItem, InventoryLevel
from shopify_emulator.domains.inventory.rest import inventory_level, inventory_level_disconnect
from shopify_emulator.domains.locations.models import Location
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.world import EmulatorError, World

# ---- primitives (the caller holds the transaction)


ONLY_LOCATION = ("couldn't be unstocked from {name} because products need to be stocked at a "
                 "minimum of 1 location.")


def level_activate(*, world: World, item: InventoryItem, location: Location) -> InventoryLevel:
    """The item's level at the location, stocked there now if it was not. A level deactivated
    earlier comes back with the quantities it had (2026-04: activation no longer resets them)."""
    level = item.levels.get(location.id)
    if level is None and location.id in item.inactive_levels:
        level = item.inactive_levels.pop(location.id)
        level.updated_at = world.now()
        item.levels[location.id] = level
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


def level_deactivate(*, world: World, item: InventoryItem, location_id: int) -> InventoryLevel:
    """Unstocks the item at the location: its quantities leave every count and the location
    cannot take them any more, but the inactive level keeps them (readable with
    `includeInactive: true`) until it is activated again. The caller checks that another
    location still stocks the item."""
    level = item.levels.pop(location_id)
    level.updated_at = world.now()
    item.inactive_levels[location_id] = level
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


def inventory_deactivate(
    *, world: World, shop_domain: str, sku: str | None = None,
    inventory_item_id: int | None = None, location_id: int
) -> dict:
    """The merchant unstocks the item at a location in the admin (inventory_levels/disconnect).
    Refused, as Shopify refuses it, at the only location that stocks the item."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        if inventory_item_id is None:
            variant = shop.variant_by_sku(sku or "")
            if variant is None:
                raise EmulatorError(f"No variant with sku {sku!r} in {shop.domain}")
            inventory_item_id = variant.inventory_item_id
        item = shop.inventory_items.get(inventory_item_id)
        if item is None:
            raise EmulatorError(f"Unknown inventory item {inventory_item_id}")
        location = shop.locations.get(location_id)
        if location is None:
            raise EmulatorError(f"Unknown location {location_id}")
        if location_id not in item.levels:
            raise EmulatorError(f"{inventory_item_id} is not stocked at {location_id}")
        if len(item.levels) == 1:
            raise EmulatorError("The product " + ONLY_LOCATION.format(name=location.name))
        level = level_deactivate(world=world, item=item, location_id=location_id)
        world.emit(shop, "inventory_levels/disconnect", inventory_level_disconnect(level))
        return inventory_level(level)
