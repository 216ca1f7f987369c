"""Reads for the inventory settings page."""

from __future__ import annotations

from typing import Any

from products.models import DestinationStock, ReconciliationRun
from stores.models import Connection, Shop


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
