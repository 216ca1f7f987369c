"""Flow 10: reconciliation. The full one (a resync, every 6 hours or on demand) compares real
levels on both sides for every synced variant of a connection; drift is recorded and healed
through the flush. The incremental one (every few minutes, per shop) reads only the levels
Shopify changed since the last check and feeds those that differ from ours through the path
their dropped webhook would have taken."""

from __future__ import annotations

import itertools
import logging
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone
from redis.exceptions import LockError
from redis.lock import Lock

from products.inventory.drift import destination_level_changed
from products.inventory.flush import destination_flush_lock, inventory_flush_destination
from products.inventory.levels import source_levels_record
from products.inventory.locations import destination_location_id, source_shared_location_ids
from products.inventory.relocation import stock_to_clear_record
from products.inventory.targets import (
    source_levels_changed,
    stock_for,
    syncing_links,
    targets_recompute,
)
from products.models import (
    DestinationStock,
    LevelWatermark,
    ReconciliationRun,
    SourceLevel,
    SourceVariant,
    StockReason,
    SyncEvent,
    VariantLink,
)
from products.sync_events import sync_event_record
from stores.models import Connection, Shop
from stores.services import shop_admin_session
from syncer.redis import redis_client
from syncer.shopify.bulk import BulkOperationFailed
from syncer.shopify.errors import ShopifyError, ShopifyRetryable, ShopifyTimeout, ShopifyUserErrors
from syncer.shopify.operations.inventory import (
    LOCATIONS_PER_ITEM,
    InventoryLevel,
    inventory_levels_bulk_read,
    inventory_levels_changed_read,
    inventory_levels_read,
)

logger = logging.getLogger(__name__)

RESYNC_UNEXPECTED = ("Syncer ran into an unexpected problem and stopped the resync (it has "
                     "been logged). Try again; if it happens again, contact support.")
RESYNC_LOST = ("The resync stopped before it finished: the worker running it was lost, or it "
               "never started. Try again.")
RESYNC_NOT_QUEUED = ("The resync could not be started: Syncer's task queue did not answer. "
                     "Try again in a minute.")


def reconciliation_stuck_after() -> timedelta:
    """A run still "running" this long after it started has lost its task: one attempt is
    bounded by the task time limit (minutes), its retries wait as failed runs."""
    return timedelta(seconds=settings.RESYNC_STUCK_SECONDS)


def reconciliation_start(*, connection: Connection, trigger: str) -> ReconciliationRun:
    return ReconciliationRun.objects.create(connection=connection, trigger=trigger)


def reconciliation_fail(*, run_id: int, reason: str) -> None:
    """Ends a run as failed with a reason in plain words (a finished run stays finished)."""
    ReconciliationRun.objects.filter(pk=run_id).exclude(
        status=ReconciliationRun.Status.DONE).update(
        status=ReconciliationRun.Status.FAILED, error=reason, finished_at=timezone.now())


def reconciliation_runs_end_stuck(*, destination: Shop | None = None) -> int:
    """The sweeper's part: runs left "running" past reconciliation_stuck_after() end failed,
    so the merchant sees why and can try again instead of watching "Checking 0 of N"."""
    runs = ReconciliationRun.objects.filter(
        status=ReconciliationRun.Status.RUNNING,
        started_at__lt=timezone.now() - reconciliation_stuck_after())
    if destination is not None:
        runs = runs.filter(connection__destination=destination)
    return runs.update(status=ReconciliationRun.Status.FAILED, error=RESYNC_LOST,
                       finished_at=timezone.now())


def reconciliation_run(*, run_id: int) -> ReconciliationRun:
    """Compares real levels on both sides for every synced variant of a connection, records
    drift, and heals it (by marking the rows dirty and flushing). Whatever stops it ends the
    run failed with its reason (and is raised on, for the task to retry or record)."""
    try:
        return _reconciliation_run(run_id=run_id)
    except ShopifyError as exc:
        reconciliation_fail(run_id=run_id, reason=exc.merchant_message)
        raise
    except Exception:
        # Not retried and not the merchant's to fix, but never left "running" with no word.
        logger.exception("resync %s failed", run_id)
        reconciliation_fail(run_id=run_id, reason=RESYNC_UNEXPECTED)
        raise


# Links (and levels) per page of a full reconciliation: a worker holds one page of links,
# stock rows and levels at a time, so its memory does not grow with the catalogue.
RECONCILE_PAGE = 1000


def _link_pages(links: QuerySet[VariantLink], field: str) -> Iterator[list[int]]:
    """`field` of every link, a page at a time, in primary-key order (keyset: each page is one
    index range, never an OFFSET)."""
    after = 0
    while True:
        rows = list(links.filter(pk__gt=after).order_by("pk").values_list("pk", field)
                    [:RECONCILE_PAGE])
        if not rows:
            return
        yield [value for _, value in rows]
        after = rows[-1][0]


def _level_pages(*, shop: Shop, count: int, item_pages: Callable[[], Iterator[list[int]]],
                 keepalive: Callable[[], None] | None = None) -> Iterator[list[InventoryLevel]]:
    """The shop's live levels of the items `item_pages` yields (`count` of them), a page at a
    time: from one bulk query when there are enough of them (it reads every level of the shop,
    streamed; the caller keeps those it follows), else — or when the bulk query cannot run —
    page by page for those items only. A page given out is never taken back: a bulk read that
    fails midway is read again page by page from the start, and every use of a page is one
    that can be repeated."""
    session = shop_admin_session(shop_domain=shop.domain)
    if count >= settings.INVENTORY_BULK_READ_MIN_ITEMS:
        try:
            page: list[InventoryLevel] = []
            for level in inventory_levels_bulk_read(
                    session=session, keepalive=keepalive,
                    timeout=settings.INVENTORY_BULK_READ_TIMEOUT_SECONDS):
                page.append(level)
                if len(page) >= RECONCILE_PAGE:
                    yield page
                    page = []
            if page:
                yield page
            return
        except (ShopifyUserErrors, BulkOperationFailed, ShopifyTimeout) as exc:
            # Another bulk query of ours is running (the catalogue load), or this one failed
            # or is slow: the paged reads get the same answer.
            logger.warning("bulk level read of %s not used (%s); reading page by page",
                           shop.domain, exc)
    for items in item_pages():
        if keepalive is not None:
            keepalive()
        yield list(inventory_levels_read(session=session, inventory_item_ids=items))


@contextmanager
def _renewed(lock: Lock) -> Iterator[None]:
    """Renews `lock` every third of its timeout while the block runs, from a thread: a single
    call inside it (a bulk query of a large catalogue that the shop runs while we wait, the
    first line of its result) can outlast the lock, and a lapsed lock lets a flush write the
    destination while we read it."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(settings.INVENTORY_FLUSH_LOCK_SECONDS / 3):
            try:
                lock.reacquire()
            except LockError:
                return  # lost anyway: the block's own keepalive raises

    thread = threading.Thread(target=renew, name="resync-lock-renewal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _reconciliation_run(*, run_id: int) -> ReconciliationRun:
    run = ReconciliationRun.objects.select_related(
        "connection", "connection__source", "connection__destination").get(pk=run_id)
    connection = run.connection
    links = syncing_links(connection=connection)
    total = links.count()
    ReconciliationRun.objects.filter(pk=run.pk).update(total=total)
    if not total:
        ReconciliationRun.objects.filter(pk=run.pk).update(
            status=ReconciliationRun.Status.DONE, finished_at=timezone.now())
        run.refresh_from_db()
        return run
    source_items = "source_variant__inventory_item_id"
    now = timezone.now()
    # (followed item, location) of every level Shopify listed: 16 bytes a level, so a large
    # catalogue's read stays small (a bulk read lists an item's levels in any order).
    listed_items, listed_locations = array("q"), array("q")
    for levels in _level_pages(shop=connection.source, count=total,
                               item_pages=lambda: _link_pages(links, source_items)):
        followed = set(links.filter(**{f"{source_items}__in": {
            level.inventory_item_id for level in levels}}).values_list(source_items, flat=True))
        for level in levels:
            if level.inventory_item_id in followed:
                listed_items.append(level.inventory_item_id)
                listed_locations.append(level.location_id)
        source_levels_record(source=connection.source, authoritative=True, seen_at=now, levels=[
            (level.inventory_item_id, level.location_id, level.available,
             level.updated_at or now)
            for level in levels if level.inventory_item_id in followed])
    _source_levels_unstocked_drop(source=connection.source, read_at=now,
                                  listed=zip(listed_items, listed_locations, strict=True))
    del listed_items, listed_locations
    for items in _link_pages(links, source_items):
        targets_recompute(source=connection.source, changed_at=now, reason=StockReason.RESYNC,
                          inventory_item_ids=items)
    lock = destination_flush_lock(connection.destination_id, blocking_timeout=120)
    if not lock.acquire():
        raise ShopifyRetryable("The destination is being written; reconciliation retries.")
    try:
        with _renewed(lock):
            drift = _reconcile_destination_locked(run, connection, links, total, lock)
    finally:
        lock.release()
    inventory_flush_destination(destination_id=connection.destination_id)
    remaining = DestinationStock.objects.filter(
        variant_link__connection=connection, dirty=True).count()
    ReconciliationRun.objects.filter(pk=run.pk).update(
        drift_fixed=max(drift - remaining, 0), status=ReconciliationRun.Status.DONE,
        finished_at=timezone.now())
    run.refresh_from_db()
    return run


def _source_levels_unstocked_drop(*, source: Shop, listed: Iterable[tuple[int, int]],
                                  read_at: datetime) -> int:
    """Forgets the source levels Shopify no longer lists: the item was unstocked at the
    location. From 2026-04 such a level stays, inactive, with its quantities, but it sells
    nothing and only `includeInactive: true` lists it; no webhook Syncer takes says so, and
    counting it would offer the destinations stock the source cannot sell. Only items whose
    every level was read (fewer than a read's page of locations) are looked at, and only
    levels held from before the read (a webhook may have brought a newer one since)."""
    dropped = 0

    def drop(page: dict[int, set[int]]) -> int:
        held = SourceLevel.objects.filter(
            shop=source, inventory_item_id__in=list(page), seen_at__lte=read_at,
        ).values_list("pk", "inventory_item_id", "location_id")
        gone = [pk for pk, item, location in held if location not in page[item]]
        return SourceLevel.objects.filter(pk__in=gone).delete()[0] if gone else 0

    page: dict[int, set[int]] = {}
    for item, pairs in itertools.groupby(sorted(listed), key=lambda pair: pair[0]):
        locations = {location for _, location in pairs}
        if len(locations) < LOCATIONS_PER_ITEM:
            page[item] = locations
        if len(page) >= RECONCILE_PAGE:
            dropped += drop(page)
            page = {}
    if page:
        dropped += drop(page)
    if dropped:
        logger.info("reconciliation of %s: %d source level(s) no longer stocked, forgotten",
                    source.domain, dropped)
    return dropped


def _reconcile_destination_locked(run: ReconciliationRun, connection: Connection,
                                  links: QuerySet[VariantLink], total: int, lock: Lock) -> int:
    """Reads the destination and corrects our beliefs while no write to it is in flight (we
    hold its flush lock), so a read cannot be older than what we believe. A page of levels at
    a time: the stock rows of the items on it are read in one statement, the ones that differ
    corrected; then every row whose belief differs from its target is marked to write."""

    def keepalive() -> None:
        lock.reacquire()

    for link in links.filter(stock__isnull=True).iterator(chunk_size=RECONCILE_PAGE):
        stock_for(link)  # a link made since the last reconciliation gets its row
    stocks = DestinationStock.objects.filter(variant_link__in=links)
    drift = checked = 0
    strays: dict[int, set[int]] = {}
    for levels in _level_pages(
            shop=connection.destination, count=total, keepalive=keepalive,
            item_pages=lambda: _link_pages(links, "destination_inventory_item_id")):
        keepalive()
        live = {(level.inventory_item_id, level.location_id): level.available
                for level in levels}
        rows = stocks.filter(variant_link__destination_inventory_item_id__in={
            item for item, _ in live}).select_related("variant_link__product_link")
        corrected = []
        receiving_of: dict[int, int] = {}
        for stock in rows:
            link = stock.variant_link
            checked += 1
            receiving_of[link.destination_inventory_item_id] = stock.location_id
            actual = live.get((link.destination_inventory_item_id, stock.location_id))
            if actual is None or actual == stock.known_quantity:
                continue
            if stock.known_quantity is not None:
                drift += 1
                sync_event_record(
                    connection=connection, product_link=link.product_link,
                    kind=SyncEvent.Kind.DRIFT,
                    field=f"variant {link.destination_variant_id} available",
                    from_value=stock.known_quantity, to_value=actual,
                    cause=f"reconciliation {run.pk}", result=SyncEvent.Result.SKIPPED,
                    source_variant_id=link.source_variant_id, location_id=stock.location_id,
                    reason=StockReason.RESYNC)
            stock.known_quantity = actual
            corrected.append(stock)
        DestinationStock.objects.bulk_update(corrected, ["known_quantity"],
                                             batch_size=RECONCILE_PAGE)
        # A synced variant's stock elsewhere than its receiving location (its webhook lost).
        for (item, location), available in live.items():
            if (item in receiving_of and location != receiving_of[item]
                    and available is not None and available > 0):
                strays.setdefault(location, set()).add(item)
        ReconciliationRun.objects.filter(pk=run.pk).update(checked=min(checked, total),
                                                           drift_found=drift)
    for location_id, items in strays.items():
        stock_to_clear_record(connection=connection, location_id=location_id, items=items)
    # What the destination shows (known now, or as believed where it was not read) is not the
    # target: written again by the flush.
    stocks.filter(target__isnull=False).exclude(known_quantity=F("target")).update(
        dirty=True, due_at=None, reason=StockReason.RESYNC)
    ReconciliationRun.objects.filter(pk=run.pk).update(checked=total, drift_found=drift)
    return drift


def connections_reconcilable() -> QuerySet[Connection]:
    """Connected, with both shops installed: what either reconciliation checks."""
    return Connection.objects.filter(
        status=Connection.Status.CONNECTED, source__uninstalled_at__isnull=True,
        destination__uninstalled_at__isnull=True, source__installed_at__isnull=False,
        destination__installed_at__isnull=False)


def connections_to_reconcile() -> list[int]:
    return list(connections_reconcilable().values_list("pk", flat=True))



# --- incremental ---------------------------------------------------------------------------


@dataclass
class IncrementalCheck:
    """What one incremental check of a shop found, and what is left to do (the task does it)."""

    levels_read: int = 0
    differences: int = 0
    requests: int = 0
    # Destinations to flush now (source levels changed) / after the drift grace.
    to_flush: set[int] = field(default_factory=set)
    drift_to_flush: set[int] = field(default_factory=set)
    # More changed than one check takes: the shop's connections get a full reconciliation.
    overflowed: bool = False


def shops_to_check_incrementally() -> list[int]:
    """Every shop on either side of a connection that the full reconciliation would check."""
    pairs = connections_reconcilable().values_list("source_id", "destination_id")
    return sorted({shop_id for pair in pairs for shop_id in pair})


def _check_lock(shop_id: int) -> Lock:
    # One check per shop at a time (a slow one must not be overtaken by the next beat's).
    lock: Lock = redis_client().lock(f"syncer:inventory-incremental:{shop_id}",
                                     timeout=settings.CELERY_TASK_TIME_LIMIT, blocking=False,
                                     thread_local=False)
    return lock


def reconciliation_incremental_run(*, shop_id: int) -> IncrementalCheck | None:
    """Reads the levels Shopify changed at the shop since its watermark (less the overlap;
    a first check looks back one interval) and feeds those that differ from ours through the
    path a webhook of theirs takes: a source's into the targets (source_levels_changed), a
    destination's into the drift check (destination_level_changed). Then the watermark moves
    to when this read started. None when there is nothing to check (gone, not connected, or
    a check of the shop already running). A failed read leaves the watermark where it was."""
    shop = Shop.objects.filter(pk=shop_id, installed_at__isnull=False,
                               uninstalled_at__isnull=True).first()
    if shop is None or shop.role not in (Shop.Role.SOURCE, Shop.Role.DESTINATION):
        return None
    lock = _check_lock(shop_id)
    if not lock.acquire():
        return None
    try:
        started = timezone.now()
        watermark = LevelWatermark.objects.filter(shop=shop).values_list(
            "checked_until", flat=True).first()
        since = (watermark or started - timedelta(
            seconds=settings.RECONCILE_INCREMENTAL_EVERY_SECONDS)) - timedelta(
            seconds=settings.RECONCILE_INCREMENTAL_OVERLAP_SECONDS)
        if shop.role == Shop.Role.SOURCE:
            check = _source_check(shop, since)
        else:
            check = _destination_check(shop, since)
        LevelWatermark.objects.update_or_create(shop=shop, defaults={
            "checked_until": started, "levels_read": check.levels_read,
            "differences": check.differences})
        logger.info("incremental check shop=%s since=%s requests=%d levels_read=%d "
                    "differences=%d overflowed=%s", shop.domain, since.isoformat(),
                    check.requests, check.levels_read, check.differences, check.overflowed)
        return check
    finally:
        lock.release()


def _changed_levels(shop: Shop, location_ids: Iterable[int], since: datetime,
                    check: IncrementalCheck,
                    keepalive: Callable[[], None] | None = None) -> list[InventoryLevel]:
    session = shop_admin_session(shop_domain=shop.domain)
    levels: list[InventoryLevel] = []
    for location_id in sorted(set(location_ids)):
        read = inventory_levels_changed_read(
            session=session, location_id=location_id, updated_after=since,
            max_levels=settings.RECONCILE_INCREMENTAL_MAX_LEVELS, keepalive=keepalive)
        levels.extend(read.levels)
        check.requests += read.requests
        check.overflowed = check.overflowed or not read.complete
    check.levels_read = len(levels)
    return levels


def _source_check(source: Shop, since: datetime) -> IncrementalCheck:
    check = IncrementalCheck()
    changed = _changed_levels(source, source_shared_location_ids(source=source), since, check)
    items = {level.inventory_item_id for level in changed}
    followed = set(SourceVariant.objects.filter(
        shop=source, inventory_item_id__in=items, deleted_at__isnull=True).values_list(
        "inventory_item_id", flat=True))
    held = {(item, location): available
            for item, location, available in SourceLevel.objects.filter(
                shop=source, inventory_item_id__in=followed).values_list(
                "inventory_item_id", "location_id", "available")}
    differing = [(level.inventory_item_id, level.location_id, level.available, level.updated_at)
                 for level in changed if level.inventory_item_id in followed
                 and held.get((level.inventory_item_id, level.location_id)) != level.available]
    check.differences = len(differing)
    if differing:
        # What the dropped inventory_levels/update would have done: recorded unless what we
        # hold is newer, every linked target recomputed.
        check.to_flush = source_levels_changed(source=source, levels=differing)
    return check


def _destination_check(destination: Shop, since: datetime) -> IncrementalCheck:
    check = IncrementalCheck()
    connections = connections_reconcilable().filter(destination=destination).select_related(
        "destination")
    locations = {destination_location_id(connection=connection) for connection in connections}
    if not locations:
        return check
    # Read and compared while none of our writes to it is in flight (as a resync does): a
    # level read just before our write lands is never taken for a hand edit.
    lock = destination_flush_lock(destination.pk, blocking_timeout=60)

    def keepalive() -> None:
        lock.reacquire()

    if not lock.acquire():
        raise ShopifyRetryable("The destination is being written; the check retries.")
    try:
        changed = _changed_levels(destination, locations, since, check, keepalive=keepalive)
        keepalive()
        known: dict[tuple[int, int], set[int | None]] = {}
        for item, location, quantity in DestinationStock.objects.filter(
                destination=destination, location_id__in=locations,
                variant_link__connection__destination=destination,  # the links' index
                variant_link__destination_inventory_item_id__in={
                    level.inventory_item_id for level in changed}).values_list(
                "variant_link__destination_inventory_item_id", "location_id", "known_quantity"):
            known.setdefault((item, location), set()).add(quantity)
        for level in changed:
            beliefs = known.get((level.inventory_item_id, level.location_id))
            if not beliefs or beliefs == {level.available}:
                continue  # not ours to follow, or an echo of our own write
            check.differences += 1
            check.drift_to_flush |= destination_level_changed(
                destination=destination, inventory_item_id=level.inventory_item_id,
                location_id=level.location_id, available=level.available,
                updated_at=level.updated_at)
    finally:
        lock.release()
    return check
