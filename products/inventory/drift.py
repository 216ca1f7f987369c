"""Flows 5 and 6: a destination's level changed. Our own write coming back (echo) changes
nothing; anything else is drift: recorded, never sent to the source, healed after a grace."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from products.inventory.relocation import stray_stock_found
from products.inventory.sql import KNOWN_QUANTITIES
from products.models import DestinationStock, InventoryWriteBatch, StockReason, SyncEvent
from products.sync_events import sync_event_record
from stores.models import Shop
from webhooks.selectors import delivery_triggered_at

# A manual destination edit waits this long before being overwritten, so that a destination
# sale's source decrement (which arrives as a source level change) wins without a blip.
DRIFT_GRACE = timedelta(seconds=20)
# Shopify's updated_at has one-second resolution and its clock is not ours: a level is only
# called older than our last write when it is older by more than this.
CLOCK_MARGIN = timedelta(seconds=2)


def destination_level_changed(*, destination: Shop, inventory_item_id: int, location_id: int,
                              available: int | None, updated_at: datetime | None = None,
                              delivery_id: int | None = None) -> set[int]:
    """inventory_levels/update on a destination (`delivery_id`), or a level the reconciliation
    read: our own write coming back (echo) changes nothing; a level from before our last
    write or before the last one taken (a late or reordered delivery) is history; anything
    else is drift: recorded, never sent to the source, healed after a grace period by writing
    the target again. Returns the destinations to flush once the grace is over."""
    if available is None:
        return set()
    rows = DestinationStock.objects.filter(
        destination=destination, location_id=location_id,
        # through the connection: the links' index leads with it (sql.KNOWN_QUANTITIES)
        variant_link__connection__destination=destination,
        variant_link__destination_inventory_item_id=inventory_item_id)
    # Most deliveries are echoes of our own writes: one unlocked read tells. A write being
    # completed right now can only make this read look like a change, never hide one, and
    # every change is looked at again below under the row locks.
    with connection.cursor() as cursor:
        cursor.execute(KNOWN_QUANTITIES, {"destination": destination.pk, "location": location_id,
                                          "item": inventory_item_id})
        known = [quantity for (quantity,) in cursor.fetchall()]
    if not known:  # none of our stock is kept here
        stray_stock_found(destination=destination, inventory_item_id=inventory_item_id,
                          location_id=location_id, available=available)
        return set()
    if all(quantity == available for quantity in known):
        return set()
    # Read only now: nearly every delivery stopped above.
    triggered_at = (delivery_triggered_at(delivery_id=delivery_id)
                    if delivery_id is not None else None)
    with transaction.atomic():
        return _destination_level_compare(destination, rows, available, updated_at,
                                          triggered_at)


def _destination_level_compare(destination: Shop, rows: QuerySet[DestinationStock],
                               available: int, updated_at: datetime | None,
                               triggered_at: datetime | None) -> set[int]:
    to_flush: set[int] = set()
    # Row locks: a write completing right now (flush.batch_done) commits first, so we compare
    # with what it wrote rather than with the belief it is replacing.
    stocks = rows.select_for_update(of=("self",)).select_related(
        "variant_link", "variant_link__product_link", "variant_link__connection")
    for stock in stocks:
        if available == stock.known_quantity:
            continue  # echo of our write
        if (updated_at is not None and stock.last_written_at is not None
                and updated_at + CLOCK_MARGIN < stock.last_written_at):
            continue  # a state our later write replaced (if it drifted since, CAS will tell)
        if (triggered_at is not None and stock.level_triggered_at is not None
                and triggered_at < stock.level_triggered_at):
            continue  # overtaken by a later change already taken (e.g. our echo by an edit)
        if InventoryWriteBatch.objects.filter(
            destination=destination, status=InventoryWriteBatch.Status.PENDING,
            items__contains=[{"stock": stock.pk, "quantity": available}],
        ).exists():
            continue  # echo of a write still in flight (its webhook can beat our response)
        if _replaced_by_our_write(destination, stock, available, updated_at):
            continue  # an echo overtaken by a later write of ours
        if stock.target is not None and available == stock.target and stock.known_quantity is None:
            DestinationStock.objects.filter(pk=stock.pk).update(known_quantity=available,
                                                                dirty=False)
            continue
        link = stock.variant_link
        sync_event_record(
            connection=link.connection, product_link=link.product_link,
            kind=SyncEvent.Kind.DRIFT, field=f"variant {link.destination_variant_id} available",
            from_value=stock.known_quantity, to_value=available,
            cause="changed at the destination (not sent to the source)",
            result=SyncEvent.Result.SKIPPED, source_variant_id=link.source_variant_id,
            location_id=stock.location_id, reason=StockReason.HAND_EDIT,
        )
        dirty = stock.target is not None and stock.target != available
        DestinationStock.objects.filter(pk=stock.pk).update(
            known_quantity=available, dirty=dirty,
            level_triggered_at=(triggered_at if triggered_at is not None
                                else stock.level_triggered_at),
            due_at=timezone.now() + DRIFT_GRACE if dirty else None,
            changed_at=timezone.now() if dirty else stock.changed_at,
            reason=StockReason.HAND_EDIT if dirty else stock.reason)
        if dirty:
            to_flush.add(destination.pk)
    return to_flush


def _replaced_by_our_write(destination: Shop, stock: DestinationStock, available: int,
                           updated_at: datetime | None) -> bool:
    """Shopify does not deliver level webhooks in order: the echo of our activation (0) or of
    an earlier write can arrive after our next write, too close to it for updated_at's
    one-second resolution to tell. A level equal to what one of our writes replaced (its
    changeFromQuantity, which Shopify checked), stamped no later than that write, is such an
    echo. A hand edit back to exactly that quantity within CLOCK_MARGIN of our write is
    taken for one too: the next write's compare-and-set finds it (stale, re-read)."""
    if updated_at is None:
        return False
    return InventoryWriteBatch.objects.filter(
        destination=destination, status=InventoryWriteBatch.Status.DONE,
        completed_at__gte=updated_at - CLOCK_MARGIN,
        items__contains=[{"stock": stock.pk, "from": available}],
    ).exists()
