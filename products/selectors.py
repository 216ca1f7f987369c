"""Reads for the products pages. Lists read the mirror and the links, never Shopify."""

from __future__ import annotations

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from products.models import (
    CatalogueScan,
    ProductJob,
    ProductLink,
    SourceProduct,
    SyncEvent,
)
from stores.models import Connection, Shop


def source_product_counts(*, source: Shop) -> dict[str, int]:
    """All live products of a source, and those destinations may see (not hidden)."""
    return SourceProduct.objects.filter(shop=source, deleted_at__isnull=True).aggregate(
        total=Count("pk"), visible=Count("pk", filter=Q(hidden=False)))


def _live_variants() -> Count:
    return Count("variants", filter=Q(variants__deleted_at__isnull=True), distinct=True)


# --- source side ------------------------------------------------------------------------------

SOURCE_TABS = (("available", "Available"), ("hidden", "Hidden"), ("synced", "Synced"))


def _synced_anywhere() -> Exists:
    return Exists(ProductLink.objects.filter(source_product=OuterRef("pk"),
                                             connection__status=Connection.Status.CONNECTED))


def source_product_tab_counts(*, source: Shop) -> dict[str, int]:
    products = SourceProduct.objects.filter(shop=source, deleted_at__isnull=True)
    counts = products.aggregate(available=Count("pk", filter=Q(hidden=False)),
                                hidden=Count("pk", filter=Q(hidden=True)))
    counts["synced"] = products.filter(_synced_anywhere()).count()
    return counts


def source_product_list(*, source: Shop, tab: str, search: str = "") -> QuerySet[SourceProduct]:
    products = (SourceProduct.objects.filter(shop=source, deleted_at__isnull=True)
                .annotate(variant_count=_live_variants(),
                          destination_count=Count(
                              "links", filter=Q(links__connection__status="connected"),
                              distinct=True))
                .order_by("title", "pk"))
    if tab == "hidden":
        products = products.filter(hidden=True)
    elif tab == "synced":
        products = products.filter(_synced_anywhere())
    else:
        products = products.filter(hidden=False)
    if search:
        products = products.filter(Q(title__icontains=search) | Q(vendor__icontains=search)
                                   | Q(variants__sku__icontains=search)).distinct()
    return products


def catalogue_scan_latest(*, shop: Shop, purpose: str,
                          connection: Connection | None = None) -> CatalogueScan | None:
    scans = CatalogueScan.objects.filter(shop=shop, purpose=purpose)
    if connection is not None:
        scans = scans.filter(connection=connection)
    return scans.order_by("-pk").first()


# --- destination side -------------------------------------------------------------------------

DESTINATION_TABS = (("all", "All"), ("synced", "Synced"), ("not_synced", "Not synced"),
                    ("hidden", "Hidden by source"))


def _link_of(connection: Connection):
    return ProductLink.objects.filter(connection=connection, source_product=OuterRef("pk"))


def catalogue_tab_counts(*, connection: Connection) -> dict[str, int]:
    linked = ProductLink.objects.filter(connection=connection).values("source_product_id")
    return SourceProduct.objects.filter(shop_id=connection.source_id,
                                        deleted_at__isnull=True).aggregate(
        all=Count("pk", filter=Q(hidden=False) | Q(pk__in=linked)),
        synced=Count("pk", filter=Q(pk__in=linked)),
        not_synced=Count("pk", filter=Q(hidden=False) & ~Q(pk__in=linked)),
        hidden=Count("pk", filter=Q(hidden=True, pk__in=linked)),
    )


def catalogue_for_destination(*, connection: Connection, tab: str = "all",
                              search: str = "") -> QuerySet[SourceProduct]:
    """What a destination sees of its source: visible products, plus its synced products the
    source hid since (shown as hidden, not syncing)."""
    link = _link_of(connection)
    products = (SourceProduct.objects.filter(shop_id=connection.source_id,
                                             deleted_at__isnull=True)
                .annotate(synced=Exists(link),
                          link_id=Subquery(link.values("pk")[:1]),
                          link_origin=Subquery(link.values("origin")[:1]),
                          link_auto_sync=Subquery(link.values("auto_sync")[:1],
                                                  output_field=BooleanField()),
                          variant_count=_live_variants(),
                          import_error=Subquery(_import_failures(connection).values("error")[:1]))
                .order_by("title", "pk"))
    return _catalogue_filter(products, tab=tab, search=search)


def _import_failures(connection: Connection) -> QuerySet[SyncEvent]:
    """Why each product's last sync attempt failed (Shopify's refusal in plain words)."""
    return SyncEvent.objects.filter(
        connection=connection, source_product=OuterRef("pk"), kind=SyncEvent.Kind.IMPORTED,
        result=SyncEvent.Result.FAILED).order_by("-created_at", "-pk")


def _catalogue_filter(products: QuerySet[SourceProduct], *, tab: str,
                      search: str) -> QuerySet[SourceProduct]:
    """A tab and a search of the catalogue (`products` annotated with `synced`). Filtered after
    any counts are annotated, so a search on SKUs does not change a product's variant count."""
    if tab == "synced":
        products = products.filter(Q(synced=True))
    elif tab == "not_synced":
        products = products.filter(Q(synced=False), hidden=False)
    elif tab == "hidden":
        products = products.filter(Q(synced=True), hidden=True)
    else:
        products = products.filter(Q(hidden=False) | Q(synced=True))
    if search:
        products = products.filter(Q(title__icontains=search) | Q(vendor__icontains=search)
                                   | Q(variants__sku__icontains=search)).distinct()
    return products


def catalogue_product_ids_matching(*, connection: Connection, tab: str = "all",
                                   search: str = "") -> list[int]:
    """Every product of a tab and search of the catalogue, all pages: what "select all
    matching" acts on, read again on the server from the search (never ids the page sent)."""
    products = SourceProduct.objects.filter(
        shop_id=connection.source_id, deleted_at__isnull=True,
    ).annotate(synced=Exists(_link_of(connection)))
    return list(_catalogue_filter(products, tab=tab, search=search).order_by("pk")
                .values_list("pk", flat=True))


def catalogue_row(*, connection: Connection, source_product_id: int) -> SourceProduct | None:
    """One row of the catalogue list, annotated as the list shows it."""
    return catalogue_for_destination(connection=connection).filter(pk=source_product_id).first()


def catalogue_product(*, connection: Connection, source_product_id: int) -> SourceProduct | None:
    """One source product as this destination may see it: visible, or part of its history."""
    product = SourceProduct.objects.filter(shop_id=connection.source_id,
                                           pk=source_product_id).first()
    if product is None:
        return None
    if product.hidden or product.deleted_at is not None:
        known = (ProductLink.objects.filter(connection=connection, source_product=product).exists()
                 or SyncEvent.objects.filter(connection=connection,
                                             source_product=product).exists())
        if not known:
            return None
    return product


def product_job_for(*, connection: Connection, job_id: int) -> ProductJob | None:
    return ProductJob.objects.filter(connection=connection, pk=job_id).first()


def product_job_current(*, connection: Connection) -> ProductJob | None:
    """The job still queued or running, if any."""
    return (ProductJob.objects.filter(connection=connection, finished_at__isnull=True)
            .order_by("-pk").first())


def sync_history(*, connection: Connection, source_product: SourceProduct) -> QuerySet[SyncEvent]:
    return (SyncEvent.objects.filter(connection=connection, source_product=source_product)
            .select_related("source_variant").order_by("-created_at", "-pk"))


def destination_connections(*, destination: Shop) -> QuerySet[Connection]:
    return (Connection.objects.filter(destination=destination).select_related("source")
            .order_by("status", "pk"))
