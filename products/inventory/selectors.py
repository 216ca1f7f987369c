"""Reads for the inventory settings page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection as db_connection

from products.models import DestinationStock, InventoryEffect, ReconciliationRun
from stores.models import Connection, Shop
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
SALE_TOPICS = ("orders/create", "orders/paid", "orders/updated")
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
