"""Flow 10: reconciliation (a resync). Real levels on both sides are compared for every synced
variant of a connection; drift is recorded and healed through the flush."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from redis.lock import Lock

from products.inventory.flush import destination_flush_lock, inventory_flush_destination
from products.inventory.levels import levels_read, source_levels_record
from products.inventory.targets import stock_for, syncing_links, targets_recompute
from products.models import DestinationStock, ReconciliationRun, SyncEvent, VariantLink
from products.sync_events import sync_event_record
from stores.models import Connection, Shop
from syncer.shopify.errors import ShopifyError, ShopifyRetryable

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
    targets_recompute(source=connection.source, changed_at=now, inventory_item_ids=[
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
                    cause=f"reconciliation {run.pk}", result=SyncEvent.Result.SKIPPED)
            DestinationStock.objects.filter(pk=stock.pk).update(known_quantity=actual)
        current = actual if actual is not None else stock.known_quantity
        if stock.target is not None and current != stock.target:
            DestinationStock.objects.filter(pk=stock.pk).update(dirty=True, due_at=None)
        if index % 100 == 0:
            ReconciliationRun.objects.filter(pk=run.pk).update(checked=index,
                                                               drift_found=drift)
    ReconciliationRun.objects.filter(pk=run.pk).update(checked=len(links), drift_found=drift)
    return drift


def connections_to_reconcile() -> list[int]:
    return list(Connection.objects.filter(
        status=Connection.Status.CONNECTED, source__uninstalled_at__isnull=True,
        destination__uninstalled_at__isnull=True, source__installed_at__isnull=False,
        destination__installed_at__isnull=False,
    ).values_list("pk", flat=True))
