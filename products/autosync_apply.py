"""Auto-sync's structural work: make one linked destination product's variants follow its
source (added, removed, SKUs) as far as the destination's rules allow, and write a link's stock
now (run by `products.autosync_tasks`).

It is applied state-based: the destination product is read and only what differs from the
mirror changes, so a retry or a duplicate webhook changes nothing twice. The product's fields
(price, status, title...) are the field flush's (`products.field_flush`), sent only when the
destination syncs them; the SKU always follows the source, being what links the two.
"""

from __future__ import annotations

import logging

from django.db import transaction

from products.inventory.levels import source_available_live
from products.inventory.links import StockWriteResult, variant_links_stock_write
from products.inventory.locations import destination_location_id
from products.inventory.targets import destination_targets
from products.inventory.tasks import stock_rule_links_on_commit
from products.models import ProductLink, SyncEvent, VariantLink
from products.pricing import PriceBelowZero
from products.product_copy import new_variant
from products.sku_lock import link_lock_key
from products.sync_events import sync_event_record
from products.variant_links import variant_links_create
from stores.models import Connection
from stores.services import shop_admin_session
from syncer.shopify.admin_session import AdminSession
from syncer.shopify.errors import ShopifyError, ShopifyRetryable, ShopifyUserErrors
from syncer.shopify.operations.products import (
    OptionValue,
    Product,
    ProductVariant,
    VariantUpdate,
    product_read,
    product_variants_create,
    product_variants_delete,
    product_variants_update,
)

logger = logging.getLogger(__name__)

Kind = SyncEvent.Kind
Result = SyncEvent.Result


def variant_label(variant_link: VariantLink) -> str:
    variant = variant_link.source_variant
    return f"variant {variant.sku or variant.title}"


def variant_links_unlink(*, link: ProductLink, variant_links: list[VariantLink], cause: str,
                         message: str) -> None:
    """The variants stop syncing (each says why in the history); the destination keeps them."""
    for variant_link in variant_links:
        sync_event_record(connection=link.connection, kind=Kind.VARIANTS, product_link=link,
                          field=variant_label(variant_link),
                          from_value="synced", to_value="unsynced", cause=f"{cause}: {message}")
    VariantLink.objects.filter(pk__in=[v.pk for v in variant_links]).delete()


def _failed(link: ProductLink, kind: str, field: str, cause: str, exc: ShopifyError,
            from_value: object = "", to_value: object = "") -> None:
    sync_event_record(connection=link.connection, kind=kind, product_link=link, field=field,
                      from_value=from_value, to_value=to_value, cause=cause,
                      result=Result.FAILED, error=exc.merchant_message)


def product_link_autosync(*, link_id: int, cause: str) -> str:
    """Applies the source's variants (added, removed, SKUs) to one linked destination product,
    as far as its rules allow. Returns what happened ("skipped", "unchanged", "applied",
    "unlinked")."""
    link = (ProductLink.objects.select_related("connection", "connection__source",
                                               "connection__destination", "source_product")
            .filter(pk=link_id).first())
    if link is None:
        return "skipped"
    connection, product = link.connection, link.source_product
    if (connection.status != Connection.Status.CONNECTED or not link.auto_sync
            or product.hidden or product.deleted_at is not None):
        return "skipped"
    session = shop_admin_session(shop_domain=connection.destination.domain)
    current = product_read(session=session, product_id=link.destination_product_id)
    if current is None:
        sync_event_record(connection=connection, kind=Kind.UNLINKED, product_link=link,
                          field="product", from_value="synced", to_value="unsynced",
                          cause=f"{cause}: the product no longer exists in your store")
        link.delete()
        return "unlinked"
    destination_variants = {variant.id: variant for variant in current.variants}
    variant_links = list(link.variant_links.select_related("source_variant").order_by("pk"))
    applied = False
    if connection.sync_variants:
        applied |= _variants_removed(session=session, link=link, variant_links=variant_links,
                                     destination_variants=destination_variants, cause=cause)
        variant_links = [v for v in variant_links if v.source_variant.deleted_at is None]
    # The SKU follows only where it is what links the two: a hand or barcode link leaves the
    # destination's own SKUs alone (products.sku_lock locks the barcode instead).
    if link_lock_key(origin=link.origin) == Connection.MatchBy.SKU:
        applied |= _skus_update(session=session, link=link, variant_links=variant_links,
                                destination_variants=destination_variants, cause=cause)
    if connection.sync_variants:
        applied |= _variants_added(session=session, link=link, variant_links=variant_links,
                                   current=current, cause=cause)
    # The status (with the "below N: draft" stock rule's precedence) and prices are the
    # field flush's: products.field_flush.
    return "applied" if applied else "unchanged"


def _variants_removed(*, session: AdminSession, link: ProductLink,
                      variant_links: list[VariantLink],
                      destination_variants: dict[int, ProductVariant], cause: str) -> bool:
    gone = [v for v in variant_links if v.source_variant.deleted_at is not None]
    if not gone:
        return False
    present = [v for v in gone if v.destination_variant_id in destination_variants]
    if present:
        try:
            product_variants_delete(session=session, product_id=link.destination_product_id,
                                    variant_ids=[v.destination_variant_id for v in present])
        except ShopifyUserErrors as exc:
            for variant_link in present:
                _failed(link, Kind.VARIANTS, f"variant {variant_link.source_variant.sku}",
                        cause, exc, "synced", "removed")
            variant_links_unlink(link=link, variant_links=gone, cause=cause,
                                 message="removed at the source; could not be removed from "
                                         "your store, unsynced")
            return False
    for variant_link in gone:
        sync_event_record(connection=link.connection, kind=Kind.VARIANTS, product_link=link,
                          field=variant_label(variant_link),
                          from_value="present", to_value="removed",
                          cause=f"{cause}: removed at the source")
    VariantLink.objects.filter(pk__in=[v.pk for v in gone]).delete()
    return True


def _skus_update(*, session: AdminSession, link: ProductLink,
                 variant_links: list[VariantLink],
                 destination_variants: dict[int, ProductVariant], cause: str) -> bool:
    """The SKU always follows the source (it is what links the two)."""
    connection = link.connection
    updates: list[VariantUpdate] = []
    events: list[dict] = []
    for variant_link in variant_links:
        source = variant_link.source_variant
        current = destination_variants.get(variant_link.destination_variant_id)
        if current is None or current.sku == source.sku:
            continue
        label = source.sku or source.title
        events.append({"kind": Kind.SKU, "field": f"variant {source.title or label} SKU",
                       "from_value": current.sku, "to_value": source.sku})
        updates.append(VariantUpdate(variant_id=variant_link.destination_variant_id,
                                     sku=source.sku))
    if not updates:
        return False
    try:
        product_variants_update(session=session, product_id=link.destination_product_id,
                                updates=updates)
    except ShopifyUserErrors as exc:
        for event in events:
            _failed(link, event["kind"], event["field"], cause, exc, event["from_value"],
                    event["to_value"])
        return False
    for event in events:
        sync_event_record(connection=connection, product_link=link, cause=cause, **event)
    return True


def _variants_added(*, session: AdminSession, link: ProductLink,
                    variant_links: list[VariantLink], current: Product, cause: str) -> bool:
    connection = link.connection
    linked = {v.source_variant_id for v in variant_links}
    new = list(link.source_product.variants.filter(deleted_at__isnull=True)
               .exclude(pk__in=linked).order_by("position", "pk"))
    if not new:
        return False
    # Destination option names by position: it may have renamed "Size" to "Größe".
    names = [option.name for option in sorted(current.options, key=lambda o: o.position)]
    available = source_available_live(source=connection.source,
                                      inventory_item_ids=[v.inventory_item_id for v in new])
    location = destination_location_id(connection=connection)
    by_item = destination_targets(connection=connection, source_available={
        v.inventory_item_id: available.get(v.inventory_item_id, 0) for v in new})
    targets = {v.pk: by_item[v.inventory_item_id] for v in new}
    specs = []
    priced = []
    for variant in new:
        # Priced by the destination's rule, with what its field choices copy (as at import).
        try:
            specs.append(new_variant(
                connection=connection, variant=variant, available=targets[variant.pk],
                option_values=tuple(
                    OptionValue(option_name=names[i] if i < len(names) else value["name"],
                                name=value["value"])
                    for i, value in enumerate(variant.option_values))))
        except PriceBelowZero as exc:
            sync_event_record(connection=connection, kind=Kind.VARIANTS, product_link=link,
                              field=f"variant {variant.sku or variant.title}",
                              from_value="absent", to_value="added", cause=cause,
                              result=Result.FAILED, error=f"Not added: {exc}")
            continue
        priced.append(variant)
    new = priced
    if not new:
        return False
    try:
        created = product_variants_create(session=session, product_id=link.destination_product_id,
                                          variants=specs, location_id=location)
    except ShopifyUserErrors as exc:
        for variant in new:
            _failed(link, Kind.VARIANTS, f"variant {variant.sku or variant.title}", cause, exc,
                    "absent", "added")
        return False
    with transaction.atomic():
        for variant in variant_links_create(product_link=link, connection=connection,
                                            variants=new, made=created, quantities=targets,
                                            cause=cause):
            sync_event_record(connection=connection, kind=Kind.VARIANTS, product_link=link,
                              field=f"variant {variant.sku or variant.title}",
                              from_value="absent", to_value="added", cause=cause)
    return True


def product_links_stock_sync(*, connection_id: int, product_link_ids: list[int],
                             cause: str) -> StockWriteResult:
    """Writes the target now for every syncing variant of the given product links."""
    connection = (Connection.objects.select_related("source", "destination")
                  .filter(pk=connection_id).first())
    if connection is None or connection.status != Connection.Status.CONNECTED:
        return StockWriteResult()
    variant_links = list(VariantLink.objects.filter(
        connection=connection, product_link_id__in=product_link_ids,
        product_link__auto_sync=True, source_variant__product__hidden=False,
        source_variant__deleted_at__isnull=True,
    ).select_related("product_link", "source_variant", "connection").order_by("pk"))
    try:
        written = variant_links_stock_write(connection=connection, variant_links=variant_links,
                                            cause=cause)
    except ShopifyRetryable:
        raise
    except ShopifyError as exc:
        logger.warning("stock sync for connection %s failed: %s", connection_id, exc)
        result = StockWriteResult()
        result.failed = [(v.pk, exc.merchant_message) for v in variant_links]
        return result
    # Written here, not by a flush: the "below N: draft" rule looks at these products too.
    stock_rule_links_on_commit(connection=connection, product_link_ids=sorted(
        {v.product_link_id for v in variant_links}))
    return written
