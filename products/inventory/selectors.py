"""Reads for the inventory settings page, and the stock sold beyond what a source has."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection as db_connection

from products.inventory.locations import source_shared_location_ids
from products.labels import variant_label
from products.models import (
    DestinationStock,
    InventoryEffect,
    ReconciliationRun,
    SourceLevel,
    SourceVariant,
    VariantLink,
)
from stores.models import Connection, Shop
from stores.registry import OversoldItem
from webhooks.selectors import DELIVERIES_UNPROCESSED_EXIST, deliveries_unprocessed_params


def zero_held_count(*, connection: Connection) -> int:
    """Variants whose new zero the breaker holds back for the merchant."""
    return DestinationStock.objects.filter(variant_link__connection=connection,
                                           hold=DestinationStock.Hold.HELD).count()


def destination_connections_inventory(*, destination: Shop) -> list[dict[str, Any]]:
    """Each connected source of a destination, with its last resync and held zeros."""
    rows = []
    for connection in Connection.objects.filter(destination=destination,
                                                status=Connection.Status.CONNECTED
                                                ).select_related("source"):
        rows.append({"connection": connection,
                     "run": connection.reconciliations.order_by("-pk").first(),
                     "held": zero_held_count(connection=connection)})
    return rows


def connection_of_destination(*, destination: Shop, connection_id: int) -> Connection | None:
    return Connection.objects.filter(pk=connection_id, destination=destination).first()


def reconciliation_run_of(*, connection: Connection, run_id: int) -> ReconciliationRun | None:
    return ReconciliationRun.objects.filter(pk=run_id, connection=connection).first()


# The deliveries that can carry a destination's sale (the first of them seen counts it).
SALE_TOPICS = ("orders/create", "orders/paid", "orders/updated", "orders/edited")
_SALES_PENDING = f"""
    SELECT {DELIVERIES_UNPROCESSED_EXIST} OR EXISTS (
        SELECT 1 FROM {InventoryEffect._meta.db_table}
        WHERE destination_id = %(destination)s AND kind = %(sale)s
          AND status = ANY(%(open)s) AND created_at >= %(since)s)
"""


def destination_sales_pending(*, destination: Shop, since: datetime) -> bool:
    """Whether sales made at the destination since `since` may not be counted at the source
    yet: their webhook still waits in the inbox (a lost queue entry, Redis restarted empty, a
    retry to come) or their source decrement is still to be applied. One statement: a flush
    raising stock asks it for every destination it writes."""
    with db_connection.cursor() as cursor:
        cursor.execute(_SALES_PENDING, {
            **deliveries_unprocessed_params(shop_domain=destination.domain, topics=SALE_TOPICS,
                                            since=since),
            "destination": destination.pk, "since": since, "sale": InventoryEffect.Kind.SALE,
            "open": [InventoryEffect.Status.PENDING, InventoryEffect.Status.FAILED]})
        (pending,) = cursor.fetchone()
    return bool(pending)


# Each source item whose shared stock (summed over its source's shared locations) is below
# zero. It can only be with a level below zero, so the negative levels (a partial index, nearly
# always empty) are read first; one statement for every source asked about.
_OVERSOLD = f"""
    SELECT l.shop_id, l.inventory_item_id, sum(l.available)
    FROM {SourceLevel._meta.db_table} AS l
    JOIN unnest(%(shops)s::bigint[], %(locations)s::bigint[]) AS shared(shop, location)
        ON shared.shop = l.shop_id AND (shared.location IS NULL OR shared.location = l.location_id)
    WHERE (l.shop_id, l.inventory_item_id) IN (
        SELECT shop_id, inventory_item_id FROM {SourceLevel._meta.db_table}
        WHERE shop_id = ANY(%(shops)s) AND available < 0)
    GROUP BY l.shop_id, l.inventory_item_id
    HAVING sum(l.available) < 0
"""


def _shared_known(source: Shop) -> list[int | None]:
    """The source's shared locations as far as Syncer knows them without asking Shopify (Home
    must not wait on it): chosen, else the cached list; [None] (every location) when it has
    neither yet."""
    settings = source.settings or {}
    known: list[int | None] = (
        list(source_shared_location_ids(source=source)) if settings.get("shared_location_ids")
        else [location["id"] for location in settings.get("locations") or []])
    return known or [None]


def items_oversold(*, source: Shop | None = None, destination: Shop | None = None,
                   limit: int) -> list[OversoldItem]:
    """Synced source variants whose shared stock (what destinations see) is below zero, unless
    they sell when out of stock (backorders): a source's that its connected stores sync, or a
    destination's from its connected sources; the most oversold first, at most `limit`. Two
    queries, three when anything is oversold, however many sources."""
    connections = Connection.objects.filter(status=Connection.Status.CONNECTED)
    if source is not None:
        connections = connections.filter(source=source)
    if destination is not None:
        connections = connections.filter(destination=destination)
    sources = {connection.source_id: connection.source
               for connection in connections.select_related("source")}
    pairs = [(shop_id, location) for shop_id, shop in sources.items()
             for location in _shared_known(shop)]
    if not pairs:
        return []
    with db_connection.cursor() as cursor:
        cursor.execute(_OVERSOLD, {"shops": [shop for shop, _ in pairs],
                                   "locations": [location for _, location in pairs]})
        totals = {(shop, item): total for shop, item, total in cursor.fetchall()}
    if not totals:
        return []
    variants = SourceVariant.objects.filter(
        shop_id__in={shop for shop, _ in totals},
        inventory_item_id__in={item for _, item in totals}, deleted_at__isnull=True,
        links__connection__in=connections,
    ).exclude(inventory_policy=SourceVariant.InventoryPolicy.CONTINUE).distinct().select_related("product")
    items = [OversoldItem(label=variant_label(variant.product.title, variant.title),
                          sku=variant.sku,
                          short=-totals[(variant.shop_id, variant.inventory_item_id)],
                          source=sources[variant.shop_id].name or sources[variant.shop_id].domain,
                          source_id=variant.shop_id)
             for variant in variants if (variant.shop_id, variant.inventory_item_id) in totals]
    items.sort(key=lambda item: (-item.short, item.label))
    return items[:limit]


def destination_variant_links(*, destination: Shop,
                              variant_ids: Iterable[Any]) -> dict[int, VariantLink]:
    """The destination's variant links of these variants (an order's lines), by variant id,
    with their connection, source and source variant."""
    return {link.destination_variant_id: link for link in VariantLink.objects.filter(
        connection__destination=destination, destination_variant_id__in=list(variant_ids),
    ).select_related("connection", "connection__source", "source_variant")}
