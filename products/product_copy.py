"""Import ("sync") a source product into a destination: one `productSet` per product (and
one `metafieldsSet` when it has metafields to copy).

It copies what the destination's field choices (`products.field_sync`) do not Ignore: title,
options and variants (SKU, tracked, price) always; description, vendor, product type, tags,
status, images, barcode and compare-at price unless ignored (an ignored status is Shopify's
default, active); SEO, the chosen namespaces' metafields and weight when not ignored. Prices
go through the destination's price rule (`products.pricing`): one the rule would make
negative fails that product's import. It sets the destination's first stock from the source's
live stock (after the stock rules) at the receiving location; then the product and its
variants are linked. From then on only the fields the destination syncs change, plus stock
and SKU. An import job's batches run here (`products.jobs`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.db import transaction

from products.field_sync import field_copied_at_import
from products.inventory.levels import source_available_live
from products.inventory.locations import destination_location_id
from products.inventory.targets import destination_targets
from products.inventory.tasks import stock_rule_links_on_commit
from products.models import (
    ProductJob,
    ProductLink,
    SourceProduct,
    SourceVariant,
    SyncEvent,
)
from products.pricing import PriceBelowZero, PriceRule, compare_at_apply, price_apply
from products.sync_events import sync_event_record
from products.variant_links import variant_links_create
from stores.models import Connection
from stores.services import shop_admin_session
from syncer.shopify.errors import ShopifyError, ShopifyRetryable, ShopifyUserErrors
from syncer.shopify.operations.product_fields import product_metafields_set
from syncer.shopify.operations.products import (
    Metafield,
    NewProduct,
    NewProductOption,
    NewVariant,
    OptionValue,
    ProductImage,
    Weight,
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
            except (ShopifyError, PriceBelowZero) as exc:
                problem = (import_refusal_words(exc) if isinstance(exc, ShopifyError)
                           else f"Not imported: {exc}")
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


def new_variant(*, connection: Connection, variant: SourceVariant,
                option_values: tuple[OptionValue, ...], available: int) -> NewVariant:
    """A source variant as the destination creates it: priced by its price rule, with the
    barcode, compare-at price and weight unless ignored. PriceBelowZero if the rule prices it
    below zero."""
    rule = PriceRule.of(connection)

    def copied(name: str) -> bool:
        return field_copied_at_import(connection=connection, name=name)

    return NewVariant(
        option_values=option_values,
        price=price_apply(rule=rule, price=variant.price) if variant.price is not None else None,
        compare_at_price=(compare_at_apply(rule=rule, compare_at_price=variant.compare_at_price)
                          if copied("compare_at") else None),
        barcode=variant.barcode if copied("barcode") else "", sku=variant.sku,
        tracked=variant.tracked, available=available,
        weight=(Weight(value=variant.weight, unit=variant.weight_unit)
                if copied("weight") and variant.weight is not None and variant.weight_unit
                else None))


def product_metafields_chosen(*, connection: Connection,
                              product: SourceProduct) -> list[Metafield]:
    """The source product's metafields the destination takes: those of its chosen namespaces,
    when metafields are not ignored."""
    if not field_copied_at_import(connection=connection, name="metafields"):
        return []
    chosen = {str(namespace) for namespace in connection.metafield_namespaces or []}
    return [Metafield(namespace=str(m.get("namespace") or ""), key=str(m.get("key") or ""),
                      type=str(m.get("type") or ""), value=str(m.get("value") or ""))
            for m in product.metafields or [] if m.get("namespace") in chosen]


def new_product(*, connection: Connection, product: SourceProduct,
                variants: list[SourceVariant], quantities: dict[int, int]) -> NewProduct:
    """The destination's copy of a source product (quantities by SourceVariant pk), as its
    field choices and price rule say. A product without options gets Shopify's own "Title"
    option with one "Default Title" value. PriceBelowZero if the rule prices a variant below
    zero."""
    options = product.options or [{"name": "Title", "values": ["Default Title"]}]

    def copied(name: str) -> bool:
        return field_copied_at_import(connection=connection, name=name)

    seo = copied("seo")
    return NewProduct(
        title=product.title,
        description_html=product.description_html if copied("description") else None,
        vendor=product.vendor if copied("vendor") else None,
        product_type=product.product_type if copied("product_type") else None,
        tags=tuple(product.tags) if copied("tags") else None,
        status=product.status if copied("status") else None,
        options=tuple(NewProductOption(name=option["name"],
                                       values=tuple(option.get("values") or []))
                      for option in options),
        variants=tuple(
            new_variant(
                connection=connection, variant=variant,
                option_values=tuple(
                    OptionValue(option_name=value["name"], name=value["value"])
                    for value in (variant.option_values
                                  or [{"name": options[0]["name"], "value": "Default Title"}])),
                available=quantities[variant.pk])
            for variant in variants),
        images=(tuple(ProductImage(src=image.get("src") or "", alt=image.get("alt") or "")
                      for image in product.images or []) if copied("images") else ()),
        seo_title=product.seo_title if seo and product.seo_title else None,
        seo_description=product.seo_description if seo and product.seo_description else None,
    )


def product_import_one(*, connection: Connection, product: SourceProduct,
                       variants: list[SourceVariant], available: dict[int, int],
                       location_id: int, cause: str) -> ProductLink:
    """Creates the product at the destination and links it, variant by variant.
    PriceBelowZero (nothing created) if the price rule prices a variant below zero."""
    targets = destination_targets(connection=connection, source_available={
        v.inventory_item_id: available.get(v.inventory_item_id, 0) for v in variants})
    quantities = {v.pk: targets[v.inventory_item_id] for v in variants}
    copy = new_product(connection=connection, product=product, variants=variants,
                       quantities=quantities)
    session = shop_admin_session(shop_domain=connection.destination.domain)
    created = product_create(session=session, product=copy, location_id=location_id)
    metafields = product_metafields_chosen(connection=connection, product=product)
    if metafields:
        # After the product exists (productSet's own metafields list would do at creation,
        # but one way to write metafields, create or sync, is one way to get them right).
        # Refused: the product stays imported and linked; the history says what was not.
        try:
            product_metafields_set(session=session, product_id=created.id,
                                   metafields=metafields)
        except ShopifyRetryable:
            metafields_error = "Shopify was too busy to take them; try again later."
        except ShopifyError as exc:
            metafields_error = exc.merchant_message
        else:
            metafields_error = ""
    else:
        metafields_error = ""
    with transaction.atomic():
        link = ProductLink.objects.create(
            connection=connection, source_product=product,
            destination_product_id=created.id, origin=ProductLink.Origin.IMPORTED)
        sync_event_record(connection=connection, kind=SyncEvent.Kind.IMPORTED,
                          product_link=link, field="product", from_value="",
                          to_value=created.title, cause=cause)
        variant_links_create(product_link=link, connection=connection, variants=variants,
                             made=created.variants, quantities=quantities, cause=cause)
        if metafields_error:
            sync_event_record(connection=connection, kind=SyncEvent.Kind.FIELD,
                              product_link=link, field="Metafields", cause=cause,
                              result=SyncEvent.Result.FAILED,
                              error=f"Metafields not copied: {metafields_error}")
        stock_rule_links_on_commit(connection=connection, product_link_ids=[link.pk])
    return link
