"""The inventory engine: the source's stock, followed exactly by every destination.

Flows (DESIGN.md section 4):
- source level changed → record it unless stale → recompute linked destinations' targets →
  mark them dirty → per-destination flush coalesces and writes with inventorySetQuantities
  (≤ 250 quantities, changeFromQuantity, an idempotency key fixed when the batch is formed);
- destination sold / restocked → one InventoryEffect per order line / refund line → one
  idempotent inventoryAdjustQuantities at the source, whose own level webhook fans out;
- destination level changed: our echo → nothing; anything else → drift, healed after a grace;
- reconciliation compares real levels on both sides and heals.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from redis.exceptions import LockError

from products.metrics import propagation_seconds
from products.models import (
    DestinationStock,
    InventoryEffect,
    InventoryWriteBatch,
    ReconciliationRun,
    SourceLevel,
    SyncEvent,
    VariantLink,
)
from stores.models import Connection, Shop
from stores.services import shop_access_token
from syncer.redis import redis_client
from syncer.shopify.bulk import (
    BulkOperationFailed,
    bulk_operation_wait,
    bulk_query_run,
    bulk_results_stream,
)
from syncer.shopify.client import admin_client
from syncer.shopify.documents import (
    document,
    inventory_adjust_quantities_input,
    inventory_change_input,
    inventory_quantity_input,
    inventory_set_quantities_input,
)
from syncer.shopify.errors import (
    ShopifyError,
    ShopifyRetryable,
    ShopifyTimeout,
    ShopifyUserErrors,
    raise_for_user_errors,
)
from syncer.shopify.ids import gid, gid_id
from webhooks.registry import WebhookPayloadInvalid

logger = logging.getLogger(__name__)

BATCH_SIZE = 250
# A manual destination edit waits this long before being overwritten, so that a destination
# sale's source decrement (which arrives as a source level change) wins without a blip.
DRIFT_GRACE = timedelta(seconds=20)
# After a write failed for a reason that retrying the same call cannot fix.
FAILED_WRITE_RETRY = timedelta(minutes=5)
# Items per level read: 25 items × 10 locations keeps one query well under 1,000 points.
READ_CHUNK = 25
SYNC_REASON = "correction"
SALE_REASON = "correction"


def _execute(shop: Shop, name: str, variables: dict) -> dict:
    return admin_client().execute(shop_domain=shop.domain,
                                  access_token=shop_access_token(shop_domain=shop.domain),
                                  document=document(name), variables=variables)


# --- locations ------------------------------------------------------------------------------


def shop_locations(*, shop: Shop) -> list[dict]:
    """The shop's active locations [{"id", "name"}] (read once, cached in shop.settings)."""
    cached = (shop.settings or {}).get("locations")
    if cached:
        return cached
    data = _execute(shop, "locations", {"first": 50})
    nodes = data["locations"]["nodes"]
    locations = [{"id": gid_id(node["id"]), "name": node["name"]}
                 for node in nodes if node.get("isActive", True)]
    with transaction.atomic():
        fresh = Shop.objects.select_for_update().get(pk=shop.pk)
        fresh.settings = dict(fresh.settings or {}, locations=locations)
        fresh.save(update_fields=["settings", "updated_at"])
    shop.settings = fresh.settings
    return locations


def shop_location_ids(*, shop: Shop) -> list[int]:
    return [location["id"] for location in shop_locations(shop=shop)]


def inventory_flush_on_commit(destination_ids: Iterable[int], *,
                              countdown: float | None = None) -> None:
    """Once the transaction commits, flush these destinations: now (one queued flush per
    destination), or after `countdown` seconds (a drift grace)."""
    from products.inventory_tasks import inventory_flush_destination_task, inventory_flush_request

    destination_ids = sorted(set(destination_ids))
    if not destination_ids:
        return
    if countdown:
        for destination_id in destination_ids:
            transaction.on_commit(lambda d=destination_id: inventory_flush_destination_task
                                  .apply_async(args=[d], countdown=countdown))
    else:
        transaction.on_commit(lambda: inventory_flush_request(destination_ids=destination_ids))


def source_locations_save(*, source: Shop, shared_location_ids: list[int],
                          decrement_location_id: int) -> set[int]:
    """A source's location choice; shared stock changes, so every target is recomputed."""
    with transaction.atomic():
        fresh = Shop.objects.select_for_update().get(pk=source.pk)
        fresh.settings = dict(fresh.settings or {}, shared_location_ids=shared_location_ids,
                              decrement_location_id=decrement_location_id)
        fresh.save(update_fields=["settings", "updated_at"])
    source.settings = fresh.settings
    items = SourceLevel.objects.filter(shop=source).values_list("inventory_item_id", flat=True)
    destinations = targets_recompute(source=source, inventory_item_ids=items)
    inventory_flush_on_commit(destinations)
    return destinations


def connection_inventory_save(*, connection: Connection, destination_location_id: int,
                              safety_stock: int, count_pending_orders: bool) -> None:
    """A destination's settings for one source. A new receiving location starts unknown (read
    before the first write); a new safety stock changes every target."""
    moved = connection.destination_location_id != destination_location_id
    Connection.objects.filter(pk=connection.pk).update(
        destination_location_id=destination_location_id, safety_stock=safety_stock,
        count_pending_orders=count_pending_orders)
    connection.refresh_from_db()
    if moved:
        DestinationStock.objects.filter(variant_link__connection=connection).update(
            location_id=destination_location_id, known_quantity=None, target=None)
    items = VariantLink.objects.filter(connection=connection).values_list(
        "source_variant__inventory_item_id", flat=True)
    destinations = targets_recompute(source=connection.source, inventory_item_ids=items)
    inventory_flush_on_commit(destinations)


def source_shared_location_ids(*, source: Shop) -> list[int]:
    shared = (source.settings or {}).get("shared_location_ids")
    return [int(i) for i in shared] if shared else shop_location_ids(shop=source)


def source_decrement_location_id(*, source: Shop) -> int:
    chosen = (source.settings or {}).get("decrement_location_id")
    return int(chosen) if chosen else source_shared_location_ids(source=source)[0]


def destination_location_id(*, connection: Connection) -> int:
    if connection.destination_location_id:
        return connection.destination_location_id
    return shop_location_ids(shop=connection.destination)[0]


# --- reading real levels ----------------------------------------------------------------------


Levels = dict[tuple[int, int], tuple[int, datetime | None]]


def levels_read(*, shop: Shop, inventory_item_ids: Iterable[int], bulk_allowed: bool = False,
                keepalive: Callable[[], None] | None = None) -> Levels:
    """Live `available` per (item, location) from Shopify, with its updatedAt.

    Large reads (reconciliation of a big catalogue) use one bulk query when `bulk_allowed`:
    paged reads cost about 10 points per item against the shop's budget, a bulk query almost
    nothing. `keepalive` runs while the bulk query is polled (e.g. to renew a lock)."""
    ids = sorted(set(inventory_item_ids))
    if bulk_allowed and len(ids) >= settings.INVENTORY_BULK_READ_MIN_ITEMS:
        try:
            return _levels_read_bulk(shop=shop, wanted=set(ids), keepalive=keepalive)
        except (ShopifyUserErrors, BulkOperationFailed, ShopifyTimeout) as exc:
            # Another bulk query of ours is running (the catalogue load), or this one failed
            # or is slow: the paged reads get the same answer.
            logger.warning("bulk level read of %s not used (%s); reading page by page",
                           shop.domain, exc)
    result: Levels = {}
    for start in range(0, len(ids), READ_CHUNK):
        chunk = ids[start:start + READ_CHUNK]
        data = _execute(shop, "inventory_levels_for_items",
                        {"ids": [gid("InventoryItem", i) for i in chunk], "locationsFirst": 10})
        for node in data["nodes"]:
            if not node:
                continue
            item_id = gid_id(node["id"])
            for level in node["inventoryLevels"]["nodes"]:
                quantities = {q["name"]: q for q in level["quantities"]}
                available = quantities.get("available")
                if available is None:
                    continue
                result[(item_id, gid_id(level["location"]["id"]))] = (
                    int(available["quantity"]), parse_datetime(available.get("updatedAt") or ""))
    return result


def _levels_read_bulk(*, shop: Shop, wanted: set[int],
                      keepalive: Callable[[], None] | None) -> Levels:
    client = admin_client()
    token = shop_access_token(shop_domain=shop.domain)
    started = bulk_query_run(client=client, shop_domain=shop.domain, access_token=token,
                             query="bulk_query_inventory_levels")

    def pause(seconds: float) -> None:
        if keepalive is not None:
            keepalive()
        time.sleep(seconds)

    finished = bulk_operation_wait(client=client, shop_domain=shop.domain, access_token=token,
                                   operation_id=started.id, poll_interval=1.0,
                                   timeout=settings.INVENTORY_BULK_READ_TIMEOUT_SECONDS,
                                   sleep=pause)
    result: Levels = {}
    for row in bulk_results_stream(finished.url, client=client):
        parent = row.get("__parentId")
        if parent is None or gid_id(parent) not in wanted:
            continue  # an item row, or an item we do not sync
        available = {q["name"]: q for q in row.get("quantities") or []}.get("available")
        if available is None:
            continue
        result[(gid_id(parent), gid_id(row["location"]["id"]))] = (
            int(available["quantity"]), parse_datetime(available.get("updatedAt") or ""))
    return result


# --- flow 2: a source level changed -----------------------------------------------------------

# Levels recorded in one statement, each unless what we hold is newer (authoritative: a live
# read, recorded whatever the timestamps). Besides what it applied, it tells which levels were
# ambiguous: same second as the stored level but another quantity (read before this statement
# changed anything: a data-modifying CTE's effects are not visible to its own query).
_LEVELS_UPSERT = """
    WITH v AS (
        SELECT * FROM unnest(%(items)s::bigint[], %(locations)s::bigint[],
                             %(availables)s::integer[], %(updated)s::timestamptz[])
            AS v(item, location, available, updated_at)
    ),
    upserted AS (
        INSERT INTO products_sourcelevel
            (shop_id, inventory_item_id, location_id, available, shopify_updated_at, seen_at)
        SELECT %(shop)s, item, location, available, updated_at, %(seen_at)s FROM v
        ON CONFLICT (shop_id, inventory_item_id, location_id) DO UPDATE
            SET available = EXCLUDED.available,
                shopify_updated_at = EXCLUDED.shopify_updated_at, seen_at = EXCLUDED.seen_at
            WHERE products_sourcelevel.shopify_updated_at < EXCLUDED.shopify_updated_at
               OR (%(authoritative)s
                   AND products_sourcelevel.available <> EXCLUDED.available)
        RETURNING inventory_item_id, location_id
    )
    SELECT v.item, v.location FROM v
    JOIN products_sourcelevel AS stored ON stored.shop_id = %(shop)s
        AND stored.inventory_item_id = v.item AND stored.location_id = v.location
    WHERE stored.shopify_updated_at = v.updated_at AND stored.available <> v.available
      AND NOT EXISTS (SELECT 1 FROM upserted AS u
                      WHERE u.inventory_item_id = v.item AND u.location_id = v.location)
"""

Level = tuple[int, int, int, datetime]  # (inventory item, location, available, updated_at)


def source_levels_record(*, source: Shop, levels: Iterable[Level], authoritative: bool = False,
                         seen_at: datetime | None = None) -> set[tuple[int, int]]:
    """Stores source levels, each unless what we hold is newer, in one statement. Several
    levels of one item and location count as they would one after the other: the newest wins.

    Returns the (item, location) pairs that are ambiguous: same second as the stored level (or
    as another of these) but another quantity. Shopify's timestamps have one-second resolution,
    so two changes in one second cannot be ordered from their payloads: the caller then reads
    the live level (authoritative=True records it whatever the timestamp).
    """
    newest: dict[tuple[int, int], tuple[int, datetime]] = {}
    ambiguous: set[tuple[int, int]] = set()
    for item_id, location_id, available, updated_at in levels:
        key = (item_id, location_id)
        held = newest.get(key)
        if held is None or updated_at > held[1] or authoritative:
            newest[key] = (available, updated_at)
            ambiguous.discard(key)
        elif updated_at == held[1] and available != held[0]:
            ambiguous.add(key)
    keys = sorted(key for key in newest if key not in ambiguous)
    if keys:
        with db_connection.cursor() as cursor:
            cursor.execute(_LEVELS_UPSERT, {
                "shop": source.pk, "seen_at": seen_at or timezone.now(),
                "authoritative": authoritative,
                "items": [item for item, _ in keys], "locations": [loc for _, loc in keys],
                "availables": [newest[key][0] for key in keys],
                "updated": [newest[key][1] for key in keys]})
            ambiguous.update(cursor.fetchall())
    return ambiguous


# What makes a link follow the source's stock. _TARGETS_RECOMPUTE states the same rule in SQL:
# change both together (test_source_changes_reach_only_syncing_links_less_their_safety_stock
# covers each part of it).
def _syncing_links(**filters) -> Iterable[VariantLink]:
    return (VariantLink.objects.filter(
        connection__status=Connection.Status.CONNECTED, product_link__auto_sync=True,
        source_variant__product__hidden=False, source_variant__deleted_at__isnull=True, **filters,
    ).select_related("connection", "connection__destination", "source_variant", "stock"))


def _stock_for(link: VariantLink) -> DestinationStock:
    stock = getattr(link, "_stock_cache", None)
    if stock is not None:
        return stock
    try:
        return link.stock
    except DestinationStock.DoesNotExist:
        stock, _ = DestinationStock.objects.get_or_create(
            variant_link=link,
            defaults={"destination": link.connection.destination,
                      "location_id": destination_location_id(connection=link.connection),
                      "known_quantity": link.last_written_quantity},
        )
        return stock


# One statement per recompute: each syncing row's target (_syncing_links' rule) from the
# source's shared stock (the sum over shared locations, less the connection's safety stock:
# stock.destination_target's rule), computed in the database rather than by loading every link
# of every destination; rows are locked in id order first, as every multi-row writer here locks
# them (no deadlocks), then each row decides from its own current values, so there is no
# read-then-write window and no transaction round trips.
_TARGETS_RECOMPUTE = """
    WITH available AS (
        SELECT inventory_item_id, sum(available) AS available FROM products_sourcelevel
        WHERE shop_id = %(source)s AND inventory_item_id = ANY(%(items)s)
          AND location_id = ANY(%(shared)s)
        GROUP BY inventory_item_id
    ),
    v AS (
        SELECT s.id, greatest(a.available - c.safety_stock, 0) AS target
        FROM products_sourcevariant AS sv
        JOIN available AS a ON a.inventory_item_id = sv.inventory_item_id
        JOIN products_sourceproduct AS sp ON sp.id = sv.product_id
        JOIN products_variantlink AS l ON l.source_variant_id = sv.id
        JOIN products_productlink AS p ON p.id = l.product_link_id
        JOIN stores_connection AS c ON c.id = l.connection_id
        JOIN products_destinationstock AS s ON s.variant_link_id = l.id
        WHERE sv.shop_id = %(source)s AND sv.inventory_item_id = ANY(%(items)s)
          AND sv.deleted_at IS NULL AND NOT sp.hidden AND p.auto_sync
          AND c.status = %(connected)s
    ),
    locked AS MATERIALIZED (
        SELECT s.id FROM products_destinationstock AS s JOIN v ON v.id = s.id
        ORDER BY s.id FOR UPDATE OF s
    )
    UPDATE products_destinationstock AS s SET
        target = v.target,
        hold = CASE WHEN s.target IS DISTINCT FROM v.target THEN '' ELSE s.hold END,
        dirty = s.dirty OR s.known_quantity IS DISTINCT FROM v.target,
        changed_at = CASE
            WHEN (s.dirty OR s.known_quantity IS DISTINCT FROM v.target)
                 AND (s.target IS DISTINCT FROM v.target OR s.changed_at IS NULL)
            THEN %(changed_at)s ELSE s.changed_at END
    FROM v, locked
    WHERE s.id = v.id AND locked.id = v.id
      AND NOT (s.target IS NOT DISTINCT FROM v.target
               AND s.known_quantity IS NOT DISTINCT FROM v.target)
    RETURNING s.destination_id, s.dirty
"""
# Source items per recompute statement: with 20 destinations, 2,000 rows locked at most.
_TARGETS_ITEMS_PER_STATEMENT = 100


def targets_recompute(*, source: Shop, inventory_item_ids: Iterable[int],
                      changed_at: datetime | None = None) -> set[int]:
    """Sets each linked destination's target from the source's shared stock; returns the
    destination shop ids that now have something to write. Items whose source level we have
    never heard of are left alone (reconciliation reads them)."""
    item_ids = sorted(set(inventory_item_ids))
    changed_at = changed_at or timezone.now()
    for link in _syncing_links(source_variant__shop=source,
                               source_variant__inventory_item_id__in=item_ids,
                               stock__isnull=True):
        _stock_for(link)  # a link made since the last reconciliation: its row, once
    to_flush: set[int] = set()
    shared = source_shared_location_ids(source=source)
    for start in range(0, len(item_ids), _TARGETS_ITEMS_PER_STATEMENT):
        with db_connection.cursor() as cursor:
            cursor.execute(_TARGETS_RECOMPUTE, {
                "source": source.pk, "shared": shared, "changed_at": changed_at,
                "items": item_ids[start:start + _TARGETS_ITEMS_PER_STATEMENT],
                "connected": Connection.Status.CONNECTED})
            to_flush.update(destination_id for destination_id, dirty in cursor.fetchall()
                            if dirty)
    return to_flush


def source_levels_changed(
    *, source: Shop, levels: Iterable[tuple[int, int, int | None, datetime | None]],
) -> set[int]:
    """Source levels (item, location, available, updated_at) in delivery order: each recorded
    unless stale, then every linked target recomputed once. Returns destinations to flush.

    Targets are recomputed for stale levels too (from the newer level we hold; a no-op when
    nothing changed): a delivery retried after its worker died between recording the level
    and recomputing would otherwise find its own level "stale" and leave targets behind."""
    seen_at = timezone.now()
    # Shopify sends null `available` for untracked items; nothing to follow.
    known = [level for level in levels if level[2] is not None and level[3] is not None]
    ambiguous = source_levels_record(source=source, levels=known, seen_at=seen_at)
    if ambiguous:
        # A live level without its own timestamp takes the newest delivered one (never our
        # clock, which would make Shopify's next level for the item look stale).
        delivered: dict[int, datetime] = {}
        for item_id, _, _, updated_at in known:
            delivered[item_id] = max(updated_at, delivered.get(item_id, updated_at))
        live = levels_read(shop=source, inventory_item_ids={item for item, _ in ambiguous})
        source_levels_record(source=source, authoritative=True, seen_at=seen_at, levels=[
            (item_id, location, quantity, live_updated or delivered[item_id])
            for (item_id, location), (quantity, live_updated) in live.items()])
    changed = {item_id for item_id, *_ in known}
    if not changed:
        return set()
    return targets_recompute(source=source, inventory_item_ids=changed, changed_at=seen_at)


# --- flow 5/6: a destination level changed ---------------------------------------------------


# Shopify's updated_at has one-second resolution and its clock is not ours: a level is only
# called older than our last write when it is older by more than this.
CLOCK_MARGIN = timedelta(seconds=2)


def destination_level_changed(*, destination: Shop, inventory_item_id: int, location_id: int,
                              available: int | None,
                              updated_at: datetime | None = None) -> set[int]:
    """inventory_levels/update on a destination: our own write coming back (echo) changes
    nothing; a level from before our last write (a late or reordered delivery) is history;
    anything else is drift: recorded, never sent to the source, healed after a grace period by
    writing the target again."""
    if available is None:
        return set()
    rows = DestinationStock.objects.filter(
        destination=destination, location_id=location_id,
        variant_link__destination_inventory_item_id=inventory_item_id)
    # Most deliveries are echoes of our own writes: one unlocked read tells. A write being
    # completed right now can only make this read look like a change, never hide one, and
    # every change is looked at again below under the row locks.
    if all(known == available for known in rows.values_list("known_quantity", flat=True)):
        return set()
    with transaction.atomic():
        return _destination_level_compare(destination, rows, available, updated_at)


def _destination_level_compare(destination: Shop, rows, available: int,
                               updated_at: datetime | None) -> set[int]:
    to_flush: set[int] = set()
    # Row locks: a write completing right now (_batch_done) commits first, so we compare with
    # what it wrote rather than with the belief it is replacing.
    stocks = rows.select_for_update(of=("self",)).select_related(
        "variant_link", "variant_link__product_link", "variant_link__connection")
    for stock in stocks:
        if available == stock.known_quantity:
            continue  # echo of our write
        if (updated_at is not None and stock.last_written_at is not None
                and updated_at + CLOCK_MARGIN < stock.last_written_at):
            continue  # a state our later write replaced (if it drifted since, CAS will tell)
        if InventoryWriteBatch.objects.filter(
            destination=destination, status=InventoryWriteBatch.Status.PENDING,
            items__contains=[{"stock": stock.pk, "quantity": available}],
        ).exists():
            continue  # echo of a write still in flight (its webhook can beat our response)
        if stock.target is not None and available == stock.target and stock.known_quantity is None:
            DestinationStock.objects.filter(pk=stock.pk).update(known_quantity=available,
                                                                dirty=False)
            continue
        link = stock.variant_link
        SyncEvent.objects.create(
            connection=link.connection, product_link=link.product_link,
            source_product_id=link.product_link.source_product_id,
            destination_product_id=link.product_link.destination_product_id,
            kind=SyncEvent.Kind.DRIFT, field=f"variant {link.destination_variant_id} available",
            from_value=str(stock.known_quantity), to_value=str(available),
            cause="changed at the destination (not sent to the source)",
            result=SyncEvent.Result.SKIPPED,
        )
        dirty = stock.target is not None and stock.target != available
        DestinationStock.objects.filter(pk=stock.pk).update(
            known_quantity=available, dirty=dirty,
            due_at=timezone.now() + DRIFT_GRACE if dirty else None,
            changed_at=timezone.now() if dirty else stock.changed_at)
        if dirty:
            to_flush.add(destination.pk)
    return to_flush


# --- the per-destination flush ---------------------------------------------------------------


@dataclass
class FlushResult:
    batches: int = 0
    written: int = 0
    stale: int = 0
    busy: bool = False


def _due_dirty(destination_id: int):
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
    rows = list(pending.select_related("variant_link", "variant_link__product_link"))
    held = DestinationStock.objects.filter(pk__in=[row.pk for row in rows]).update(
        hold=DestinationStock.Hold.HELD)
    cause = (f"held back: {zeroing} of {total} synced variants would go to zero within "
             f"{settings.INVENTORY_ZERO_BREAKER_WINDOW_SECONDS // 60} minutes")
    SyncEvent.objects.bulk_create([SyncEvent(
        connection_id=row.variant_link.connection_id, product_link=row.variant_link.product_link,
        source_product_id=row.variant_link.product_link.source_product_id,
        destination_product_id=row.variant_link.product_link.destination_product_id,
        kind=SyncEvent.Kind.INVENTORY,
        field=f"variant {row.variant_link.destination_variant_id} available",
        from_value="" if row.known_quantity is None else str(row.known_quantity), to_value="0",
        cause=cause, result=SyncEvent.Result.SKIPPED) for row in rows])
    logger.warning("zero-stock breaker tripped for %s: %s", destination.domain, cause)
    return held


def zero_held_count(*, connection: Connection) -> int:
    return DestinationStock.objects.filter(variant_link__connection=connection,
                                           hold=DestinationStock.Hold.HELD).count()


def inventory_zero_hold_release(*, connection: Connection) -> int:
    """The merchant lets the held zeros of one source through; they are written next flush
    and not held again unless the source changes them."""
    released = DestinationStock.objects.filter(
        variant_link__connection=connection, hold=DestinationStock.Hold.HELD,
    ).update(hold=DestinationStock.Hold.RELEASED)
    if released:
        inventory_flush_on_commit([connection.destination_id])
    return released


def inventory_flush_destination(*, destination_id: int) -> FlushResult:
    """Writes everything dirty for one destination, in batches of ≤ 250 quantities.

    One flush per destination at a time (Redis lock); destinations flush in parallel, each
    within its own API budget. Raises ShopifyRetryable for the task to retry later; the
    pending batch keeps its idempotency key, so the retry is the same request.
    """
    result = FlushResult()
    redis = redis_client()
    # "Wanted" is raised before trying the lock and cleared by the holder before it looks for
    # work, so a request that finds the lock taken is never lost: the holder goes round again.
    wanted = f"syncer:inventory-flush-wanted:{destination_id}"
    redis.set(wanted, 1, ex=600)
    destination = Shop.objects.get(pk=destination_id)
    while redis.exists(wanted):
        lock = redis.lock(f"syncer:inventory-flush:{destination_id}",
                          timeout=settings.INVENTORY_FLUSH_LOCK_SECONDS, blocking=False,
                          thread_local=False)
        if not lock.acquire():
            result.busy = True
            return result
        try:
            redis.delete(wanted)
            _flush_locked(destination, result, lock)
        finally:
            with contextlib.suppress(LockError):  # expired: a newer holder owns it now
                lock.release()
    return result


def _flush_locked(destination: Shop, result: FlushResult, lock) -> None:
    zeros_checked = False
    # Left by a flush that died or was retried mid-send: same key, so the same request again.
    pending = list(InventoryWriteBatch.objects.filter(
        destination=destination, status=InventoryWriteBatch.Status.PENDING).order_by("pk"))
    while True:
        lock.reacquire()  # renew for the next batch; if it had expired, CAS keeps writes safe
        more = True
        if pending:
            batch = pending.pop(0)
            batch.attempts += 1
            InventoryWriteBatch.objects.filter(pk=batch.pk).update(attempts=batch.attempts)
        else:
            try:
                batch, more = _batch_form(destination, zeros_checked=zeros_checked)
            except _ZerosToCheck:
                _zero_breaker(destination)
                zeros_checked = True
                continue
        if batch is None:
            return
        result.batches += 1
        outcome = _batch_send(destination, batch)
        if outcome == "done":
            result.written += len(batch.items)
        elif outcome == "stale":
            result.stale += len(batch.items)
            more = True  # its rows are dirty again, to be re-formed from fresh quantities
        if not more and not pending:
            # Everything due was in this batch; a change since then queued its own flush
            # (and if that flush finds us holding the lock, it has asked us to go round).
            return


class _ZerosToCheck(Exception):
    """A claim would take stock to zero: the zero-stock breaker looks first (once a flush)."""


class _UnknownQuantities(Exception):
    def __init__(self, stock_ids: list[int]) -> None:
        super().__init__(stock_ids)
        self.stock_ids = stock_ids


# One statement claims a batch: the oldest due dirty rows, locked in id order as every
# multi-row writer here locks them, marked clean, with what the write needs. `picked.dirty`
# is the row as it is once locked (a concurrent claim may have taken it meanwhile); testing it
# there rather than on `s` keeps the update on primary keys: planner statistics taken while
# nothing was dirty make a scan of every dirty row through their index look free.
_BATCH_CLAIM = """
    WITH picked AS MATERIALIZED (
        SELECT id, dirty FROM products_destinationstock
        WHERE id IN (
            SELECT id FROM products_destinationstock
            WHERE destination_id = %(destination)s AND dirty AND hold <> %(held)s
              AND (due_at IS NULL OR due_at <= %(now)s)
            ORDER BY changed_at, id LIMIT %(limit)s)
        ORDER BY id FOR UPDATE
    )
    UPDATE products_destinationstock AS s SET dirty = false
    FROM picked, products_variantlink AS l
    WHERE s.id = picked.id AND picked.dirty AND l.id = s.variant_link_id
    RETURNING s.id, l.destination_inventory_item_id, s.location_id, s.target, s.known_quantity,
              s.changed_at, s.hold
"""


def _batch_form(destination: Shop, *,
                zeros_checked: bool) -> tuple[InventoryWriteBatch | None, bool]:
    """Claims up to BATCH_SIZE due dirty rows and records them as one pending batch with its
    idempotency key, in one transaction. Returns (batch or None, whether more may be due).
    Raises _ZerosToCheck (nothing claimed) when it would write a new zero and the zero-stock
    breaker has not looked yet."""
    while True:
        try:
            with transaction.atomic(), db_connection.cursor() as cursor:
                cursor.execute(_BATCH_CLAIM, {
                    "destination": destination.pk, "held": DestinationStock.Hold.HELD,
                    "now": timezone.now(), "limit": BATCH_SIZE})
                rows = cursor.fetchall()
                if not rows:
                    return None, False
                if not zeros_checked and any(
                        target == 0 and known != 0 and hold == DestinationStock.Hold.NONE
                        for _, _, _, target, known, _, hold in rows):
                    raise _ZerosToCheck  # rolls the claim back
                unknown = [row[0] for row in rows if row[4] is None]
                if unknown:
                    raise _UnknownQuantities(unknown)  # rolls the claim back
                items = [{"stock": pk, "item": item, "location": location, "quantity": target,
                          "from": known,
                          "changed_at": changed_at.isoformat() if changed_at else None}
                         for pk, item, location, target, known, changed_at, _ in sorted(rows)
                         if target is not None and known != target]
                more = len(rows) >= BATCH_SIZE
                if items:
                    # Sent right after this commit: counted as its first attempt already.
                    return InventoryWriteBatch.objects.create(
                        destination=destination, idempotency_key=f"syncer-set-{uuid.uuid4()}",
                        items=items, attempts=1), more
        except _UnknownQuantities as unknown:
            # Read outside the transaction: no row locks held across an API call.
            _known_refresh(destination, list(DestinationStock.objects.filter(
                pk__in=unknown.stock_ids)))
            continue
        if not more:
            return None, False  # every claimed row already showed its target


def _known_refresh(destination: Shop, stocks: list[DestinationStock]) -> None:
    """Reads the destination's real quantities for rows whose current value we do not know."""
    links = {s.pk: VariantLink.objects.get(pk=s.variant_link_id) for s in stocks}
    live = levels_read(shop=destination,
                       inventory_item_ids=[links[s.pk].destination_inventory_item_id
                                           for s in stocks])
    for stock in stocks:
        key = (links[stock.pk].destination_inventory_item_id, stock.location_id)
        if key in live:
            DestinationStock.objects.filter(pk=stock.pk).update(known_quantity=live[key][0])
        else:
            _activate(destination, links[stock.pk].destination_inventory_item_id,
                      stock.location_id)
            DestinationStock.objects.filter(pk=stock.pk).update(known_quantity=0)


def _activate(shop: Shop, inventory_item_id: int, location_id: int) -> None:
    data = _execute(shop, "inventory_activate", {
        "inventoryItemId": gid("InventoryItem", inventory_item_id),
        "locationId": gid("Location", location_id),
        "idempotencyKey": f"syncer-activate-{shop.pk}-{inventory_item_id}-{location_id}",
    })
    raise_for_user_errors(data["inventoryActivate"], shop_domain=shop.domain,
                          document="inventory_activate")


def _batch_send(destination: Shop, batch: InventoryWriteBatch) -> str:
    variables = {
        "input": inventory_set_quantities_input(
            name="available", reason=SYNC_REASON,
            reference_document_uri=f"gid://syncer/InventoryWriteBatch/{batch.pk}",
            quantities=[inventory_quantity_input(
                inventory_item_id=gid("InventoryItem", item["item"]),
                location_id=gid("Location", item["location"]),
                quantity=item["quantity"], change_from_quantity=item["from"],
            ) for item in batch.items]),
        "idempotencyKey": batch.idempotency_key,
    }
    try:
        data = _execute(destination, "inventory_set_quantities", variables)
        raise_for_user_errors(data["inventorySetQuantities"], shop_domain=destination.domain,
                              document="inventory_set_quantities")
    except ShopifyUserErrors as exc:
        if "CHANGE_FROM_QUANTITY_STALE" in exc.codes or (
                "ITEM_NOT_STOCKED_AT_LOCATION" in exc.codes):
            _batch_stale(destination, batch, str(exc))
            return "stale"
        _batch_failed(batch, exc.merchant_message)
        return "failed"
    _batch_done(batch)
    return "done"


# One statement records a completed write: the rows locked in id order (as every multi-row
# writer here locks them), their new known quantity, the batch done, and one audit event per
# row written, with its latency from the source change. A row gone meanwhile (unlinked) gets no
# event. Rows and batch status commit together, so an echo webhook sees either the rows before
# the write with the batch still pending, or both after it: never a manual edit. The events are
# made here rather than as 250 Django objects because building and inserting those was most of
# a write's bookkeeping; for the same reason the variant links are only read (the engine's last
# write lives on the stock row; a link's own last write is what an import or mapping set).
_BATCH_WRITTEN = """
    WITH v AS (
        SELECT * FROM unnest(%(ids)s::bigint[], %(quantities)s::integer[],
                             %(froms)s::integer[], %(changed)s::timestamptz[])
            AS v(id, quantity, from_quantity, changed_at)
    ),
    locked AS MATERIALIZED (
        SELECT s.id FROM products_destinationstock AS s JOIN v ON v.id = s.id
        ORDER BY s.id FOR UPDATE OF s
    ),
    stock AS (
        UPDATE products_destinationstock AS s SET
            known_quantity = v.quantity, last_written_at = %(now)s,
            dirty = s.dirty OR (s.target IS NOT NULL AND s.target <> v.quantity)
        FROM v, locked
        WHERE s.id = v.id AND locked.id = v.id
        RETURNING s.variant_link_id, v.quantity, v.from_quantity, v.changed_at
    ),
    batch AS (
        UPDATE products_inventorywritebatch SET status = %(done)s, completed_at = %(now)s
        WHERE id = %(batch)s
    )
    INSERT INTO products_syncevent
        (connection_id, product_link_id, source_product_id, destination_product_id, kind,
         field, from_value, to_value, cause, result, error, latency_ms, created_at)
    SELECT l.connection_id, l.product_link_id, p.source_product_id, p.destination_product_id,
           %(kind)s, 'variant ' || l.destination_variant_id || ' available',
           coalesce(stock.from_quantity::text, ''), stock.quantity::text, %(cause)s, %(ok)s, '',
           greatest(0, floor(extract(epoch FROM %(now)s - stock.changed_at) * 1000))::integer,
           %(now)s
    FROM stock
    JOIN products_variantlink AS l ON l.id = stock.variant_link_id
    JOIN products_productlink AS p ON p.id = l.product_link_id
    RETURNING latency_ms
"""


def _batch_done(batch: InventoryWriteBatch) -> None:
    items = sorted(batch.items, key=lambda item: item["stock"])
    with db_connection.cursor() as cursor:
        cursor.execute(_BATCH_WRITTEN, {
            "ids": [item["stock"] for item in items],
            "quantities": [item["quantity"] for item in items],
            "froms": [item["from"] for item in items],
            "changed": [parse_datetime(item["changed_at"]) if item.get("changed_at") else None
                        for item in items],
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
    _known_refresh(destination, stocks)
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


# --- flows 3 and 4: destination sales and restocks move the source ----------------------------


def _links_for_destination_variants(*, destination: Shop, variant_ids: Iterable[int]):
    return {link.destination_variant_id: link for link in VariantLink.objects.filter(
        connection__destination=destination, destination_variant_id__in=list(variant_ids),
    ).select_related("connection", "connection__source", "source_variant")}


def _dicts(payload: dict, key: str) -> list[dict]:
    """payload[key] as the list of objects Shopify sends; anything else cannot be retried into
    shape, so it fails the delivery once instead of eight times."""
    value = payload.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise WebhookPayloadInvalid(f"{key} is not a list of objects")
    for item in value:
        if item.get("id") is None:
            raise WebhookPayloadInvalid(f"{key}[] has an item without an id")
        for field in ("id", "variant_id", "line_item_id", "quantity"):
            if item.get(field) is not None and not isinstance(item[field], int | str):
                raise WebhookPayloadInvalid(f"{key}[].{field} is not a number")
            if isinstance(item.get(field), str) and not item[field].lstrip("-").isdigit():
                raise WebhookPayloadInvalid(f"{key}[].{field} is not a number")
    return value


def inventory_effects_for_order(*, destination: Shop, payload: dict, trigger: str) -> list[int]:
    """orders/paid (and orders/create when the connection counts pending orders): one sale
    effect per linked line, created at most once whatever the webhooks do."""
    lines = [line for line in _dicts(payload, "line_items") if line.get("variant_id")]
    links = _links_for_destination_variants(destination=destination,
                                            variant_ids=[line["variant_id"] for line in lines])
    created = []
    for line in lines:
        link = links.get(line["variant_id"])
        if link is None or link.connection.status != Connection.Status.CONNECTED:
            continue
        if trigger == "create" and not link.connection.count_pending_orders:
            continue
        quantity = int(line.get("quantity") or 0)
        if quantity <= 0:
            continue
        effect, was_created = InventoryEffect.objects.get_or_create(
            destination=destination, kind=InventoryEffect.Kind.SALE, key=str(line["id"]),
            defaults={
                "source": link.connection.source, "order_id": int(payload["id"]),
                "line_item_id": int(line["id"]),
                "inventory_item_id": link.source_variant.inventory_item_id,
                "location_id": source_decrement_location_id(source=link.connection.source),
                "delta": -quantity, "idempotency_key": f"syncer-sale-{uuid.uuid4()}",
            },
        )
        if was_created:
            created.append(effect.pk)
            created += _restocks_release(sale=effect)
    return created


def _restocks_release(*, sale: InventoryEffect) -> list[int]:
    """Restocks that arrived before their sale was counted become due now, capped so a line
    never gives back more than it took."""
    released = []
    remaining = -sale.delta
    for restock in InventoryEffect.objects.filter(
            destination=sale.destination, kind=InventoryEffect.Kind.RESTOCK,
            line_item_id=sale.line_item_id).order_by("pk"):
        if restock.status != InventoryEffect.Status.WAITING:
            remaining -= restock.delta
            continue
        quantity = min(restock.delta, remaining)
        if quantity <= 0:
            InventoryEffect.objects.filter(pk=restock.pk).update(
                status=InventoryEffect.Status.FAILED, error="More restocked than sold")
            continue
        remaining -= quantity
        InventoryEffect.objects.filter(pk=restock.pk).update(
            status=InventoryEffect.Status.PENDING, delta=quantity, source=sale.source,
            inventory_item_id=sale.inventory_item_id, location_id=sale.location_id)
        released.append(restock.pk)
    return released


RESTOCK_TYPES = {"return", "cancel", "legacy_restock"}


def inventory_effects_for_refund(*, destination: Shop, payload: dict) -> list[int]:
    """refunds/create with restock (return / cancel): give the units back to the source, once
    per refund line, and never more than that line moved out of the source."""
    created = []
    for refund_line in _dicts(payload, "refund_line_items"):
        if refund_line.get("restock_type") not in RESTOCK_TYPES:
            continue
        sale = InventoryEffect.objects.filter(
            destination=destination, kind=InventoryEffect.Kind.SALE,
            line_item_id=refund_line.get("line_item_id")).first()
        if sale is None:
            _restock_wait(destination=destination, payload=payload, refund_line=refund_line)
            continue
        restocked = sum(-e.delta for e in InventoryEffect.objects.filter(
            destination=destination, kind=InventoryEffect.Kind.RESTOCK,
            line_item_id=sale.line_item_id).exclude(key=str(refund_line["id"])))
        quantity = min(int(refund_line.get("quantity") or 0), -sale.delta + restocked)
        if quantity <= 0:
            continue
        effect, was_created = InventoryEffect.objects.get_or_create(
            destination=destination, kind=InventoryEffect.Kind.RESTOCK,
            key=str(refund_line["id"]),
            defaults={
                "source": sale.source, "order_id": sale.order_id,
                "line_item_id": sale.line_item_id, "inventory_item_id": sale.inventory_item_id,
                "location_id": sale.location_id, "delta": quantity,
                "idempotency_key": f"syncer-restock-{uuid.uuid4()}",
            },
        )
        if was_created:
            created.append(effect.pk)
    return created


def _restock_wait(*, destination: Shop, payload: dict, refund_line: dict) -> None:
    """A restock for a line whose sale we have not counted (yet): keep it, waiting."""
    line = refund_line.get("line_item") or {}
    link = _links_for_destination_variants(destination=destination,
                                           variant_ids=[line.get("variant_id")]).get(
        line.get("variant_id"))
    quantity = int(refund_line.get("quantity") or 0)
    if link is None or quantity <= 0:
        return  # not a synced line: it never moved source stock
    InventoryEffect.objects.get_or_create(
        destination=destination, kind=InventoryEffect.Kind.RESTOCK, key=str(refund_line["id"]),
        defaults={
            "source": link.connection.source, "order_id": int(payload.get("order_id") or 0),
            "line_item_id": int(refund_line.get("line_item_id") or 0),
            "inventory_item_id": link.source_variant.inventory_item_id,
            "location_id": source_decrement_location_id(source=link.connection.source),
            "delta": quantity, "idempotency_key": f"syncer-restock-{uuid.uuid4()}",
            "status": InventoryEffect.Status.WAITING,
        },
    )


def inventory_restocks_release_waiting() -> list[int]:
    """Releases waiting restocks whose sale exists (a refund and its paid webhook processed
    at the same moment can each miss the other)."""
    released = []
    waiting = InventoryEffect.objects.filter(status=InventoryEffect.Status.WAITING)
    for line_item_id, destination_id in set(waiting.values_list("line_item_id",
                                                                "destination_id")):
        sale = InventoryEffect.objects.filter(destination_id=destination_id,
                                              kind=InventoryEffect.Kind.SALE,
                                              line_item_id=line_item_id).first()
        if sale is not None:
            released += _restocks_release(sale=sale)
    return released


def inventory_effect_apply(*, effect_id: int) -> str:
    """Moves the source's stock for one effect with inventoryAdjustQuantities (relative, so
    concurrent sales never conflict; changeFromQuantity explicitly null)."""
    effect = InventoryEffect.objects.select_related("source").get(pk=effect_id)
    if effect.status in (InventoryEffect.Status.APPLIED, InventoryEffect.Status.WAITING):
        return effect.status
    variables = {
        "input": inventory_adjust_quantities_input(
            name="available", reason=SALE_REASON,
            reference_document_uri=f"gid://syncer/InventoryEffect/{effect.pk}",
            changes=[inventory_change_input(
                inventory_item_id=gid("InventoryItem", effect.inventory_item_id),
                location_id=gid("Location", effect.location_id), delta=effect.delta,
                change_from_quantity=None)]),
        "idempotencyKey": effect.idempotency_key,
    }
    try:
        data = _execute(effect.source, "inventory_adjust_quantities", variables)
        raise_for_user_errors(data["inventoryAdjustQuantities"],
                              shop_domain=effect.source.domain,
                              document="inventory_adjust_quantities")
    except ShopifyUserErrors as exc:
        InventoryEffect.objects.filter(pk=effect.pk).update(
            status=InventoryEffect.Status.FAILED, error=exc.merchant_message)
        _effect_event(effect, result=SyncEvent.Result.FAILED, error=exc.merchant_message)
        return "failed"
    InventoryEffect.objects.filter(pk=effect.pk).update(status=InventoryEffect.Status.APPLIED,
                                                        applied_at=timezone.now())
    _effect_event(effect, result=SyncEvent.Result.OK)
    return "applied"


def _effect_event(effect: InventoryEffect, *, result: str, error: str = "") -> None:
    link = VariantLink.objects.filter(connection__source=effect.source,
                                      connection__destination=effect.destination,
                                      source_variant__inventory_item_id=effect.inventory_item_id,
                                      ).select_related("product_link").first()
    SyncEvent.objects.create(
        connection=link.connection if link else None,
        product_link=link.product_link if link else None,
        source_product_id=link.product_link.source_product_id if link else None,
        destination_product_id=link.product_link.destination_product_id if link else None,
        kind=(SyncEvent.Kind.SOURCE_DECREMENT if effect.kind == InventoryEffect.Kind.SALE
              else SyncEvent.Kind.SOURCE_RESTOCK),
        field=f"source item {effect.inventory_item_id} available",
        from_value="", to_value=f"{effect.delta:+d}",
        cause=f"order {effect.order_id} line {effect.line_item_id}", result=result, error=error,
    )


# --- flow 10: reconciliation ------------------------------------------------------------------


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
    links = list(_syncing_links(connection=connection))
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
    lock = redis_client().lock(f"syncer:inventory-flush:{connection.destination_id}",
                               timeout=settings.INVENTORY_FLUSH_LOCK_SECONDS,
                               blocking_timeout=120, thread_local=False)
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
                                  links: list[VariantLink], lock) -> int:
    """Reads the destination and corrects our beliefs while no write to it is in flight (we
    hold its flush lock), so a read cannot be older than what we believe."""
    destination_live = levels_read(
        shop=connection.destination, bulk_allowed=True, keepalive=lock.reacquire,
        inventory_item_ids=[link.destination_inventory_item_id for link in links])
    drift = 0
    for index, link in enumerate(links, start=1):
        stock = _stock_for(link)
        stock.refresh_from_db()
        actual = destination_live.get((link.destination_inventory_item_id,
                                       stock.location_id), (None, None))[0]
        if actual is not None and actual != stock.known_quantity:
            if stock.known_quantity is not None:
                drift += 1
                SyncEvent.objects.create(
                    connection=connection, product_link_id=link.product_link_id,
                    destination_product_id=link.product_link.destination_product_id,
                    source_product_id=link.product_link.source_product_id,
                    kind=SyncEvent.Kind.DRIFT,
                    field=f"variant {link.destination_variant_id} available",
                    from_value=str(stock.known_quantity), to_value=str(actual),
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
