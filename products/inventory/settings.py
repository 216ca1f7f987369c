"""The merchant's inventory settings: a source's shared and sale-taking locations, a
destination's receiving location, stock rules and pending-order rule for each source, and
letting held-back zeros through. Each returns the destinations that now have stock to write
(the caller queues their flush: see products/inventory/tasks.py)."""

from __future__ import annotations

from django.db import transaction

from products.inventory.targets import targets_recompute
from products.models import DestinationStock, SourceLevel, StockReason, VariantLink
from stores.models import Connection, Shop


def source_locations_save(*, source: Shop, shared_location_ids: list[int],
                          decrement_location_id: int) -> set[int]:
    """A source's location choice; shared stock changes, so every target is recomputed."""
    with transaction.atomic():
        fresh = Shop.objects.select_for_update().get(pk=source.pk)
        fresh.settings = dict(fresh.settings or {}, shared_location_ids=shared_location_ids,
                              decrement_location_id=decrement_location_id)
        fresh.save(update_fields=["settings", "updated_at"])
    source.settings = fresh.settings
    items = SourceLevel.objects.filter(shop=source).values_list("inventory_item_id", flat=True)
    return targets_recompute(source=source, inventory_item_ids=items,
                             reason=StockReason.SETTINGS)


def connection_inventory_save(*, connection: Connection, destination_location_id: int,
                              safety_stock: int, count_pending_orders: bool,
                              stock_percent: int, stock_max: int | None,
                              draft_below: int | None) -> set[int]:
    """A destination's settings for one source. A new receiving location starts unknown (read
    before the first write); new stock rules change every target (reason SETTINGS). The
    "below N: draft" rule is the caller's to run once this commits (tasks.
    stock_rule_connection_on_commit): it calls the destination's Admin API."""
    moved = connection.destination_location_id != destination_location_id
    Connection.objects.filter(pk=connection.pk).update(
        destination_location_id=destination_location_id, safety_stock=safety_stock,
        count_pending_orders=count_pending_orders, stock_percent=stock_percent,
        stock_max=stock_max, draft_below=draft_below)
    connection.refresh_from_db()
    if moved:
        DestinationStock.objects.filter(variant_link__connection=connection).update(
            location_id=destination_location_id, known_quantity=None, target=None)
    items = VariantLink.objects.filter(connection=connection).values_list(
        "source_variant__inventory_item_id", flat=True)
    return targets_recompute(source=connection.source, inventory_item_ids=items,
                             reason=StockReason.SETTINGS)


def inventory_zero_hold_release(*, connection: Connection) -> int:
    """The merchant lets the held zeros of one source through; they are written next flush
    and not held again unless the source changes them."""
    return DestinationStock.objects.filter(
        variant_link__connection=connection, hold=DestinationStock.Hold.HELD,
    ).update(hold=DestinationStock.Hold.RELEASED)
