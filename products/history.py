"""A product's sync history in a merchant's words: each audit event as a row naming the product,
variant, SKU and location, the quantity from → to, the cause and how long it took.

The events of one page (`selectors.sync_history`) come with their variants; events older than the
stock reasons (migration 0008) name their variant only in `field`, so those variants are
looked up once per page too. Location names come from the shops' cached location lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from products.models import (
    InventoryEffect,
    SourceProduct,
    SourceVariant,
    StockReason,
    SyncEvent,
    VariantLink,
)
from stores.models import Connection, Shop

Kind = SyncEvent.Kind

_DESTINATION_VARIANT = re.compile(r"^variant (\d+) available$")
_SOURCE_ITEM = re.compile(r"^source item (\d+) available$")
_STOCK_KINDS = {Kind.INVENTORY, Kind.SOURCE_DECREMENT, Kind.SOURCE_RESTOCK, Kind.DRIFT}
SALE_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class HistoryRow:
    event: SyncEvent
    what: str
    product: str
    variant: str  # "" when the event is about the whole product
    sku: str
    location: str
    change: str  # "10 → 7", "+2", "" when nothing was counted
    cause: str
    latency: str  # "" when not known
    result: str  # "Applied", "Skipped", "Failed"; "Recorded" for a store's own sale or restock


def latency_words(latency_ms: int | None) -> str:
    if latency_ms is None:
        return ""
    if latency_ms < 1000:
        return f"{latency_ms} ms"
    if latency_ms < 60_000:
        return f"{latency_ms / 1000:.1f} s"
    return f"{latency_ms // 60_000} min {latency_ms % 60_000 // 1000} s"


def _location_names(*shops: Shop) -> dict[int, str]:
    return {int(location["id"]): location["name"] for shop in shops
            for location in (shop.settings or {}).get("locations") or []}


def _store_name(shop: Shop) -> str:
    return shop.name or shop.domain


def _sales_behind_drops(*, connection: Connection,
                        events: Sequence[SyncEvent]) -> dict[int, InventoryEffect]:
    """Drift events that were the destination's own sale or restock refund: Shopify changes
    the store's stock as it sells or restocks, and that level can reach us before or after the
    order does (in parallel), so the change is first recorded as a hand edit. A sale or restock
    of the same variant and quantity within SALE_WINDOW explains it. One query per page."""
    drops = {event.pk: event for event in events
             if event.kind == Kind.DRIFT and event.reason != StockReason.RESYNC
             and event.source_variant is not None and _number(event.from_value) is not None
             and _number(event.to_value) is not None}
    if not drops:
        return {}
    times = [event.created_at for event in drops.values()]
    sales = list(InventoryEffect.objects.filter(
        destination_id=connection.destination_id,
        kind__in=(InventoryEffect.Kind.SALE, InventoryEffect.Kind.RESTOCK),
        inventory_item_id__in={event.source_variant.inventory_item_id
                               for event in drops.values() if event.source_variant},
        created_at__range=(min(times) - SALE_WINDOW, max(times) + SALE_WINDOW)))
    explained = {}
    for pk, event in drops.items():
        item = event.source_variant.inventory_item_id if event.source_variant else None
        drop = (_number(event.to_value) or 0) - (_number(event.from_value) or 0)
        sale = min((sale for sale in sales
                    if sale.inventory_item_id == item and sale.delta == drop
                    and abs(sale.created_at - event.created_at) <= SALE_WINDOW),
                   key=lambda sale: abs(sale.created_at - event.created_at), default=None)
        if sale is not None:
            explained[pk] = sale
    return explained


# A drift event explained by the store's own sale or restock refund is not drift: named for what
# it was, and only recorded (Syncer had nothing to do: the sale moves the source itself).
_COUNTED_BY_SHOPIFY: dict[str, str] = {InventoryEffect.Kind.SALE: "Store stock (sale)",
                                       InventoryEffect.Kind.RESTOCK: "Store stock (restock refund)"}
RECORDED = "Recorded"


def _number(value: str) -> int | None:
    return int(value) if value.lstrip("-").isdigit() else None


# StockReason's labels say "your store" and "the source" to the destination; its source reads
# these instead.
_SOURCE_SIDE_REASONS: dict[str, str] = {
    StockReason.SOURCE_CHANGE: "A change of your stock",
    StockReason.SETTINGS: "{store}'s inventory settings changed (stock rules or locations)",
    StockReason.HAND_EDIT: "A change made by hand in {store}, put back to your stock",
}


def _cause_words(event: SyncEvent, *, store: str, sale: InventoryEffect | None,
                 seen_from_source: bool) -> str:
    """Why it happened, in words, from what the event recorded: worded for the destination
    (`store` is its name; "your store"), or for its source, which reads of the destination's
    own changes by the destination's name."""
    at = store if seen_from_source else "your store"
    order = f", order {event.order_name}" if event.order_name else ""
    reason = event.reason
    if sale is not None:
        order = f", order {sale.order_name}" if sale.order_name else ""
        what = "A restock refund" if sale.kind == InventoryEffect.Kind.RESTOCK else "A sale"
        return f"{what} on {store}{order}, counted by Shopify in {at}"
    if event.kind == Kind.SOURCE_DECREMENT or reason == StockReason.SALE:
        return f"A sale on {store}{order}"
    if event.kind == Kind.SOURCE_RESTOCK or reason == StockReason.RESTOCK:
        return f"A restock refund on {store}{order}"
    if event.kind == Kind.DRIFT:
        if reason == StockReason.RESYNC or event.cause.startswith("reconciliation"):
            return f"Found by a resync: {at} showed another quantity"
        return f"Changed by hand in {at} (not sent to the source)"
    if seen_from_source and reason in _SOURCE_SIDE_REASONS:
        return _SOURCE_SIDE_REASONS[reason].format(store=store)
    if reason == StockReason.HELD:
        detail = event.cause.removeprefix("held back: ")
        return f"{StockReason.HELD.label}: {detail}"
    if reason in StockReason.values:
        return str(StockReason(reason).label)
    if event.kind == Kind.INVENTORY and event.cause.startswith("batch "):
        return "Stock sync with the source"
    return event.cause


def sync_history_rows(*, connection: Connection, events: Sequence[SyncEvent],
                      seen_from_source: bool = False) -> list[HistoryRow]:
    """One page of events as rows (a fixed number of queries, whatever the page holds), their
    causes worded for the connection's destination or, `seen_from_source`, for its source."""
    source, destination = connection.source, connection.destination
    locations = _location_names(destination, source)
    by_destination_variant: dict[int, SourceVariant] = {}
    by_source_item: dict[int, SourceVariant] = {}
    old_destination = {int(m.group(1)) for e in events if e.source_variant_id is None
                       and (m := _DESTINATION_VARIANT.match(e.field))}
    old_source = {int(m.group(1)) for e in events if e.source_variant_id is None
                  and (m := _SOURCE_ITEM.match(e.field))}
    if old_destination:
        by_destination_variant = {link.destination_variant_id: link.source_variant
                                  for link in VariantLink.objects.filter(
                                      connection=connection,
                                      destination_variant_id__in=old_destination,
                                  ).select_related("source_variant")}
    if old_source:
        by_source_item = {variant.inventory_item_id: variant
                          for variant in SourceVariant.objects.filter(
                              shop_id=connection.source_id,
                              inventory_item_id__in=old_source)}
    product_titles = dict(SourceProduct.objects.filter(
        pk__in={e.source_product_id for e in events if e.source_product_id}
    ).values_list("pk", "title"))
    sales = _sales_behind_drops(connection=connection, events=events)
    rows = []
    for event in events:
        variant = event.source_variant
        if variant is None and (m := _DESTINATION_VARIANT.match(event.field)):
            variant = by_destination_variant.get(int(m.group(1)))
        if variant is None and (m := _SOURCE_ITEM.match(event.field)):
            variant = by_source_item.get(int(m.group(1)))
        stock = event.kind in _STOCK_KINDS
        if stock and (event.from_value or event.to_value):
            change = (event.to_value if not event.from_value and event.to_value[:1] in "+-"
                      else f"{event.from_value or '—'} → {event.to_value or '—'}")
        elif event.from_value or event.to_value:
            change = f"{event.from_value or '—'} → {event.to_value or '—'}"
        else:
            change = ""
        sale = sales.get(event.pk)
        rows.append(HistoryRow(
            event=event,
            what=_COUNTED_BY_SHOPIFY[sale.kind] if sale else str(event.get_kind_display()),
            product=product_titles.get(event.source_product_id or 0, ""),
            variant=(variant.title if variant else "") if stock else event.field,
            sku=variant.sku if variant and stock else "",
            location=locations.get(event.location_id or 0, "") if event.location_id else "",
            change=change, cause=_cause_words(event, store=_store_name(destination),
                                              sale=sale,
                                              seen_from_source=seen_from_source),
            latency=latency_words(event.latency_ms),
            result=RECORDED if sale else str(event.get_result_display())))
    return rows
