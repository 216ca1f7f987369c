"""Auto-sync, the work: make one linked destination product follow its source as far as the
destination's rules allow, and write a link's stock now (run by `products.autosync_tasks`).

Rules are applied state-based: the destination product is read and only what differs from the
mirror changes, so a retry or a duplicate webhook changes nothing twice. Nothing else of a
synced product is ever overwritten (titles, descriptions, images... stay as the destination
edited them); the SKU always follows the source, being what links the two.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Literal

from django.db import transaction

from products.field_sync import fields_syncing
from products.inventory.levels import source_available_live
from products.inventory.links import StockWriteResult, variant_links_stock_write
from products.inventory.locations import destination_location_id
from products.inventory.targets import destination_targets
from products.models import ProductLink, SyncEvent, VariantLink
from products.sync_events import sync_event_record
from products.variant_links import variant_links_create
from stores.models import Connection
from stores.services import shop_admin_session
from syncer.shopify.admin_session import AdminSession
from syncer.shopify.errors import ShopifyError, ShopifyRetryable, ShopifyUserErrors
from syncer.shopify.operations.products import (
    KEEP,
    Keep,
    NewVariant,
    OptionValue,
    Product,
    ProductVariant,
    VariantUpdate,
    product_read,
    product_status_set,
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


def _money_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _failed(link: ProductLink, kind: str, field: str, cause: str, exc: ShopifyError,
            from_value: object = "", to_value: object = "") -> None:
    sync_event_record(connection=link.connection, kind=kind, product_link=link, field=field,
                      from_value=from_value, to_value=to_value, cause=cause,
                      result=Result.FAILED, error=exc.merchant_message)


def product_link_autosync(*, link_id: int, cause: str) -> str:
    """Applies the source's current state to one linked destination product, as far as its
    rules allow. Returns what happened ("skipped", "unchanged", "applied", "unlinked")."""
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
    applied |= _variants_update(session=session, link=link, variant_links=variant_links,
                                destination_variants=destination_variants, cause=cause)
    if connection.sync_variants:
        applied |= _variants_added(session=session, link=link, variant_links=variant_links,
                                   current=current, cause=cause)
    syncing = fields_syncing(connection=connection)
    if "status" in syncing and current.status != product.status:
        try:
            product_status_set(session=session, product_id=link.destination_product_id,
                               status=product.status)
        except ShopifyUserErrors as exc:
            _failed(link, Kind.STATUS, "status", cause, exc, current.status, product.status)
        else:
            sync_event_record(connection=connection, kind=Kind.STATUS, product_link=link,
                              field="status", from_value=current.status.lower(),
                              to_value=product.status.lower(), cause=cause)
            applied = True
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


def _variants_update(*, session: AdminSession, link: ProductLink,
                     variant_links: list[VariantLink],
                     destination_variants: dict[int, ProductVariant], cause: str) -> bool:
    connection = link.connection
    updates: list[VariantUpdate] = []
    events: list[dict] = []
    for variant_link in variant_links:
        source = variant_link.source_variant
        current = destination_variants.get(variant_link.destination_variant_id)
        if current is None:
            continue
        label = source.sku or source.title
        sku: str | Literal[Keep.KEEP] = KEEP
        price: Decimal | Literal[Keep.KEEP] = KEEP
        compare_at_price: Decimal | None | Literal[Keep.KEEP] = KEEP
        if current.sku != source.sku:
            sku = source.sku
            events.append({"kind": Kind.SKU, "field": f"variant {source.title or label} SKU",
                           "from_value": current.sku, "to_value": source.sku})
        if "price" in fields_syncing(connection=connection):
            if source.price is not None and current.price != source.price:
                price = source.price
                events.append({"kind": Kind.PRICE, "field": f"{label} price",
                               "from_value": _money_text(current.price),
                               "to_value": _money_text(source.price)})
            if current.compare_at_price != source.compare_at_price:
                compare_at_price = source.compare_at_price
                events.append({"kind": Kind.PRICE, "field": f"{label} compare-at price",
                               "from_value": _money_text(current.compare_at_price) or "none",
                               "to_value": _money_text(source.compare_at_price) or "none"})
        update = VariantUpdate(variant_id=variant_link.destination_variant_id, sku=sku,
                               price=price, compare_at_price=compare_at_price)
        if update.changes_anything:
            updates.append(update)
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
    specs = [
        NewVariant(
            option_values=tuple(
                OptionValue(option_name=names[i] if i < len(names) else value["name"],
                            name=value["value"])
                for i, value in enumerate(variant.option_values)),
            price=variant.price, compare_at_price=variant.compare_at_price,
            barcode=variant.barcode, sku=variant.sku, tracked=variant.tracked,
            available=targets[variant.pk])
        for variant in new
    ]
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
        return variant_links_stock_write(connection=connection, variant_links=variant_links,
                                         cause=cause)
    except ShopifyRetryable:
        raise
    except ShopifyError as exc:
        logger.warning("stock sync for connection %s failed: %s", connection_id, exc)
        result = StockWriteResult()
        result.failed = [(v.pk, exc.merchant_message) for v in variant_links]
        return result
