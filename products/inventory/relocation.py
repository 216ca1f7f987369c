"""A destination's receiving location for one source changed: the synced stock moves with it.

The new location is read before its first write (its stock rows start unknown: settings.py).
The location it left still holds what Syncer last wrote there, on sale beside the new one's:
left alone, the destination would offer the source's stock twice. The save records it in
`Connection.locations_left`; `receiving_locations_vacate` sets every synced variant of the
connection to 0 there, compared with what it shows (read live), while no flush writes to the
destination (its flush lock), records each change in the product's history, then forgets the
location (the inventory sweeper queues it again if its task was lost). A variant whose auto
sync is off keeps its stock: it was the merchant's own already. Safe to run twice: a second
run finds 0 and writes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import suppress

from django.db import transaction
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

# Compare-and-set rounds when the old location's stock keeps moving (its own sales).
STALE_ATTEMPTS = 3


def receiving_locations_vacate(*, connection_id: int) -> int:
    """Sets the connection's synced variants to 0 at each receiving location it left
    (`Connection.locations_left`), then forgets it. A location it receives at again, or a
    connection no longer connected, is forgotten with nothing written. Returns how many
    variants were set to 0. Raises ShopifyRetryable (the task retries) while the destination
    is being written, Shopify throttles, or the stock there keeps changing."""
    connection = (Connection.objects.select_related("source", "destination")
                  .filter(pk=connection_id).first())
    if connection is None or not connection.locations_left:
        return 0
    lock = destination_flush_lock(connection.destination_id, blocking_timeout=60)
    if not lock.acquire():
        raise ShopifyRetryable("The destination is being written; moving its stock retries.")
    zeroed = 0

    def keepalive() -> None:
        lock.reacquire()

    try:
        connection.refresh_from_db(fields=["destination_location_id", "status",
                                           "locations_left"])
        for location_id in connection.locations_left:
            if (connection.status == Connection.Status.CONNECTED
                    and destination_location_id(connection=connection) != location_id):
                try:
                    zeroed += _vacate(connection, location_id, keepalive=keepalive)
                except ShopNotInstalled:
                    pass  # the store uninstalled Syncer: nothing can be changed there
                except ShopifyUserErrors as exc:  # refused for good: no retry can pass
                    _refused(connection, location_id, exc.merchant_message)
            _forget(connection, location_id)
    finally:
        with suppress(LockError):
            lock.release()
    return zeroed


def stray_stock_found(*, destination: Shop, inventory_item_id: int, location_id: int,
                      available: int | None) -> bool:
    """A level at a location where none of the destination's stock rows are. A synced
    variant's stock lives at its receiving location only: every destination sale of it is
    taken off the source, wherever it was sold from. Stock of it appearing elsewhere (a refund
    restocked at the location an order was fulfilled from, a transfer, a hand edit) is on sale
    beside the source's, so the location joins the connection's `locations_left`, for the
    inventory sweeper's next pass to set it to 0 there. Returns whether it did."""
    if available is None or available <= 0:
        return False
    found = False
    for link in VariantLink.objects.filter(
            connection__destination=destination, destination_inventory_item_id=inventory_item_id,
            **SYNCING_LINKS).select_related("connection", "connection__destination"):
        if destination_location_id(connection=link.connection) == location_id:
            continue
        found = True
        locations_left_add(connection=link.connection, location_ids={location_id})
    return found


def locations_left_add(*, connection: Connection, location_ids: set[int]) -> None:
    """Stock of the connection's synced variants found at these locations, none of them its
    receiving one: for the inventory sweeper's next pass to set to 0 there."""
    if not location_ids:
        return
    with transaction.atomic():
        fresh = Connection.objects.select_for_update().get(pk=connection.pk)
        if location_ids <= set(fresh.locations_left):
            return  # waiting already (its task may be queued: left as it is)
        # No task queued for the new ones yet (None): the sweeper's next pass queues one.
        Connection.objects.filter(pk=fresh.pk).update(
            locations_left=sorted({*fresh.locations_left, *location_ids}),
            locations_left_since=None)


def _forget(connection: Connection, location_id: int) -> None:
    with transaction.atomic():
        fresh = Connection.objects.select_for_update().get(pk=connection.pk)
        left = [location for location in fresh.locations_left if location != location_id]
        Connection.objects.filter(pk=connection.pk).update(
            locations_left=left, locations_left_since=fresh.locations_left_since if left
            else None)


def _vacate(connection: Connection, location_id: int, *,
            keepalive: Callable[[], None]) -> int:
    links = {link.destination_inventory_item_id: link for link in VariantLink.objects.filter(
        connection=connection, **SYNCING_LINKS).select_related("product_link")}
    if not links:
        return 0
    session = shop_admin_session(shop_domain=connection.destination.domain)
    zeroed = 0
    for _ in range(STALE_ATTEMPTS):
        # Only what is on sale there: a negative level (oversold) is left as it is, so no
        # units appear that nobody has.
        planned = sorted(
            (item, available) for (item, location), (available, _) in levels_read(
                shop=connection.destination, inventory_item_ids=list(links), bulk_allowed=True,
                keepalive=keepalive).items()
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
    raise ShopifyRetryable("The stock at the location you left kept changing; moving it retries.")


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
    """Shopify refused to set the old location's stock to 0: the merchant is told where and
    why, in the history and an alert, and sets it by hand."""
    logger.warning("receiving location %s of connection %s not emptied: %s", location_id,
                   connection.pk, message)
    sync_events_record(events=[SyncEventSpec(
        connection=connection, kind=SyncEvent.Kind.INVENTORY, field="available", to_value=0,
        cause=_cause(connection, location_id), result=SyncEvent.Result.FAILED, error=message,
        location_id=location_id, reason=StockReason.SETTINGS)])
    alert_raise_on_commit(
        shop_ids=[connection.destination_id], kind=AlertKind.STOCK_WRITE_FAILED,
        detail=f"The stock at the receiving location you left was not set to 0: {message}")
