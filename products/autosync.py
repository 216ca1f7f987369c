"""What a destination lets its source change after linking, and the switches for it.

* Per connection the destination turns on auto-sync rules: price, variants added/removed,
  publish status. Nothing else of a synced product is ever overwritten (titles, descriptions,
  images... stay as the destination edited them); the SKU always follows the source, being
  what links the two.
* Per product: auto sync on/off (off = nothing syncs, stock included) and unsync (unlink,
  keep the product).
* The source's hidden tag stops a synced product's sync and says so on the destination.

Rules are applied state-based: the task reads the destination product and changes what
differs from the mirror, so a retry or a duplicate webhook changes nothing twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import transaction

from products.models import ProductLink, SourceProduct, SourceVariant, SyncEvent, VariantLink
from products.services import shop_execute, shop_mutate, sync_event_record
from products.stock import (
    StockWriteResult,
    destination_location,
    destination_target,
    source_available_live,
    variant_links_stock_write,
)
from stores.models import Connection
from syncer.shopify.errors import ShopifyError, ShopifyRetryable, ShopifyUserErrors
from syncer.shopify.ids import gid, gid_id

if TYPE_CHECKING:
    from products.catalogue import MirrorChange

logger = logging.getLogger(__name__)

Kind = SyncEvent.Kind
Result = SyncEvent.Result


# --- source changes → what each linked destination gets ---------------------------------------


def _enqueue_autosync(link_id: int, cause: str) -> None:
    from products.tasks import product_link_autosync_task

    transaction.on_commit(lambda: product_link_autosync_task.delay(link_id, cause))


def _enqueue_stock_sync(connection_id: int, link_ids: list[int], cause: str) -> None:
    from products.tasks import product_links_stock_sync_task

    transaction.on_commit(lambda: product_links_stock_sync_task.delay(connection_id, link_ids,
                                                                      cause))


def source_changes_apply(*, changes: list[MirrorChange], cause: str) -> None:
    """Called inside the mirror's transaction: records what destinations must be told and
    queues the Shopify work (after commit)."""
    changes = [c for c in changes if not c.created]
    if not changes:
        return
    by_product: dict[int, list[ProductLink]] = defaultdict(list)
    for link in (ProductLink.objects.filter(source_product__in=[c.product for c in changes])
                 .select_related("connection").order_by("pk")):
        by_product[link.source_product_id].append(link)
    for change in changes:
        product = change.product
        for link in by_product.get(product.pk, []):
            link.source_product = product
            connection = link.connection
            if connection.status != Connection.Status.CONNECTED:
                continue
            if change.hidden_changed:
                _hidden_changed(link=link, hidden=product.hidden, cause=cause)
            needs_work = False
            if change.removed:
                gone = list(link.variant_links.filter(source_variant_id__in=change.removed)
                            .select_related("source_variant"))
                if gone and connection.sync_variants and link.auto_sync and not product.hidden:
                    needs_work = True  # the task deletes them at the destination, then unlinks
                elif gone:
                    _variant_links_drop(link=link, variant_links=gone, cause=cause,
                                        message="removed at the source; unsynced, kept in "
                                                "your store")
            if product.hidden or not link.auto_sync:
                continue
            if change.sku_changed and link.variant_links.filter(
                    source_variant_id__in=change.sku_changed).exists():
                needs_work = True
            if change.price_changed and connection.sync_price:
                needs_work = True
            if change.added and connection.sync_variants:
                needs_work = True
            if change.status_changed and connection.sync_publish_status:
                needs_work = True
            if needs_work:
                _enqueue_autosync(link.pk, cause)


def _hidden_changed(*, link: ProductLink, hidden: bool, cause: str) -> None:
    tag = link.connection.source.hidden_tag
    if hidden:
        sync_event_record(connection=link.connection, kind=Kind.HIDDEN, product_link=link,
                          field="visibility", from_value="visible", to_value="hidden",
                          cause=f"{cause}: tagged {tag} by the source; sync stopped")
        return
    sync_event_record(connection=link.connection, kind=Kind.HIDDEN, product_link=link,
                      field="visibility", from_value="hidden", to_value="visible",
                      cause=f"{cause}: {tag} removed by the source; sync resumed")
    if link.auto_sync:
        _enqueue_stock_sync(link.connection_id, [link.pk], f"{cause} (visible again)")


def _variant_label(variant_link: VariantLink) -> str:
    variant = variant_link.source_variant
    return f"variant {variant.sku or variant.title}"


def _variant_links_drop(*, link: ProductLink, variant_links: list[VariantLink], cause: str,
                        message: str) -> None:
    for variant_link in variant_links:
        sync_event_record(connection=link.connection, kind=Kind.VARIANTS, product_link=link,
                          field=_variant_label(variant_link),
                          from_value="synced", to_value="unsynced", cause=f"{cause}: {message}")
    VariantLink.objects.filter(pk__in=[v.pk for v in variant_links]).delete()


def source_products_unlink_deleted(*, products: list[SourceProduct], cause: str) -> int:
    """The source deleted products: their links go, each destination keeps its copy."""
    links = list(ProductLink.objects.filter(source_product__in=products)
                 .select_related("connection", "source_product"))
    for link in links:
        sync_event_record(connection=link.connection, kind=Kind.SOURCE_DELETED,
                          product_link=link, field="product", from_value="synced",
                          to_value="unsynced",
                          cause=f"{cause}: deleted at the source; the product stays in your "
                                "store")
    ProductLink.objects.filter(pk__in=[link.pk for link in links]).delete()
    return len(links)


def source_sku_changes_apply(*, variants: list[SourceVariant], cause: str) -> None:
    """A source SKU changed (inventory_items/update): linked destination variants follow."""
    link_ids = set(ProductLink.objects.filter(
        variant_links__source_variant__in=variants, auto_sync=True,
        connection__status=Connection.Status.CONNECTED, source_product__hidden=False,
    ).values_list("pk", flat=True))
    for link_id in sorted(link_ids):
        _enqueue_autosync(link_id, cause)


# --- the per-link task: make the destination follow the enabled rules -------------------------


def _money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _money_str(value: Decimal | None) -> str | None:
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
    destination = connection.destination
    data = shop_execute(shop=destination, name="product_by_id",
                        variables={"id": gid("Product", link.destination_product_id)})
    node = data.get("product")
    if node is None:
        sync_event_record(connection=connection, kind=Kind.UNLINKED, product_link=link,
                          field="product", from_value="synced", to_value="unsynced",
                          cause=f"{cause}: the product no longer exists in your store")
        link.delete()
        return "unlinked"
    destination_variants = {gid_id(v["id"]): v for v in node["variants"]["nodes"]}
    variant_links = list(link.variant_links.select_related("source_variant").order_by("pk"))
    applied = False
    if connection.sync_variants:
        applied |= _variants_removed(link=link, variant_links=variant_links,
                                     destination_variants=destination_variants, cause=cause)
        variant_links = [v for v in variant_links if v.source_variant.deleted_at is None]
    applied |= _variants_update(link=link, variant_links=variant_links,
                                destination_variants=destination_variants, cause=cause)
    if connection.sync_variants:
        applied |= _variants_added(link=link, variant_links=variant_links, node=node,
                                   cause=cause)
    if connection.sync_publish_status and node.get("status") != product.status:
        try:
            shop_mutate(shop=destination, name="product_update", root="productUpdate",
                        variables={"product": {"id": gid("Product", link.destination_product_id),
                                               "status": product.status}})
        except ShopifyUserErrors as exc:
            _failed(link, Kind.STATUS, "status", cause, exc, node.get("status"), product.status)
        else:
            sync_event_record(connection=connection, kind=Kind.STATUS, product_link=link,
                              field="status", from_value=str(node.get("status")).lower(),
                              to_value=product.status.lower(), cause=cause)
            applied = True
    return "applied" if applied else "unchanged"


def _variants_removed(*, link: ProductLink, variant_links: list[VariantLink],
                      destination_variants: dict[int, dict], cause: str) -> bool:
    gone = [v for v in variant_links if v.source_variant.deleted_at is not None]
    if not gone:
        return False
    present = [v for v in gone if v.destination_variant_id in destination_variants]
    if present:
        try:
            shop_mutate(shop=link.connection.destination, name="product_variants_bulk_delete",
                        root="productVariantsBulkDelete", variables={
                            "productId": gid("Product", link.destination_product_id),
                            "variantsIds": [gid("ProductVariant", v.destination_variant_id)
                                            for v in present]})
        except ShopifyUserErrors as exc:
            for variant_link in present:
                _failed(link, Kind.VARIANTS, f"variant {variant_link.source_variant.sku}",
                        cause, exc, "synced", "removed")
            _variant_links_drop(link=link, variant_links=gone, cause=cause,
                                message="removed at the source; could not be removed from "
                                        "your store, unsynced")
            return False
    for variant_link in gone:
        sync_event_record(connection=link.connection, kind=Kind.VARIANTS, product_link=link,
                          field=_variant_label(variant_link),
                          from_value="present", to_value="removed",
                          cause=f"{cause}: removed at the source")
    VariantLink.objects.filter(pk__in=[v.pk for v in gone]).delete()
    return True


def _variants_update(*, link: ProductLink, variant_links: list[VariantLink],
                     destination_variants: dict[int, dict], cause: str) -> bool:
    connection = link.connection
    updates: list[dict] = []
    events: list[dict] = []
    for variant_link in variant_links:
        source = variant_link.source_variant
        current = destination_variants.get(variant_link.destination_variant_id)
        if current is None:
            continue
        spec: dict[str, Any] = {"id": gid("ProductVariant", variant_link.destination_variant_id)}
        label = source.sku or source.title
        if (current.get("sku") or "") != source.sku:
            spec["inventoryItem"] = {"sku": source.sku}
            events.append({"kind": Kind.SKU, "field": f"variant {source.title or label} SKU",
                           "from_value": current.get("sku") or "", "to_value": source.sku})
        if connection.sync_price:
            price = _money(current.get("price"))
            if source.price is not None and price != source.price:
                spec["price"] = _money_str(source.price)
                events.append({"kind": Kind.PRICE, "field": f"{label} price",
                               "from_value": _money_str(price), "to_value": spec["price"]})
            compare_at = _money(current.get("compareAtPrice"))
            if compare_at != source.compare_at_price:
                spec["compareAtPrice"] = _money_str(source.compare_at_price)
                events.append({"kind": Kind.PRICE, "field": f"{label} compare-at price",
                               "from_value": _money_str(compare_at) or "none",
                               "to_value": spec["compareAtPrice"] or "none"})
        if len(spec) > 1:
            updates.append(spec)
    if not updates:
        return False
    try:
        shop_mutate(shop=connection.destination, name="product_variants_bulk_update",
                    root="productVariantsBulkUpdate",
                    variables={"productId": gid("Product", link.destination_product_id),
                               "variants": updates})
    except ShopifyUserErrors as exc:
        for event in events:
            _failed(link, event["kind"], event["field"], cause, exc, event["from_value"],
                    event["to_value"])
        return False
    for event in events:
        sync_event_record(connection=connection, product_link=link, cause=cause, **event)
    return True


def _variants_added(*, link: ProductLink, variant_links: list[VariantLink], node: dict,
                    cause: str) -> bool:
    connection = link.connection
    linked = {v.source_variant_id for v in variant_links}
    new = list(link.source_product.variants.filter(deleted_at__isnull=True)
               .exclude(pk__in=linked).order_by("position", "pk"))
    if not new:
        return False
    # Destination option names by position: it may have renamed "Size" to "Größe".
    names = [o["name"] for o in sorted(node.get("options") or [], key=lambda o: o["position"])]
    available = source_available_live(source=connection.source,
                                      inventory_item_ids=[v.inventory_item_id for v in new])
    location = destination_location(connection=connection)
    targets = {v.pk: destination_target(connection=connection,
                                        source_available=available.get(v.inventory_item_id, 0))
               for v in new}
    specs = []
    for variant in new:
        values = [{"optionName": names[i] if i < len(names) else value["name"],
                   "name": value["value"]} for i, value in enumerate(variant.option_values)]
        specs.append({
            "optionValues": values, "price": _money_str(variant.price) or "0.00",
            "compareAtPrice": _money_str(variant.compare_at_price),
            "barcode": variant.barcode or None,
            "inventoryItem": {"sku": variant.sku, "tracked": variant.tracked},
            "inventoryQuantities": [{"locationId": gid("Location", location),
                                     "availableQuantity": targets[variant.pk]}],
        })
    try:
        payload = shop_mutate(shop=connection.destination, name="product_variants_bulk_create",
                              root="productVariantsBulkCreate",
                              variables={"productId": gid("Product", link.destination_product_id),
                                         "variants": specs})
    except ShopifyUserErrors as exc:
        for variant in new:
            _failed(link, Kind.VARIANTS, f"variant {variant.sku or variant.title}", cause, exc,
                    "absent", "added")
        return False
    created = payload.get("productVariants") or []
    by_values = {tuple(o["value"] for o in v.get("selectedOptions") or []): v for v in created}
    from django.utils import timezone

    now = timezone.now()
    with transaction.atomic():
        for index, variant in enumerate(new):
            made = by_values.get(tuple(o["value"] for o in variant.option_values))
            if made is None and index < len(created):
                made = created[index]
            if made is None:
                continue
            VariantLink.objects.create(
                product_link=link, connection=connection, source_variant=variant,
                destination_variant_id=gid_id(made["id"]),
                destination_inventory_item_id=gid_id(made["inventoryItem"]["id"]),
                last_written_quantity=targets[variant.pk], last_written_at=now)
            sync_event_record(connection=connection, kind=Kind.VARIANTS, product_link=link,
                              field=f"variant {variant.sku or variant.title}",
                              from_value="absent", to_value="added", cause=cause)
            sync_event_record(connection=connection, kind=Kind.INVENTORY, product_link=link,
                              field=f"{variant.sku or variant.title} available",
                              from_value="", to_value=targets[variant.pk], cause=cause)
    return True


# --- the destination's switches ---------------------------------------------------------------


def connection_sync_rules_update(*, connection: Connection, sync_price: bool,
                                 sync_variants: bool, sync_publish_status: bool) -> Connection:
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        connection.sync_price = sync_price
        connection.sync_variants = sync_variants
        connection.sync_publish_status = sync_publish_status
        connection.save(update_fields=["sync_price", "sync_variants", "sync_publish_status",
                                       "updated_at"])
    return connection


def _links(connection: Connection, source_product_ids: list[int]):
    return (ProductLink.objects.filter(connection=connection,
                                       source_product_id__in=source_product_ids)
            .select_related("connection", "source_product").order_by("pk"))


def product_links_auto_sync_set(*, connection: Connection, source_product_ids: list[int],
                                enabled: bool, actor_user_id: str = "") -> int:
    """Turns auto sync on or off for the selected synced products. On: the destination's
    quantities are overwritten with the source's from now on (right away, too)."""
    cause = f"changed in Syncer by user {actor_user_id}" if actor_user_id else "changed in Syncer"
    with transaction.atomic():
        links = list(_links(connection, source_product_ids).select_for_update(of=("self",))
                     .filter(auto_sync=not enabled))
        ProductLink.objects.filter(pk__in=[link.pk for link in links]).update(auto_sync=enabled)
        for link in links:
            sync_event_record(connection=connection, kind=Kind.AUTO_SYNC, product_link=link,
                              field="auto sync", from_value="on" if not enabled else "off",
                              to_value="on" if enabled else "off", cause=cause)
        if enabled and links:
            _enqueue_stock_sync(connection.pk, [link.pk for link in links],
                                "auto sync turned on")
    return len(links)


def product_links_unsync(*, connection: Connection, source_product_ids: list[int],
                         actor_user_id: str = "") -> int:
    """Unlinks the selected products; they stay in the destination store as they are."""
    cause = f"unsynced in Syncer by user {actor_user_id}" if actor_user_id else "unsynced"
    with transaction.atomic():
        links = list(_links(connection, source_product_ids).select_for_update(of=("self",)))
        for link in links:
            sync_event_record(connection=connection, kind=Kind.UNLINKED, product_link=link,
                              field="product", from_value="synced", to_value="unsynced",
                              cause=f"{cause}; the product stays in your store")
        ProductLink.objects.filter(pk__in=[link.pk for link in links]).delete()
    return len(links)


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
