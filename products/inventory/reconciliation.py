"""Flow 10: reconciliation. The full one (a resync, every 6 hours or on demand) compares real
levels on both sides for every synced variant of a connection; drift is recorded and healed
through the flush. The incremental one (every few minutes, per shop) reads only the levels
Shopify changed since the last check and feeds those that differ from ours through the path
their dropped webhook would have taken."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from redis.lock import Lock

from products.inventory.drift import destination_level_changed
from products.inventory.flush import destination_flush_lock, inventory_flush_destination
from products.inventory.levels import levels_read, source_levels_record
from products.inventory.locations import destination_location_id, source_shared_location_ids
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
from syncer.shopify.errors import ShopifyError, ShopifyRetryable
from syncer.shopify.operations.inventory import InventoryLevel, inventory_levels_changed_read

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


def _reconciliation_run(*, run_id: int) -> ReconciliationRun:
    run = ReconciliationRun.objects.select_related(
        "connection", "connection__source", "connection__destination").get(pk=run_id)
    connection = run.connection
    links = list(syncing_links(connection=connection))
    ReconciliationRun.objects.filter(pk=run.pk).update(total=len(links))
    if not links:
        ReconciliationRun.objects.filter(pk=run.pk).update(
            status=ReconciliationRun.Status.DONE, finished_at=timezone.now())
        run.refresh_from_db()
        return run
    source_live = levels_read(shop=connection.source, bulk_allowed=True,
                              inventory_item_ids=[link.source_variant.inventory_item_id
                                                  for link in links])
    now = timezone.now()
    source_levels_record(source=connection.source, authoritative=True, seen_at=now, levels=[
        (item_id, location_id, quantity, updated or now)
        for (item_id, location_id), (quantity, updated) in source_live.items()])
    targets_recompute(source=connection.source, changed_at=now, reason=StockReason.RESYNC,
                      inventory_item_ids=[
        link.source_variant.inventory_item_id for link in links])
    lock = destination_flush_lock(connection.destination_id, blocking_timeout=120)
    if not lock.acquire():
        raise ShopifyRetryable("The destination is being written; reconciliation retries.")
    try:
        drift = _reconcile_destination_locked(run, connection, links, lock)
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


def _reconcile_destination_locked(run: ReconciliationRun, connection: Connection,
                                  links: list[VariantLink], lock: Lock) -> int:
    """Reads the destination and corrects our beliefs while no write to it is in flight (we
    hold its flush lock), so a read cannot be older than what we believe."""

    def keepalive() -> None:
        lock.reacquire()

    destination_live = levels_read(
        shop=connection.destination, bulk_allowed=True, keepalive=keepalive,
        inventory_item_ids=[link.destination_inventory_item_id for link in links])
    drift = 0
    for index, link in enumerate(links, start=1):
        stock = stock_for(link)
        stock.refresh_from_db()
        actual = destination_live.get((link.destination_inventory_item_id,
                                       stock.location_id), (None, None))[0]
        if actual is not None and actual != stock.known_quantity:
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
            DestinationStock.objects.filter(pk=stock.pk).update(known_quantity=actual)
        current = actual if actual is not None else stock.known_quantity
        if stock.target is not None and current != stock.target:
            DestinationStock.objects.filter(pk=stock.pk).update(dirty=True, due_at=None,
                                                                reason=StockReason.RESYNC)
        if index % 100 == 0:
            ReconciliationRun.objects.filter(pk=run.pk).update(checked=index,
                                                               drift_found=drift)
    ReconciliationRun.objects.filter(pk=run.pk).update(checked=len(links), drift_found=drift)
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
