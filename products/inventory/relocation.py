"""A destination's receiving location for one source changed: the synced stock moves with it.

The new location is read before its first write (its stock rows start unknown: settings.py).
The location it left still holds what Syncer last wrote there, on sale beside the new one's:
left alone, the destination would offer the source's stock twice. The same holds for stock of
a synced variant found at any other location (`stray_stock_found`, and the full
reconciliation). What is to clear is kept in `Connection.stock_to_clear`;
`stock_to_clear_apply` sets it to 0, compared with what each variant shows (read live), while
no flush writes to the destination (its flush lock), records each change in the product's
history, then forgets it (the inventory sweeper queues it again if its task was lost). A
variant whose auto sync is off keeps its stock: it was the merchant's own already. Safe to
run twice: a second run finds 0 and writes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from django.db import transaction
from django.utils import timezone
from redis.exceptions import LockError

from products.inventory.flush import SYNC_REASON, destination_flush_lock
from products.inventory.levels import levels_read
from products.inventory.locations import destination_location_id, shop_locations
from products.inventory.targets import SYNCING_LINKS
from products.models import StockReason, SyncEvent, VariantLink
from products.sync_events import SyncEventSpec, sync_events_record
from stores.alerts import alert_raise_on_commit
from stores.models import AlertKind, Connection, Shop
from stores.services import ShopNotInstalled, shop_admin_session
from syncer.shopify.errors import ShopifyRetryable, ShopifyUserErrors
from syncer.shopify.operations.inventory import (
    QUANTITIES_SET_MAX,
    QuantitySet,
    QuantityStale,
    inventory_quantities_set,
)

logger = logging.getLogger(__name__)

# Compare-and-set rounds when the stock there keeps moving (its own sales).
STALE_ATTEMPTS = 3


# A location entry of Connection.stock_to_clear: every synced variant (a receiving location
# left), or these destination inventory items (stock found there).
Entries = dict[int, set[int] | None]
ALL = "all"


def _entries(raw: dict[str, Any] | None) -> Entries:
    return {int(location): (None if items == ALL else {int(item) for item in items})
            for location, items in (raw or {}).items()}


def _raw(entries: Entries) -> dict[str, Any]:
    return {str(location): (ALL if items is None else sorted(items))
            for location, items in sorted(entries.items())}


def stock_to_clear_record(*, connection: Connection, location_id: int,
                          items: set[int] | None, receiving: int | None = None,
                          queued: bool = False) -> None:
    """Adds synced stock to set to 0 at `location_id` (`items`: these destination inventory
    items; None: every synced variant). `receiving`: the location that now receives, whose
    entry (a location left before and chosen again) is dropped. `queued`: the caller queues
    the task once this commits; else the inventory sweeper's next pass does."""
    with transaction.atomic():
        fresh = Connection.objects.select_for_update().get(pk=connection.pk)
        entries = _entries(fresh.stock_to_clear)
        held = entries.get(location_id, set())
        if (location_id in entries and receiving is None and not queued
                and (held is None or (items is not None and items <= held))):
            return  # waiting already (its task may be queued: left as it is)
        entries[location_id] = None if held is None or items is None else held | items
        if receiving is not None:
            entries.pop(receiving, None)
        Connection.objects.filter(pk=fresh.pk).update(
            stock_to_clear=_raw(entries),
            stock_to_clear_since=timezone.now() if queued else None)


def stock_to_clear_waiting(*, destination: Shop) -> int:
    """Synced variants still to set to 0 at a location other than their receiving one (every
    synced variant of a location left, until it has been read)."""
    waiting = 0
    for connection in Connection.objects.filter(destination=destination).exclude(
            stock_to_clear={}):
        for items in _entries(connection.stock_to_clear).values():
            waiting += (len(items) if items is not None else VariantLink.objects.filter(
                connection=connection, **SYNCING_LINKS).count())
    return waiting


def stock_to_clear_apply(*, connection_id: int) -> int:
    """Sets the connection's synced variants to 0 where `Connection.stock_to_clear` says, then
    forgets each entry done. An entry for the location it receives at (chosen again), or of a
    connection no longer connected, is forgotten with nothing written. Returns how many
    variants were set to 0. Raises ShopifyRetryable (the task retries) while the destination
    is being written, Shopify throttles, or the stock there keeps changing."""
    connection = (Connection.objects.select_related("source", "destination")
                  .filter(pk=connection_id).first())
    if connection is None or not connection.stock_to_clear:
        return 0
    lock = destination_flush_lock(connection.destination_id, blocking_timeout=60)
    if not lock.acquire():
        raise ShopifyRetryable("The destination is being written; moving its stock retries.")
    zeroed = 0

    def keepalive() -> None:
        lock.reacquire()

    try:
        connection.refresh_from_db(fields=["destination_location_id", "status",
                                           "stock_to_clear"])
        for location_id, items in _entries(connection.stock_to_clear).items():
            if (connection.status == Connection.Status.CONNECTED
                    and destination_location_id(connection=connection) != location_id):
                try:
                    zeroed += _vacate(connection, location_id, items, keepalive=keepalive)
                except ShopNotInstalled:
                    pass  # the store uninstalled Syncer: nothing can be changed there
                except ShopifyUserErrors as exc:  # refused for good: no retry can pass
                    _refused(connection, location_id, exc.merchant_message)
            _forget(connection, location_id, items)
    finally:
        with suppress(LockError):
            lock.release()
    return zeroed


def stray_stock_found(*, destination: Shop, inventory_item_id: int, location_id: int,
                      available: int | None) -> None:
    """A level at a location where none of the destination's stock rows are. A synced
    variant's stock lives at its receiving location only: every destination sale of it is
    taken off the source, wherever it was sold from. Stock of it appearing elsewhere (a refund
    restocked at the location an order was fulfilled from, a transfer, a hand edit) is on sale
    beside the source's, so it is recorded to clear, for the inventory sweeper's next pass to
    set it to 0 there."""
    if available is None or available <= 0:
        return
    for link in VariantLink.objects.filter(
            connection__destination=destination, destination_inventory_item_id=inventory_item_id,
            **SYNCING_LINKS).select_related("connection", "connection__destination"):
        if destination_location_id(connection=link.connection) == location_id:
            continue
        stock_to_clear_record(connection=link.connection, location_id=location_id,
                              items={inventory_item_id})


def _forget(connection: Connection, location_id: int, done: set[int] | None) -> None:
    """Drops what was done from the entry; what was added meanwhile stays."""
    with transaction.atomic():
        fresh = Connection.objects.select_for_update().get(pk=connection.pk)
        entries = _entries(fresh.stock_to_clear)
        if location_id not in entries:
            return
        held = entries[location_id]
        if done is None or (held is not None and held <= done):
            entries.pop(location_id)
        elif held is not None:
            entries[location_id] = held - done
        Connection.objects.filter(pk=connection.pk).update(
            stock_to_clear=_raw(entries),
            stock_to_clear_since=fresh.stock_to_clear_since if entries else None)


def _vacate(connection: Connection, location_id: int, items: set[int] | None, *,
            keepalive: Callable[[], None]) -> int:
    synced = VariantLink.objects.filter(connection=connection, **SYNCING_LINKS)
    if items is not None:
        synced = synced.filter(destination_inventory_item_id__in=items)
    links = {link.destination_inventory_item_id: link
             for link in synced.select_related("product_link")}
    if not links:
        return 0
    session = shop_admin_session(shop_domain=connection.destination.domain)
    zeroed = 0
    for _ in range(STALE_ATTEMPTS):
        # Only what is on sale there: a negative level (oversold) is left as it is, so no
        # units appear that nobody has.
        planned = sorted(
            (item, available) for (item, location), (available, _) in levels_read(
                shop=connection.destination, inventory_item_ids=list(links),
                bulk_allowed=items is None, keepalive=keepalive).items()
            if location == location_id and available is not None and available > 0)
        if not planned:
            return zeroed
        try:
            for start in range(0, len(planned), QUANTITIES_SET_MAX):
                chunk = planned[start:start + QUANTITIES_SET_MAX]
                inventory_quantities_set(
                    session=session, reason=SYNC_REASON,
                    reference_document_uri=f"gid://syncer/Connection/{connection.pk}",
                    idempotency_key=f"syncer-vacate-{uuid.uuid4()}",
                    quantities=[QuantitySet(inventory_item_id=item, location_id=location_id,
                                            quantity=0, change_from_quantity=available)
                                for item, available in chunk])
                _history(connection, links, chunk, location_id)
                zeroed += len(chunk)
                keepalive()
        except QuantityStale:
            continue  # a sale there meanwhile: read again and set what is left
        return zeroed
    raise ShopifyRetryable("The stock to set to 0 at another location kept changing; it retries.")


def _cause(connection: Connection, location_id: int) -> str:
    names = {location["id"]: location["name"]
             for location in shop_locations(shop=connection.destination)}
    receiving = names.get(destination_location_id(connection=connection), "another location")
    left = names.get(location_id, "the location you left")
    return (f"this source's stock is kept at {receiving} (your receiving location) only: "
            f"set to 0 at {left}")


def _history(connection: Connection, links: dict[int, VariantLink],
             chunk: list[tuple[int, int]], location_id: int) -> None:
    cause = _cause(connection, location_id)
    sync_events_record(events=[SyncEventSpec(
        connection=connection, kind=SyncEvent.Kind.INVENTORY,
        product_link=links[item].product_link,
        field=f"variant {links[item].destination_variant_id} available",
        from_value=available, to_value=0, cause=cause,
        source_variant_id=links[item].source_variant_id, location_id=location_id,
        reason=StockReason.SETTINGS) for item, available in chunk])


def _refused(connection: Connection, location_id: int, message: str) -> None:
    """Shopify refused to set the stock there to 0: the merchant is told where and why, in the
    history and an alert, and sets it by hand."""
    logger.warning("location %s of connection %s not emptied: %s", location_id,
                   connection.pk, message)
    cause = _cause(connection, location_id)
    sync_events_record(events=[SyncEventSpec(
        connection=connection, kind=SyncEvent.Kind.INVENTORY, field="available", to_value=0,
        cause=cause, result=SyncEvent.Result.FAILED, error=message,
        location_id=location_id, reason=StockReason.SETTINGS)])
    alert_raise_on_commit(shop_ids=[connection.destination_id],
                          kind=AlertKind.STOCK_WRITE_FAILED,
                          detail=f"Not done ({cause}): {message}")
