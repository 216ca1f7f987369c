"""Real stock levels: read live from Shopify (the one read path) and the source's levels as we
hold them (products_sourcelevel), recorded newest-wins."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone

from products.inventory.locations import source_shared_location_ids
from products.inventory.sql import LEVELS_UPSERT
from stores.models import Shop
from stores.services import shop_admin_session
from syncer.shopify.bulk import BulkOperationFailed
from syncer.shopify.errors import ShopifyTimeout, ShopifyUserErrors
from syncer.shopify.operations.inventory import (
    inventory_levels_bulk_read,
    inventory_levels_read,
)

logger = logging.getLogger(__name__)

# (inventory item, location) → (available, Shopify's updatedAt)
Levels = dict[tuple[int, int], tuple[int, datetime | None]]
# (inventory item, location, available, updated_at)
Level = tuple[int, int, int, datetime]


def levels_read(*, shop: Shop, inventory_item_ids: Iterable[int], bulk_allowed: bool = False,
                keepalive: Callable[[], None] | None = None) -> Levels:
    """Live `available` per (item, location) from Shopify, with its updatedAt. Items Shopify
    does not know are absent; an item not stocked at a location has no entry for it.

    Large reads (reconciliation of a big catalogue) use one bulk query when `bulk_allowed`:
    paged reads cost about 10 points per item against the shop's budget, a bulk query almost
    nothing. `keepalive` runs while the bulk query is polled (e.g. to renew a lock)."""
    ids = set(inventory_item_ids)
    session = shop_admin_session(shop_domain=shop.domain)
    if bulk_allowed and len(ids) >= settings.INVENTORY_BULK_READ_MIN_ITEMS:
        try:
            return {(level.inventory_item_id, level.location_id):
                    (level.available, level.updated_at)
                    for level in inventory_levels_bulk_read(
                        session=session, keepalive=keepalive,
                        timeout=settings.INVENTORY_BULK_READ_TIMEOUT_SECONDS)
                    if level.inventory_item_id in ids}
        except (ShopifyUserErrors, BulkOperationFailed, ShopifyTimeout) as exc:
            # Another bulk query of ours is running (the catalogue load), or this one failed
            # or is slow: the paged reads get the same answer.
            logger.warning("bulk level read of %s not used (%s); reading page by page",
                           shop.domain, exc)
    return {(level.inventory_item_id, level.location_id): (level.available, level.updated_at)
            for level in inventory_levels_read(session=session, inventory_item_ids=ids)}


def source_available_live(*, source: Shop, inventory_item_ids: Iterable[int]) -> dict[int, int]:
    """The source's shared stock per inventory item, read now: the sum of `available` over its
    shared locations. Items Shopify does not know count as 0."""
    ids = list(inventory_item_ids)
    shared = set(source_shared_location_ids(source=source))
    available = dict.fromkeys(ids, 0)
    for (item_id, location_id), (quantity, _) in levels_read(
            shop=source, inventory_item_ids=ids).items():
        if location_id in shared:
            available[item_id] += quantity
    return available


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
            cursor.execute(LEVELS_UPSERT, {
                "shop": source.pk, "seen_at": seen_at or timezone.now(),
                "authoritative": authoritative,
                "items": [item for item, _ in keys], "locations": [loc for _, loc in keys],
                "availables": [newest[key][0] for key in keys],
                "updated": [newest[key][1] for key in keys]})
            ambiguous.update((int(item), int(location))
                             for item, location in cursor.fetchall())
    return ambiguous
