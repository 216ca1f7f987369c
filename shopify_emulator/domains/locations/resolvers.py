"""The Location object and the ``QueryRoot`` location fields."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.connections import paginate
from shopify_emulator.admin_graphql.registry import field, object_type, shop_of
from shopify_emulator.admin_graphql.search import query_filter, search_filter
from shopify_emulator.admin_graphql.values import count, id_of
from shopify_emulator.domains.inventory.resolvers import LEVEL_SEARCH
from shopify_emulator.domains.locations.models import Location

Info = GraphQLResolveInfo
Q = "QueryRoot"

object_type(model=Location, type_name="Location")


def location_address(location: Location) -> dict:
    return {
        "__typename": "LocationAddress",
        "address1": location.address1,
        "address2": None,
        "city": location.city,
        "province": location.province,
        "provinceCode": location.province_code,
        "country": location.country,
        "countryCode": location.country_code,
        "zip": location.zip,
        "phone": location.phone or None,
        "formatted": [location.address1, location.city, f"{location.province_code} {location.zip}",
                      location.country],
        "latitude": None,
        "longitude": None,
    }


@field("Location", "address")
def _location_address(obj: Location, info: Info) -> dict:
    return location_address(obj)


@field("Location", "isActive")
def _location_active(obj: Location, info: Info) -> bool:
    return obj.is_active


@field("Location", "fulfillsOnlineOrders", "shipsInventory")
def _location_fulfills(obj: Location, info: Info) -> bool:
    return obj.fulfills_online_orders


@field("Location", "hasActiveInventory")
def _location_has_inventory(obj: Location, info: Info) -> bool:
    shop = shop_of(info)
    return any(obj.id in item.levels for item in shop.inventory_items.values())


@field("Location", "isFulfillmentService", "hasUnfulfilledOrders", "deletable", "addressVerified")
def _false(obj: Any, info: Info) -> bool:
    return False


@field("Location", "activatable")
def _location_activatable(obj: Location, info: Info) -> bool:
    return not obj.is_active


@field("Location", "deactivatable")
def _location_deactivatable(obj: Location, info: Info) -> bool:
    return obj.is_active and obj.id != shop_of(info).primary_location_id


@field("Location", "isPrimary")
def _location_primary(obj: Location, info: Info) -> bool:
    return obj.id == shop_of(info).primary_location_id


@field("Location", "fulfillmentService", "deactivatedAt", "localPickupSettingsV2")
def _none(obj: Any, info: Info) -> None:
    return None


@field("Location", "suggestedAddresses")
def _empty_list(obj: Any, info: Info) -> list:
    return []


@field("Location", "inventoryLevels")
def _location_levels(obj: Location, info: Info, query: str | None = None,
                     includeInactive: bool = False, **args: Any) -> dict:
    shop = shop_of(info)
    levels = [level for item in shop.inventory_items.values()
              if (level := item.level_at(obj.id, include_inactive=bool(includeInactive)))]
    levels = search_filter(levels, query, LEVEL_SEARCH, [])
    return paginate(info, levels, id_fn=lambda lvl: lvl.inventory_item_id, **args)


@field("Location", "inventoryLevel")
def _location_level(obj: Location, info: Info, inventoryItemId: str,
                    includeInactive: bool = False, **_: Any) -> Any:
    item = shop_of(info).inventory_items.get(id_of(inventoryItemId, "InventoryItem") or 0)
    return item.level_at(obj.id, include_inactive=bool(includeInactive)) if item else None


LOCATION_SEARCH = {
    "id": ("number", lambda loc: loc.id),
    "name": ("text", lambda loc: loc.name),
    "active": ("bool", lambda loc: loc.is_active),
    "created_at": ("time", lambda loc: loc.created_at),
    "updated_at": ("time", lambda loc: loc.updated_at),
}


@field(Q, "locations")
def _locations(root: Any, info: Info, query: str | None = None, sortKey: str | None = None,
               includeInactive: bool = False, includeLegacy: bool = False,
               **args: Any) -> dict:
    shop = shop_of(info)
    locations = [loc for loc in shop.locations.values() if includeInactive or loc.is_active]
    locations = query_filter(locations, query, LOCATION_SEARCH, ["name"])
    sort_fn = {"NAME": lambda loc: loc.name}.get(sortKey or "ID")
    return paginate(info, locations, sort_fn=sort_fn, **args)


@field(Q, "location")
def _location(root: Any, info: Info, id: str | None = None) -> Location | None:  # noqa: A002
    shop = shop_of(info)
    if id is None:
        return shop.primary_location
    return shop.locations.get(id_of(id, "Location") or 0)


@field(Q, "locationsCount")
def _locations_count(root: Any, info: Info, query: str | None = None, **_: Any) -> dict:
    shop = shop_of(info)
    return count(len(query_filter(list(shop.locations.values()), query, LOCATION_SEARCH, ["name"])))
