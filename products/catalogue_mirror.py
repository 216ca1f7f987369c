"""The source catalogue mirror, one product at a time: what destinations browse, never read
from Shopify by a list.

* `source_products_upsert` applies products (from a webhook, a live read or a catalogue bulk
  read, see `products.catalogue_scan`). A payload older than what we hold is ignored: webhooks
  arrive late and out of order.
* `products/create|update|delete` and `inventory_items/update` keep it fresh between full reads;
  a payload from the same second as the one held is settled by reading the product live.
* Every upsert reports what changed for linked destinations (hidden, status, variants
  added/removed, SKUs, and every field of `products.field_sync` with its old value);
  `products.autosync` decides what each destination gets.
* SEO and metafields come only from live and bulk reads (a products/* body cannot show them,
  so it never clears them); the weight from any of them that carries it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from products.autosync import (
    source_changes_apply,
    source_products_unlink_deleted,
    source_sku_changes_apply,
)
from products.catalogue_data import (
    MirrorChange,
    ProductData,
    VariantData,
    payload_id,
    product_data_from_rest,
    product_data_from_shopify,
    product_field_text,
    variant_field_text,
    variant_texts,
)
from products.field_sync import BY_NAME, fields_syncing
from products.models import ProductLink, SourceProduct, SourceVariant
from stores.models import Connection, Shop
from stores.services import shop_admin_session
from syncer.shopify.operations.products import product_read


def tags_hide(*, tags: Iterable[str], hidden_tag: str) -> bool:
    wanted = hidden_tag.strip().lower()
    return bool(wanted) and any(tag.strip().lower() == wanted for tag in tags)


PRODUCT_FIELDS = ["title", "handle", "description_html", "vendor", "product_type", "tags",
                  "status", "options", "images", "seo_title", "seo_description", "metafields",
                  "hidden", "shopify_updated_at", "deleted_at"]
VARIANT_FIELDS = ["inventory_item_id", "title", "sku", "barcode", "price", "compare_at_price",
                  "option_values", "position", "tracked", "inventory_policy", "weight",
                  "weight_unit", "deleted_at"]
# field_sync's product-level fields, and variant-level ones (options are both: names and
# values at the product, each variant's values).
PRODUCT_LEVEL = [name for name, spec in BY_NAME.items() if not spec.variant_level]
VARIANT_LEVEL = [name for name, spec in BY_NAME.items() if spec.variant_level]


def _variant_fields(data: VariantData) -> dict[str, Any]:
    values = {"inventory_item_id": data.inventory_item_id, "title": data.title[:512],
              "sku": data.sku[:255], "barcode": data.barcode[:255], "price": data.price,
              "compare_at_price": data.compare_at_price, "option_values": data.option_values,
              "position": data.position, "tracked": data.tracked,
              "inventory_policy": data.inventory_policy[:8]}
    if data.weight is not None:  # else the payload does not say: keep what is held
        values |= {"weight": data.weight, "weight_unit": data.weight_unit[:12]}
    return values


def _product_texts(row: SourceProduct) -> dict[str, str]:
    return {name: product_field_text(name=name, product=row) for name in PRODUCT_LEVEL}


def _variant_texts(variant: SourceVariant) -> dict[str, str]:
    return {name: variant_field_text(name=name, variant=variant)
            for name in [*VARIANT_LEVEL, "options"]}


def _same_content(row: SourceProduct, variants: dict[int, SourceVariant], data: ProductData,
                  hidden_tag: str) -> bool:
    """Does the payload say exactly what the mirror holds already?"""
    if (row.title, row.handle, row.description_html, row.vendor, row.product_type, row.tags,
            row.status, row.options, row.images, row.deleted_at) != (
            data.title[:512], data.handle[:512], data.description_html, data.vendor[:255],
            data.product_type[:255], data.tags, data.status[:16], data.options, data.images,
            None):
        return False
    if data.seo_title is not None and (row.seo_title, row.seo_description) != (
            data.seo_title[:255], data.seo_description or ""):
        return False
    if data.metafields is not None and row.metafields != data.metafields:
        return False
    live = {shopify_id: v for shopify_id, v in variants.items() if v.deleted_at is None}
    if data.variants_complete and set(live) != {v.shopify_id for v in data.variants}:
        return False
    for variant_data in data.variants:
        variant = live.get(variant_data.shopify_id)
        if variant is None or any(getattr(variant, name) != value for name, value in
                                  _variant_fields(variant_data).items()):
            return False
    return True


SAME_SECOND_SKIP = "skip"
SAME_SECOND_APPLY = "apply"
SAME_SECOND_REPORT = "report"


def source_products_upsert(*, source: Shop, products: list[ProductData], cause: str,
                           same_second: str = SAME_SECOND_SKIP,
                           ambiguous: list[int] | None = None) -> list[MirrorChange]:
    """Brings the mirror up to date with what Shopify sent and hands the changes to auto-sync.
    One transaction, rows locked in pk order.

    Anything older than what we hold is skipped. Shopify's `updated_at` has one-second
    resolution, so a payload from the same second as the one applied cannot be ordered:
    `same_second` says what to do then — skip it, apply it (a live read is authoritative), or
    report its product id in `ambiguous` for the caller to read the product live.
    """
    if not products:
        return []
    hidden_tag = source.hidden_tag
    changes: list[MirrorChange] = []
    with transaction.atomic():
        ids = [p.shopify_id for p in products]
        SourceProduct.objects.bulk_create(
            [SourceProduct(shop=source, shopify_id=p.shopify_id, title=p.title[:512])
             for p in products], ignore_conflicts=True)
        rows = {row.shopify_id: row for row in SourceProduct.objects.select_for_update()
                .filter(shop=source, shopify_id__in=ids).order_by("pk")}
        variants_by_product: dict[int, dict[int, SourceVariant]] = {}
        for held in SourceVariant.objects.filter(product__in=list(rows.values())):
            variants_by_product.setdefault(held.product_id, {})[held.shopify_id] = held
        product_updates: list[SourceProduct] = []
        variant_updates: list[SourceVariant] = []
        variant_creates: list[SourceVariant] = []
        now = timezone.now()
        for data in products:
            row = rows[data.shopify_id]
            created = row.shopify_updated_at is None and not row.options and not row.tags
            if row.shopify_updated_at and data.updated_at:
                if data.updated_at < row.shopify_updated_at:
                    continue  # an older payload than the one applied: ignore it
                if data.updated_at == row.shopify_updated_at and same_second != SAME_SECOND_APPLY:
                    # Identical content (e.g. products/update for an order) needs nothing.
                    if (same_second == SAME_SECOND_REPORT and ambiguous is not None
                            and not _same_content(row, variants_by_product.get(row.pk, {}),
                                                  data, hidden_tag)):
                        ambiguous.append(data.shopify_id)
                    continue
            change = MirrorChange(product=row, created=created, was_hidden=row.hidden,
                                  old_status=row.status, undeleted=row.deleted_at is not None)
            before = _product_texts(row)
            variants_before: dict[int, dict[str, str]] = {}
            row.title = data.title[:512] or row.title
            row.handle = data.handle[:512]
            row.description_html = data.description_html
            row.vendor = data.vendor[:255]
            row.product_type = data.product_type[:255]
            row.tags = data.tags
            row.status = data.status[:16]
            row.options = data.options
            row.images = data.images
            if data.seo_title is not None:
                row.seo_title = data.seo_title[:255]
                row.seo_description = data.seo_description or ""
            if data.metafields is not None:
                row.metafields = data.metafields
            row.hidden = tags_hide(tags=data.tags, hidden_tag=hidden_tag)
            row.shopify_updated_at = data.updated_at or row.shopify_updated_at or now
            row.deleted_at = None
            product_updates.append(row)
            existing = variants_by_product.get(row.pk, {})
            seen: set[int] = set()
            for variant_data in data.variants:
                seen.add(variant_data.shopify_id)
                values = _variant_fields(variant_data)
                variant = existing.get(variant_data.shopify_id)
                if variant is None:
                    variant_creates.append(SourceVariant(product=row, shop=source,
                                                         shopify_id=variant_data.shopify_id,
                                                         **values))
                    continue
                if variant.deleted_at is not None:
                    change.added.append(variant.pk)
                elif (variant.price, variant.compare_at_price) != (
                        values["price"], values["compare_at_price"]):
                    change.price_changed.append(variant.pk)
                if variant.sku != values["sku"] and variant.deleted_at is None:
                    change.sku_changed.append(variant.pk)
                if variant.deleted_at is None:
                    variants_before[variant.pk] = _variant_texts(variant)
                for name, value in values.items():
                    setattr(variant, name, value)
                variant.deleted_at = None
                variant_updates.append(variant)
            if data.variants_complete:
                for shopify_id, variant in existing.items():
                    if shopify_id not in seen and variant.deleted_at is None:
                        variant.deleted_at = now
                        variant_updates.append(variant)
                        change.removed.append(variant.pk)
            if not created:
                change.fields = _fields_changed(row, before, variants_before, existing)
            changes.append(change)
        SourceProduct.objects.bulk_update(product_updates, PRODUCT_FIELDS)
        SourceVariant.objects.bulk_update(variant_updates, VARIANT_FIELDS)
        created_variants = SourceVariant.objects.bulk_create(variant_creates)
        by_product = {change.product.pk: change for change in changes}
        for variant in created_variants:
            change = by_product[variant.product_id]
            if not change.created:
                change.added.append(variant.pk)
        source_changes_apply(changes=changes, cause=cause)
    return changes


def _fields_changed(row: SourceProduct, before: dict[str, str],
                    variants_before: dict[int, dict[str, str]],
                    variants: dict[int, SourceVariant]) -> dict[str, str]:
    """The field_sync fields this upsert changed, with their old values as text."""
    changed = {name: before[name] for name, text in _product_texts(row).items()
               if before[name] != text}
    by_pk = {variant.pk: variant for variant in variants.values()}
    olds: dict[str, dict[int, str]] = {}
    for pk, texts in variants_before.items():
        variant = by_pk[pk]
        if variant.deleted_at is not None:
            continue
        now_texts = _variant_texts(variant)
        for name, old in texts.items():
            if now_texts[name] != old:
                olds.setdefault(name, {})[pk] = old
    for name, by_variant in olds.items():
        if name == "options":
            # A renamed value shows in the product's options too; say it once, there.
            changed.setdefault("options", before["options"])
        else:
            changed[name] = variant_texts(by_variant)
    return changed


def _seo_or_metafields_followed(*, source: Shop, product_shopify_id: int) -> bool:
    """Does a connected destination that follows SEO or metafields link this product?"""
    connections = Connection.objects.filter(
        source=source, status=Connection.Status.CONNECTED,
        pk__in=ProductLink.objects.filter(source_product__shop=source,
                                          source_product__shopify_id=product_shopify_id,
                                          auto_sync=True).values("connection_id"))
    return any(fields_syncing(connection=connection) & {"seo", "metafields"}
               for connection in connections)


def source_product_changed(*, source: Shop, payload: dict, cause: str) -> MirrorChange | None:
    """products/create|update on a source. A payload from the same second as the one we hold
    may be older or newer (deliveries are not ordered): then the product is read live.

    A products/update body cannot show SEO or metafields. When a destination follows them,
    the product is read live once after a new payload was applied, to pick them up: one
    product query (about 10 cost points at the source, out of a bucket that refills at 50 or
    more a second) per products/update of a linked product of such a source, and none for
    sources whose destinations do not follow SEO or metafields.
    """
    ambiguous: list[int] = []
    data = product_data_from_rest(payload)
    changes = source_products_upsert(source=source, products=[data], cause=cause,
                                     same_second=SAME_SECOND_REPORT, ambiguous=ambiguous)
    if ambiguous or (changes and not changes[0].created and _seo_or_metafields_followed(
            source=source, product_shopify_id=data.shopify_id)):
        changes = source_product_refresh(source=source, shopify_id=data.shopify_id,
                                         cause=cause) or changes
    return changes[0] if changes else None


def source_product_refresh(*, source: Shop, shopify_id: int, cause: str) -> list[MirrorChange]:
    """Reads one product live and applies it, whatever its timestamp (it is the truth now)."""
    product = product_read(session=shop_admin_session(shop_domain=source.domain),
                           product_id=shopify_id)
    if product is None:
        source_products_deleted(source=source, shopify_ids=[shopify_id], cause=cause)
        return []
    return source_products_upsert(source=source, products=[product_data_from_shopify(product)],
                                  cause=cause, same_second=SAME_SECOND_APPLY)


def source_products_deleted(*, source: Shop, shopify_ids: list[int], cause: str) -> int:
    """products/delete (or gone from a reload): the mirror keeps a tombstone; links go, the
    destinations keep their products."""
    with transaction.atomic():
        products = list(SourceProduct.objects.select_for_update().filter(
            shop=source, shopify_id__in=shopify_ids, deleted_at__isnull=True).order_by("pk"))
        if not products:
            return 0
        now = timezone.now()
        SourceProduct.objects.filter(pk__in=[p.pk for p in products]).update(deleted_at=now)
        SourceVariant.objects.filter(product__in=products, deleted_at__isnull=True).update(
            deleted_at=now)
        source_products_unlink_deleted(products=products, cause=cause)
    return len(products)


def source_inventory_item_updated(*, source: Shop, payload: dict, cause: str) -> int:
    """inventory_items/update: a SKU or tracking change made on the inventory item alone."""
    item_id = payload_id(payload.get("id"), "inventory item id")
    with transaction.atomic():
        variants = list(SourceVariant.objects.select_for_update().filter(
            shop=source, inventory_item_id=item_id).order_by("pk"))
        changed = []
        for variant in variants:
            sku = str(payload.get("sku") or "")[:255]
            tracked = payload.get("tracked")
            fields = []
            if "sku" in payload and variant.sku != sku:
                variant.sku = sku
                fields.append("sku")
                changed.append(variant)
            if isinstance(tracked, bool) and variant.tracked != tracked:
                variant.tracked = tracked
                fields.append("tracked")
            if fields:
                variant.save(update_fields=fields)
        if changed:
            source_sku_changes_apply(variants=changed, cause=cause)
    return len(changed)
