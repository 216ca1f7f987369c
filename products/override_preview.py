"""What an action is about to do to a destination's quantities, shown before the merchant
confirms it: syncing (importing) products, linking a check's matches, linking a variant by
hand, turning auto sync on, and Resync now.

For each variant the action would set, the quantity the store shows now is held against the one
Syncer would write: the target by the connection's stock rules (sql.TARGET, through
`destination_targets`, as every write computes it) from the source's shared stock. An import
creates its products, so its preview says what will be created rather than what changes.

Figures come from Syncer's own record where it keeps one: the source's levels
(products_sourcelevel, kept by webhooks and the checks) and, for linked variants, what the store
shows (DestinationStock.known_quantity, else what the link last wrote). What Syncer holds no
record of is read from Shopify for the preview: source levels never reported to it, and the
store's own variants a mapping would link (no record exists until they are linked). Each
preview says which figures are which, and when the record was last checked with Shopify.
Nothing here writes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Max, QuerySet

from products.imports import connection_busy_product_ids
from products.inventory.levels import levels_read
from products.inventory.locations import destination_location_id, source_shared_location_ids
from products.inventory.targets import destination_targets, syncing_links
from products.labels import variant_label
from products.manual_mapping import destination_scan_for_mapping
from products.mapping import map_plan, map_report_current
from products.models import (
    CatalogueScan,
    DestinationStock,
    LevelWatermark,
    ReconciliationRun,
    SourceLevel,
    SourceProduct,
    SourceVariant,
    VariantLink,
)
from stores.models import Connection, Shop
from syncer.shopify.errors import ShopifyError

logger = logging.getLogger(__name__)

# How many of the changes a preview names (the largest first).
EXAMPLES = 5
UNAVAILABLE = ("Syncer could not read the quantities from Shopify just now, so it cannot say "
               "what will change. You can still confirm, or cancel and try again in a moment.")


@dataclass(frozen=True, slots=True)
class QuantityChange:
    label: str
    current: int | None  # None: Syncer does not know what the store shows
    new: int


@dataclass(frozen=True, slots=True)
class Freshness:
    """Where one side's figures came from: Syncer's record (and when that was last checked
    with Shopify, if it was), or a read from Shopify made for this preview."""

    recorded: int = 0
    read_now: int = 0
    checked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OverridePreview:
    creates: bool  # an import: quantities of new variants, nothing of the store's own changes
    products: int
    variants: int  # variants whose quantity the action sets
    changing: int  # of those, known to show another quantity now
    units_up: int
    units_down: int
    unknown: int  # of those, what the store shows is not known to Syncer
    unknown_units: int  # what those will be set to, in total
    total_units: int  # what every variant will show, in total
    examples: tuple[QuantityChange, ...] = ()
    source: Freshness = field(default_factory=Freshness)
    destination: Freshness | None = None
    problem: str = ""  # why the figures could not be worked out (the action can still go)

    @property
    def unchanged(self) -> int:
        return self.variants - self.changing - self.unknown

    @property
    def nothing_changes(self) -> bool:
        return not self.problem and not self.changing and not self.unknown


@dataclass(frozen=True, slots=True)
class _Planned:
    """One variant the action would set: its label, its source inventory item, and what the
    store shows now (None: not known)."""

    label: str
    source_item: int
    current: int | None


def _unavailable(message: str, *, creates: bool) -> OverridePreview:
    return OverridePreview(creates=creates, products=0, variants=0, changing=0, units_up=0,
                           units_down=0, unknown=0, unknown_units=0, total_units=0,
                           problem=message)


def _shopify_problem(*, creates: bool) -> Callable[[Callable[..., OverridePreview]],
                                                   Callable[..., OverridePreview]]:
    """A read from Shopify that fails leaves the preview without figures, saying why: the
    merchant can still go ahead, as before there were previews."""

    def decorate(preview: Callable[..., OverridePreview]) -> Callable[..., OverridePreview]:
        @functools.wraps(preview)
        def wrapper(**kwargs: object) -> OverridePreview:
            try:
                return preview(**kwargs)
            except ShopifyError as exc:
                logger.warning("override preview %s without figures: %s", preview.__name__, exc)
                return _unavailable(UNAVAILABLE, creates=creates)
        return wrapper

    return decorate


def _checked_at(*, shop: Shop, connection: Connection) -> datetime | None:
    """When Syncer last compared its record of the shop's levels with Shopify: its latest
    incremental check or the connection's latest finished resync."""
    moments = [
        LevelWatermark.objects.filter(shop=shop).values_list("checked_until", flat=True).first(),
        ReconciliationRun.objects.filter(
            connection=connection, status=ReconciliationRun.Status.DONE).aggregate(
            last=Max("finished_at"))["last"],
    ]
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def _live_available(*, shop: Shop, item_ids: Iterable[int],
                    location_ids: Iterable[int]) -> dict[int, int]:
    """Available per item now, summed over the given locations (0 where it is not stocked or
    Shopify does not know the item)."""
    ids = set(item_ids)
    locations = set(location_ids)
    available = dict.fromkeys(ids, 0)
    for (item_id, location_id), (quantity, _) in levels_read(
            shop=shop, inventory_item_ids=ids, bulk_allowed=True).items():
        if location_id in locations and item_id in available:
            available[item_id] += quantity
    return available


def _source_available(*, connection: Connection,
                      item_ids: set[int]) -> tuple[dict[int, int], Freshness]:
    """The source's shared stock per item: from Syncer's record, and read now for the items it
    has no record of."""
    source = connection.source
    shared = source_shared_location_ids(source=source)
    available: dict[int, int] = {}
    for item_id, quantity in SourceLevel.objects.filter(
            shop=source, inventory_item_id__in=item_ids, location_id__in=shared).values_list(
            "inventory_item_id", "available"):
        available[item_id] = available.get(item_id, 0) + quantity
    recorded = len(available)
    missing = item_ids - set(available)
    if missing:
        available.update(_live_available(shop=source, item_ids=missing, location_ids=shared))
    return available, Freshness(recorded=recorded, read_now=len(missing),
                                checked_at=_checked_at(shop=source, connection=connection)
                                if recorded else None)


def _preview(*, connection: Connection, planned: list[_Planned], products: int,
             destination: Freshness | None) -> OverridePreview:
    creates = destination is None
    if not planned:
        return OverridePreview(creates=creates, products=products, variants=0, changing=0,
                               units_up=0, units_down=0, unknown=0, unknown_units=0,
                               total_units=0, destination=destination)
    available, source = _source_available(connection=connection,
                                          item_ids={row.source_item for row in planned})
    targets = destination_targets(connection=connection, source_available=available)
    changing = up = down = unknown = unknown_units = 0
    changes: list[QuantityChange] = []
    for row in planned:
        new = targets[row.source_item]
        if creates:
            changes.append(QuantityChange(label=row.label, current=None, new=new))
        elif row.current is None:
            unknown += 1
            unknown_units += new
            changes.append(QuantityChange(label=row.label, current=None, new=new))
        elif row.current != new:
            changing += 1
            up += max(new - row.current, 0)
            down += max(row.current - new, 0)
            changes.append(QuantityChange(label=row.label, current=row.current, new=new))
    changes.sort(key=lambda change: (-abs(change.new - (change.current or 0)), change.label))
    return OverridePreview(
        creates=creates, products=products, variants=len(planned), changing=changing,
        units_up=up, units_down=down, unknown=unknown, unknown_units=unknown_units,
        total_units=sum(targets[row.source_item] for row in planned),
        examples=tuple(changes[:EXAMPLES]), source=source, destination=destination)


def _products(links: QuerySet[VariantLink]) -> int:
    return links.order_by().values("product_link_id").distinct().count()


def _linked_planned(links: QuerySet[VariantLink]) -> list[_Planned]:
    """Linked variants, with what the store shows as Syncer believes it (the stock row's
    belief, else what the link last wrote); read in chunks (a resync's can be a whole
    catalogue)."""
    planned = []
    for link in links.order_by("pk").iterator(chunk_size=2000):
        try:
            current = link.stock.known_quantity
        except DestinationStock.DoesNotExist:
            current = None
        if current is None:
            current = link.last_written_quantity
        variant = link.source_variant
        planned.append(_Planned(label=variant_label(variant.product.title, variant.title),
                                source_item=variant.inventory_item_id, current=current))
    return planned


def _recorded(planned: list[_Planned], connection: Connection) -> Freshness:
    recorded = sum(1 for row in planned if row.current is not None)
    return Freshness(recorded=recorded, checked_at=_checked_at(
        shop=connection.destination, connection=connection) if recorded else None)


# --- the actions ------------------------------------------------------------------------------


@_shopify_problem(creates=True)
def import_preview(*, connection: Connection, source_product_ids: Iterable[int]) -> OverridePreview:
    """Syncing products creates them with the source's stock after the stock rules: what will
    be created, for the products the import would take (as `product_import_start` picks them:
    not synced, not hidden, not deleted, not in a job already)."""
    ids = list(SourceProduct.objects.filter(
        shop_id=connection.source_id, pk__in=set(source_product_ids), deleted_at__isnull=True,
        hidden=False).exclude(links__connection=connection)
        .exclude(pk__in=connection_busy_product_ids(connection)).values_list("pk", flat=True))
    variants = (SourceVariant.objects.filter(product_id__in=ids, deleted_at__isnull=True)
                .select_related("product").order_by("product__title", "product_id", "position",
                                                    "pk"))
    planned = [_Planned(label=variant_label(v.product.title, v.title),
                        source_item=v.inventory_item_id, current=None) for v in variants]
    return _preview(connection=connection, planned=planned, products=len(ids),
                    destination=None)


@_shopify_problem(creates=False)
def auto_sync_on_preview(*, connection: Connection,
                         source_product_ids: Iterable[int]) -> OverridePreview:
    """Turning auto sync on for these products writes the target to every variant of theirs
    that follows the source (as `product_links_stock_sync` picks them)."""
    links = VariantLink.objects.filter(
        connection=connection, product_link__source_product_id__in=set(source_product_ids),
        product_link__auto_sync=False, source_variant__product__hidden=False,
        source_variant__deleted_at__isnull=True)
    planned = _linked_planned(links.select_related("source_variant__product", "stock"))
    return _preview(connection=connection, planned=planned, products=_products(links),
                    destination=_recorded(planned, connection))


@_shopify_problem(creates=False)
def resync_preview(*, connection: Connection) -> OverridePreview:
    """A resync brings every variant that follows the source to its target: what Syncer's
    record says that changes (the resync itself reads both stores again, so it also corrects
    what the record does not know of)."""
    links = syncing_links(connection=connection)
    planned = _linked_planned(links.select_related("source_variant__product"))
    return _preview(connection=connection, planned=planned, products=_products(links),
                    destination=_recorded(planned, connection))


def _store_levels_now(*, connection: Connection,
                      matches: list[tuple[str, int, int]]) -> list[_Planned]:
    """(label, source item, destination item) → planned, with what the store's receiving
    location shows now (Syncer keeps no record of variants it does not follow yet)."""
    current = _live_available(shop=connection.destination,
                              item_ids={item for _, _, item in matches},
                              location_ids=[destination_location_id(connection=connection)])
    return [_Planned(label=label, source_item=source_item, current=current[item])
            for label, source_item, item in matches]


def _destination_label(row: dict | None, match: dict) -> str:
    """The store's variant as the check read it ("Our shirt / S")."""
    if row is None:
        return match["destination_title"]
    return variant_label(row.get("product_title") or "", row.get("variant_title") or "")


@_shopify_problem(creates=False)
def map_preview(*, connection: Connection, scan: CatalogueScan) -> OverridePreview:
    """Linking a check's matches sets each matched variant of the store to its target: the
    report's unique matches of the products not skipped, not in a job already, whose two
    variants are still unlinked and the source's still there (as the mapping job links them)."""
    report = map_report_current(connection=connection, scan=scan)
    if report is None:
        return _preview(connection=connection, planned=[], products=0,
                        destination=Freshness())
    products = set(map_plan(report=report).source_product_ids) - connection_busy_product_ids(
        connection)
    matches = [match for match in report.get("matches", [])
               if match["source_product_id"] in products]
    live = {variant.pk: variant for variant in SourceVariant.objects.filter(
        pk__in=[match["source_variant_id"] for match in matches], deleted_at__isnull=True,
        product__hidden=False, product__deleted_at__isnull=True)}
    linked = VariantLink.objects.filter(connection=connection)
    taken_source = set(linked.filter(source_variant_id__in=list(live)).values_list(
        "source_variant_id", flat=True))
    taken_destination = set(linked.filter(destination_variant_id__in=[
        match["destination_variant_id"] for match in matches]).values_list(
        "destination_variant_id", flat=True))
    chosen = [match for match in matches
              if match["source_variant_id"] in live
              and match["source_variant_id"] not in taken_source
              and match["destination_variant_id"] not in taken_destination]
    ours = {row["variant_id"]: row for row in scan.destination_variants or []}
    planned = _store_levels_now(connection=connection, matches=[
        (_destination_label(ours.get(match["destination_variant_id"]), match),
         live[match["source_variant_id"]].inventory_item_id,
         match["destination_inventory_item_id"]) for match in chosen])
    return _preview(connection=connection, planned=planned,
                    products=len({match["source_product_id"] for match in chosen}),
                    destination=Freshness(read_now=len(planned)))


@_shopify_problem(creates=False)
def manual_link_preview(*, connection: Connection, source_variant_id: int,
                        destination_variant_id: int) -> OverridePreview:
    """Linking two variants by hand sets the store's one to the target. Variants the hand
    mapper does not offer preview as nothing (the link itself says why it is refused)."""
    scan = destination_scan_for_mapping(connection=connection)
    row = next((row for row in (scan.destination_variants if scan else [])
                if row["variant_id"] == destination_variant_id), None)
    variant = (SourceVariant.objects.filter(pk=source_variant_id, shop_id=connection.source_id,
                                            deleted_at__isnull=True)
               .select_related("product").first())
    if row is None or variant is None:
        return _preview(connection=connection, planned=[], products=0,
                        destination=Freshness())
    planned = _store_levels_now(connection=connection, matches=[
        (_destination_label(row, {}), variant.inventory_item_id, row["inventory_item_id"])])
    return _preview(connection=connection, planned=planned, products=1,
                    destination=Freshness(read_now=1))
