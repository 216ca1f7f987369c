"""What each destination should show: the target rule, the stock rows that carry it, and flow
2 (a source level changed → record it unless stale → recompute every linked target)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from products.inventory.levels import levels_read, source_levels_record
from products.inventory.locations import destination_location_id, source_shared_location_ids
from products.inventory.oversold import oversold_alert_for_levels, shared_stock_of
from products.inventory.sql import TARGETS_OF, TARGETS_RECOMPUTE, TARGETS_RECOMPUTE_HELD
from products.models import (
    DestinationHold,
    DestinationStock,
    SourceLevel,
    StockReason,
    VariantLink,
)
from stores.models import Connection, Shop

# What makes a link follow the source's stock. sql.TARGETS_RECOMPUTE states the same rule in
# SQL: change both together (test_source_changes_reach_only_syncing_links_less_their_safety_stock
# covers each part of it).
SYNCING_LINKS: dict[str, Any] = {
    "connection__status": Connection.Status.CONNECTED, "product_link__auto_sync": True,
    "source_variant__product__hidden": False, "source_variant__deleted_at__isnull": True,
}


def syncing_links(**filters: Any) -> QuerySet[VariantLink]:
    return (VariantLink.objects.filter(**SYNCING_LINKS, **filters)
            .select_related("connection", "connection__destination", "source_variant",
                            "product_link", "stock"))


def destination_targets(*, connection: Connection,
                        source_available: dict[int, int]) -> dict[int, int]:
    """What the destination should show for each source inventory item, given the source's
    shared stock of it (sql.TARGET, the stock rules every recompute uses)."""
    if not source_available:
        return {}
    items = sorted(source_available)
    with db_connection.cursor() as cursor:
        cursor.execute(TARGETS_OF, {"items": items,
                                    "availables": [source_available[i] for i in items],
                                    "safety_stock": int(connection.safety_stock or 0),
                                    "stock_percent": int(connection.stock_percent),
                                    "stock_max": connection.stock_max})
        return {int(item): int(target) for item, target in cursor.fetchall()}


def stock_for(link: VariantLink) -> DestinationStock:
    """The link's stock row, made on first need (a link made since the last reconciliation)."""
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


# Source items per recompute statement: with 20 destinations, 2,000 rows locked at most.
TARGETS_ITEMS_PER_STATEMENT = 100


def targets_recompute(*, source: Shop, inventory_item_ids: Iterable[int],
                      changed_at: datetime | None = None,
                      reason: str = StockReason.SOURCE_CHANGE) -> set[int]:
    """Sets each linked destination's target from the source's shared stock; returns the
    destination shop ids that now have something to write. Items whose source level we have
    never heard of are left alone (reconciliation reads them). `reason` is what a changed
    target's write will say in the history."""
    item_ids = sorted(set(inventory_item_ids))
    changed_at = changed_at or timezone.now()
    to_flush: set[int] = set()
    shared = source_shared_location_ids(source=source)
    for start in range(0, len(item_ids), TARGETS_ITEMS_PER_STATEMENT):
        params = {"source": source.pk, "shared": shared, "changed_at": changed_at,
                  "reason": reason, "items": item_ids[start:start + TARGETS_ITEMS_PER_STATEMENT],
                  "connected": Connection.Status.CONNECTED}
        dirty, without_stock = _targets_recompute_statement(params)
        to_flush |= dirty
        if without_stock:
            # Links made since (an import, a mapping) get their row, then their target.
            for link in syncing_links(pk__in=without_stock):
                stock_for(link)
            to_flush |= _targets_recompute_statement(params)[0]
    return to_flush


def _targets_recompute_statement(params: dict[str, Any]) -> tuple[set[int], list[int]]:
    """One TARGETS_RECOMPUTE (TARGETS_RECOMPUTE_HELD when a store's unpaid orders hold some
    of the items): the destinations that now have something to write, and the syncing links
    that have no stock row."""
    held = DestinationHold.objects.filter(
        source_id=params["source"], inventory_item_id__in=params["items"],
        released_at__isnull=True).exists()
    with db_connection.cursor() as cursor:
        cursor.execute(TARGETS_RECOMPUTE_HELD if held else TARGETS_RECOMPUTE, params)
        rows = cursor.fetchall()
    return ({int(destination_id) for destination_id, dirty, link_id in rows
             if link_id is None and dirty},
            [int(link_id) for _, _, link_id in rows if link_id is not None])


def source_levels_changed(
    *, source: Shop, levels: Iterable[tuple[int, int, int | None, datetime | None]],
    oversold_alerts: bool = True,
) -> set[int]:
    """Source levels (item, location, available, updated_at) in delivery order: each recorded
    unless stale, then every linked target recomputed once. Returns destinations to flush.
    An item whose shared stock this takes further below zero is alerted (oversold.py), unless
    the caller alerts itself (`oversold_alerts=False`).

    Targets are recomputed for stale levels too (from the newer level we hold; a no-op when
    nothing changed): a delivery retried after its worker died between recording the level
    and recomputing would otherwise find its own level "stale" and leave targets behind."""
    seen_at = timezone.now()
    # Shopify sends null `available` for untracked items; nothing to follow.
    known = [(item, location, available, updated_at)
             for item, location, available, updated_at in levels
             if available is not None and updated_at is not None]
    # Shared stock below zero needs a level below zero, nearly always the one that just moved:
    # only then is it read before and after (nothing more to ask for the changes of a busy
    # source, nearly all above zero). A sum tipped below zero by a level still at or above zero
    # (another location already below) is shown on Home but not emailed.
    below_zero = {item for item, _, available, _ in known if available < 0}
    if oversold_alerts and below_zero:
        shared = source_shared_location_ids(source=source)
        before = shared_stock_of(source=source, inventory_item_ids=below_zero,
                                 shared_location_ids=shared)
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
    if oversold_alerts and below_zero:
        oversold_alert_for_levels(source=source, before=before, after=shared_stock_of(
            source=source, inventory_item_ids=below_zero, shared_location_ids=shared))
    changed = {item_id for item_id, *_ in known}
    if not changed:
        return set()
    return targets_recompute(source=source, inventory_item_ids=changed, changed_at=seen_at)


def source_level_unstocked(*, source: Shop, inventory_item_id: int, location_id: int,
                           triggered_at: datetime | None = None) -> set[int]:
    """inventory_levels/disconnect at a source: the merchant unstocked the item at the location.
    Shopify keeps the level, inactive, with its quantities, but they sell nothing and are in no
    total (2026-04), so they stop counting now rather than at the next full reconciliation (the
    incremental check does not list inactive levels, and the full one forgets the row). The
    row is kept at 0 rather than deleted, so an item left with no other shared level gets a
    target of 0 (targets are computed from the levels there are). Returns the destinations to
    flush.

    The payload has no time; the delivery's `triggered_at` (X-Shopify-Triggered-At) is when
    the merchant unstocked it, and webhooks arrive in any order. A level Shopify reported
    changed after that is the item stocked there again: a late disconnect leaves it alone. The
    zeroed row takes that time as its own, so a level update from before the unstocking that
    arrives late is stale (LEVELS_UPSERT) and cannot count the inactive units again. Shopify's
    `updated_at` has whole seconds: a restock in the same second as the unstocking is taken
    for older, which shows too little (never sells units the source lacks) until the next
    level change or check. Without a time, the level is zeroed as before."""
    with transaction.atomic():
        level = SourceLevel.objects.select_for_update().filter(
            shop=source, inventory_item_id=inventory_item_id, location_id=location_id).first()
        if level is None:
            return set()
        if triggered_at is not None and level.shopify_updated_at > triggered_at:
            return set()
        was_counting = level.available != 0
        level.available = 0
        level.seen_at = timezone.now()
        if triggered_at is not None:
            level.shopify_updated_at = max(level.shopify_updated_at, triggered_at)
        level.save(update_fields=["available", "seen_at", "shopify_updated_at"])
    if not was_counting:
        return set()
    return targets_recompute(source=source, inventory_item_ids={inventory_item_id},
                             changed_at=timezone.now())
