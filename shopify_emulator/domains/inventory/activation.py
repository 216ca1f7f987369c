"""Where an item is stocked: inventoryActivate, inventoryDeactivate and
inventoryBulkToggleActivation, with Shopify's 2026-04 semantics.

Deactivating keeps the level, inactive, with its quantities (``isActive: false``, listed only
with ``includeInactive: true``, counted nowhere); activating it again brings those quantities
back unless ``available``/``onHand`` are given
(https://shopify.dev/changelog/posts/inventoryactivate-now-preserves-available-quantity; the
2026-04 captures ``inventory-inactive-level-lifecycle-2026-04.json`` and
``inventory-deactivate-validation-2026-04.json`` show it).
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.idempotency import (
    IDEMPOTENCY_MISMATCH_MESSAGE,
    idempotency_key,
    idempotent,
    require_idempotency_key,
)
from shopify_emulator.admin_graphql.registry import ctx, field
from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.inventory import rest as inventory_rest
from shopify_emulator.domains.inventory.models import InventoryItem, InventoryLevel
from shopify_emulator.domains.inventory.operations import (
    ONLY_LOCATION,
    level_activate,
    level_change,
    level_deactivate,
)
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.ids import parse_gid
from shopify_emulator.world import World

Info = GraphQLResolveInfo
M = "Mutation"
QUANTITY_LIMIT = 1_000_000_000
TOGGLE_ERROR = "InventoryBulkToggleActivationUserError"
# Why a level cannot be unstocked by inventoryBulkToggleActivation: the enum's own words
# (InventoryBulkToggleActivationUserErrorCode); 2026-04 returns each as its own error.
UNSTOCK_BLOCKERS = (
    ("committed", "COMMITTED_INVENTORY_AT_LOCATION", "committed quantities"),
    ("incoming", "INCOMING_INVENTORY_AT_LOCATION", "incoming quantities"),
    ("reserved", "RESERVED_INVENTORY_AT_LOCATION", "unavailable quantities"),
)


def _emit_stocked(world: World, shop: Shop, level: InventoryLevel) -> None:
    world.emit(shop, "inventory_levels/connect", inventory_rest.inventory_level(level))
    world.emit(shop, "inventory_levels/update", inventory_rest.inventory_level(level))


def _unstock(world: World, shop: Shop, item: InventoryItem, location_id: int) -> None:
    level = level_deactivate(world=world, item=item, location_id=location_id)
    world.emit(shop, "inventory_levels/disconnect",
               inventory_rest.inventory_level_disconnect(level))


def _optionally_idempotent(info: Info, arguments: dict, run: Any, mismatch: Any) -> dict:
    """These two mutations take ``@idempotent`` but, unlike inventoryActivate, do not need it."""
    key = idempotency_key(info)
    if key is None:
        return run()
    return idempotent(info, key, arguments, run, mismatch=mismatch)


# --------------------------------------------------------------------------- activate


@field(M, "inventoryActivate")
def inventory_activate(root: Any, info: Info, inventoryItemId: str, locationId: str,
                       available: int | None = None, onHand: int | None = None,
                       stockAtLegacyLocation: bool | None = None) -> dict:
    key = require_idempotency_key(info)
    arguments = {"inventoryItemId": inventoryItemId, "locationId": locationId,
                 "available": available, "onHand": onHand}
    return idempotent(
        info, key, arguments,
        lambda: _activate(info, inventoryItemId, locationId, available, onHand),
        mismatch=lambda: {"__typename": "InventoryActivatePayload", "inventoryLevel": None,
                          "userErrors": [user_error(None, IDEMPOTENCY_MISMATCH_MESSAGE,
                                                    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH")]},
    )


def _activate(info: Info, item_gid: str, location_gid: str, available: int | None,
              on_hand: int | None) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop

    def payload(level: InventoryLevel | None, errors: list[dict]) -> dict:
        return {"__typename": "InventoryActivatePayload", "inventoryLevel": level,
                "userErrors": errors}

    item = shop.inventory_items.get(id_of(item_gid, "InventoryItem") or 0)
    location = shop.locations.get(id_of(location_gid, "Location") or 0)
    errors: list[dict] = []
    if item is None:
        errors.append(user_error(["inventoryItemId"], "The inventory item could not be found."))
    if location is None:
        errors.append(user_error(["locationId"], "The location selected can't be found."))
    if errors or item is None or location is None:
        return payload(None, errors)
    stocked_prefix = f"The product couldn't be stocked at {location.name} because"
    if available is not None and on_hand is not None:
        message = (f"{stocked_prefix} not allowed to set available and on_hand quantities at "
                   "the same time.")
        return payload(None, [user_error(["available"], message),
                              user_error(["onHand"], message)])
    for arg_name, value in (("available", available), ("onHand", on_hand)):
        if value is not None and not -QUANTITY_LIMIT <= value <= QUANTITY_LIMIT:
            return payload(None, [user_error(
                [arg_name],
                f"{stocked_prefix} the quantity needs to be between -1 billion and 1 billion.")])
    level = item.levels.get(location.id)
    if level is not None:
        if on_hand is not None:
            return payload(level, [user_error(
                ["onHand"],
                "Not allowed to set an on_hand quantity when the item is already active at the "
                "location.")])
        if available is not None:
            return payload(level, [user_error(
                ["available"],
                "Not allowed to set available quantity when the item is already active at the "
                "location.")])
        return payload(level, [])
    # A level active here before comes back with its quantities; only given ones replace them.
    level = level_activate(world=world, item=item, location=location)
    if available is not None or on_hand is not None:
        current = level.available if available is not None else level.get("on_hand")
        wanted = available if available is not None else on_hand
        assert wanted is not None  # one of the two was given
        level_change(world=world, level=level, name="available", delta=int(wanted) - current)
        level.quantity_updated_at["available"] = world.now()
    _emit_stocked(world, shop, level)
    return payload(level, [])


# --------------------------------------------------------------------------- deactivate


@field(M, "inventoryDeactivate")
def inventory_deactivate(root: Any, info: Info, inventoryLevelId: str) -> dict:
    return _optionally_idempotent(
        info, {"inventoryLevelId": inventoryLevelId},
        lambda: _deactivate(info, inventoryLevelId),
        lambda: {"__typename": "InventoryDeactivatePayload", "userErrors": [
            user_error(None, IDEMPOTENCY_MISMATCH_MESSAGE, "IDEMPOTENCY_KEY_PARAMETER_MISMATCH")]},
    )


def _deactivate(info: Info, level_gid: str) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop

    def payload(*messages: str) -> dict:
        return {"__typename": "InventoryDeactivatePayload",
                "userErrors": [user_error(None, message) for message in messages]}

    parsed = parse_gid(level_gid)
    item_id = parsed[2].get("inventory_item_id", "") if parsed else ""
    item = shop.inventory_items.get(int(item_id)) if item_id.isdigit() else None
    if parsed is None or parsed[0] != "InventoryLevel" or item is None:
        return payload("The product couldn't be unstocked because the product was deleted.")
    level = next((lvl for lvl in item.all_levels(include_inactive=True)
                  if parsed[1] in (lvl.group_id, lvl.location_id)), None)
    if level is None or level.location_id not in shop.locations:
        return payload("The product couldn't be unstocked because the location was deleted.")
    if level.location_id not in item.levels:
        return payload()  # already inactive
    if len(item.levels) == 1:
        name = shop.locations[level.location_id].name
        return payload("The product " + ONLY_LOCATION.format(name=name))
    _unstock(world, shop, item, level.location_id)
    return payload()


# --------------------------------------------------------------------------- bulk toggle


@field(M, "inventoryBulkToggleActivation")
def inventory_bulk_toggle_activation(root: Any, info: Info, inventoryItemId: str,
                                     inventoryItemUpdates: list[dict]) -> dict:
    return _optionally_idempotent(
        info, {"inventoryItemId": inventoryItemId, "inventoryItemUpdates": inventoryItemUpdates},
        lambda: _bulk_toggle(info, inventoryItemId, inventoryItemUpdates),
        lambda: _toggle_payload(None, None, [user_error(
            None, IDEMPOTENCY_MISMATCH_MESSAGE, "GENERIC_ERROR", TOGGLE_ERROR)]),
    )


def _toggle_payload(item: InventoryItem | None, levels: list[InventoryLevel] | None,
                    errors: list[dict]) -> dict:
    return {"__typename": "InventoryBulkToggleActivationPayload", "inventoryItem": item,
            "inventoryLevels": levels, "userErrors": errors}


def _bulk_toggle(info: Info, item_gid: str, updates: list[dict]) -> dict:
    """Checked as a whole first (nothing changes when any update is refused), then applied in
    order. ``inventoryLevels`` lists the levels of the updates that activate."""
    context = ctx(info)
    world, shop = context.world, context.shop
    item = shop.inventory_items.get(id_of(item_gid, "InventoryItem") or 0)
    if item is None:
        return _toggle_payload(None, None, [user_error(
            ["inventoryItemId"], "The inventory item couldn't be found.",
            "INVENTORY_ITEM_NOT_FOUND", TOGGLE_ERROR)])
    errors: list[dict] = []
    stocked = set(item.levels)
    for index, update in enumerate(updates):
        path = ["inventoryItemUpdates", str(index), "locationId"]
        location = shop.locations.get(id_of(update.get("locationId"), "Location") or 0)
        if location is None or not location.is_active:
            errors.append(user_error(
                path, "The quantity couldn't be updated because the location was not found.",
                "LOCATION_NOT_FOUND", TOGGLE_ERROR))
            continue
        if update.get("activate"):
            stocked.add(location.id)
            continue
        if location.id not in stocked:
            continue  # not stocked there: nothing to unstock
        if len(stocked) == 1:
            errors.append(user_error(
                path, "The variant " + ONLY_LOCATION.format(name=location.name),
                "CANNOT_DEACTIVATE_FROM_ONLY_LOCATION", TOGGLE_ERROR))
            continue
        level = item.levels.get(location.id)
        blockers = [(code, words) for name, code, words in UNSTOCK_BLOCKERS
                    if level is not None and level.get(name) > 0]
        for code, words in blockers:
            errors.append(user_error(
                path, f"Cannot unstock this inventory item from this location because it has "
                f"{words}.", code, TOGGLE_ERROR))
        if not blockers:
            stocked.discard(location.id)
    if errors:
        return _toggle_payload(None, None, errors)
    activated: list[InventoryLevel] = []
    for update in updates:
        location = shop.locations[id_of(update["locationId"], "Location") or 0]
        if update["activate"]:
            was_stocked = location.id in item.levels
            level = level_activate(world=world, item=item, location=location)
            if not was_stocked:
                _emit_stocked(world, shop, level)
            if level not in activated:
                activated.append(level)
        elif location.id in item.levels:
            _unstock(world, shop, item, location.id)
            activated = [lvl for lvl in activated if lvl.location_id != location.id]
    return _toggle_payload(item, activated, [])
