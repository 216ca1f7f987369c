"""Inventory operations: locations, live levels, activation, setting and adjusting quantities.

Quantities are always `available`. Every mutation carries an idempotency key made when the work
was planned (so a retry of the same call replays rather than repeats), and every change states
its `changeFromQuantity` (a number for compare-and-swap, or None to skip the check on purpose).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from syncer.shopify.admin_session import AdminSession
from syncer.shopify.bulk import (
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
from syncer.shopify.errors import ShopifyUserErrors, raise_for_user_errors
from syncer.shopify.ids import gid, gid_id

# Items per level read: 25 items × 10 locations keeps one query's requested cost well under
# Shopify's 1,000 points (the cost counts every requested location of every item).
LEVELS_READ_CHUNK = 25
# inventorySetQuantities takes at most this many quantities per call.
QUANTITIES_SET_MAX = 250
LOCATIONS_PER_ITEM = 10


class QuantityStale(ShopifyUserErrors):
    """The level was no longer `changeFromQuantity` (or the item is not stocked at the location):
    nothing was applied; read the real level and write again with a new key."""


class IdempotencyMismatch(ShopifyUserErrors):
    """The key was used before for a different request: a bug on our side, never retried."""


_STALE_CODES = {"CHANGE_FROM_QUANTITY_STALE", "ITEM_NOT_STOCKED_AT_LOCATION"}


def _raise_typed(payload: Any, *, session: AdminSession, name: str) -> None:
    """raise_for_user_errors, with the error class the engine branches on."""
    user_errors = (payload or {}).get("userErrors") or []
    codes = {error.get("code") for error in user_errors}
    if codes & _STALE_CODES:
        raise QuantityStale(user_errors, shop_domain=session.shop_domain, document=name)
    if "IDEMPOTENCY_KEY_PARAMETER_MISMATCH" in codes:
        raise IdempotencyMismatch(user_errors, shop_domain=session.shop_domain, document=name)
    raise_for_user_errors(payload, shop_domain=session.shop_domain, document=name)


@dataclass(frozen=True, slots=True)
class Location:
    id: int
    name: str
    is_active: bool


def locations_read(*, session: AdminSession, first: int = 50) -> list[Location]:
    """The shop's locations, active ones only (Shopify's default), first page."""
    data = session.execute(document("locations"), {"first": first})
    return [Location(id=gid_id(node["id"]), name=str(node["name"]),
                     is_active=bool(node.get("isActive", True)))
            for node in data["locations"]["nodes"]]


@dataclass(frozen=True, slots=True)
class InventoryLevel:
    inventory_item_id: int
    location_id: int
    available: int
    updated_at: datetime | None


def _level(item_id: int, location: str, quantities: Iterable[Any],
           level_updated_at: str | None = None) -> InventoryLevel | None:
    """The level's `available`, with the level's own updatedAt when it was read (what an
    `updated_at:` filter and the webhook payload go by), else the quantity's."""
    available = {q["name"]: q for q in quantities or ()}.get("available")
    if available is None:
        return None
    return InventoryLevel(
        inventory_item_id=item_id, location_id=gid_id(location),
        available=int(available["quantity"]),
        updated_at=parse_datetime(level_updated_at or available.get("updatedAt") or ""))


def inventory_levels_read(*, session: AdminSession,
                          inventory_item_ids: Iterable[int]) -> Iterator[InventoryLevel]:
    """Live `available` of each item at each location it is stocked at, page by page. Items
    Shopify does not know yield nothing."""
    ids = sorted(set(inventory_item_ids))
    for start in range(0, len(ids), LEVELS_READ_CHUNK):
        chunk = ids[start:start + LEVELS_READ_CHUNK]
        data = session.execute(document("inventory_levels_for_items"), {
            "ids": [gid("InventoryItem", i) for i in chunk],
            "locationsFirst": LOCATIONS_PER_ITEM})
        for node in data["nodes"]:
            if not node or not node.get("id"):
                continue
            item_id = gid_id(node["id"])
            for level in node["inventoryLevels"]["nodes"]:
                found = _level(item_id, level["location"]["id"], level["quantities"])
                if found is not None:
                    yield found


# Levels per page of a changed-levels read: Shopify's maximum page size.
CHANGED_LEVELS_PAGE = 250


@dataclass(frozen=True, slots=True)
class ChangedLevels:
    levels: list[InventoryLevel]
    # False when the read stopped at `max_levels`: more changed than one read should take.
    complete: bool
    requests: int


def changed_levels_query(updated_after: datetime) -> str:
    """Shopify's search syntax for "changed at or after": Shopify's timestamps are whole
    seconds, so the second `updated_after` falls in is included (a strict `>` on the second
    would miss a change made later within it)."""
    return f"updated_at:>='{updated_after.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}'"


def inventory_levels_changed_read(*, session: AdminSession, location_id: int,
                                  updated_after: datetime, max_levels: int | None = None,
                                  page_size: int = CHANGED_LEVELS_PAGE,
                                  keepalive: Callable[[], None] | None = None) -> ChangedLevels:
    """Every level at one location changed since `updated_after`: `available` with the
    level's own updatedAt, page by page (a page costs by what it returns, so a quiet shop's
    read costs a few points). `keepalive` runs before each page (e.g. to renew a lock).

    Why levels per location and not `inventoryItems(query: "updated_at:>…")`: an inventory
    item's updated_at is the item record's (SKU, cost, tracked); Shopify documents
    InventoryLevel.updatedAt as "when the inventory level was updated", and only the levels
    connections (Location.inventoryLevels, InventoryItem.inventoryLevels) take an
    `updated_at` filter for them. Nor is there a change feed to read instead: 2026-07 has no
    root query for InventoryAdjustmentGroup, and `events` has no inventory subject type."""
    levels: list[InventoryLevel] = []
    after: str | None = None
    requests = 0
    query = changed_levels_query(updated_after)
    location_gid = gid("Location", location_id)
    if max_levels is not None:
        page_size = max(1, min(page_size, max_levels))
    while True:
        if keepalive is not None:
            keepalive()
        data = session.execute(document("location_inventory_levels_changed"), {
            "locationId": location_gid, "query": query,
            "first": page_size, "after": after})
        requests += 1
        connection = (data.get("location") or {}).get("inventoryLevels")
        if connection is None:
            return ChangedLevels(levels=levels, complete=True, requests=requests)
        levels.extend(found for found in (
            _level(gid_id(node["item"]["id"]), location_gid, node["quantities"],
                   level_updated_at=node["updatedAt"]) for node in connection["nodes"])
            if found is not None)
        page = connection["pageInfo"]
        if not page["hasNextPage"]:
            return ChangedLevels(levels=levels, complete=True, requests=requests)
        if max_levels is not None and len(levels) >= max_levels:
            return ChangedLevels(levels=levels, complete=False, requests=requests)
        after = page["endCursor"]


def inventory_levels_bulk_read(*, session: AdminSession, timeout: float,
                               keepalive: Callable[[], None] | None = None,
                               ) -> Iterator[InventoryLevel]:
    """Every level of the shop through one bulk query (costs almost nothing against the
    shop's budget, unlike ~10 points per item paged). `keepalive` runs while it is polled.
    Raises BulkOperationFailed, ShopifyTimeout, or ShopifyUserErrors when another bulk query
    of ours is running."""
    client = admin_client()
    started = bulk_query_run(client=client, shop_domain=session.shop_domain,
                             access_token=session.access_token,
                             query="bulk_query_inventory_levels")

    def pause(seconds: float) -> None:
        if keepalive is not None:
            keepalive()
        time.sleep(seconds)

    finished = bulk_operation_wait(client=client, shop_domain=session.shop_domain,
                                   access_token=session.access_token, operation_id=started.id,
                                   poll_interval=1.0, timeout=timeout, sleep=pause)
    for row in bulk_results_stream(finished.url, client=client):
        parent = row.get("__parentId")
        if parent is None:
            continue  # an item row; its levels follow with it as parent
        found = _level(gid_id(parent), row["location"]["id"], row.get("quantities") or ())
        if found is not None:
            yield found


def inventory_activate(*, session: AdminSession, inventory_item_id: int, location_id: int,
                       idempotency_key: str, available: int | None = None) -> int | None:
    """Stocks the item at the location (with `available` as its first quantity, if given) and
    returns the level's `available` now. Not always 0 without `available`: from 2026-04 an item
    stocked there before comes back with the quantities it had."""
    variables: dict[str, Any] = {
        "inventoryItemId": gid("InventoryItem", inventory_item_id),
        "locationId": gid("Location", location_id), "idempotencyKey": idempotency_key}
    if available is not None:
        variables["available"] = available
    data = session.execute(document("inventory_activate"), variables)
    payload = data.get("inventoryActivate")
    _raise_typed(payload, session=session, name="inventory_activate")
    level = (payload or {}).get("inventoryLevel") or {}
    quantities = {q["name"]: q["quantity"] for q in level.get("quantities") or ()}
    return int(quantities["available"]) if "available" in quantities else None


@dataclass(frozen=True, slots=True)
class QuantitySet:
    inventory_item_id: int
    location_id: int
    quantity: int
    change_from_quantity: int | None


def inventory_quantities_set(*, session: AdminSession, quantities: Sequence[QuantitySet],
                             reason: str, reference_document_uri: str,
                             idempotency_key: str) -> None:
    """Sets `available` for ≤ QUANTITIES_SET_MAX (item, location) pairs at once, each
    compared with its changeFromQuantity. Raises QuantityStale when any was not what we
    believed (nothing applied)."""
    data = session.execute(document("inventory_set_quantities"), {
        "input": inventory_set_quantities_input(
            name="available", reason=reason, reference_document_uri=reference_document_uri,
            quantities=[inventory_quantity_input(
                inventory_item_id=gid("InventoryItem", q.inventory_item_id),
                location_id=gid("Location", q.location_id), quantity=q.quantity,
                change_from_quantity=q.change_from_quantity) for q in quantities]),
        "idempotencyKey": idempotency_key})
    _raise_typed(data.get("inventorySetQuantities"), session=session,
                 name="inventory_set_quantities")


def inventory_quantity_adjust(*, session: AdminSession, inventory_item_id: int,
                              location_id: int, delta: int, reason: str,
                              reference_document_uri: str, idempotency_key: str) -> None:
    """Moves `available` by `delta`: relative, so concurrent moves never conflict
    (changeFromQuantity explicitly null)."""
    data = session.execute(document("inventory_adjust_quantities"), {
        "input": inventory_adjust_quantities_input(
            name="available", reason=reason, reference_document_uri=reference_document_uri,
            changes=[inventory_change_input(
                inventory_item_id=gid("InventoryItem", inventory_item_id),
                location_id=gid("Location", location_id), delta=delta,
                change_from_quantity=None)]),
        "idempotencyKey": idempotency_key})
    _raise_typed(data.get("inventoryAdjustQuantities"), session=session,
                 name="inventory_adjust_quantities")
