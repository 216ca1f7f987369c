"""Control routes for inventory: the merchant's stock edits, and the log of every level change."""

from __future__ import annotations

import time

from werkzeug.wrappers import Request, Response

from shopify_emulator import auth
from shopify_emulator.control_support import (
    BULK_LIMIT,
    SHOP_PATH,
    ControlError,
    Emulator,
    Route,
    act,
    int_field,
    json_reply,
    read_body,
    require_shop,
    str_field,
)
from shopify_emulator.domains.inventory.operations import (
    inventory_adjust_available,
    inventory_deactivate,
    inventory_level_set,
    inventory_set_available,
)


def do_inventory(*, emulator: Emulator, request: Request, domain: str) -> Response:
    require_shop(emulator=emulator, domain=domain)
    data = read_body(request)
    sku = str_field(data, "sku")
    location_id = int_field(data, "location_id", required=False)
    if ("available" in data) == ("delta" in data):
        raise ControlError("pass exactly one of available or delta")
    if "available" in data:
        level = act(
            emulator=emulator,
            operation=inventory_set_available,
            shop_domain=domain,
            sku=sku,
            available=int_field(data, "available"),
            location_id=location_id,
        )
    else:
        level = act(
            emulator=emulator,
            operation=inventory_adjust_available,
            shop_domain=domain,
            sku=sku,
            delta=int_field(data, "delta"),
            location_id=location_id,
        )
    return json_reply(level)


def do_inventory_deactivate(*, emulator: Emulator, request: Request, domain: str) -> Response:
    """The merchant unstocks an item at a location (the level stays, inactive, with its
    quantities: 2026-04)."""
    require_shop(emulator=emulator, domain=domain)
    data = read_body(request)
    item_id = int_field(data, "inventory_item_id", required=False)
    sku = str_field(data, "sku", required=False)
    if (item_id is None) == (not sku):
        raise ControlError("pass exactly one of sku or inventory_item_id")
    level = act(emulator=emulator, operation=inventory_deactivate, shop_domain=domain, sku=sku,
                inventory_item_id=item_id, location_id=int_field(data, "location_id"))
    return json_reply(level)


def do_inventory_bulk(*, emulator: Emulator, request: Request, domain: str) -> Response:
    """Sets (or adjusts) many levels, each as its own merchant edit: one
    inventory_levels/update with its own X-Shopify-Event-Id per level that changed.
    Everything is validated before anything changes."""
    shop = require_shop(emulator=emulator, domain=domain)
    entries = read_body(request).get("levels")
    if not isinstance(entries, list) or not entries:
        raise ControlError("levels must be a non-empty list of objects")
    if len(entries) > BULK_LIMIT * 10:
        raise ControlError(f"at most {BULK_LIMIT * 10} levels per request")
    with emulator.world.lock:
        by_sku: dict[str, int] | None = None
        changes = []
        for index, data in enumerate(entries):
            if not isinstance(data, dict):
                raise ControlError(f"levels[{index}] must be an object")
            item_id = int_field(data, "inventory_item_id", required=False)
            if item_id is None:
                sku = str_field(data, "sku", required=False)
                if not sku:
                    raise ControlError(f"levels[{index}] needs inventory_item_id or sku")
                if by_sku is None:
                    by_sku = {item.sku: item.id for item in shop.inventory_items.values()}
                item_id = by_sku.get(sku)
                if item_id is None:
                    raise ControlError(f"No variant with sku {sku!r} in {domain}")
            item = shop.inventory_items.get(item_id)
            if item is None:
                raise ControlError(f"Unknown inventory item {item_id} in {domain}")
            location_id = int_field(data, "location_id", required=False) or (
                shop.primary_location_id)
            if location_id not in item.levels:
                raise ControlError(
                    f"inventory item {item_id} is not stocked at location {location_id}")
            if ("available" in data) == ("delta" in data):
                raise ControlError(f"levels[{index}]: pass exactly one of available or delta")
            key = "available" if "available" in data else "delta"
            changes.append((item_id, location_id, key, int_field(data, key)))
    levels = [
        act(emulator=emulator, operation=inventory_level_set, shop_domain=domain,
            inventory_item_id=item, location_id=location, **{key: value})
        for item, location, key, value in changes
    ]
    return json_reply({"levels": levels})


def do_inventory_changes(*, emulator: Emulator, request: Request) -> Response:
    """Every inventory level change (any shop, any cause) since a wall-clock time."""
    try:
        since = float(request.args.get("since", "0"))
    except ValueError as exc:
        raise ControlError("since must be a number (seconds since the epoch)") from exc
    limit = request.args.get("limit", "10000")
    if not limit.isdigit():
        raise ControlError("limit must be a positive integer")
    shop = request.args.get("shop")
    if shop:
        shop = auth.normalize_shop_domain(shop)
    changes = emulator.inventory_log.since(since, shop=shop, limit=int(limit))
    return json_reply({"changes": changes, "now": time.time()})


ROUTES = [
    Route(path=f"{SHOP_PATH}/inventory", name="inventory", methods=("POST",), handler=do_inventory),
    Route(path=f"{SHOP_PATH}/inventory/bulk", name="inventory_bulk", methods=("POST",),
          handler=do_inventory_bulk),
    Route(path=f"{SHOP_PATH}/inventory/deactivate", name="inventory_deactivate",
          methods=("POST",), handler=do_inventory_deactivate),
    Route(path="/_emulator/inventory/changes", name="inventory_changes", methods=("GET",),
          handler=do_inventory_changes),
]
