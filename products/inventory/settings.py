"""The merchant's inventory settings: a source's shared and sale-taking locations, a
destination's receiving location, stock rules and pending-order rule for each source, and
letting held-back zeros through. Each returns the destinations that now have stock to write
(the caller queues their flush: see products/inventory/tasks.py)."""

from __future__ import annotations

from django.db import transaction

from products.inventory.locations import receiving_location_id
from products.inventory.relocation import stock_to_clear_record
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


def connection_inventory_save(*, connection: Connection, destination_location_id: int | None,
                              safety_stock: int, count_pending_orders: bool,
                              stock_percent: int, stock_max: int | None,
                              draft_below: int | None) -> set[int]:
    """A destination's settings for one source. A new receiving location starts unknown (read
    before the first write), and the one it leaves is recorded to be emptied once this commits
    (`Connection.stock_to_clear`: the caller queues tasks.stock_to_clear_on_commit); new stock
    rules change every target (reason SETTINGS). The "below N: draft" rule is the caller's to
    run once this commits (tasks.stock_rule_connection_on_commit): it calls the destination's
    Admin API."""
    receiving = receiving_location_id(destination=connection.destination,
                                      chosen=destination_location_id)
    left = receiving_location_left(connection=connection,
                                   destination_location_id=destination_location_id)
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).update(
            destination_location_id=destination_location_id, safety_stock=safety_stock,
            count_pending_orders=count_pending_orders, stock_percent=stock_percent,
            stock_max=stock_max, draft_below=draft_below)
        if left is not None:
            # The one left is to be emptied; one left before and chosen again is not.
            stock_to_clear_record(connection=connection, location_id=left, items=None,
                                  receiving=receiving, queued=True)
    connection.refresh_from_db()
    if left is not None:
        # Every link gets its row now, at the new location and unknown: a row made later
        # would take the link's last written quantity, which was written at the old one.
        DestinationStock.objects.bulk_create(
            [DestinationStock(variant_link=link, destination_id=connection.destination_id,
                              location_id=receiving)
             for link in VariantLink.objects.filter(connection=connection, stock__isnull=True)],
            batch_size=1000, ignore_conflicts=True)
        # (A hand edit's grace at the old location has nothing to wait for at the new one.)
        DestinationStock.objects.filter(variant_link__connection=connection).update(
            location_id=receiving, known_quantity=None, target=None, due_at=None)
    items = VariantLink.objects.filter(connection=connection).values_list(
        "source_variant__inventory_item_id", flat=True)
    return targets_recompute(source=connection.source, inventory_item_ids=items,
                             reason=StockReason.SETTINGS)


def receiving_location_left(*, connection: Connection,
                            destination_location_id: int | None) -> int | None:
    """The receiving location a save of `destination_location_id` (None: the first location)
    leaves, or None when it stays."""
    current = receiving_location_id(destination=connection.destination,
                                    chosen=connection.destination_location_id)
    chosen = receiving_location_id(destination=connection.destination,
                                   chosen=destination_location_id)
    return current if current != chosen else None


def inventory_zero_hold_release(*, connection: Connection) -> int:
    """The merchant lets the held zeros of one source through; they are written next flush
    and not held again unless the source changes them."""
    return DestinationStock.objects.filter(
        variant_link__connection=connection, hold=DestinationStock.Hold.HELD,
    ).update(hold=DestinationStock.Hold.RELEASED)
