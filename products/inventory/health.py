"""The inventory engine's failed and stuck work for one destination (stock writes, resyncs), for
its Sync health card, and Try again, which hands that work back to the engine."""

from datetime import datetime, timedelta
from typing import Any

from django.db import connection as db_connection
from django.db.models import (
    Count,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from products.inventory.reconciliation import (
    reconciliation_runs_end_stuck,
    reconciliation_stuck_after,
)
from products.inventory.relocation import stock_to_clear_waiting
from products.inventory.sql import STOCK_FAILING
from products.inventory.tasks import inventory_flush_on_commit, reconciliation_request
from products.models import DestinationStock, InventoryWriteBatch, ReconciliationRun
from stores.models import Connection, Shop
from syncer.health import Backlog, Trouble, trouble_read, work_stuck_after

Held = DestinationStock.Hold


def destination_stock_waiting(*, destination: Shop) -> int:
    """Variants whose stock is still to be written: rows marked dirty, and rows in a write that
    is out at Shopify and not yet confirmed (a write being retried through a Shopify outage is
    waiting, not done), each once whichever way it waits; and stock still to set to 0 at
    another location (Connection.stock_to_clear)."""
    in_flight: set[int] = set()
    for items in InventoryWriteBatch.objects.filter(
            destination=destination, status=InventoryWriteBatch.Status.PENDING
    ).values_list("items", flat=True):
        in_flight.update(item["stock"] for item in items)
    dirty = DestinationStock.objects.filter(destination=destination, dirty=True)
    both = dirty.filter(pk__in=in_flight).count() if in_flight else 0
    return dirty.count() + len(in_flight) - both + stock_to_clear_waiting(destination=destination)


FAILURES_LOOKED_AT = timedelta(days=1)  # see sql.STOCK_FAILING


def _stock_failing(*, destination: Shop, now: datetime) -> dict[int, datetime]:
    with db_connection.cursor() as cursor:
        cursor.execute(STOCK_FAILING, {
            "destination": destination.pk, "failed": InventoryWriteBatch.Status.FAILED,
            "looked_from": now - FAILURES_LOOKED_AT, "held": Held.HELD})
        return dict(cursor.fetchall())


def _stock_stuck(*, now: datetime) -> Q:
    return (~Q(hold=Held.HELD) & (Q(due_at__isnull=True) | Q(due_at__lte=now))
            & Q(changed_at__lte=now - work_stuck_after()))


def _batches_stuck(*, destination: Shop, now: datetime) -> dict[str, Any]:
    """Batches formed but never answered for: the flush sending them died. Their rows are not
    dirty (the batch holds them); the next flush sends them first, with the same key."""
    return InventoryWriteBatch.objects.filter(
        destination=destination, status=InventoryWriteBatch.Status.PENDING,
        created_at__lte=now - work_stuck_after(),
    ).aggregate(items=Sum(Func("items", function="jsonb_array_length",
                               output_field=IntegerField())),
                oldest=Min("created_at"))


def destination_stock_trouble(*, destination: Shop) -> Trouble:
    """Failed: rows whose last write failed and that nothing has written since. Stuck: rows due
    but not written for longer than work_stuck_after() (a lost flush), and batches formed but
    never answered for. Held: zeros the breaker held back, for the merchant on Inventory."""
    now = timezone.now()
    failing = _stock_failing(destination=destination, now=now)
    stuck = _stock_stuck(now=now) & ~Q(pk__in=list(failing))
    held = Q(hold=Held.HELD)
    figures = DestinationStock.objects.filter(destination=destination, dirty=True).aggregate(
        stuck=Count("pk", filter=stuck), stuck_oldest=Min("changed_at", filter=stuck),
        held=Count("pk", filter=held), held_oldest=Min("changed_at", filter=held))
    unsent = _batches_stuck(destination=destination, now=now)
    latest_error = ""
    if failing:
        latest_error = (InventoryWriteBatch.objects.filter(
            destination=destination, status=InventoryWriteBatch.Status.FAILED)
            .order_by("-completed_at", "-pk").values_list("error", flat=True).first() or "")
    return Trouble(
        failed=Backlog(len(failing), min(failing.values(), default=None)),
        stuck=Backlog(figures["stuck"] + (unsent["items"] or 0),
                      min((t for t in (figures["stuck_oldest"], unsent["oldest"]) if t),
                          default=None)),
        held=Backlog(figures["held"], figures["held_oldest"]), latest_error=latest_error)


def destination_stock_retry(*, destination: Shop) -> int:
    """Try again: rows whose write failed are due now rather than after their pause, and the
    destination is flushed (a new batch, so a new idempotency key: Shopify would only replay
    the failed answer to the old one; a batch left unsent goes first, with its own key). Held
    zeros are not released: that is the merchant's own decision, on the Inventory page.
    Returns how many rows were handed back."""
    now = timezone.now()
    failing = list(_stock_failing(destination=destination, now=now))
    DestinationStock.objects.filter(pk__in=failing, dirty=True).update(due_at=None)
    stuck = DestinationStock.objects.filter(_stock_stuck(now=now), destination=destination,
                                            dirty=True).exclude(pk__in=failing).count()
    stuck += _batches_stuck(destination=destination, now=now)["items"] or 0
    if failing or stuck:
        inventory_flush_on_commit([destination.pk])
    return len(failing) + stuck


def _latest_runs(*, destination: Shop) -> QuerySet[ReconciliationRun]:
    """The latest run of each connected source: an older failure a later run healed is
    history."""
    latest = (ReconciliationRun.objects.filter(connection=OuterRef("pk"))
              .order_by("-started_at", "-pk").values("pk")[:1])
    connections = Connection.objects.filter(
        destination=destination, status=Connection.Status.CONNECTED,
    ).annotate(latest_run=Subquery(latest))
    return ReconciliationRun.objects.filter(pk__in=connections.values("latest_run"))


def destination_resync_trouble(*, destination: Shop) -> Trouble:
    stuck = Q(status=ReconciliationRun.Status.RUNNING,
              started_at__lt=timezone.now() - reconciliation_stuck_after())
    return trouble_read(_latest_runs(destination=destination),
                        failed=Q(status=ReconciliationRun.Status.FAILED),
                        failed_oldest="finished_at", stuck=stuck, stuck_oldest="started_at",
                        latest_first="finished_at")


def destination_resyncs_retry(*, destination: Shop) -> int:
    """Try again: a new resync of each connected source whose latest one failed or is stuck
    (a stuck one is ended failed first). Returns how many were started."""
    reconciliation_runs_end_stuck(destination=destination)
    failed = _latest_runs(destination=destination).filter(
        status=ReconciliationRun.Status.FAILED).select_related("connection")
    started = 0
    for run in failed:
        reconciliation_request(connection=run.connection, trigger="merchant")
        started += 1
    return started
