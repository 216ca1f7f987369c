"""Import ("sync") a source product into a destination: one `productSet` per product.

It copies title, description, vendor, product type, tags, status, images, options and variants
(SKU, price, compare-at price, barcode, tracked) and sets the destination's first stock from
the source's live stock (less the safety stock) at the receiving location; then the product
and its variants are linked. From then on only the auto-sync rules the destination turned on
change the product, plus stock and SKU. An import job's batches run here (`products.jobs`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.db import transaction

from products.inventory.levels import source_available_live
from products.inventory.locations import destination_location_id
from products.inventory.targets import destination_targets
from products.models import (
    ProductJob,
    ProductLink,
    SourceProduct,
    SourceVariant,
    SyncEvent,
)
from products.sync_events import sync_event_record
from products.variant_links import variant_links_create
from stores.models import Connection
from stores.services import shop_admin_session
from syncer.shopify.errors import ShopifyError, ShopifyRetryable, ShopifyUserErrors
from syncer.shopify.operations.products import (
    NewProduct,
    NewProductOption,
    NewVariant,
    OptionValue,
    ProductImage,
    product_create,
    product_variant_skus_taken,
)


def product_import_batch(*, job: ProductJob, source_product_ids: list[int],
                         progress: Callable[..., None]) -> None:
    """Imports a batch of the job's products, recording progress after each one."""
    batch = source_product_ids
    connection = job.connection
    products = {p.pk: p for p in SourceProduct.objects.filter(pk__in=batch,
                                                              shop_id=connection.source_id)}
    variants: dict[int, list[SourceVariant]] = {}
    for variant in SourceVariant.objects.filter(product_id__in=batch, deleted_at__isnull=True
                                                ).order_by("position", "pk"):
        variants.setdefault(variant.product_id, []).append(variant)
    linked = set(ProductLink.objects.filter(connection=connection, source_product_id__in=batch)
                 .values_list("source_product_id", flat=True))
    wanted = [v.inventory_item_id for pid in batch if pid not in linked
              for v in variants.get(pid, [])]
    available = (source_available_live(source=connection.source, inventory_item_ids=wanted)
                 if wanted else {})
    location = destination_location_id(connection=connection)
    cause = f"import job #{job.pk}"
    rest = list(job.source_product_ids[len(batch):])
    # A product whose SKUs the destination already has would be a second copy of it (e.g.
    # synced again after a disconnect): it is not created, and the merchant maps it instead.
    session = shop_admin_session(shop_domain=connection.destination.domain)
    skus_taken = set(product_variant_skus_taken(
        session=session, skus=[v.sku for pid in batch if pid not in linked
                               for v in variants.get(pid, [])]))
    for index, product_id in enumerate(batch):
        remaining = batch[index + 1:] + rest
        product = products.get(product_id)
        title = product.title if product else f"product {product_id}"
        if product_id in linked:
            progress(job, remaining=remaining, done=1)
            continue
        problem = None
        if product is None or product.deleted_at is not None:
            problem = "It was deleted at the source."
        elif product.hidden:
            problem = "The source hid it from destinations."
        elif not variants.get(product_id):
            problem = "It has no variants at the source."
        elif taken := sorted(_skus(variants[product_id]) & skus_taken):
            progress(job, remaining=remaining,
                     already_in_store={"product": title, "skus": taken})
            continue
        else:
            try:
                product_import_one(connection=connection, product=product,
                                   variants=variants[product_id], available=available,
                                   location_id=location, cause=cause)
            except ShopifyRetryable:
                raise  # progress so far is saved; the task retries the rest
            except ShopifyError as exc:
                problem = import_refusal_words(exc)
                sync_event_record(connection=connection, kind=SyncEvent.Kind.IMPORTED,
                                  source_product=product, field="product", cause=cause,
                                  result=SyncEvent.Result.FAILED, error=problem)
            else:
                skus_taken |= _skus(variants[product_id])
        if problem is None:
            progress(job, remaining=remaining, done=1)
        else:
            progress(job, remaining=remaining, failed=1,
                     error={"product": title, "message": problem})


def _skus(variants: list[SourceVariant]) -> set[str]:
    return {variant.sku.strip() for variant in variants if variant.sku.strip()}


_DUPLICATE_VARIANT = re.compile(r"^The variant '(?P<values>.*)' already exists")


def import_refusal_words(exc: ShopifyError) -> str:
    """What Shopify refused about a product we tried to create, and what to do, in plain
    words (Shopify's own message kept for anything we have no words for)."""
    if not isinstance(exc, ShopifyUserErrors) or not exc.user_errors:
        return exc.merchant_message
    words: list[str] = []
    for error in exc.user_errors:
        duplicate = _DUPLICATE_VARIANT.match(error.message)
        if duplicate:
            said = (f"Shopify refused it: several of its variants have the same option value "
                    f"({duplicate['values']}). Give each variant its own value at the source "
                    "(for example its size or colour), then sync it again.")
        else:
            said = (f"Shopify refused it: {error.message.rstrip('.')}. Change this in the "
                    "source's product, then sync it again.")
        if said not in words:
            words.append(said)
    return " ".join(words)


def new_product(*, product: SourceProduct, variants: list[SourceVariant],
                quantities: dict[int, int]) -> NewProduct:
    """The destination's copy of a source product (quantities by SourceVariant pk). A product
    without options gets Shopify's own "Title" option with one "Default Title" value."""
    options = product.options or [{"name": "Title", "values": ["Default Title"]}]
    return NewProduct(
        title=product.title, description_html=product.description_html, vendor=product.vendor,
        product_type=product.product_type, tags=tuple(product.tags), status=product.status,
        options=tuple(NewProductOption(name=option["name"],
                                       values=tuple(option.get("values") or []))
                      for option in options),
        variants=tuple(
            NewVariant(
                option_values=tuple(
                    OptionValue(option_name=value["name"], name=value["value"])
                    for value in (variant.option_values
                                  or [{"name": options[0]["name"], "value": "Default Title"}])),
                price=variant.price, compare_at_price=variant.compare_at_price,
                barcode=variant.barcode, sku=variant.sku, tracked=variant.tracked,
                available=quantities[variant.pk])
            for variant in variants),
        images=tuple(ProductImage(src=image.get("src") or "", alt=image.get("alt") or "")
                     for image in product.images or []),
    )


def product_import_one(*, connection: Connection, product: SourceProduct,
                       variants: list[SourceVariant], available: dict[int, int],
                       location_id: int, cause: str) -> ProductLink:
    """Creates the product at the destination and links it, variant by variant."""
    targets = destination_targets(connection=connection, source_available={
        v.inventory_item_id: available.get(v.inventory_item_id, 0) for v in variants})
    quantities = {v.pk: targets[v.inventory_item_id] for v in variants}
    created = product_create(
        session=shop_admin_session(shop_domain=connection.destination.domain),
        product=new_product(product=product, variants=variants, quantities=quantities),
        location_id=location_id)
    with transaction.atomic():
        link = ProductLink.objects.create(
            connection=connection, source_product=product,
            destination_product_id=created.id, origin=ProductLink.Origin.IMPORTED)
        sync_event_record(connection=connection, kind=SyncEvent.Kind.IMPORTED,
                          product_link=link, field="product", from_value="",
                          to_value=created.title, cause=cause)
        variant_links_create(product_link=link, connection=connection, variants=variants,
                             made=created.variants, quantities=quantities, cause=cause)
    return link
