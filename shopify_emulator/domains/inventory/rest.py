"""REST payloads of the inventory webhooks (``inventory_items/*``, ``inventory_levels/*``)."""

from __future__ import annotations

from shopify_emulator.domains.inventory.models import InventoryItem, InventoryLevel
from shopify_emulator.formats import ts
from shopify_emulator.ids import gid


def inventory_item(item: InventoryItem) -> dict:
    return {
        "id": item.id,
        "sku": item.sku,
        "created_at": ts(item.created_at),
        "updated_at": ts(item.updated_at),
        "requires_shipping": item.requires_shipping,
        "cost": item.cost,
        "country_code_of_origin": None,
        "province_code_of_origin": None,
        "harmonized_system_code": None,
        "tracked": item.tracked,
        "country_harmonized_system_codes": [],
        "admin_graphql_api_id": gid("InventoryItem", item.id),
    }


def inventory_item_deleted(item: InventoryItem) -> dict:
    return {"id": item.id, "admin_graphql_api_id": gid("InventoryItem", item.id)}


def inventory_level(level: InventoryLevel) -> dict:
    return {
        "inventory_item_id": level.inventory_item_id,
        "location_id": level.location_id,
        "available": level.available,
        "updated_at": ts(level.updated_at),
        "admin_graphql_api_id": level.gid,
    }


def inventory_level_disconnect(level: InventoryLevel) -> dict:
    """``inventory_levels/disconnect`` carries the pair only."""
    return {"inventory_item_id": level.inventory_item_id, "location_id": level.location_id}
