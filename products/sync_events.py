"""The audit trail's one writer: every SyncEvent row is made here.

`sync_event_record` writes one row, `sync_events_record` many in one INSERT; both normalise the
same way (values as text, field and cause cut to their columns, a product link's ids copied so
the history stays findable after the link is gone). The inventory engine's batch statement
(`products.inventory.sql.BATCH_WRITTEN`) inserts its rows in SQL, through the same columns,
because building 250 model objects per write was most of a write's bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass

from products.models import ProductLink, SourceProduct, SyncEvent
from stores.models import Connection


@dataclass(frozen=True, slots=True)
class SyncEventSpec:
    connection: Connection | None
    kind: str
    product_link: ProductLink | None = None
    source_product: SourceProduct | None = None
    destination_product_id: int | None = None
    field: str = ""
    from_value: object = ""
    to_value: object = ""
    cause: str = ""
    result: str = SyncEvent.Result.OK
    error: str = ""
    source_variant_id: int | None = None
    location_id: int | None = None
    reason: str = ""
    order_name: str = ""
    latency_ms: int | None = None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _event(spec: SyncEventSpec) -> SyncEvent:
    source_product_id = spec.source_product.pk if spec.source_product else None
    destination_product_id = spec.destination_product_id
    if spec.product_link is not None:
        source_product_id = source_product_id or spec.product_link.source_product_id
        destination_product_id = (destination_product_id
                                  or spec.product_link.destination_product_id)
    return SyncEvent(
        connection=spec.connection, product_link=spec.product_link,
        source_product_id=source_product_id, destination_product_id=destination_product_id,
        kind=spec.kind, field=spec.field[:100], from_value=_text(spec.from_value),
        to_value=_text(spec.to_value), cause=spec.cause[:255], result=spec.result,
        error=spec.error, source_variant_id=spec.source_variant_id, location_id=spec.location_id,
        reason=spec.reason, order_name=spec.order_name[:64], latency_ms=spec.latency_ms,
    )


def sync_event_record(
    *,
    connection: Connection | None,
    kind: str,
    product_link: ProductLink | None = None,
    source_product: SourceProduct | None = None,
    destination_product_id: int | None = None,
    field: str = "",
    from_value: object = "",
    to_value: object = "",
    cause: str = "",
    result: str = SyncEvent.Result.OK,
    error: str = "",
    source_variant_id: int | None = None,
    location_id: int | None = None,
    reason: str = "",
    order_name: str = "",
    latency_ms: int | None = None,
) -> SyncEvent:
    """One row of the audit trail."""
    event = _event(SyncEventSpec(
        connection=connection, kind=kind, product_link=product_link,
        source_product=source_product, destination_product_id=destination_product_id,
        field=field, from_value=from_value, to_value=to_value, cause=cause, result=result,
        error=error, source_variant_id=source_variant_id, location_id=location_id,
        reason=reason, order_name=order_name, latency_ms=latency_ms))
    event.save(force_insert=True)
    return event


def sync_events_record(*, events: list[SyncEventSpec]) -> list[SyncEvent]:
    """Many rows in one INSERT (e.g. every zero the breaker held back)."""
    return SyncEvent.objects.bulk_create([_event(spec) for spec in events])
