"""The source catalogue mirror: what destinations browse, never read from Shopify by a list.

* A full load (and any reload) is one Shopify bulk query whose JSONL result is applied in
  chunks; `bulk_operations/finish` says when it is ready, a polling task backs it up.
* `products/create|update|delete` and `inventory_items/update` keep it fresh in between. A
  payload older than what we hold is ignored (webhooks arrive late and out of order).
* Every upsert reports what changed for linked destinations (hidden, status, prices, variants
  added/removed, SKUs); `products.autosync` decides what each destination gets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from products.models import CatalogueScan, SourceProduct, SourceVariant
from products.services import shop_execute
from stores.models import Connection, Shop
from stores.services import shop_access_token
from syncer.shopify.bulk import (
    BulkOperation,
    bulk_operation_get,
    bulk_query_run,
    bulk_results_stream,
)
from syncer.shopify.client import admin_client
from syncer.shopify.errors import (
    ShopifyError,
    ShopifyOutcomeUnknown,
    ShopifyRetryable,
    ShopifyUserErrors,
)
from syncer.shopify.ids import gid, gid_id

logger = logging.getLogger(__name__)

CHUNK = 200
# Poll the bulk operation after these delays (s) in case its finish webhook never comes.
POLL_DELAYS = (5, 10, 20, 30, 60, 120, 300)
MAX_POLLS = 40
# "A bulk query operation for this app and shop is already in progress": try again later.
BUSY_RETRY_SECONDS = 30
MAX_BUSY_RETRIES = 20
RETRY_NOTE = "Shopify is not answering right now; the catalogue read is retried shortly."
# A queued scan normally starts within seconds; after this the sweeper starts it again.
QUEUED_GRACE = timedelta(minutes=2)
# REST product payloads may be cut at 100 variants: never treat missing ones as removed then.
REST_VARIANT_LIMIT = 100


class CatalogueError(ValueError):
    """A payload that cannot be a product (the inbox records it as failed)."""


# --- what Shopify sent, in one shape whatever the source -------------------------------------


@dataclass
class VariantData:
    shopify_id: int
    inventory_item_id: int
    title: str = ""
    sku: str = ""
    barcode: str = ""
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    option_values: list[dict[str, str]] = field(default_factory=list)
    position: int = 1
    tracked: bool = True


@dataclass
class ProductData:
    shopify_id: int
    title: str
    handle: str = ""
    description_html: str = ""
    vendor: str = ""
    product_type: str = ""
    tags: list[str] = field(default_factory=list)
    status: str = "ACTIVE"
    options: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    updated_at: datetime | None = None
    variants: list[VariantData] = field(default_factory=list)
    # False when the payload may not list every variant (do not treat the rest as removed).
    variants_complete: bool = True


def _money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, dict):  # MoneyV2
        value = value.get("amount")
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [str(tag).strip() for tag in value or [] if str(tag).strip()]


def _int(value: Any, what: str) -> int:
    try:
        return gid_id(value)
    except (TypeError, ValueError):
        raise CatalogueError(f"{what} is missing or not an id: {value!r}") from None


def product_data_from_rest(payload: dict) -> ProductData:
    """A `products/create|update` webhook body (Shopify's REST product)."""
    if not isinstance(payload, dict) or payload.get("id") is None:
        raise CatalogueError("The product payload has no id")
    options = [{"name": str(o.get("name") or ""), "values": [str(v) for v in o.get("values") or []]}
               for o in sorted(payload.get("options") or [], key=lambda o: o.get("position") or 0)]
    names = [o["name"] for o in options]
    variants = []
    for raw in payload.get("variants") or []:
        values = []
        for index, name in enumerate(names[:3]):
            value = raw.get(f"option{index + 1}")
            if value is not None:
                values.append({"name": name, "value": str(value)})
        variants.append(VariantData(
            shopify_id=_int(raw.get("id"), "variant id"),
            inventory_item_id=_int(raw.get("inventory_item_id"), "inventory item id"),
            title=str(raw.get("title") or ""), sku=str(raw.get("sku") or ""),
            barcode=str(raw.get("barcode") or ""), price=_money(raw.get("price")),
            compare_at_price=_money(raw.get("compare_at_price")), option_values=values,
            position=int(raw.get("position") or 1),
            tracked=raw.get("inventory_management") == "shopify",
        ))
    images = [{"src": str(i.get("src") or ""), "alt": str(i.get("alt") or "")}
              for i in sorted(payload.get("images") or [], key=lambda i: i.get("position") or 0)
              if i.get("src")]
    return ProductData(
        shopify_id=_int(payload["id"], "product id"), title=str(payload.get("title") or ""),
        handle=str(payload.get("handle") or ""),
        description_html=str(payload.get("body_html") or ""),
        vendor=str(payload.get("vendor") or ""),
        product_type=str(payload.get("product_type") or ""), tags=_tags(payload.get("tags")),
        status=str(payload.get("status") or "active").upper(), options=options, images=images,
        updated_at=parse_datetime(str(payload.get("updated_at") or "")), variants=variants,
        variants_complete=len(variants) < REST_VARIANT_LIMIT,
    )


def _variant_from_node(node: dict) -> VariantData:
    item = node.get("inventoryItem") or {}
    return VariantData(
        shopify_id=_int(node.get("id"), "variant id"),
        inventory_item_id=_int(item.get("id"), "inventory item id"),
        title=str(node.get("title") or ""), sku=str(node.get("sku") or ""),
        barcode=str(node.get("barcode") or ""), price=_money(node.get("price")),
        compare_at_price=_money(node.get("compareAtPrice")),
        option_values=[{"name": str(o.get("name")), "value": str(o.get("value"))}
                       for o in node.get("selectedOptions") or []],
        position=int(node.get("position") or 1), tracked=item.get("tracked", True) is not False,
    )


def _product_from_node(node: dict) -> ProductData:
    return ProductData(
        shopify_id=_int(node.get("id"), "product id"), title=str(node.get("title") or ""),
        handle=str(node.get("handle") or ""),
        description_html=str(node.get("descriptionHtml") or ""),
        vendor=str(node.get("vendor") or ""), product_type=str(node.get("productType") or ""),
        tags=_tags(node.get("tags")), status=str(node.get("status") or "ACTIVE").upper(),
        options=[{"name": str(o.get("name")), "values": [str(v) for v in o.get("values") or []]}
                 for o in node.get("options") or []],
        updated_at=parse_datetime(str(node.get("updatedAt") or "")),
    )


def product_data_from_graphql(node: dict) -> ProductData:
    """A product read with the `product_by_id` document."""
    product = _product_from_node(node)
    variants = (node.get("variants") or {}).get("nodes") or []
    product.variants = sorted((_variant_from_node(v) for v in variants), key=lambda v: v.position)
    product.variants_complete = len(variants) < 250
    for media in (node.get("media") or {}).get("nodes") or []:
        image = (media or {}).get("image") or {}
        if image.get("url"):
            product.images.append({"src": str(image["url"]),
                                   "alt": str(media.get("alt") or image.get("altText") or "")})
    return product


def product_data_from_bulk_rows(rows: Iterable[dict]) -> Iterator[ProductData]:
    """Groups a catalogue bulk query's JSONL rows (products, then their variants and media
    pointing at them with __parentId) into products. Children follow their parent but need
    not be next to it, so products are yielded once the whole file is read."""
    products: dict[str, ProductData] = {}
    for row in rows:
        parent = row.get("__parentId")
        row_id = str(row.get("id") or "")
        if parent is None:
            if "/Product/" in row_id:
                products[row_id] = _product_from_node(row)
            continue
        product = products.get(parent)
        if product is None:
            continue
        if "/ProductVariant/" in row_id:
            product.variants.append(_variant_from_node(row))
        elif row.get("image"):
            image = row["image"] or {}
            product.images.append({"src": str(image.get("url") or ""),
                                   "alt": str(row.get("alt") or image.get("altText") or "")})
    for product in products.values():
        product.variants.sort(key=lambda v: v.position)
        yield product


# --- applying it to the mirror ---------------------------------------------------------------


@dataclass
class MirrorChange:
    """What one upsert changed, for the destinations linked to the product."""

    product: SourceProduct
    created: bool = False
    was_hidden: bool = False
    old_status: str = ""
    price_changed: list[int] = field(default_factory=list)  # SourceVariant pks
    sku_changed: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    undeleted: bool = False

    @property
    def hidden_changed(self) -> bool:
        return not self.created and self.was_hidden != self.product.hidden

    @property
    def status_changed(self) -> bool:
        return not self.created and self.old_status != self.product.status

    @property
    def variants_changed(self) -> bool:
        return bool(self.added or self.removed)


def tags_hide(*, tags: Iterable[str], hidden_tag: str) -> bool:
    wanted = hidden_tag.strip().lower()
    return bool(wanted) and any(tag.strip().lower() == wanted for tag in tags)


PRODUCT_FIELDS = ["title", "handle", "description_html", "vendor", "product_type", "tags",
                  "status", "options", "images", "hidden", "shopify_updated_at", "deleted_at"]
VARIANT_FIELDS = ["inventory_item_id", "title", "sku", "barcode", "price", "compare_at_price",
                  "option_values", "position", "tracked", "deleted_at"]


def _variant_fields(data: VariantData) -> dict[str, Any]:
    return {"inventory_item_id": data.inventory_item_id, "title": data.title[:512],
            "sku": data.sku[:255], "barcode": data.barcode[:255], "price": data.price,
            "compare_at_price": data.compare_at_price, "option_values": data.option_values,
            "position": data.position, "tracked": data.tracked}


def _same_content(row: SourceProduct, variants: dict[int, SourceVariant], data: ProductData,
                  hidden_tag: str) -> bool:
    """Does the payload say exactly what the mirror holds already?"""
    if (row.title, row.handle, row.description_html, row.vendor, row.product_type, row.tags,
            row.status, row.options, row.images, row.deleted_at) != (
            data.title[:512], data.handle[:512], data.description_html, data.vendor[:255],
            data.product_type[:255], data.tags, data.status[:16], data.options, data.images,
            None):
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
    from products.autosync import source_changes_apply

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
        for variant in SourceVariant.objects.filter(product__in=list(rows.values())):
            variants_by_product.setdefault(variant.product_id, {})[variant.shopify_id] = variant
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
            row.title = data.title[:512] or row.title
            row.handle = data.handle[:512]
            row.description_html = data.description_html
            row.vendor = data.vendor[:255]
            row.product_type = data.product_type[:255]
            row.tags = data.tags
            row.status = data.status[:16]
            row.options = data.options
            row.images = data.images
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


def source_product_changed(*, source: Shop, payload: dict, cause: str) -> MirrorChange | None:
    """products/create|update on a source. A payload from the same second as the one we hold
    may be older or newer (deliveries are not ordered): then the product is read live."""
    ambiguous: list[int] = []
    changes = source_products_upsert(source=source, products=[product_data_from_rest(payload)],
                                     cause=cause, same_second=SAME_SECOND_REPORT,
                                     ambiguous=ambiguous)
    if ambiguous:
        changes = source_product_refresh(source=source, shopify_id=ambiguous[0], cause=cause)
    return changes[0] if changes else None


def source_product_refresh(*, source: Shop, shopify_id: int, cause: str) -> list[MirrorChange]:
    """Reads one product live and applies it, whatever its timestamp (it is the truth now)."""
    data = shop_execute(shop=source, name="product_by_id",
                        variables={"id": gid("Product", shopify_id)})
    node = data.get("product")
    if node is None:
        source_products_deleted(source=source, shopify_ids=[shopify_id], cause=cause)
        return []
    return source_products_upsert(source=source, products=[product_data_from_graphql(node)],
                                  cause=cause, same_second=SAME_SECOND_APPLY)


def source_products_deleted(*, source: Shop, shopify_ids: list[int], cause: str) -> int:
    """products/delete (or gone from a reload): the mirror keeps a tombstone; links go, the
    destinations keep their products."""
    from products.autosync import source_products_unlink_deleted

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
    from products.autosync import source_sku_changes_apply

    item_id = _int(payload.get("id"), "inventory item id")
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


def source_hidden_tag_set(*, source: Shop, hidden_tag: str, cause: str) -> int:
    """The source chose another hidden tag: recompute every product's flag. Returns how many
    products changed visibility."""
    from products.autosync import source_changes_apply

    hidden_tag = hidden_tag.strip()
    with transaction.atomic():
        source = Shop.objects.select_for_update().get(pk=source.pk)
        source.settings = dict(source.settings or {}, hidden_tag=hidden_tag)
        source.save(update_fields=["settings", "updated_at"])
        changes = []
        for product in SourceProduct.objects.select_for_update().filter(
                shop=source, deleted_at__isnull=True).order_by("pk"):
            hidden = tags_hide(tags=product.tags, hidden_tag=source.hidden_tag)
            if hidden != product.hidden:
                change = MirrorChange(product=product, was_hidden=product.hidden,
                                      old_status=product.status)
                product.hidden = hidden
                product.save(update_fields=["hidden", "updated_at"])
                changes.append(change)
        source_changes_apply(changes=changes, cause=cause)
    return len(changes)


# --- full reads: Shopify bulk queries --------------------------------------------------------

Status = CatalogueScan.Status


def catalogue_scan_start(*, shop: Shop, purpose: str,
                         connection: Connection | None = None) -> CatalogueScan:
    """Queues a bulk read of the shop's catalogue, unless one is already under way."""
    from products.tasks import catalogue_scan_run_task

    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        active = CatalogueScan.objects.filter(
            shop=shop, purpose=purpose, connection=connection,
            status__in=[Status.QUEUED, Status.RUNNING, Status.APPLYING]).first()
        if active is not None:
            return active
        scan = CatalogueScan.objects.create(shop=shop, purpose=purpose, connection=connection)
        transaction.on_commit(lambda: catalogue_scan_run_task.delay(scan.pk))
    return scan


def source_catalogue_load_start(*, source: Shop) -> CatalogueScan:
    return catalogue_scan_start(shop=source, purpose=CatalogueScan.Purpose.SOURCE_CATALOGUE)


def source_catalogue_ensure(*, source: Shop) -> CatalogueScan | None:
    """Starts the first full load of a source that never had one: call it when a store
    becomes a source; the sweeper calls it for any source still without one."""
    if source.role != Shop.Role.SOURCE or not source.is_installed:
        return None
    if CatalogueScan.objects.filter(shop=source,
                                    purpose=CatalogueScan.Purpose.SOURCE_CATALOGUE).exclude(
            status=Status.FAILED).exists():
        return None
    return source_catalogue_load_start(source=source)


def _later(task, args: list, countdown: float) -> None:
    """Runs the task again later. Inline (eager) Celery cannot wait: the sweeper does it."""
    if task.app.conf.task_always_eager:
        return
    task.apply_async(args=args, countdown=countdown)


def _scan_failed(scan: CatalogueScan, message: str) -> None:
    CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.FAILED, error=message[:2000],
                                                    finished_at=timezone.now())


def catalogue_scan_run(*, scan_id: int, attempt: int = 0) -> str:
    """Starts the bulk query. Returns "started", "busy" (retry later), "failed" or "skipped".
    Claims the scan first, so two runners never start two operations for it."""
    from products.tasks import catalogue_scan_poll_task, catalogue_scan_run_task

    if not CatalogueScan.objects.filter(pk=scan_id, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=timezone.now()):
        return "skipped"
    scan = CatalogueScan.objects.select_related("shop").get(pk=scan_id)
    shop = scan.shop
    try:
        operation = bulk_query_run(client=admin_client(), shop_domain=shop.domain,
                                   access_token=shop_access_token(shop_domain=shop.domain),
                                   query="bulk_query_catalogue")
    except ShopifyUserErrors as exc:
        if "in progress" in str(exc).lower() and attempt < MAX_BUSY_RETRIES:
            CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.QUEUED)
            _later(catalogue_scan_run_task, [scan.pk, attempt + 1], BUSY_RETRY_SECONDS)
            return "busy"
        _scan_failed(scan, exc.merchant_message)
        return "failed"
    except (ShopifyRetryable, ShopifyOutcomeUnknown) as exc:
        # Shopify is busy or down (or answered 5xx: a query started twice costs nothing but a
        # second read): queued again, retried later, never failing the caller.
        logger.info("catalogue scan %s waits: %s", scan.pk, exc)
        CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.QUEUED, error=RETRY_NOTE)
        if attempt < MAX_BUSY_RETRIES:
            _later(catalogue_scan_run_task, [scan.pk, attempt + 1], BUSY_RETRY_SECONDS)
        return "retry"
    except ShopifyError as exc:
        _scan_failed(scan, exc.merchant_message)
        return "failed"
    CatalogueScan.objects.filter(pk=scan.pk).update(operation_id=operation.id)
    transaction.on_commit(lambda: catalogue_scan_poll_task.apply_async(
        args=[scan.pk], countdown=POLL_DELAYS[0]))
    return "started"


def catalogue_scan_poll(*, scan_id: int) -> str:
    """The finish webhook's back-up: ask Shopify how the operation is doing."""
    from products.tasks import catalogue_scan_poll_task

    scan = CatalogueScan.objects.select_related("shop").filter(pk=scan_id).first()
    if scan is None or scan.status != Status.RUNNING or not scan.operation_id:
        return "skipped"
    shop = scan.shop
    operation = bulk_operation_get(client=admin_client(), shop_domain=shop.domain,
                                   access_token=shop_access_token(shop_domain=shop.domain),
                                   operation_id=scan.operation_id)
    polls = scan.polls + 1
    CatalogueScan.objects.filter(pk=scan.pk).update(polls=polls)
    if operation is not None and operation.finished:
        return catalogue_scan_finish(scan_id=scan.pk, operation=operation)
    if operation is None or polls >= MAX_POLLS:
        _scan_failed(scan, "Shopify did not finish reading the catalogue. Try again later.")
        return "failed"
    delay = POLL_DELAYS[min(polls, len(POLL_DELAYS) - 1)]
    catalogue_scan_poll_task.apply_async(args=[scan.pk], countdown=delay)
    return "waiting"


def bulk_operation_finished(*, shop_domain: str, payload: dict) -> str:
    """bulk_operations/finish: finish the scan that started this operation, if it is ours."""
    operation_gid = str(payload.get("admin_graphql_api_id") or "")
    scan = CatalogueScan.objects.filter(shop__domain=shop_domain, operation_id=operation_gid,
                                        status=Status.RUNNING).first()
    if scan is None:
        return "unknown"
    from products.tasks import catalogue_scan_finish_task

    transaction.on_commit(lambda: catalogue_scan_finish_task.delay(scan.pk))
    return "queued"


def catalogue_scan_finish(*, scan_id: int, operation: BulkOperation | None = None) -> str:
    """Reads the finished operation's JSONL and applies it. Exactly one caller gets to apply
    (webhook, poll or retry): the RUNNING → APPLYING claim decides."""
    scan = CatalogueScan.objects.select_related("shop", "connection").filter(pk=scan_id).first()
    if scan is None or not scan.operation_id:
        return "skipped"
    shop = scan.shop
    client = admin_client()
    if operation is None:
        operation = bulk_operation_get(client=client, shop_domain=shop.domain,
                                       access_token=shop_access_token(shop_domain=shop.domain),
                                       operation_id=scan.operation_id)
    if operation is None or not operation.finished:
        return "waiting"
    if operation.status != "COMPLETED":
        claimed = CatalogueScan.objects.filter(pk=scan.pk, status=Status.RUNNING).update(
            status=Status.FAILED, finished_at=timezone.now(),
            error=f"Shopify could not read the catalogue ({operation.status.lower()}"
                  f"{', ' + operation.error_code.lower() if operation.error_code else ''}). "
                  "Try again later.")
        return "failed" if claimed else "skipped"
    if not CatalogueScan.objects.filter(pk=scan.pk, status=Status.RUNNING).update(
            status=Status.APPLYING):
        return "skipped"
    try:
        rows = bulk_results_stream(operation.url, client=client)
        if scan.purpose == CatalogueScan.Purpose.SOURCE_CATALOGUE:
            products, variants = _source_scan_apply(scan=scan, rows=rows)
            CatalogueScan.objects.filter(pk=scan.pk).update(products=products, variants=variants)
        else:
            from products.mapping import destination_scan_apply

            destination_scan_apply(scan=scan, rows=rows)
    except ShopifyRetryable as exc:
        # The download failed; let a later poll try again.
        CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.RUNNING, error=str(exc))
        from products.tasks import catalogue_scan_poll_task

        catalogue_scan_poll_task.apply_async(args=[scan.pk], countdown=POLL_DELAYS[2])
        return "retry"
    except (ShopifyError, CatalogueError) as exc:
        _scan_failed(scan, getattr(exc, "merchant_message", str(exc)))
        return "failed"
    CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.DONE, error="",
                                                    finished_at=timezone.now())
    return "done"


def _chunks(items: Iterable[ProductData], size: int) -> Iterator[list[ProductData]]:
    chunk: list[ProductData] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _source_scan_apply(*, scan: CatalogueScan, rows: Iterable[dict]) -> tuple[int, int]:
    source = scan.shop
    cause = f"catalogue load #{scan.pk}"
    seen: set[int] = set()
    variants = 0
    for chunk in _chunks(product_data_from_bulk_rows(rows), CHUNK):
        source_products_upsert(source=source, products=chunk, cause=cause)
        seen.update(p.shopify_id for p in chunk)
        variants += sum(len(p.variants) for p in chunk)
    gone = list(SourceProduct.objects.filter(shop=source, deleted_at__isnull=True)
                .exclude(shopify_id__in=seen).values_list("shopify_id", flat=True))
    if gone:
        source_products_deleted(source=source, shopify_ids=gone, cause=cause)
    return len(seen), variants


def catalogue_scan_wait(*, scan_id: int, timeout: float = 120.0) -> CatalogueScan:
    """Runs a queued scan to the end in this process (demo seeding, benchmarks)."""
    import time

    deadline = time.monotonic() + timeout
    scan = CatalogueScan.objects.get(pk=scan_id)
    if scan.status == Status.QUEUED:
        catalogue_scan_run(scan_id=scan_id)
    while time.monotonic() < deadline:
        scan.refresh_from_db()
        if scan.finished:
            return scan
        if scan.status == Status.RUNNING:
            catalogue_scan_finish(scan_id=scan_id)
        time.sleep(0.2)
    raise TimeoutError(f"Catalogue scan {scan_id} did not finish in {timeout:.0f} s")


def source_catalogues_ensure() -> int:
    """Every installed source that never had a full load gets one (the sweeper's part)."""
    loaded = CatalogueScan.objects.filter(
        purpose=CatalogueScan.Purpose.SOURCE_CATALOGUE).exclude(status=Status.FAILED)
    started = 0
    for source in Shop.objects.filter(role=Shop.Role.SOURCE, installed_at__isnull=False,
                                      uninstalled_at__isnull=True).exclude(
            pk__in=loaded.values("shop_id")):
        if source_catalogue_ensure(source=source) is not None:
            started += 1
    return started


def catalogue_scans_resume(*, older_than: timedelta = timedelta(minutes=30)) -> int:
    """The sweeper's part: scans left queued or running long after they were asked for (lost
    task, lost webhook and polls, a worker killed between claiming and starting) go again."""
    from products.tasks import catalogue_scan_poll_task, catalogue_scan_run_task

    now = timezone.now()
    stuck = CatalogueScan.objects.filter(
        Q(status=Status.QUEUED, created_at__lt=now - QUEUED_GRACE)
        | Q(status=Status.RUNNING, created_at__lt=now - older_than))
    count = 0
    for scan in stuck:
        if scan.status == Status.QUEUED or not scan.operation_id:
            CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.QUEUED)
            catalogue_scan_run_task.delay(scan.pk)
        else:
            catalogue_scan_poll_task.delay(scan.pk)
        count += 1
    return count
