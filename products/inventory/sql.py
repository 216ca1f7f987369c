"""The inventory engine's set-based statements, in one place.

Table names come from the models' `_meta`, so a renamed table cannot leave a statement behind.
Every multi-row writer locks destination stock rows in id order (no deadlocks between a flush,
a recompute and a completed write).
"""

from __future__ import annotations

from products.models import (
    DestinationHold,
    DestinationStock,
    InventoryWriteBatch,
    ProductLink,
    SourceLevel,
    SourceProduct,
    SourceVariant,
    SyncEvent,
    VariantLink,
)
from stores.models import Connection

TABLES = {
    "source_level": SourceLevel._meta.db_table,
    "source_variant": SourceVariant._meta.db_table,
    "source_product": SourceProduct._meta.db_table,
    "variant_link": VariantLink._meta.db_table,
    "product_link": ProductLink._meta.db_table,
    "connection": Connection._meta.db_table,
    "destination_stock": DestinationStock._meta.db_table,
    "destination_hold": DestinationHold._meta.db_table,
    "write_batch": InventoryWriteBatch._meta.db_table,
    "sync_event": SyncEvent._meta.db_table,
}


# The target rule, stated once, in this order: (1) the source's shared available stock, (2) less
# the connection's safety stock, (3) times its stock percent, rounded down, (4) at most its
# maximum, (5) never below zero. E.g. 37 available, safety 2, 50 %, max 10: 35, 17, 10. Both
# statements below use it (and through TARGETS_OF every import and new variant); the zero-stock
# breaker (flush.py) then applies to the result. Integer division rounds toward zero, which is
# down for everything (5) does not turn into zero anyway; the bigint keeps a large stock times
# 100 from overflowing; least() ignores a NULL maximum (no cap).
TARGET = ("greatest(least(({available} - {safety_stock})::bigint * {percent} / 100, {maximum}),"
          " 0)")


def _statement(text: str, **parts: str) -> str:
    return text.format(**TABLES, **parts)


# Levels recorded in one statement, each unless what we hold is newer (authoritative: a live
# read, recorded whatever the timestamps). Besides what it applied, it tells which levels were
# ambiguous: same second as the stored level but another quantity (read before this statement
# changed anything: a data-modifying CTE's effects are not visible to its own query).
LEVELS_UPSERT = _statement("""
    WITH v AS (
        SELECT * FROM unnest(%(items)s::bigint[], %(locations)s::bigint[],
                             %(availables)s::integer[], %(updated)s::timestamptz[])
            AS v(item, location, available, updated_at)
    ),
    upserted AS (
        INSERT INTO {source_level}
            (shop_id, inventory_item_id, location_id, available, shopify_updated_at, seen_at)
        SELECT %(shop)s, item, location, available, updated_at, %(seen_at)s FROM v
        ON CONFLICT (shop_id, inventory_item_id, location_id) DO UPDATE
            SET available = EXCLUDED.available,
                shopify_updated_at = EXCLUDED.shopify_updated_at, seen_at = EXCLUDED.seen_at
            WHERE {source_level}.shopify_updated_at < EXCLUDED.shopify_updated_at
               OR (%(authoritative)s
                   AND {source_level}.available <> EXCLUDED.available)
        RETURNING inventory_item_id, location_id
    )
    SELECT v.item, v.location FROM v
    JOIN {source_level} AS stored ON stored.shop_id = %(shop)s
        AND stored.inventory_item_id = v.item AND stored.location_id = v.location
    WHERE stored.shopify_updated_at = v.updated_at AND stored.available <> v.available
      AND NOT EXISTS (SELECT 1 FROM upserted AS u
                      WHERE u.inventory_item_id = v.item AND u.location_id = v.location)
""")

# One statement per recompute: each syncing row's target from the source's shared stock (the
# sum over shared locations), computed in the database rather than by loading every link of
# every destination. Which links follow is stated once more, as a Django filter, in
# products/inventory/targets.py (SYNCING_LINKS): change them together. Rows are locked in id
# order first, then each row decides from its own current values: no read-then-write window, no
# transaction round trips. It answers (destination, dirty, NULL) for each row it changed and
# (NULL, NULL, link) for each syncing link that has no stock row yet (one made by an import or
# a mapping since): finding those here costs nothing, where asking apart read every link of
# the items again (a quarter of the worker's recompute time at 20 destinations). A store's
# own unpaid order lines that its source does not count yet (products/inventory/holds.py)
# come off its target, after the rule: those units are its customers', not on sale again.
# That step is in TARGETS_RECOMPUTE_HELD only, used when the items have live holds (asked
# first, through their partial index): the statement every source change runs keeps its plan.
_TARGETS_RECOMPUTE = """
    WITH available AS (
        SELECT inventory_item_id, sum(available) AS available FROM {source_level}
        WHERE shop_id = %(source)s AND inventory_item_id = ANY(%(items)s)
          AND location_id = ANY(%(shared)s)
        GROUP BY inventory_item_id
    ),
    {held_step}
    v AS (
        SELECT s.id, l.id AS link_id, {target_less_held} AS target
        FROM {source_variant} AS sv
        JOIN available AS a ON a.inventory_item_id = sv.inventory_item_id
        JOIN {source_product} AS sp ON sp.id = sv.product_id
        JOIN {variant_link} AS l ON l.source_variant_id = sv.id
        JOIN {product_link} AS p ON p.id = l.product_link_id
        JOIN {connection} AS c ON c.id = l.connection_id
        {held_join}
        LEFT JOIN {destination_stock} AS s ON s.variant_link_id = l.id
        WHERE sv.shop_id = %(source)s AND sv.inventory_item_id = ANY(%(items)s)
          AND sv.deleted_at IS NULL AND NOT sp.hidden AND p.auto_sync
          AND c.status = %(connected)s
    ),
    locked AS MATERIALIZED (
        SELECT s.id FROM {destination_stock} AS s JOIN v ON v.id = s.id
        ORDER BY s.id FOR UPDATE OF s
    ),
    changed AS (
    UPDATE {destination_stock} AS s SET
        target = v.target,
        hold = CASE WHEN s.target IS DISTINCT FROM v.target THEN '' ELSE s.hold END,
        dirty = s.dirty OR s.known_quantity IS DISTINCT FROM v.target,
        changed_at = CASE
            WHEN (s.dirty OR s.known_quantity IS DISTINCT FROM v.target)
                 AND (s.target IS DISTINCT FROM v.target OR s.changed_at IS NULL)
            THEN %(changed_at)s ELSE s.changed_at END,
        reason = CASE
            WHEN (s.dirty OR s.known_quantity IS DISTINCT FROM v.target)
                 AND (s.target IS DISTINCT FROM v.target OR s.changed_at IS NULL)
            THEN %(reason)s ELSE s.reason END
    FROM v, locked
    WHERE s.id = v.id AND locked.id = v.id
      AND NOT (s.target IS NOT DISTINCT FROM v.target
               AND s.known_quantity IS NOT DISTINCT FROM v.target)
    RETURNING s.destination_id, s.dirty
    )
    SELECT destination_id, dirty, NULL::bigint FROM changed
    UNION ALL
    SELECT NULL, NULL, link_id FROM v WHERE id IS NULL
"""
_TARGET_OF_LINK = TARGET.format(available="a.available", safety_stock="c.safety_stock",
                                percent="c.stock_percent", maximum="c.stock_max")
TARGETS_RECOMPUTE = _statement(_TARGETS_RECOMPUTE, held_step="", held_join="",
                               target_less_held=_TARGET_OF_LINK)
TARGETS_RECOMPUTE_HELD = _statement(
    _TARGETS_RECOMPUTE, held_join="LEFT JOIN held AS h ON h.variant_link_id = l.id",
    target_less_held=f"greatest({_TARGET_OF_LINK} - coalesce(h.units, 0), 0)",
    held_step="""held AS (
        SELECT variant_link_id, sum(quantity) AS units FROM {destination_hold}
        WHERE source_id = %(source)s AND inventory_item_id = ANY(%(items)s)
          AND released_at IS NULL
        GROUP BY variant_link_id
    ),""".format(**TABLES))

# One statement claims a batch: the oldest due dirty rows, locked in id order, marked clean,
# with what the write needs. `picked.dirty` is the row as it is once locked (a concurrent claim
# may have taken it meanwhile); testing it there rather than on `s` keeps the update on primary
# keys: planner statistics taken while nothing was dirty make a scan of every dirty row through
# their index look free. With `unless_pending` it claims nothing while the destination has a
# pending batch (those go first; the flush holding the lock looks for them only then).
BATCH_CLAIM = _statement("""
    WITH picked AS MATERIALIZED (
        SELECT id, dirty FROM {destination_stock}
        WHERE id IN (
            SELECT id FROM {destination_stock}
            WHERE destination_id = %(destination)s AND dirty AND hold <> %(held)s
              AND (due_at IS NULL OR due_at <= %(now)s)
              AND NOT (%(unless_pending)s AND EXISTS (
                  SELECT 1 FROM {write_batch}
                  WHERE destination_id = %(destination)s AND status = %(pending)s))
            ORDER BY changed_at, id LIMIT %(limit)s)
        ORDER BY id FOR UPDATE
    )
    UPDATE {destination_stock} AS s SET dirty = false
    FROM picked, {variant_link} AS l
    WHERE s.id = picked.id AND picked.dirty AND l.id = s.variant_link_id
    RETURNING s.id, l.destination_inventory_item_id, s.location_id, s.target, s.known_quantity,
              s.changed_at, s.hold, s.reason
""")

BATCH_INSERT = _statement("""
    INSERT INTO {write_batch}
        (destination_id, idempotency_key, items, status, attempts, error, created_at)
    VALUES (%(destination)s, %(key)s, %(items)s::jsonb, %(status)s, %(attempts)s, '', %(now)s)
    RETURNING id
""")

# One statement records a completed write: the rows locked in id order, their new known
# quantity, the batch done, and one audit event per row written (products/sync_events.py's
# columns), with its latency from the source change and the reason the row carried. What was
# written is read from the batch row itself (its items, as recorded before the call): passing
# 250 items as five parameter arrays cost the worker more CPU than the rest of the bookkeeping.
# A batch formed before items had `changed_at` / `reason` gets no latency / an empty reason. A
# row gone meanwhile (unlinked) gets no
# event. Rows and batch status commit together, so an echo webhook sees either the rows before
# the write with the batch still pending, or both after it: never a manual edit. The variant
# links are only read (the engine's last write lives on the stock row; a link's own last write
# is what an import or mapping set).
BATCH_WRITTEN = _statement("""
    WITH v AS (
        SELECT item.stock AS id, item.quantity, item."from" AS from_quantity,
               item.changed_at, coalesce(item.reason, '') AS reason
        FROM {write_batch} AS b,
             jsonb_to_recordset(b.items) AS item(stock bigint, quantity integer,
                                                 "from" integer, changed_at timestamptz,
                                                 reason text)
        WHERE b.id = %(batch)s
    ),
    locked AS MATERIALIZED (
        SELECT s.id FROM {destination_stock} AS s JOIN v ON v.id = s.id
        ORDER BY s.id FOR UPDATE OF s
    ),
    stock AS (
        UPDATE {destination_stock} AS s SET
            known_quantity = v.quantity, last_written_at = %(now)s,
            dirty = s.dirty OR (s.target IS NOT NULL AND s.target <> v.quantity)
        FROM v, locked
        WHERE s.id = v.id AND locked.id = v.id
        RETURNING s.variant_link_id, s.location_id, v.quantity, v.from_quantity, v.changed_at,
                  v.reason
    ),
    batch AS (
        UPDATE {write_batch} SET status = %(done)s, completed_at = %(now)s
        WHERE id = %(batch)s
    )
    INSERT INTO {sync_event}
        (connection_id, product_link_id, source_product_id, destination_product_id, kind,
         field, from_value, to_value, cause, result, error, latency_ms, created_at,
         source_variant_id, location_id, reason, order_name)
    SELECT l.connection_id, l.product_link_id, p.source_product_id, p.destination_product_id,
           %(kind)s, 'variant ' || l.destination_variant_id || ' available',
           coalesce(stock.from_quantity::text, ''), stock.quantity::text, %(cause)s, %(ok)s, '',
           -- (greatest() skips a NULL: no change time must stay no latency, not 0 ms)
           CASE WHEN stock.changed_at IS NOT NULL THEN greatest(0, floor(extract(
               epoch FROM %(now)s - stock.changed_at) * 1000))::integer END,
           %(now)s, l.source_variant_id, stock.location_id, stock.reason, ''
    FROM stock
    JOIN {variant_link} AS l ON l.id = stock.variant_link_id
    JOIN {product_link} AS p ON p.id = l.product_link_id
    RETURNING latency_ms
""")

# What we believe a destination holds of one item at one location: a level webhook's first,
# unlocked look (products/inventory/drift.py), done for every level delivery the door did not
# answer as an echo. The links are found through the destination's connections: the links'
# index leads with the connection, and without it the item was looked up across every link of
# every store (4 ms of PostgreSQL's CPU per delivery at 200,000 links, against 0.1).
KNOWN_QUANTITIES = _statement("""
    SELECT s.known_quantity FROM {destination_stock} AS s
    JOIN {variant_link} AS l ON l.id = s.variant_link_id
    WHERE s.destination_id = %(destination)s AND s.location_id = %(location)s
      AND l.destination_inventory_item_id = %(item)s
      AND l.connection_id IN (SELECT id FROM {connection} WHERE destination_id = %(destination)s)
""")

# After a flush: how many of a destination's dirty rows are due now and when the next of the
# others is (a drift grace, a failed write's pause); rows the breaker holds wait for the
# merchant instead. Through the partial index of dirty rows.
DIRTY_WAITING = _statement("""
    SELECT count(*) FILTER (WHERE due_at IS NULL OR due_at <= %(now)s), min(due_at)
    FROM {destination_stock}
    WHERE destination_id = %(destination)s AND dirty AND hold <> %(held)s
""")

# A row still failing fails again at every retry (every few minutes), so failed batches of the
# last day are enough to find it, however long ago it first failed. A batch's items name its
# rows; a write since the failure (or a row no longer dirty) means it is no longer failing.
# Each failing row comes with when the change still waiting was seen (its age on the card).
STOCK_FAILING = _statement("""
    SELECT s.id, min(coalesce(s.changed_at, b.completed_at))
    FROM {write_batch} AS b
    CROSS JOIN LATERAL jsonb_array_elements(b.items) AS item
    JOIN {destination_stock} AS s ON s.id = (item->>'stock')::bigint
    WHERE b.destination_id = %(destination)s AND b.status = %(failed)s
      AND b.completed_at >= %(looked_from)s
      AND s.destination_id = %(destination)s AND s.dirty AND s.hold <> %(held)s
      AND (s.last_written_at IS NULL OR s.last_written_at < b.completed_at)
    GROUP BY s.id
""")

# The targets for a connection's source items given their shared stock (an import or a newly
# linked variant, before any stock row exists), by the same rule.
TARGETS_OF = _statement("""
    SELECT v.item, {target} FROM unnest(%(items)s::bigint[], %(availables)s::integer[])
        AS v(item, available)
""", target=TARGET.format(available="v.available", safety_stock="%(safety_stock)s",
                         percent="%(stock_percent)s", maximum="%(stock_max)s::integer"))

# A destination's connected sources whose "below N: draft" rule is on (after every stock
# write: usually none, and then nothing more is asked).
RULED_CONNECTIONS = _statement("""
    SELECT id FROM {connection}
    WHERE destination_id = %(destination)s AND status = %(connected)s AND draft_below IS NOT NULL
""")

# The "below N: draft" stock rule's work, decided in one statement: the product links of one
# connection (all, or those given) whose destination product the rule should set to draft (its
# stock below the connection's `draft_below`, not drafted by the rule yet) or back to active
# (drafted by the rule, and its stock back at N or above, or the rule turned off). A product's
# stock is the sum of its syncing variants' targets (the rows that follow the source, as
# TARGETS_RECOMPUTE picks them), except that a new zero counts only once written: until then
# the zero-stock breaker may hold it back (a held mass zeroing must draft nothing either), so it
# counts as what the destination still shows. A product whose stock is unknown is left alone.
STOCK_RULE_DUE = _statement("""
    SELECT p.id, q.quantity, p.drafted_by_rule, c.draft_below
    FROM {product_link} AS p
    JOIN {connection} AS c ON c.id = p.connection_id
    LEFT JOIN LATERAL (
        -- A link made by an import or a mapping has no stock row until its first recompute:
        -- what the link wrote is what the store shows.
        SELECT sum(coalesce(CASE WHEN s.target = 0 AND s.dirty THEN s.known_quantity
                                 ELSE s.target END, l.last_written_quantity)) AS quantity
        FROM {variant_link} AS l
        JOIN {source_variant} AS sv ON sv.id = l.source_variant_id
        JOIN {source_product} AS sp ON sp.id = sv.product_id
        LEFT JOIN {destination_stock} AS s ON s.variant_link_id = l.id
        WHERE l.product_link_id = p.id AND sv.deleted_at IS NULL AND NOT sp.hidden
    ) AS q ON true
    WHERE p.connection_id = %(connection)s AND c.status = %(connected)s
      AND (%(every)s OR p.id = ANY(%(links)s))
      AND ((NOT p.drafted_by_rule AND p.auto_sync AND q.quantity < c.draft_below)
           OR (p.drafted_by_rule AND (c.draft_below IS NULL
                                      OR (p.auto_sync AND q.quantity >= c.draft_below))))
    ORDER BY p.id
""")
