"""Reads for stores' pages that need products and orders too: a destination's Home (each
source's figures), a source's Stores list (each store's recent activity) and its page about one
store (that store's products). orders reads both apps, so it answers for stores through
stores.registry (registered in OrdersConfig.ready) and composes the store's page itself."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import (
    Count,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Greatest

from orders.models import OrderPush
from orders.stats import Percentile
from orders.sync_health import destination_work_health
from products.history import latency_words
from products.models import (
    DestinationStock,
    ProductLink,
    SourceLevel,
    SourceProduct,
    SourceVariant,
    SyncEvent,
    VariantLink,
)
from products.selectors import catalogue_for_destination
from stores.models import Connection, Shop
from stores.registry import ConnectionActivity, SourceFigures, SourceReach, WorkTrouble


def _latest(*moments: datetime | None) -> datetime | None:
    return max((moment for moment in moments if moment is not None), default=None)


def destination_source_figures(*, destination: Shop,
                               since: datetime) -> dict[int, SourceFigures]:
    """Per connection of the destination (any status): four grouped reads, whatever the number
    of sources and products."""
    products = {row["connection"]: row for row in (
        ProductLink.objects.filter(connection__destination=destination).values("connection")
        .annotate(synced=Count("pk"), hidden=Count("pk", filter=Q(source_product__hidden=True))))}
    # The engine's writes are on the stock rows; imports and mappings write the links.
    variants = {row["connection"]: row for row in (
        VariantLink.objects.filter(connection__destination=destination).values("connection")
        .annotate(synced=Count("pk"),
                  last=Max(Greatest("last_written_at", "stock__last_written_at"))))}
    failed_syncs = dict(SyncEvent.objects.filter(
        connection__destination=destination, result=SyncEvent.Result.FAILED,
        created_at__gte=since).values("connection").annotate(n=Count("pk"))
        .values_list("connection", "n"))
    failed_pushes = dict(OrderPush.objects.filter(
        order__shop=destination, status=OrderPush.Status.FAILED).values("source")
        .annotate(n=Count("pk")).values_list("source", "n"))
    # A connection that ended has no links left to say when stock was last written: its
    # history does (newest first through the connection-and-time index, the first one found).
    last_written = SyncEvent.objects.filter(
        connection=OuterRef("pk"), kind=SyncEvent.Kind.INVENTORY, result=SyncEvent.Result.OK,
    ).order_by("-created_at").values("created_at")[:1]
    figures = {}
    for pk, source_id, last_event in Connection.objects.filter(destination=destination).annotate(
            last_event=Subquery(last_written)).values_list("pk", "source_id", "last_event"):
        linked: Mapping[str, Any] = products.get(pk, {})
        variant_links: Mapping[str, Any] = variants.get(pk, {})
        figures[pk] = SourceFigures(
            synced_products=linked.get("synced", 0), hidden_products=linked.get("hidden", 0),
            synced_variants=variant_links.get("synced", 0),
            last_stock_update=_latest(variant_links.get("last"), last_event),
            failed_syncs=failed_syncs.get(pk, 0), failed_pushes=failed_pushes.get(source_id, 0))
    return figures


def connection_activity(*, connections: Iterable[Connection],
                        since: datetime) -> dict[int, ConnectionActivity]:
    """Per connection (of one source, as the Stores list shows them): stock updates written at
    the store, orders it pushed to the source, and failures of either, since `since`. Two
    grouped reads for the whole page."""
    connections = list(connections)
    if not connections:
        return {}
    events = {row["connection"]: row for row in SyncEvent.objects.filter(
        connection__in=connections, created_at__gte=since).values("connection").annotate(
        stock_updates=Count("pk", filter=Q(kind=SyncEvent.Kind.INVENTORY,
                                           result=SyncEvent.Result.OK)),
        failures=Count("pk", filter=Q(result=SyncEvent.Result.FAILED)),
        last=Max("created_at"))}
    sources = {connection.source_id for connection in connections}
    pushed = Q(status=OrderPush.Status.PUSHED, pushed_at__gte=since)
    failed = Q(status=OrderPush.Status.FAILED, updated_at__gte=since)
    pushes = {(row["source"], row["order__shop"]): row for row in OrderPush.objects.filter(
        pushed | failed, source__in=sources,
        order__shop__in=[connection.destination_id for connection in connections])
        .values("source", "order__shop").annotate(
        received=Count("pk", filter=pushed), failures=Count("pk", filter=failed),
        last_pushed=Max("pushed_at", filter=pushed), last_failed=Max("updated_at", filter=failed))}
    activity = {}
    for connection in connections:
        event: Mapping[str, Any] = events.get(connection.pk, {})
        push: Mapping[str, Any] = pushes.get((connection.source_id, connection.destination_id), {})
        activity[connection.pk] = ConnectionActivity(
            stock_updates=event.get("stock_updates", 0),
            orders_received=push.get("received", 0),
            failures=event.get("failures", 0) + push.get("failures", 0),
            last_at=_latest(event.get("last"), push.get("last_pushed"), push.get("last_failed")))
    return activity


def source_reach(*, source: Shop, since: datetime) -> SourceReach:
    """For the source's Home: its products its connected stores sync (once each) and the median
    latency of the stock writes made at them since `since`. Two reads."""
    connected = Connection.objects.filter(source=source, status=Connection.Status.CONNECTED)
    products_synced = (ProductLink.objects.filter(connection__in=connected)
                       .values("source_product").distinct().count())
    # Only the engine's writes carry a latency (source change seen → write confirmed).
    median = SyncEvent.objects.filter(
        connection__in=connected, kind=SyncEvent.Kind.INVENTORY, result=SyncEvent.Result.OK,
        latency_ms__isnull=False, created_at__gte=since).aggregate(
        median=Percentile("latency_ms", fraction=0.5))["median"]
    return SourceReach(products_synced=products_synced,
                       median_latency=latency_words(round(median)) if median is not None else "")


def destination_work_trouble(*, destination: Shop) -> list[WorkTrouble]:
    """For the destination's Home: its Sync health card's failed and stuck work, kind by kind."""
    return [WorkTrouble(kind=work.kind.value, trouble=work.trouble)
            for work in destination_work_health(destination=destination)]


# --- the source's page about one store ------------------------------------------------------

# The catalogue's own tabs (products.selectors), named as the source sees them.
STORE_PRODUCT_TABS = (("synced", "Synced"), ("not_synced", "Available"))


def _sum_of(rows: QuerySet, field: str, *, within: str) -> Subquery:
    """The sum of `field` over `rows` (correlated to the product) as one value: `within` is a
    column every row shares, so the group is one."""
    return Subquery(rows.order_by().values(within).annotate(total=Sum(field)).values("total")[:1],
                    output_field=IntegerField())


def store_product_list(*, connection: Connection, tab: str,
                       search: str = "") -> QuerySet[SourceProduct]:
    """The source's products as one store sees them (tab "synced": those it imported or
    mapped; "not_synced": those it may still import), each with its SKUs, the source's stock
    of it and, once synced, the stock Syncer sets at the store and how many of its variants
    sync (a mapped product whose store lacks one of its SKUs syncs fewer). One query per
    page."""
    live_variants = SourceVariant.objects.filter(product=OuterRef("pk"), deleted_at__isnull=True)
    shared = (connection.source.settings or {}).get("shared_location_ids")
    levels = SourceLevel.objects.filter(
        shop_id=connection.source_id,
        inventory_item_id__in=SourceVariant.objects.filter(
            product=OuterRef(OuterRef("pk")), deleted_at__isnull=True)
        .values("inventory_item_id"))
    if shared:  # the stock destinations follow: the shared locations' only
        levels = levels.filter(location_id__in=[int(location) for location in shared])
    store_stock = DestinationStock.objects.filter(
        variant_link__connection=connection, variant_link__source_variant__product=OuterRef("pk"))
    synced = VariantLink.objects.filter(connection=connection,
                                        source_variant__product=OuterRef("pk"),
                                        source_variant__deleted_at__isnull=True)
    return catalogue_for_destination(connection=connection, tab=tab, search=search).annotate(
        skus=Subquery(live_variants.exclude(sku="").order_by().values("product")
                      .annotate(skus=StringAgg("sku", delimiter=Value(", "), order_by="position"))
                      .values("skus")[:1]),
        source_stock=_sum_of(levels, "available", within="shop_id"),
        store_stock=_sum_of(store_stock, "target", within="destination_id"),
        synced_variants=Subquery(synced.order_by().values("connection").annotate(
            count=Count("pk")).values("count")[:1], output_field=IntegerField()))
