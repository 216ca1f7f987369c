"""Newly linked variants (an import, a mapping, auto sync back on, a product back from hidden)
start following the source: each gets its stock row with the target from the source's stock
read now, marked dirty with its current quantity unknown, and the destination is flushed at
once under its flush lock. One read, one activate and one set-quantities path: the engine's.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from redis.exceptions import LockError

from products.inventory.flush import (
    FlushResult,
    destination_flush_lock,
    flush_locked,
    known_quantities_refresh,
)
from products.inventory.levels import source_available_live
from products.inventory.targets import destination_targets, stock_for
from products.models import (
    DestinationStock,
    InventoryWriteBatch,
    StockReason,
    SyncEvent,
    VariantLink,
)
from stores.models import Connection
from syncer.shopify.errors import ShopifyRetryable

# How long a newly linked variant's write waits for a flush already writing the destination.
FLUSH_WAIT_SECONDS = 120
NOT_WRITTEN = ("The stock kept changing in your store while we set it; it will be corrected "
               "by the next sync.")


@dataclass
class StockWriteResult:
    written: int = 0
    unchanged: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (variant link pk, message)


def variant_links_stock_write(*, connection: Connection, variant_links: list[VariantLink],
                              cause: str,
                              source_available: dict[int, int] | None = None) -> StockWriteResult:
    """Brings each linked destination variant to its target now, through the flush.

    `source_available` (shared stock per source inventory item) is read live when not given.
    `cause` names the work in logs; each write's audit row names its batch.
    """
    result = StockWriteResult()
    links = list(variant_links)
    if not links:
        return result
    if source_available is None:
        source_available = source_available_live(
            source=connection.source,
            inventory_item_ids=[link.source_variant.inventory_item_id for link in links])
    started = timezone.now()
    lock = destination_flush_lock(connection.destination_id,
                                  blocking_timeout=FLUSH_WAIT_SECONDS)
    if not lock.acquire():
        raise ShopifyRetryable(f"The destination is being written; {cause} retries.")
    try:
        targets = destination_targets(connection=connection, source_available={
            link.source_variant.inventory_item_id: source_available.get(
                link.source_variant.inventory_item_id, 0) for link in links})
        stock_ids: dict[int, int] = {}
        for link in links:
            stock = stock_for(link)
            stock_ids[stock.pk] = link.pk
            DestinationStock.objects.filter(pk=stock.pk).update(
                target=targets[link.source_variant.inventory_item_id], dirty=True, due_at=None,
                hold=DestinationStock.Hold.NONE, changed_at=started,
                reason=StockReason.LINKED)
        # What the destination shows now (stocking the item at the receiving location if it
        # is not yet): the write is a compare-and-set from it, and a variant already showing
        # its target (or already at zero) is left alone rather than counted as a new zero.
        known_quantities_refresh(connection.destination,
                                 list(DestinationStock.objects.filter(pk__in=stock_ids)))
        flush_locked(connection.destination, FlushResult(), lock)
    finally:
        with contextlib.suppress(LockError):
            lock.release()
    rows = DestinationStock.objects.filter(pk__in=stock_ids)
    for stock in rows:
        link_pk = stock_ids[stock.pk]
        if not stock.dirty and stock.known_quantity == stock.target:
            if stock.last_written_at is not None and stock.last_written_at >= started:
                result.written += 1
            else:
                result.unchanged += 1
            VariantLink.objects.filter(pk=link_pk).update(
                last_written_quantity=stock.known_quantity,
                last_written_at=stock.last_written_at or timezone.now())
        else:
            result.failed.append((link_pk, _failure_reason(stock_id=stock.pk, link_pk=link_pk,
                                                            since=started)))
    return result


def _failure_reason(*, stock_id: int, link_pk: int, since: datetime) -> str:
    """Shopify's reason in plain words: a refused write, or a refused activation."""
    batch_error = (InventoryWriteBatch.objects
                   .filter(items__contains=[{"stock": stock_id}], completed_at__gte=since,
                           status=InventoryWriteBatch.Status.FAILED)
                   .order_by("-pk").values_list("error", flat=True).first())
    event_error = (SyncEvent.objects
                   .filter(product_link__variant_links=link_pk, created_at__gte=since,
                           result=SyncEvent.Result.FAILED)
                   .order_by("-pk").values_list("error", flat=True).first())
    return batch_error or event_error or NOT_WRITTEN
