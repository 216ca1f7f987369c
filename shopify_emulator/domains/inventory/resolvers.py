"""InventoryItem, InventoryLevel and InventoryAdjustmentGroup, and the ``QueryRoot`` inventory
fields."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.connections import paginate
from shopify_emulator.admin_graphql.registry import ShopifyError, field, object_type, shop_of
from shopify_emulator.admin_graphql.search import query_filter, search_filter
from shopify_emulator.admin_graphql.values import count, id_of, money, now_iso
from shopify_emulator.domains.inventory.models import (
    QUANTITY_NAMES,
    AdjustmentGroup,
    InventoryItem,
    InventoryLevel,
)
from shopify_emulator.domains.locations.models import Location
from shopify_emulator.domains.products.models import Variant
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.ids import gid, parse_gid

Info = GraphQLResolveInfo
Q = "QueryRoot"

object_type(model=InventoryItem, type_name="InventoryItem")
object_type(model=InventoryLevel, type_name="InventoryLevel", gid_id=False)
object_type(model=AdjustmentGroup, type_name="InventoryAdjustmentGroup")


LEVEL_SEARCH = {
    "inventory_item_id": ("number", lambda lvl: lvl.inventory_item_id),
    "location_id": ("number", lambda lvl: lvl.location_id),
    "updated_at": ("time", lambda lvl: lvl.updated_at),
    "created_at": ("time", lambda lvl: lvl.created_at),
}


@field("InventoryLevel", "id")
def _level_id(obj: InventoryLevel, info: Info) -> str:
    return obj.gid


@field("InventoryLevel", "location")
def _level_location(obj: InventoryLevel, info: Info) -> Location:
    return shop_of(info).locations[obj.location_id]


@field("InventoryLevel", "item")
def _level_item(obj: InventoryLevel, info: Info) -> InventoryItem:
    return shop_of(info).inventory_items[obj.inventory_item_id]


def level_is_active(shop: Shop, level: InventoryLevel) -> bool:
    item = shop.inventory_items.get(level.inventory_item_id)
    return item is not None and item.levels.get(level.location_id) is level


@field("InventoryLevel", "isActive")
def _level_active(obj: InventoryLevel, info: Info) -> bool:
    return level_is_active(shop_of(info), obj)


@field("InventoryLevel", "canDeactivate")
def _level_can_deactivate(obj: InventoryLevel, info: Info) -> bool:
    item = shop_of(info).inventory_items.get(obj.inventory_item_id)
    return (item is not None and item.levels.get(obj.location_id) is obj
            and len(item.levels) > 1)


@field("InventoryLevel", "deactivationAlert")
def _level_alert(obj: Any, info: Info) -> None:
    return None


@field("InventoryLevel", "quantities")
def _level_quantities(obj: InventoryLevel, info: Info, names: list[str]) -> list[dict]:
    result = []
    for name in names:
        if name not in QUANTITY_NAMES:
            raise ShopifyError(
                f"'{name}' is not a valid quantity name. Valid values are: "
                + ", ".join(sorted(QUANTITY_NAMES)) + ".",
                "BAD_REQUEST",
            )
        updated = obj.quantity_updated_at.get(name)
        result.append(
            {
                "__typename": "InventoryQuantity",
                "id": f"gid://shopify/InventoryQuantity/{obj.group_id}?inventory_item_id="
                f"{obj.inventory_item_id}&name={name}",
                "name": name,
                "quantity": obj.get(name),
                "updatedAt": now_iso(updated) if name != "on_hand" else None,
            }
        )
    return result


@field("InventoryItem", "sku")
def _item_sku(obj: InventoryItem, info: Info) -> str | None:
    return obj.sku or None


@field("InventoryItem", "tracked")
def _item_tracked(obj: InventoryItem, info: Info) -> bool:
    return obj.tracked


@field("InventoryItem", "trackedEditable")
def _item_tracked_editable(obj: InventoryItem, info: Info) -> dict:
    return {"__typename": "EditableProperty", "locked": False, "reason": None}


@field("InventoryItem", "requiresShipping")
def _item_requires_shipping(obj: InventoryItem, info: Info) -> bool:
    return obj.requires_shipping


@field("InventoryItem", "unitCost")
def _item_cost(obj: InventoryItem, info: Info) -> dict | None:
    return money(obj.cost, shop_of(info).currency) if obj.cost is not None else None


@field("InventoryItem", "duplicateSkuCount")
def _item_dupes(obj: InventoryItem, info: Info) -> int:
    if not obj.sku:
        return 0
    return sum(1 for other in shop_of(info).inventory_items.values()
               if other.sku == obj.sku and other.id != obj.id)


@field("InventoryItem", "countryCodeOfOrigin", "provinceCodeOfOrigin", "harmonizedSystemCode",
       "inventoryHistoryUrl")
def _item_none(obj: Any, info: Info) -> None:
    return None


@field("InventoryItem", "measurement")
def _item_measurement(obj: InventoryItem, info: Info) -> dict:
    return {"__typename": "InventoryItemMeasurement", "id": gid("InventoryItemMeasurement", obj.id),
            "weight": {"__typename": "Weight", "unit": obj.weight_unit, "value": obj.weight}}


@field("InventoryItem", "variant")
def _item_variant(obj: InventoryItem, info: Info) -> Variant | None:
    return shop_of(info).variants.get(obj.variant_id)


@field("InventoryItem", "variants")
def _item_variants(obj: InventoryItem, info: Info, **args: Any) -> dict:
    variant = shop_of(info).variants.get(obj.variant_id)
    return paginate(info, [variant] if variant else [], require_page_size=False, **args)


@field("InventoryItem", "inventoryLevels")
def _item_levels(obj: InventoryItem, info: Info, query: str | None = None,
                 includeInactive: bool = False, **args: Any) -> dict:
    levels = obj.all_levels(include_inactive=bool(includeInactive))
    levels = search_filter(levels, query, LEVEL_SEARCH, [])
    return paginate(info, levels, id_fn=lambda lvl: lvl.location_id, **args)


@field("InventoryItem", "inventoryLevel")
def _item_level(obj: InventoryItem, info: Info, locationId: str,
                includeInactive: bool = False, **_: Any) -> Any:
    return obj.level_at(id_of(locationId, "Location") or 0,
                        include_inactive=bool(includeInactive))


@field("InventoryItem", "locationsCount")
def _item_locations_count(obj: InventoryItem, info: Info) -> dict:
    return count(len(obj.levels))


@field("InventoryItem", "countryHarmonizedSystemCodes")
def _item_hs_codes(obj: Any, info: Info, **args: Any) -> dict:
    return paginate(info, [], require_page_size=False, **args)


@field("InventoryAdjustmentGroup", "referenceDocumentUri")
def _group_reference(obj: AdjustmentGroup, info: Info) -> str | None:
    return obj.reference_document_uri


@field("InventoryAdjustmentGroup", "app", "staffMember")
def _group_none(obj: Any, info: Info) -> None:
    return None


@field("InventoryAdjustmentGroup", "changes")
def _group_changes(
    obj: AdjustmentGroup,
    info: Info,
    inventoryItemIds: list[str] | None = None,
    locationIds: list[str] | None = None,
    quantityNames: list[str] | None = None,
) -> list[dict]:
    shop = shop_of(info)
    items = {id_of(v, "InventoryItem") for v in inventoryItemIds or []}
    locations = {id_of(v, "Location") for v in locationIds or []}
    result = []
    for change in obj.changes:
        if inventoryItemIds is not None and change["item_id"] not in items:
            continue
        if locationIds is not None and change["location_id"] not in locations:
            continue
        if quantityNames is not None and change["name"] not in quantityNames:
            continue
        result.append(
            {
                "__typename": "InventoryChange",
                "name": change["name"],
                "delta": change["delta"],
                "quantityAfterChange": None,
                "ledgerDocumentUri": change.get("ledger_document_uri"),
                "item": shop.inventory_items.get(change["item_id"]),
                "location": shop.locations.get(change["location_id"]),
            }
        )
    return result


def item_search(shop: Shop) -> dict:
    return {
        "id": ("number", lambda i: i.id),
        "sku": ("text", lambda i: i.sku),
        "tracked": ("bool", lambda i: i.tracked),
        "created_at": ("time", lambda i: i.created_at),
        "updated_at": ("time", lambda i: i.updated_at),
    }


@field(Q, "inventoryItems")
def _inventory_items(root: Any, info: Info, query: str | None = None, **args: Any) -> dict:
    shop = shop_of(info)
    items = query_filter(list(shop.inventory_items.values()), query, item_search(shop), ["sku"])
    return paginate(info, items, **args)


@field(Q, "inventoryItem")
def _inventory_item(root: Any, info: Info, id: str) -> InventoryItem | None:  # noqa: A002
    return shop_of(info).inventory_items.get(id_of(id, "InventoryItem") or 0)


def level_by_gid(shop: Shop, value: str) -> InventoryLevel | None:
    parsed = parse_gid(value)
    if parsed is None or parsed[0] != "InventoryLevel":
        return None
    item_id = parsed[2].get("inventory_item_id", "")
    if not item_id.isdigit():
        return None
    item = shop.inventory_items.get(int(item_id))
    if item is None:
        return None
    # By id Shopify answers for an inactive level too (isActive: false).
    for level in item.all_levels(include_inactive=True):
        if level.group_id == parsed[1] or level.location_id == parsed[1]:
            return level
    return None


@field(Q, "inventoryLevel")
def _inventory_level(root: Any, info: Info, id: str) -> InventoryLevel | None:  # noqa: A002
    return level_by_gid(shop_of(info), id)
