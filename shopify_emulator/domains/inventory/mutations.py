"""Inventory mutations: inventorySetQuantities, inventoryAdjustQuantities (activation is in
``activation.py``)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.idempotency import (
    IDEMPOTENCY_MISMATCH_MESSAGE,
    idempotent,
    require_change_from,
    require_idempotency_key,
)
from shopify_emulator.admin_graphql.registry import ctx, field
from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.inventory import rest as inventory_rest
from shopify_emulator.domains.inventory.models import (
    ON_HAND_PARTS,
    AdjustmentGroup,
    InventoryItem,
    InventoryLevel,
)
from shopify_emulator.domains.inventory.operations import level_change
from shopify_emulator.domains.locations.models import Location
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.world import World

Info = GraphQLResolveInfo
M = "Mutation"


REASONS = (
    "correction", "cycle_count_available", "damaged", "movement_canceled", "movement_created",
    "movement_received", "movement_updated", "other", "promotion", "quality_control", "received",
    "reservation_created", "reservation_deleted", "reservation_updated", "restock",
    "safety_stock", "shrinkage",
)
INVALID_REASON = "The specified reason is invalid. Valid values are: " + ", ".join(REASONS) + "."
SET_NAMES = ("available", "on_hand")
ADJUST_NAMES = ("available", "damaged", "incoming", "quality_control", "reserved", "safety_stock")
SET_LIMIT = 1_000_000_000
ADJUST_LIMIT = 2_000_000_000



def _levels_compare(resolved: list, *, name: str, entries: str, typename: str,
                    stale_message: str) -> list[dict]:
    """The userErrors of inventorySetQuantities / inventoryAdjustQuantities for levels that do
    not exist or are not what `changeFromQuantity` says (Shopify words the two differently)."""
    errors = []
    for index, entry, item, location in resolved:
        level = item.levels.get(location.id)
        if level is None:
            errors.append(user_error(
                ["input", entries, str(index), "locationId"],
                "The specified inventory item is not stocked at the location.",
                "ITEM_NOT_STOCKED_AT_LOCATION", typename))
            continue
        expected = entry.get("changeFromQuantity")
        if expected is not None and expected != level.get(name):
            errors.append(user_error(
                ["input", entries, str(index), "changeFromQuantity"], stale_message,
                "CHANGE_FROM_QUANTITY_STALE", typename))
    return errors

def _payload(typename: str, group: AdjustmentGroup | None, errors: list[dict]) -> dict:
    return {"__typename": typename, "inventoryAdjustmentGroup": group, "userErrors": errors}


def _record_group(
    world: World, shop: Shop, reason: str, reference: str | None, changes: list[dict]
) -> AdjustmentGroup:
    # Shopify lists the changes grouped by quantity name, in the order names first appear.
    names: list[str] = []
    for change in changes:
        if change["name"] not in names:
            names.append(change["name"])
    ordered = [c for name in names for c in changes if c["name"] == name]
    group = AdjustmentGroup(
        id=world.next_id(),
        created_at=world.now(),
        reason=reason,
        reference_document_uri=reference,
        changes=ordered,
    )
    shop.adjustment_groups[group.id] = group
    return group


def _lookup(
    shop: Shop, entry: dict, index: int, list_name: str, errors: list[dict], typename: str
) -> tuple[InventoryItem | None, Location | None]:
    item = shop.inventory_items.get(id_of(entry.get("inventoryItemId"), "InventoryItem") or 0)
    location = shop.locations.get(id_of(entry.get("locationId"), "Location") or 0)
    if item is None:
        errors.append(user_error(["input", list_name, str(index), "inventoryItemId"],
                                 "The specified inventory item could not be found.",
                                 "INVALID_INVENTORY_ITEM", typename))
    if location is None:
        errors.append(user_error(["input", list_name, str(index), "locationId"],
                                 "The specified location could not be found.",
                                 "INVALID_LOCATION", typename))
    return item, location


def _emit_levels(world: World, shop: Shop, levels: list[InventoryLevel]) -> None:
    for level in levels:
        world.emit(shop, "inventory_levels/update", inventory_rest.inventory_level(level))


# --------------------------------------------------------------------------- set


@field(M, "inventorySetQuantities")
def inventory_set_quantities(root: Any, info: Info, input: dict) -> dict:  # noqa: A002
    typename = "InventorySetQuantitiesUserError"
    require_change_from(info, input.get("quantities") or [], "InventoryQuantityInput")
    key = require_idempotency_key(info)
    return idempotent(
        info, key, {"input": input}, lambda: _set_quantities(info, input),
        mismatch=lambda: _payload("InventorySetQuantitiesPayload", None, [
            user_error(None, IDEMPOTENCY_MISMATCH_MESSAGE, "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                       typename)]),
    )


def _set_quantities(info: Info, data: dict) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = "InventorySetQuantitiesUserError"
    payload_type = "InventorySetQuantitiesPayload"
    errors: list[dict] = []
    name = data.get("name")
    reason = data.get("reason")
    if name not in SET_NAMES:
        errors.append(user_error(["input", "name"],
                                 "The quantity name must be either 'available' or 'on_hand'.",
                                 "INVALID_NAME", typename))
    if reason not in REASONS:
        errors.append(user_error(["input", "reason"], INVALID_REASON, "INVALID_REASON", typename))
    if errors:
        return _payload(payload_type, None, errors)
    quantities = data.get("quantities") or []
    resolved: list[tuple[int, dict, InventoryItem, Location]] = []
    pairs: dict[tuple[int, int], list[int]] = {}
    for index, entry in enumerate(quantities):
        item, location = _lookup(shop, entry, index, "quantities", errors, typename)
        quantity = entry["quantity"]
        prefix = ["input", "quantities", str(index), "quantity"]
        if quantity > SET_LIMIT:
            errors.append(user_error(prefix, "The quantity can't be higher than 1,000,000,000.",
                                     "INVALID_QUANTITY_TOO_HIGH", typename))
        elif name == "on_hand" and quantity < 0:
            errors.append(user_error(prefix, "The quantity can't be negative.",
                                     "INVALID_QUANTITY_NEGATIVE", typename))
        elif quantity < -SET_LIMIT:
            errors.append(user_error(prefix, "The quantity can't be lower than -1,000,000,000.",
                                     "INVALID_QUANTITY_TOO_LOW", typename))
        if item is not None and location is not None:
            pairs.setdefault((item.id, location.id), []).append(index)
            resolved.append((index, entry, item, location))
    for indexes in pairs.values():
        if len(indexes) > 1:
            for index in indexes:
                errors.append(user_error(
                    ["input", "quantities", str(index), "locationId"],
                    "The combination of inventoryItemId and locationId must be unique.",
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", typename))
    if errors:
        return _payload(payload_type, None, errors)
    errors += _levels_compare(resolved, name=name, entries="quantities", typename=typename,
                              stale_message="The changeFromQuantity value does not match "
                                            "persisted value.")
    if errors:
        return _payload(payload_type, None, errors)
    changes: list[dict] = []
    changed: list[InventoryLevel] = []
    for _index, entry, item, location in resolved:
        level = item.levels[location.id]
        delta = entry["quantity"] - level.get(name)
        if delta == 0:
            continue
        level_change(world=world, level=level, name="available", delta=delta)
        item.updated_at = world.now()
        changed.append(level)
        for change_name in ("available", "on_hand"):
            changes.append({"name": change_name, "delta": delta, "item_id": item.id,
                            "location_id": location.id, "ledger_document_uri": None})
    if not changes:
        return _payload(payload_type, None, [])
    group = _record_group(world, shop, data["reason"], data.get("referenceDocumentUri"), changes)
    _emit_levels(world, shop, changed)
    return _payload(payload_type, group, [])


# --------------------------------------------------------------------------- adjust


@field(M, "inventoryAdjustQuantities")
def inventory_adjust_quantities(root: Any, info: Info, input: dict) -> dict:  # noqa: A002
    typename = "InventoryAdjustQuantitiesUserError"
    require_change_from(info, input.get("changes") or [], "InventoryChangeInput")
    key = require_idempotency_key(info)
    return idempotent(
        info, key, {"input": input}, lambda: _adjust_quantities(info, input),
        mismatch=lambda: _payload("InventoryAdjustQuantitiesPayload", None, [
            user_error(None, IDEMPOTENCY_MISMATCH_MESSAGE, "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                       typename)]),
    )


def _adjust_quantities(info: Info, data: dict) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = "InventoryAdjustQuantitiesUserError"
    payload_type = "InventoryAdjustQuantitiesPayload"
    errors: list[dict] = []
    name = data.get("name")
    if data.get("reason") not in REASONS:
        errors.append(user_error(["input", "reason"], INVALID_REASON, "INVALID_REASON", typename))
    if name not in ADJUST_NAMES:
        errors.append(user_error(
            ["input", "name"],
            "The specified quantity name is invalid. Valid values are: "
            + ", ".join(ADJUST_NAMES) + ".",
            "INVALID_QUANTITY_NAME", typename))
    if errors:
        return _payload(payload_type, None, errors)
    changes_in = data.get("changes") or []
    resolved: list[tuple[int, dict, InventoryItem, Location]] = []
    ledgers = set()
    for index, entry in enumerate(changes_in):
        item, location = _lookup(shop, entry, index, "changes", errors, typename)
        ledger = entry.get("ledgerDocumentUri")
        ledger_path = ["input", "changes", str(index), "ledgerDocumentUri"]
        if name == "available" and ledger is not None:
            errors.append(user_error(ledger_path,
                                     "A ledger document URI is not allowed when adjusting "
                                     "available.", "INVALID_AVAILABLE_DOCUMENT", typename))
        elif name != "available" and ledger is None:
            errors.append(user_error(ledger_path,
                                     "A ledger document URI is required except when adjusting "
                                     "available.", "INVALID_QUANTITY_DOCUMENT", typename))
        elif ledger is not None and ledger.startswith("gid://shopify/"):
            errors.append(user_error(ledger_path,
                                     "Internal (gid://shopify/) ledger documents are not allowed "
                                     "to be adjusted via API.", "INTERNAL_LEDGER_DOCUMENT",
                                     typename))
        ledgers.add(ledger)
        delta = entry["delta"]
        delta_path = ["input", "changes", str(index), "delta"]
        if delta > ADJUST_LIMIT:
            errors.append(user_error(delta_path, "The quantity can't be higher than "
                                     "2,000,000,000.", "INVALID_QUANTITY_TOO_HIGH", typename))
        elif delta < -ADJUST_LIMIT:
            errors.append(user_error(delta_path, "The quantity can't be lower than "
                                     "-2,000,000,000.", "INVALID_QUANTITY_TOO_LOW", typename))
        if item is not None and location is not None:
            resolved.append((index, entry, item, location))
    if len(ledgers) > 1 and not errors:
        errors.append(user_error(["input", "changes"],
                                 "All changes must have the same ledger document URI or, in the "
                                 "case of adjusting available, no ledger document URI.",
                                 "MAX_ONE_LEDGER_DOCUMENT", typename))
    if errors:
        return _payload(payload_type, None, errors)
    errors += _levels_compare(resolved, name=name, entries="changes", typename=typename,
                              stale_message="The changeFromQuantity argument no longer matches "
                                            "the persisted quantity.")
    if errors:
        return _payload(payload_type, None, errors)
    changes: list[dict] = []
    changed: list[InventoryLevel] = []
    for _index, entry, item, location in resolved:
        delta = entry["delta"]
        if delta == 0:
            continue
        level = item.levels[location.id]
        level_change(world=world, level=level, name=name, delta=delta)
        if level not in changed:
            changed.append(level)
        ledger = entry.get("ledgerDocumentUri")
        changes.append({"name": name, "delta": delta, "item_id": item.id,
                        "location_id": location.id, "ledger_document_uri": ledger})
        if name in ON_HAND_PARTS:
            changes.append({"name": "on_hand", "delta": delta, "item_id": item.id,
                            "location_id": location.id, "ledger_document_uri": None})
    if not changes:
        return _payload(payload_type, None, [])
    group = _record_group(world, shop, data["reason"], data.get("referenceDocumentUri"), changes)
    if name == "available":
        _emit_levels(world, shop, changed)
    return _payload(payload_type, group, [])
