"""Prototype engine changes, measured by the inventory benchmarks — never used by Syncer.

`BENCH_INVENTORY_EXPERIMENT=targets,done,enqueue` makes bench/inventory_worker.py swap these
in, to measure what each would gain: `targets` and `done` are set-based versions of
products.inventory.targets_recompute / _batch_done (same decisions, a few statements instead of
several per row); `enqueue` queues a destination's flush task only when none is queued yet.
Gaps, knowingly left for a real implementation: targets_recompute does not create missing
DestinationStock rows (every benchmark link has one; the engine's `_stock_for` does).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

_TARGETS_LOCK_SQL = """
WITH available AS (
    SELECT inventory_item_id, SUM(available) AS available
    FROM products_sourcelevel
    WHERE shop_id = %(source)s AND inventory_item_id = ANY(%(items)s)
      AND location_id = ANY(%(shared)s)
    GROUP BY inventory_item_id
)
SELECT ds.id, GREATEST(a.available - c.safety_stock, 0)
FROM products_destinationstock ds
JOIN products_variantlink vl ON vl.id = ds.variant_link_id
JOIN products_productlink pl ON pl.id = vl.product_link_id
JOIN stores_connection c ON c.id = vl.connection_id
JOIN products_sourcevariant sv ON sv.id = vl.source_variant_id
JOIN products_sourceproduct sp ON sp.id = sv.product_id
JOIN available a ON a.inventory_item_id = sv.inventory_item_id
WHERE sv.shop_id = %(source)s AND sv.inventory_item_id = ANY(%(items)s)
  AND c.status = 'connected' AND pl.auto_sync AND NOT sp.hidden AND sv.deleted_at IS NULL
ORDER BY ds.id
FOR UPDATE OF ds
"""

_TARGETS_SQL = """
UPDATE products_destinationstock ds SET
    target = w.target,
    dirty = ds.dirty OR ds.known_quantity IS DISTINCT FROM w.target,
    hold = CASE WHEN ds.target IS DISTINCT FROM w.target THEN '' ELSE ds.hold END,
    changed_at = CASE
        WHEN (ds.dirty OR ds.known_quantity IS DISTINCT FROM w.target)
             AND (ds.target IS DISTINCT FROM w.target OR ds.changed_at IS NULL)
        THEN %(changed_at)s ELSE ds.changed_at END
FROM (SELECT unnest(%(ids)s::bigint[]) AS id, unnest(%(targets)s::integer[]) AS target) w
WHERE ds.id = w.id
  AND NOT (ds.target IS NOT DISTINCT FROM w.target
           AND ds.known_quantity IS NOT DISTINCT FROM w.target)
RETURNING ds.destination_id, ds.dirty
"""


def targets_recompute(*, source, inventory_item_ids: Iterable[int],
                      changed_at: datetime | None = None) -> set[int]:
    """products.inventory.targets_recompute in two statements: lock the linked rows in id order
    with their new targets, then update the ones that change (same rules as the engine)."""
    from products.inventory import source_shared_location_ids

    items = list(set(inventory_item_ids))
    if not items:
        return set()
    with transaction.atomic(), db_connection.cursor() as cursor:
        cursor.execute(_TARGETS_LOCK_SQL, {
            "source": source.pk, "items": items,
            "shared": source_shared_location_ids(source=source)})
        rows = cursor.fetchall()
        if not rows:
            return set()
        cursor.execute(_TARGETS_SQL, {"ids": [row[0] for row in rows],
                                      "targets": [row[1] for row in rows],
                                      "changed_at": changed_at or timezone.now()})
        return {destination for destination, dirty in cursor.fetchall() if dirty}


_DONE_LOCK_SQL = """
SELECT id FROM products_destinationstock WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE
"""

_DONE_SQL = """
WITH stock AS (
    UPDATE products_destinationstock ds SET
        known_quantity = w.quantity, last_written_at = %(now)s,
        dirty = ds.dirty OR (ds.target IS NOT NULL AND ds.target <> w.quantity)
    FROM (SELECT unnest(%(ids)s::bigint[]) AS id,
                 unnest(%(quantities)s::integer[]) AS quantity) w
    WHERE ds.id = w.id
    RETURNING ds.variant_link_id, w.quantity
)
UPDATE products_variantlink vl SET last_written_quantity = s.quantity, last_written_at = %(now)s
FROM stock s WHERE vl.id = s.variant_link_id
"""


def batch_done(destination, batch) -> None:
    """products.inventory._batch_done with three statements for the rows (locked in id order)
    instead of a transaction of three per row; events and the batch status as before."""
    from products.inventory import propagation_seconds
    from products.models import DestinationStock, InventoryWriteBatch, SyncEvent

    now = timezone.now()
    stocks = {s.pk: s for s in DestinationStock.objects.filter(
        pk__in=[item["stock"] for item in batch.items]).select_related(
        "variant_link", "variant_link__product_link")}
    items = [item for item in batch.items if item["stock"] in stocks]
    ids = [item["stock"] for item in items]
    with transaction.atomic(), db_connection.cursor() as cursor:
        cursor.execute(_DONE_LOCK_SQL, {"ids": ids})
        cursor.execute(_DONE_SQL, {"ids": ids, "quantities": [item["quantity"] for item in items],
                                   "now": now})
    events = []
    for item in items:
        changed_at = parse_datetime(item["changed_at"]) if item.get("changed_at") else None
        latency = (now - changed_at).total_seconds() if changed_at else None
        if latency is not None:
            propagation_seconds.observe(latency)
        link = stocks[item["stock"]].variant_link
        events.append(SyncEvent(
            connection_id=link.connection_id, product_link=link.product_link,
            source_product_id=link.product_link.source_product_id,
            destination_product_id=link.product_link.destination_product_id,
            kind=SyncEvent.Kind.INVENTORY,
            field=f"variant {link.destination_variant_id} available",
            from_value="" if item["from"] is None else str(item["from"]),
            to_value=str(item["quantity"]), cause=f"batch {batch.idempotency_key}",
            latency_ms=int(latency * 1000) if latency is not None else None,
        ))
    InventoryWriteBatch.objects.filter(pk=batch.pk).update(
        status=InventoryWriteBatch.Status.DONE, completed_at=now)
    SyncEvent.objects.bulk_create(events)


QUEUED_KEY = "syncer:inventory-flush-queued:{}"
QUEUED_TTL_SECONDS = 120


def flush_on_commit_once(original):
    """inventory_handlers._flush_on_commit that queues a flush task for a destination only if
    none is queued yet: a marker (SET NX, TTL) set when queuing, cleared by the task as it
    starts, before it looks for work — so a change is always seen by a task that starts after
    it (a lost task is covered by the TTL and the sweeper)."""

    def flush_on_commit(destination_ids, *, countdown: float | None = None) -> None:
        if countdown:
            return original(destination_ids, countdown=countdown)
        from syncer.redis import redis_client

        redis = redis_client()
        fresh = [d for d in destination_ids
                 if redis.set(QUEUED_KEY.format(d), 1, nx=True, ex=QUEUED_TTL_SECONDS)]
        return original(fresh)

    return flush_on_commit


def flush_clearing_marker(original):
    def inventory_flush_destination(*, destination_id: int):
        from syncer.redis import redis_client

        redis_client().delete(QUEUED_KEY.format(destination_id))
        return original(destination_id=destination_id)

    return inventory_flush_destination


def apply(names: set[str]) -> None:
    import products.inventory_handlers as handlers
    from products import inventory

    if "targets" in names:
        inventory.targets_recompute = targets_recompute
    if "done" in names:
        inventory._batch_done = batch_done
    if "enqueue" in names:
        handlers._flush_on_commit = flush_on_commit_once(handlers._flush_on_commit)
        inventory.inventory_flush_destination = flush_clearing_marker(
            inventory.inventory_flush_destination)
