"""Live stock reads and the one-off writes that bring newly linked variants to their target.

`source_available_live` and `destination_target` are shared with the inventory engine. Import
sets the first quantity inside productSet; mapping, turning auto sync back on and a product
coming back from hidden use `variant_links_stock_write` (inventorySetQuantities with the
destination's current quantity as changeFromQuantity and an idempotency key per batch).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from products.models import SyncEvent, VariantLink
from products.services import shop_execute, shop_mutate, sync_event_record
from stores.models import Connection, Shop
from syncer.shopify.documents import (
    MAX_INPUT_ITEMS,
    inventory_quantity_input,
    inventory_set_quantities_input,
)
from syncer.shopify.errors import ShopifyUserErrors
from syncer.shopify.ids import gid, gid_id

logger = logging.getLogger(__name__)

# 50 items × 10 locations keeps the requested cost of one read under Shopify's 1,000 points.
READ_CHUNK = 50
LOCATIONS_FIRST = 10
STALE_RETRIES = 3
SET_REASON = "correction"


def _location_ids(values: Iterable) -> set[int]:
    return {gid_id(value) for value in values or ()}


def levels_live(*, shop: Shop, inventory_item_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """`available` per inventory item and location, read now from Shopify. Items Shopify does
    not know are absent; an item not stocked at a location has no entry for it."""
    ids = sorted(set(inventory_item_ids))
    levels: dict[int, dict[int, int]] = {}
    for start in range(0, len(ids), READ_CHUNK):
        chunk = ids[start:start + READ_CHUNK]
        data = shop_execute(shop=shop, name="inventory_levels_for_items", variables={
            "ids": [gid("InventoryItem", i) for i in chunk], "locationsFirst": LOCATIONS_FIRST})
        for node in data.get("nodes") or []:
            if not node or not node.get("id"):
                continue
            per_location = levels.setdefault(gid_id(node["id"]), {})
            for level in (node.get("inventoryLevels") or {}).get("nodes") or []:
                quantities = {q["name"]: q["quantity"] for q in level.get("quantities") or []}
                if quantities.get("available") is not None:
                    per_location[gid_id(level["location"]["id"])] = int(quantities["available"])
    return levels


def source_available_live(*, source: Shop, inventory_item_ids: list[int]) -> dict[int, int]:
    """The source's shared stock per inventory item, read now: the sum of `available` over its
    shared locations (settings "shared_location_ids"; all locations when none are chosen).
    Items Shopify does not know count as 0."""
    shared = _location_ids((source.settings or {}).get("shared_location_ids") or ())
    levels = levels_live(shop=source, inventory_item_ids=inventory_item_ids)
    return {
        item_id: sum(quantity for location, quantity in levels.get(item_id, {}).items()
                     if not shared or location in shared)
        for item_id in inventory_item_ids
    }


def destination_target(*, connection: Connection, source_available: int) -> int:
    """What the destination should show: source available less the safety stock, never < 0."""
    return max(int(source_available) - int(connection.safety_stock or 0), 0)


def destination_location(*, connection: Connection) -> int:
    """The destination's receiving location: the connection's choice or its primary one (the
    inventory engine's definition, so both write to the same place)."""
    from products.inventory import destination_location_id

    return destination_location_id(connection=connection)


@dataclass
class StockWriteResult:
    written: int = 0
    unchanged: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (variant link pk, message)


def _record_written(*, links: list[VariantLink], quantities: dict[int, int],
                    previous: dict[int, int | None], cause: str) -> None:
    """What we wrote becomes the link's last written quantity (the inventory engine's next
    changeFromQuantity and how it recognises its echo)."""
    from products.models import DestinationStock

    now = timezone.now()
    with transaction.atomic():
        for link in links:
            quantity = quantities[link.pk]
            VariantLink.objects.filter(pk=link.pk).update(last_written_quantity=quantity,
                                                          last_written_at=now)
            DestinationStock.objects.filter(variant_link_id=link.pk).update(
                known_quantity=quantity, target=quantity, dirty=False, due_at=None,
                last_written_at=now)
            if previous.get(link.pk) != quantity:
                sync_event_record(
                    connection=link.connection, kind=SyncEvent.Kind.INVENTORY,
                    product_link=link.product_link,
                    field=f"{link.source_variant.sku or link.source_variant.title} available",
                    from_value=previous.get(link.pk), to_value=quantity, cause=cause)


def _record_failed(*, links: list[VariantLink], message: str, cause: str,
                   result: StockWriteResult) -> None:
    for link in links:
        result.failed.append((link.pk, message))
        sync_event_record(
            connection=link.connection, kind=SyncEvent.Kind.INVENTORY,
            product_link=link.product_link,
            field=f"{link.source_variant.sku or link.source_variant.title} available",
            cause=cause, result=SyncEvent.Result.FAILED, error=message)


def variant_links_stock_write(*, connection: Connection, variant_links: list[VariantLink],
                              cause: str,
                              source_available: dict[int, int] | None = None) -> StockWriteResult:
    """Brings each linked destination variant to its target now.

    Reads the source's live stock (unless given) and the destination's current quantities,
    activates items not stocked at the receiving location (with the target as their first
    quantity), and sets the rest with inventorySetQuantities in batches of ≤ 250, each with
    the quantity read as changeFromQuantity. A stale read is re-read and written again.
    """
    result = StockWriteResult()
    links = [link for link in variant_links]
    if not links:
        return result
    destination = connection.destination
    if source_available is None:
        source_available = source_available_live(
            source=connection.source,
            inventory_item_ids=[link.source_variant.inventory_item_id for link in links])
    targets = {link.pk: destination_target(
        connection=connection,
        source_available=source_available.get(link.source_variant.inventory_item_id, 0))
        for link in links}
    location = destination_location(connection=connection)
    pending = links
    for _attempt in range(STALE_RETRIES):
        current = levels_live(shop=destination,
                              inventory_item_ids=[link.destination_inventory_item_id
                                                  for link in pending])
        to_set: list[VariantLink] = []
        for link in pending:
            quantity = current.get(link.destination_inventory_item_id, {}).get(location)
            if link.destination_inventory_item_id not in current:
                _record_failed(links=[link], cause=cause, result=result,
                               message="The variant no longer exists in your store.")
            elif quantity is None:
                _activate(destination=destination, link=link, location=location,
                          quantity=targets[link.pk], cause=cause, result=result)
            elif quantity == targets[link.pk]:
                result.unchanged += 1
                _record_written(links=[link], quantities=targets, previous={link.pk: quantity},
                                cause=cause)
            else:
                link._current = quantity  # type: ignore[attr-defined]
                to_set.append(link)
        stale: list[VariantLink] = []
        for start in range(0, len(to_set), MAX_INPUT_ITEMS):
            batch = to_set[start:start + MAX_INPUT_ITEMS]
            outcome = _set_batch(destination=destination, batch=batch, location=location,
                                 targets=targets, cause=cause, result=result)
            if outcome == "stale":
                stale.extend(batch)
        if not stale:
            return result
        pending = stale
    _record_failed(links=pending, cause=cause, result=result,
                   message="The stock kept changing in your store while we set it; it will be "
                           "corrected by the next sync.")
    return result


def _activate(*, destination: Shop, link: VariantLink, location: int, quantity: int,
              cause: str, result: StockWriteResult) -> None:
    try:
        shop_mutate(shop=destination, name="inventory_activate", root="inventoryActivate",
                    variables={"inventoryItemId": gid("InventoryItem",
                                                      link.destination_inventory_item_id),
                               "locationId": gid("Location", location), "available": quantity,
                               "idempotencyKey": f"syncer-activate-{uuid.uuid4()}"})
    except ShopifyUserErrors as exc:
        _record_failed(links=[link], message=exc.merchant_message, cause=cause, result=result)
        return
    result.written += 1
    _record_written(links=[link], quantities={link.pk: quantity}, previous={link.pk: None},
                    cause=cause)


def _set_batch(*, destination: Shop, batch: list[VariantLink], location: int,
               targets: dict[int, int], cause: str, result: StockWriteResult) -> str:
    variables = {
        "input": inventory_set_quantities_input(
            name="available", reason=SET_REASON,
            reference_document_uri=f"gid://syncer/Connection/{batch[0].connection_id}",
            quantities=[inventory_quantity_input(
                inventory_item_id=gid("InventoryItem", link.destination_inventory_item_id),
                location_id=gid("Location", location), quantity=targets[link.pk],
                change_from_quantity=link._current,  # type: ignore[attr-defined]
            ) for link in batch]),
        # Fixed for this batch: the client's retries of this very call replay, not repeat.
        "idempotencyKey": f"syncer-link-{uuid.uuid4()}",
    }
    try:
        shop_mutate(shop=destination, name="inventory_set_quantities",
                    root="inventorySetQuantities", variables=variables)
    except ShopifyUserErrors as exc:
        if "CHANGE_FROM_QUANTITY_STALE" in exc.codes:
            return "stale"
        _record_failed(links=batch, message=exc.merchant_message, cause=cause, result=result)
        return "failed"
    result.written += len(batch)
    _record_written(links=batch, quantities=targets,
                    previous={link.pk: link._current for link in batch},  # type: ignore
                    cause=cause)
    return "done"
