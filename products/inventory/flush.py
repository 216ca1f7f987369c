"""The per-destination flush: the one path that writes a destination's stock.

Dirty rows are claimed in batches of ≤ 250, each recorded with an idempotency key before it is
sent, and written with inventorySetQuantities using our last known quantity as
changeFromQuantity. One flush per destination at a time (a Redis lock); destinations flush in
parallel, each within its own API budget.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db import connection as db_connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from redis.commands.core import Script
from redis.exceptions import LockError, LockNotOwnedError
from redis.lock import Lock

from products.inventory.echoes import echoes_expect, echoes_forget
from products.inventory.levels import levels_read
from products.inventory.selectors import destination_sales_pending
from products.inventory.sql import BATCH_CLAIM, BATCH_INSERT, BATCH_WRITTEN
from products.metrics import propagation_seconds
from products.models import (
    DestinationStock,
    InventoryWriteBatch,
    StockReason,
    SyncEvent,
    VariantLink,
)
from products.sync_events import SyncEventSpec, sync_events_record
from stores.alerts import alert_raise_on_commit
from stores.models import AlertKind, Shop
from stores.services import shop_admin_session
from syncer.redis import WANTED_SECONDS, redis_client
from syncer.shopify.errors import ShopifyUserErrors
from syncer.shopify.operations.inventory import (
    QUANTITIES_SET_MAX,
    QuantitySet,
    QuantityStale,
    inventory_activate,
    inventory_quantities_set,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = QUANTITIES_SET_MAX  # one inventorySetQuantities call per batch
# After a write failed for a reason that retrying the same call cannot fix.
FAILED_WRITE_RETRY = timedelta(minutes=5)
SYNC_REASON = "correction"
# How often a raise held back by the destination's uncounted sales looks again, and how long
# such a sale may hold it (see _raises_deferred_while_sales_pending).
SALE_RECHECK = timedelta(seconds=5)
SALE_WAIT_LIMIT = timedelta(minutes=15)


@dataclass
class FlushResult:
    batches: int = 0
    written: int = 0
    stale: int = 0
    busy: bool = False
    # The rows each completed batch wrote (the "below N: draft" stock rule looks at them).
    written_stock_ids: list[int] = field(default_factory=list)


def destination_flush_lock(destination_id: int, *, blocking_timeout: float | None = None) -> Lock:
    """The lock that makes one writer per destination (a flush, or a resync reading it)."""
    lock: Lock = redis_client().lock(
        f"syncer:inventory-flush:{destination_id}", timeout=settings.INVENTORY_FLUSH_LOCK_SECONDS,
        blocking=blocking_timeout is not None, blocking_timeout=blocking_timeout,
        thread_local=False)
    return lock


def _due_dirty(destination_id: int) -> QuerySet[DestinationStock]:
    now = timezone.now()
    return DestinationStock.objects.filter(
        Q(due_at__isnull=True) | Q(due_at__lte=now), destination_id=destination_id, dirty=True,
    ).exclude(hold=DestinationStock.Hold.HELD)


def _zero_breaker(destination: Shop) -> int:
    """The zero-stock circuit breaker: when the source would take a large share of this
    destination's synced variants to zero at once (a wiped or mis-imported source catalogue
    looks exactly like that), the zeros are held back for the merchant instead of written.
    Returns how many were held."""
    pending = (_due_dirty(destination.pk).filter(target=0, hold=DestinationStock.Hold.NONE)
               .exclude(known_quantity=0))
    pending_count = pending.count()
    if pending_count == 0:
        return 0
    since = timezone.now() - timedelta(seconds=settings.INVENTORY_ZERO_BREAKER_WINDOW_SECONDS)
    zeroed_lately = DestinationStock.objects.filter(
        destination=destination, target=0, known_quantity=0, last_written_at__gte=since).count()
    total = DestinationStock.objects.filter(destination=destination).count()
    zeroing = pending_count + zeroed_lately
    if (zeroing < settings.INVENTORY_ZERO_BREAKER_MIN
            or zeroing < settings.INVENTORY_ZERO_BREAKER_SHARE * total):
        return 0
    rows = list(pending.select_related("variant_link", "variant_link__product_link",
                                       "variant_link__connection"))
    held = DestinationStock.objects.filter(pk__in=[row.pk for row in rows]).update(
        hold=DestinationStock.Hold.HELD)
    cause = (f"held back: {zeroing} of {total} synced variants would go to zero within "
             f"{settings.INVENTORY_ZERO_BREAKER_WINDOW_SECONDS // 60} minutes")
    sync_events_record(events=[SyncEventSpec(
        connection=row.variant_link.connection, product_link=row.variant_link.product_link,
        kind=SyncEvent.Kind.INVENTORY,
        field=f"variant {row.variant_link.destination_variant_id} available",
        from_value=row.known_quantity, to_value=0, cause=cause,
        result=SyncEvent.Result.SKIPPED, source_variant_id=row.variant_link.source_variant_id,
        location_id=row.location_id, reason=StockReason.HELD) for row in rows])
    logger.warning("zero-stock breaker tripped for %s: %s", destination.domain, cause)
    sources = {row.variant_link.connection.source_id for row in rows}
    alert_raise_on_commit(shop_ids=[destination.pk, *sources], kind=AlertKind.BREAKER_HELD,
                          detail=f"{destination.name or destination.domain}: {cause}")
    return held


def inventory_flush_destination(*, destination_id: int,
                                destination: Shop | None = None) -> FlushResult:
    """Writes everything dirty for one destination, in batches of ≤ 250 quantities
    (`destination`: its Shop, when the caller has read it already).

    Raises ShopifyRetryable for the task to retry later; the pending batch keeps its
    idempotency key, so the retry is the same request.
    """
    result = FlushResult()
    if destination is None:
        destination = Shop.objects.get(pk=destination_id)
    result.busy = not _flush_while_wanted(destination, result)
    return result


# syncer.redis.locked_while_wanted's protocol for the flush lock, with one Redis round trip to
# start and one to finish (a flush of many destinations pays them for each). Enter: ask for a
# flush ("wanted"), then take the lock if it is free and clear the request it now serves.
# KEYS: wanted, lock; ARGV: token, lock ms, wanted seconds. 1 = holding the lock.
_FLUSH_ENTER = """
redis.call('SET', KEYS[1], 1, 'EX', ARGV[3])
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
# Leave: asked again meanwhile, the holder keeps the lock (a full lease) and goes round (1);
# else it lets it go (0). A lock that expired during the flush and is free again is taken back
# the same way; one another flush holds now is left to it, with any request (-1 if there is
# one: that flush goes round for it).
_FLUSH_LEAVE = """
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    return -1
  end
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder then
  redis.call('DEL', KEYS[2])
end
return 0
"""


def _flush_lock_scripts() -> tuple[Script, Script]:
    # Registering only hashes the text (no round trip); per call, as the client may be replaced.
    client = redis_client()
    return client.register_script(_FLUSH_ENTER), client.register_script(_FLUSH_LEAVE)


def _flush_while_wanted(destination: Shop, result: FlushResult) -> bool:
    """Flushes under the destination's lock until nobody wants more; False when another flush
    holds the lock (and will go round for this request)."""
    enter, leave = _flush_lock_scripts()
    lock = destination_flush_lock(destination.pk)
    keys = [f"syncer:inventory-flush-wanted:{destination.pk}", lock.name]
    lease_ms = int(settings.INVENTORY_FLUSH_LOCK_SECONDS * 1000)
    token = uuid.uuid1().hex.encode()
    if not enter(keys=keys, args=[token, lease_ms, WANTED_SECONDS]):
        return False
    lock.local.token = token
    while True:
        try:
            flush_locked(destination, result, lock, just_locked=True)
        except BaseException:
            with contextlib.suppress(LockError):  # expired: a newer holder owns it now
                lock.release()
            raise
        # The lock's token may be a new one (taken again after it expired: _lock_renew).
        token = lock.local.token or token
        left = leave(keys=keys, args=[token, lease_ms])
        if left != 1:
            lock.local.token = None
            return bool(left == 0)
        lock.local.token = token


FlushFollowUp = Callable[[int, FlushResult], None]


def inventory_flush_destinations(*, destination_ids: list[int], threads: int,
                                 after: FlushFollowUp | None = None,
                                 ) -> dict[int, FlushResult | Exception]:
    """Flushes several destinations at once, each exactly as inventory_flush_destination does
    (its own lock, batches, changeFromQuantity, idempotency keys): one destination's writes
    stay one at a time and in order, only different destinations overlap — each flush spends
    most of its time waiting for its own API call. `after(destination_id, result)` runs in the
    same thread once that destination is flushed.

    Returns each destination's result, or the exception its flush (or `after`) raised: one
    destination failing or being throttled never holds up the others, and the caller decides
    what each failure needs."""
    destination_ids = list(dict.fromkeys(destination_ids))
    # Read in one query for all of them (a destination gone meanwhile fails on its own).
    shops = Shop.objects.in_bulk(destination_ids)
    if threads <= 1 or len(destination_ids) <= 1:
        return {destination_id: _flush_one(destination_id, shops.get(destination_id), after)
                for destination_id in destination_ids}
    pool = _flush_pool(threads)
    futures = {destination_id: pool.submit(_flush_one_in_thread, destination_id,
                                           shops.get(destination_id), after)
               for destination_id in destination_ids}
    return {destination_id: future.result() for destination_id, future in futures.items()}


def _flush_one(destination_id: int, destination: Shop | None,
               after: FlushFollowUp | None) -> FlushResult | Exception:
    try:
        result = inventory_flush_destination(destination_id=destination_id,
                                             destination=destination)
        if after is not None:
            after(destination_id, result)
    except Exception as exc:  # handed back: the caller retries or reports each destination's
        return exc
    return result


def _flush_one_in_thread(destination_id: int, destination: Shop | None,
                         after: FlushFollowUp | None) -> FlushResult | Exception:
    # Each pool thread has its own database connection, kept from one flush to the next like
    # the worker's own (CONN_MAX_AGE), replaced when it is too old or broken.
    close_old_connections()
    try:
        return _flush_one(destination_id, destination, after)
    finally:
        close_old_connections()


# One pool per worker process (made after the fork, where it is first needed) and size: its
# threads, and their database connections, serve every multi-destination flush the process
# runs rather than being set up for each.
_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _flush_pool(threads: int) -> ThreadPoolExecutor:
    key = (os.getpid(), threads)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=threads,
                                      thread_name_prefix="inventory-flush")
            _pools[key] = pool
        return pool


def flush_locked(destination: Shop, result: FlushResult, lock: Lock, *,
                 just_locked: bool = False) -> None:
    """Writes until nothing is due, holding the destination's flush lock (`just_locked`: taken
    a moment ago, its lease full)."""
    zeros_checked = False
    # Batches left by a flush that died or was retried mid-send go first: same key, so the
    # same request again. None = not looked yet: the first claim looks in the same statement
    # (and claims nothing if there are any), so a flush with none left pays no query for them.
    pending: list[InventoryWriteBatch] | None = None
    renew = not just_locked
    while True:
        if renew and not _lock_renew(lock):
            return  # another flush holds the lock now, and writes whatever is left
        renew = True
        more = True
        batch: InventoryWriteBatch | None
        if pending:
            batch = pending.pop(0)
            batch.attempts += 1
            InventoryWriteBatch.objects.filter(pk=batch.pk).update(attempts=batch.attempts)
        else:
            try:
                batch, more = _batch_form(destination, zeros_checked=zeros_checked,
                                          unless_pending=pending is None)
            except _ZerosToCheck:
                _zero_breaker(destination)
                zeros_checked = True
                renew = False
                continue
            if batch is None and pending is None:
                pending = list(InventoryWriteBatch.objects.filter(
                    destination=destination,
                    status=InventoryWriteBatch.Status.PENDING).order_by("pk"))
                renew = False
                if pending:
                    continue
            pending = pending or []
        if batch is None:
            return
        result.batches += 1
        outcome = _batch_send(destination, batch)
        if outcome == "done":
            result.written += len(batch.items)
            result.written_stock_ids.extend(item["stock"] for item in batch.items)
        elif outcome == "stale":
            result.stale += len(batch.items)
            more = True  # its rows are dirty again, to be re-formed from fresh quantities
        if not more and not pending:
            # Everything due was in this batch; a change since then queued its own flush
            # (and if that flush finds us holding the lock, it has asked us to go round).
            return


def _lock_renew(lock: Lock) -> bool:
    """Renews the lock for the next batch. A lock that expired during a slow batch (a starved
    machine, a slow API) is taken again if it is free; False if another flush has it. Either
    way what was written stands: the writes carry changeFromQuantity and idempotency keys."""
    try:
        lock.reacquire()
    except LockNotOwnedError:
        return bool(lock.acquire(blocking=False))
    return True


class _ZerosToCheck(Exception):
    """A claim would take stock to zero: the zero-stock breaker looks first (once a flush)."""


class _UnknownQuantities(Exception):
    def __init__(self, stock_ids: list[int]) -> None:
        super().__init__(stock_ids)
        self.stock_ids = stock_ids


def _batch_form(destination: Shop, *, zeros_checked: bool,
                unless_pending: bool = False) -> tuple[InventoryWriteBatch | None, bool]:
    """Claims up to BATCH_SIZE due dirty rows and records them as one pending batch with its
    idempotency key, in one transaction. Returns (batch or None, whether more may be due);
    `unless_pending`: claims nothing while the destination has a pending batch.
    Raises _ZerosToCheck (nothing claimed) when it would write a new zero and the zero-stock
    breaker has not looked yet."""
    while True:
        try:
            with transaction.atomic(), db_connection.cursor() as cursor:
                cursor.execute(BATCH_CLAIM, {
                    "destination": destination.pk, "held": DestinationStock.Hold.HELD,
                    "now": timezone.now(), "limit": BATCH_SIZE,
                    "unless_pending": unless_pending,
                    "pending": InventoryWriteBatch.Status.PENDING})
                rows = cursor.fetchall()
                if not rows:
                    return None, False
                if not zeros_checked and any(
                        target == 0 and known != 0 and hold == DestinationStock.Hold.NONE
                        for _, _, _, target, known, _, hold, _ in rows):
                    raise _ZerosToCheck  # rolls the claim back
                unknown = [row[0] for row in rows if row[4] is None]
                if unknown:
                    raise _UnknownQuantities(unknown)  # rolls the claim back
                items = [{"stock": pk, "item": item, "location": location, "quantity": target,
                          "from": known,
                          "changed_at": changed_at.isoformat() if changed_at else None,
                          "reason": reason}
                         for pk, item, location, target, known, changed_at, _, reason
                         in sorted(rows)
                         if target is not None and known != target]
                more = len(rows) >= BATCH_SIZE
                items = _raises_deferred_while_sales_pending(destination, items)
                if items:
                    return _batch_record(cursor, destination, items), more
        except _UnknownQuantities as unknown:
            # Read outside the transaction: no row locks held across an API call.
            known_quantities_refresh(destination, list(DestinationStock.objects.filter(
                pk__in=unknown.stock_ids)))
            continue
        if not more:
            return None, False  # every claimed row already showed its target


def _batch_record(cursor: Any, destination: Shop,
                  items: list[dict[str, Any]]) -> InventoryWriteBatch:
    """The pending batch of these items with its idempotency key (one statement: the ORM's
    insert cost several times its own time, once for every destination a change reaches).
    Sent right after this commit: counted as its first attempt already."""
    batch = InventoryWriteBatch(
        destination=destination, idempotency_key=f"syncer-set-{uuid.uuid4()}", items=items,
        status=InventoryWriteBatch.Status.PENDING, attempts=1, error="",
        created_at=timezone.now())
    cursor.execute(BATCH_INSERT, {
        "destination": destination.pk, "key": batch.idempotency_key,
        "items": json.dumps(items), "status": batch.status, "attempts": batch.attempts,
        "now": batch.created_at})
    (batch.pk,) = cursor.fetchone()
    batch._state.adding = False
    batch._state.db = db_connection.alias
    return batch


def _raises_deferred_while_sales_pending(destination: Shop,
                                        items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items to write now. While the destination's own sales are not yet counted at the
    source (their webhook lost its queue entry in a Redis restart, say), the target still
    includes the units it sold: raising it now would hand them back to be sold twice. Its
    raises wait (SALE_RECHECK, then look again); lowering is always safe. A sale stuck for
    longer than SALE_WAIT_LIMIT is failed or stuck on the health page, and no longer holds
    the destination's restocks back."""
    raises = {item["stock"] for item in items
              if item["from"] is not None and item["quantity"] > item["from"]}
    if not raises or not destination_sales_pending(
            destination=destination, since=timezone.now() - SALE_WAIT_LIMIT):
        return items
    DestinationStock.objects.filter(pk__in=raises).update(
        dirty=True, due_at=timezone.now() + SALE_RECHECK)
    return [item for item in items if item["stock"] not in raises]


def known_quantities_refresh(destination: Shop, stocks: list[DestinationStock]) -> None:
    """Reads the destination's real quantities for rows whose current value we do not know;
    an item not stocked at the receiving location is stocked there first, and what the
    activation answers is what it holds: 0 for a first stocking, but an item stocked there
    before comes back with its earlier quantities (Shopify 2026-04)."""
    links = {link.pk: link for link in VariantLink.objects.filter(
        pk__in=[stock.variant_link_id for stock in stocks])}
    live = levels_read(shop=destination, inventory_item_ids=[
        links[stock.variant_link_id].destination_inventory_item_id for stock in stocks])
    session = shop_admin_session(shop_domain=destination.domain)
    for stock in stocks:
        item_id = links[stock.variant_link_id].destination_inventory_item_id
        if (item_id, stock.location_id) in live:
            DestinationStock.objects.filter(pk=stock.pk).update(
                known_quantity=live[(item_id, stock.location_id)][0])
            continue
        try:
            # A new key each time: the merchant may unstock the item again and a later
            # activation must happen, not replay this one (activating an active level without
            # a quantity changes nothing, so a repeat is harmless).
            available = inventory_activate(
                session=session, inventory_item_id=item_id, location_id=stock.location_id,
                idempotency_key=f"syncer-activate-{uuid.uuid4()}")
        except ShopifyUserErrors as exc:
            # The variant is gone, or the location refuses it: nothing to write until the
            # merchant fixes it (the row waits like a failed write, with the reason recorded).
            _stock_failed(rows=[stock], message=exc.merchant_message)
            continue
        # Unknown (no level in the answer): left unknown, so the next flush reads it.
        DestinationStock.objects.filter(pk=stock.pk).update(known_quantity=available)


def _batch_send(destination: Shop, batch: InventoryWriteBatch) -> str:
    # Marked before the call: Shopify's echo can come before its answer (echoes.py).
    echoes_expect(shop_domain=destination.domain, items=batch.items)
    try:
        inventory_quantities_set(
            session=shop_admin_session(shop_domain=destination.domain),
            reason=SYNC_REASON,
            reference_document_uri=f"gid://syncer/InventoryWriteBatch/{batch.pk}",
            idempotency_key=batch.idempotency_key,
            quantities=[QuantitySet(inventory_item_id=item["item"],
                                    location_id=item["location"], quantity=item["quantity"],
                                    change_from_quantity=item["from"])
                        for item in batch.items])
    except QuantityStale as exc:
        echoes_forget(shop_domain=destination.domain, items=batch.items)
        _batch_stale(destination, batch, str(exc))
        return "stale"
    except ShopifyUserErrors as exc:
        echoes_forget(shop_domain=destination.domain, items=batch.items)
        _batch_failed(batch, exc.merchant_message)
        return "failed"
    _batch_done(batch)
    return "done"


def _batch_done(batch: InventoryWriteBatch) -> None:
    # The statement takes what was written from the batch's stored items (sql.BATCH_WRITTEN).
    with db_connection.cursor() as cursor:
        cursor.execute(BATCH_WRITTEN, {
            "now": timezone.now(), "batch": batch.pk, "done": InventoryWriteBatch.Status.DONE,
            "kind": SyncEvent.Kind.INVENTORY, "cause": f"batch {batch.idempotency_key}",
            "ok": SyncEvent.Result.OK,
        })
        latencies = [latency_ms for (latency_ms,) in cursor.fetchall() if latency_ms is not None]
    for latency_ms in latencies:
        propagation_seconds.observe(latency_ms / 1000)


def _batch_stale(destination: Shop, batch: InventoryWriteBatch, error: str) -> None:
    """The destination changed under us (or the item is not stocked there yet): nothing was
    applied. Re-read the real quantities and let the next batch (new key) write again."""
    InventoryWriteBatch.objects.filter(pk=batch.pk).update(
        status=InventoryWriteBatch.Status.STALE, error=error[:2000],
        completed_at=timezone.now())
    stocks = list(DestinationStock.objects.filter(pk__in=[i["stock"] for i in batch.items]))
    known_quantities_refresh(destination, stocks)
    for stock in DestinationStock.objects.filter(pk__in=[s.pk for s in stocks]):
        if stock.target is not None and stock.target != stock.known_quantity:
            DestinationStock.objects.filter(pk=stock.pk).update(dirty=True, due_at=None)


def _batch_failed(batch: InventoryWriteBatch, message: str) -> None:
    InventoryWriteBatch.objects.filter(pk=batch.pk).update(
        status=InventoryWriteBatch.Status.FAILED, error=message[:2000],
        completed_at=timezone.now())
    DestinationStock.objects.filter(pk__in=[i["stock"] for i in batch.items]).update(
        dirty=True, due_at=timezone.now() + FAILED_WRITE_RETRY)
    logger.warning("inventory batch %s failed: %s", batch.pk, message)
    alert_raise_on_commit(shop_ids=[batch.destination_id], kind=AlertKind.STOCK_WRITE_FAILED,
                          detail=f"{len(batch.items)} stock quantities not set: {message}")


def _stock_failed(*, rows: list[DestinationStock], message: str) -> None:
    """Rows that cannot be written now: they wait like a failed write, and say why."""
    DestinationStock.objects.filter(pk__in=[row.pk for row in rows]).update(
        dirty=True, due_at=timezone.now() + FAILED_WRITE_RETRY)
    links = {link.pk: link for link in VariantLink.objects.filter(
        pk__in=[row.variant_link_id for row in rows]).select_related("product_link",
                                                                     "connection")}
    sync_events_record(events=[SyncEventSpec(
        connection=links[row.variant_link_id].connection,
        product_link=links[row.variant_link_id].product_link, kind=SyncEvent.Kind.INVENTORY,
        field=f"variant {links[row.variant_link_id].destination_variant_id} available",
        to_value=row.target, cause="stock write", result=SyncEvent.Result.FAILED,
        error=message, source_variant_id=links[row.variant_link_id].source_variant_id,
        location_id=row.location_id, reason=row.reason) for row in rows])
    alert_raise_on_commit(shop_ids=[row.destination_id for row in rows],
                          kind=AlertKind.STOCK_WRITE_FAILED, detail=message)
