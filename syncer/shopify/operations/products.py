"""Product operations: read one product, copy one in (productSet), change a product's status
and its variants, and read a whole catalogue with one bulk query (a product's other fields and
metafields: `syncer.shopify.operations.product_fields`).

Ids go in and come out as numbers, money as `Decimal` (cents); the Admin API's global ids are
made and read here through `syncer.shopify.ids`. Mutations raise `ShopifyUserErrors` when
Shopify refuses the change; starting a catalogue read while another bulk query of ours runs
raises `CatalogueReadBusy`; an answer whose ids cannot be read raises `ProductAnswerInvalid`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from django.utils.dateparse import parse_datetime

from syncer.shopify.admin_session import AdminSession
from syncer.shopify.bulk import (
    BulkOperation,
    bulk_operation_get,
    bulk_query_run,
    bulk_results_stream,
)
from syncer.shopify.client import admin_client, paginate
from syncer.shopify.documents import document
from syncer.shopify.errors import ShopifyError, ShopifyUserErrors, raise_for_user_errors
from syncer.shopify.ids import gid, gid_id

# The most variants one product read or productSet answer lists (Shopify's page limit).
VARIANTS_PAGE: Final = 250
CATALOGUE_QUERY: Final = "bulk_query_catalogue"


class CatalogueReadBusy(ShopifyUserErrors):
    """Another bulk query of ours is still running in the shop: start this one later."""


class ProductAnswerInvalid(ShopifyError):
    """Shopify's answer holds a product, variant or inventory item without a readable id."""

    default_merchant_message = "Shopify sent a product we could not read. Please try again later."


# --- what we read ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductOption:
    name: str
    position: int
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Metafield:
    namespace: str
    key: str
    type: str
    value: str


@dataclass(frozen=True, slots=True)
class ProductImage:
    src: str
    alt: str


@dataclass(frozen=True, slots=True)
class SelectedOption:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ProductVariant:
    id: int
    inventory_item_id: int
    title: str
    sku: str
    barcode: str
    price: Decimal | None
    compare_at_price: Decimal | None
    position: int
    tracked: bool
    selected_options: tuple[SelectedOption, ...]
    # The inventory item's weight, in `weight_unit` (Shopify's WeightUnit: GRAMS, KILOGRAMS,
    # OUNCES, POUNDS); None when the answer did not say.
    weight: Decimal | None = None
    weight_unit: str = ""
    # Shopify's ProductVariantInventoryPolicy: DENY, or CONTINUE (sold when out of stock).
    inventory_policy: str = "DENY"


@dataclass(frozen=True, slots=True)
class Product:
    """A product as Shopify answered it; variants in the answer's order."""

    id: int
    title: str
    handle: str
    description_html: str
    vendor: str
    product_type: str
    tags: tuple[str, ...]
    status: str
    updated_at: datetime | None
    options: tuple[ProductOption, ...]
    images: tuple[ProductImage, ...]
    variants: tuple[ProductVariant, ...]
    # False when the answer may not list every variant (a read stops at VARIANTS_PAGE).
    variants_complete: bool = True
    seo_title: str = ""
    seo_description: str = ""
    metafields: tuple[Metafield, ...] = ()


@dataclass(frozen=True, slots=True)
class CreatedVariant:
    id: int
    inventory_item_id: int
    option_values: tuple[str, ...]  # the values of its selected options, in option order


@dataclass(frozen=True, slots=True)
class ProductCreated:
    id: int
    title: str
    variants: tuple[CreatedVariant, ...]


# --- what we send ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionValue:
    option_name: str
    name: str


@dataclass(frozen=True, slots=True)
class Weight:
    value: Decimal
    unit: str  # WeightUnit: GRAMS, KILOGRAMS, OUNCES, POUNDS


@dataclass(frozen=True, slots=True)
class NewVariant:
    option_values: tuple[OptionValue, ...]
    price: Decimal | None  # None is sent as 0.00
    compare_at_price: Decimal | None
    barcode: str
    sku: str
    tracked: bool
    available: int  # its first stock at the location the call names
    weight: Weight | None = None  # None: not sent (Shopify's default)


@dataclass(frozen=True, slots=True)
class NewProductOption:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewProduct:
    """A product to create. A field that is None is not sent (Shopify's default: empty, and
    ACTIVE for the status)."""

    title: str
    description_html: str | None
    vendor: str | None
    product_type: str | None
    tags: tuple[str, ...] | None
    status: str | None
    options: tuple[NewProductOption, ...]
    variants: tuple[NewVariant, ...]
    images: tuple[ProductImage, ...] = ()
    seo_title: str | None = None
    seo_description: str | None = None


class Keep(enum.Enum):
    """A variant field a `VariantUpdate` leaves as it is."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


@dataclass(frozen=True, slots=True)
class VariantUpdate:
    variant_id: int
    sku: str | Literal[Keep.KEEP] = KEEP
    price: Decimal | Literal[Keep.KEEP] = KEEP
    compare_at_price: Decimal | None | Literal[Keep.KEEP] = KEEP  # None clears it
    barcode: str | Literal[Keep.KEEP] = KEEP  # "" clears it
    weight: Weight | Literal[Keep.KEEP] = KEEP
    # The variant's option values by option name (a renamed value becomes the variant's).
    option_values: tuple[OptionValue, ...] | Literal[Keep.KEEP] = KEEP

    @property
    def changes_anything(self) -> bool:
        return any(value is not KEEP for value in (self.sku, self.price, self.compare_at_price,
                                                   self.barcode, self.weight,
                                                   self.option_values))


# --- reading answers ------------------------------------------------------------------------------


def _money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, Mapping):  # MoneyV2
        value = value.get("amount")
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _money_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    return tuple(str(tag).strip() for tag in value or [] if str(tag).strip())


def _id(value: Any, what: str) -> int:
    try:
        return gid_id(value)
    except (TypeError, ValueError):
        raise ProductAnswerInvalid(f"{what} is missing or not an id: {value!r}") from None


def _options(nodes: Iterable[Mapping[str, Any]] | None) -> tuple[ProductOption, ...]:
    return tuple(
        ProductOption(name=str(node.get("name")), position=int(node.get("position") or index),
                      values=tuple(str(value) for value in node.get("values") or []))
        for index, node in enumerate(nodes or [], start=1))


def _metafield(node: Mapping[str, Any]) -> Metafield:
    return Metafield(namespace=str(node.get("namespace") or ""), key=str(node.get("key") or ""),
                     type=str(node.get("type") or ""), value=str(node.get("value") or ""))


def _weight(item: Mapping[str, Any]) -> tuple[Decimal | None, str]:
    weight = (item.get("measurement") or {}).get("weight") or {}
    if weight.get("value") is None:
        return None, ""
    try:
        value = Decimal(str(weight["value"])).quantize(Decimal("0.001"))
    except (InvalidOperation, ValueError):
        return None, ""
    return value, str(weight.get("unit") or "")


def _variant(node: Mapping[str, Any]) -> ProductVariant:
    item = node.get("inventoryItem") or {}
    weight, weight_unit = _weight(item)
    return ProductVariant(
        id=_id(node.get("id"), "variant id"),
        inventory_item_id=_id(item.get("id"), "inventory item id"),
        title=str(node.get("title") or ""), sku=str(node.get("sku") or ""),
        barcode=str(node.get("barcode") or ""), price=_money(node.get("price")),
        compare_at_price=_money(node.get("compareAtPrice")),
        position=int(node.get("position") or 1), tracked=item.get("tracked", True) is not False,
        selected_options=tuple(SelectedOption(name=str(option.get("name")),
                                              value=str(option.get("value")))
                               for option in node.get("selectedOptions") or []),
        weight=weight, weight_unit=weight_unit,
        inventory_policy=str(node.get("inventoryPolicy") or "DENY").upper(),
    )


def _product(node: Mapping[str, Any], *, images: tuple[ProductImage, ...] = (),
             variants: tuple[ProductVariant, ...] = (),
             variants_complete: bool = True,
             metafields: tuple[Metafield, ...] = ()) -> Product:
    seo = node.get("seo") or {}
    return Product(
        id=_id(node.get("id"), "product id"), title=str(node.get("title") or ""),
        handle=str(node.get("handle") or ""),
        description_html=str(node.get("descriptionHtml") or ""),
        vendor=str(node.get("vendor") or ""), product_type=str(node.get("productType") or ""),
        tags=_tags(node.get("tags")), status=str(node.get("status") or "ACTIVE").upper(),
        updated_at=parse_datetime(str(node.get("updatedAt") or "")),
        options=_options(node.get("options")), images=images, variants=variants,
        variants_complete=variants_complete, seo_title=str(seo.get("title") or ""),
        seo_description=str(seo.get("description") or ""), metafields=metafields,
    )


def _media_images(nodes: Iterable[Mapping[str, Any] | None]) -> tuple[ProductImage, ...]:
    images = []
    for media in nodes:
        image = (media or {}).get("image") or {}
        if image.get("url"):
            images.append(ProductImage(src=str(image["url"]),
                                       alt=str((media or {}).get("alt") or image.get("altText")
                                               or "")))
    return tuple(images)


def _created_variant(node: Mapping[str, Any]) -> CreatedVariant:
    return CreatedVariant(
        id=gid_id(node["id"]), inventory_item_id=gid_id(node["inventoryItem"]["id"]),
        option_values=tuple(str(option["value"]) for option in node.get("selectedOptions") or []))


def _mutate(session: AdminSession, name: str, root: str,
            variables: Mapping[str, Any]) -> Mapping[str, Any]:
    data = session.execute(document(name), variables)
    return raise_for_user_errors(data.get(root), shop_domain=session.shop_domain, document=name)


# --- variants by SKU ------------------------------------------------------------------------------

# SKUs per search: one request per batch of an import job (10 products), at 1 point per SKU.
SKUS_PER_SEARCH: Final = 50


def _sku_term(sku: str) -> str:
    quoted = sku.replace("\\", "\\\\").replace('"', '\\"')
    return f'sku:"{quoted}"'


def product_variant_skus_taken(*, session: AdminSession, skus: Iterable[str]) -> frozenset[str]:
    """Which of `skus` the shop's variants already have (exactly, surrounding spaces aside),
    found with Shopify's search in groups of SKUS_PER_SEARCH; Shopify's looser matches are
    dropped."""
    wanted = sorted({sku.strip() for sku in skus if sku and sku.strip()})
    taken: set[str] = set()
    for start in range(0, len(wanted), SKUS_PER_SEARCH):
        group = wanted[start:start + SKUS_PER_SEARCH]
        for node in paginate(
                client=admin_client(), shop_domain=session.shop_domain,
                access_token=session.access_token, document=document("product_variant_skus"),
                variables={"query": " OR ".join(_sku_term(sku) for sku in group),
                           "first": len(group)},
                connection_path="productVariants"):
            sku = str(node.get("sku") or "").strip()
            if sku in group:
                taken.add(sku)
    return frozenset(taken)


# --- one product ----------------------------------------------------------------------------------


def product_read(*, session: AdminSession, product_id: int) -> Product | None:
    """The product with its options, images and first VARIANTS_PAGE variants; None if the shop
    has no such product."""
    data = session.execute(document("product_by_id"), {"id": gid("Product", product_id)})
    node = data.get("product")
    if node is None:
        return None
    variants = (node.get("variants") or {}).get("nodes") or []
    return _product(node, images=_media_images((node.get("media") or {}).get("nodes") or []),
                    variants=tuple(_variant(variant) for variant in variants),
                    variants_complete=len(variants) < VARIANTS_PAGE,
                    metafields=tuple(_metafield(metafield) for metafield in
                                     (node.get("metafields") or {}).get("nodes") or []))


def _weight_input(weight: Weight) -> dict[str, Any]:
    return {"weight": {"value": float(weight.value), "unit": weight.unit}}


def _variant_extras(variant: NewVariant) -> dict[str, Any]:
    """The inventory item of a new variant: SKU, tracking and (when sent) its weight."""
    item: dict[str, Any] = {"sku": variant.sku, "tracked": variant.tracked}
    if variant.weight is not None:
        item["measurement"] = _weight_input(variant.weight)
    return item


def _seo_input(title: str | None, description: str | None) -> dict[str, str] | None:
    if title is None and description is None:
        return None
    seo = {}
    if title is not None:
        seo["title"] = title
    if description is not None:
        seo["description"] = description
    return seo


def _new_product_input(product: NewProduct, location_id: int) -> dict[str, Any]:
    used = [{value.name for variant in product.variants for value in variant.option_values
             if value.option_name == option.name} for option in product.options]
    optional = {"descriptionHtml": product.description_html, "vendor": product.vendor,
                "productType": product.product_type,
                "tags": list(product.tags) if product.tags is not None else None,
                "status": product.status,
                "seo": _seo_input(product.seo_title, product.seo_description)}
    data: dict[str, Any] = {
        "title": product.title,
        **{key: value for key, value in optional.items() if value is not None},
        # Shopify refuses option values no variant uses.
        "productOptions": [
            {"name": option.name, "position": position,
             "values": [{"name": value} for value in option.values if value in used[position - 1]]}
            for position, option in enumerate(product.options, start=1)
        ],
        "variants": [
            {
                "optionValues": [{"optionName": value.option_name, "name": value.name}
                                 for value in variant.option_values],
                "position": position,
                "price": _money_text(variant.price) or "0.00",
                "compareAtPrice": _money_text(variant.compare_at_price),
                "barcode": variant.barcode or None,
                "inventoryItem": _variant_extras(variant),
                "inventoryQuantities": [{"locationId": gid("Location", location_id),
                                         "name": "available", "quantity": variant.available}],
            }
            for position, variant in enumerate(product.variants, start=1)
        ],
    }
    if product.images:
        data["files"] = [{"originalSource": image.src, "alt": image.alt, "contentType": "IMAGE"}
                         for image in product.images if image.src]
    return data


def product_create(*, session: AdminSession, product: NewProduct,
                   location_id: int) -> ProductCreated:
    """Creates the product with all its variants in one productSet (synchronously), each
    variant stocked at the location with its `available`."""
    payload = _mutate(session, "product_set", "productSet", {
        "input": _new_product_input(product, location_id), "synchronous": True,
        "variantsFirst": min(max(len(product.variants), 1), VARIANTS_PAGE)})
    created = payload["product"]
    return ProductCreated(
        id=gid_id(created["id"]), title=str(created.get("title") or ""),
        variants=tuple(_created_variant(node) for node in created["variants"]["nodes"]))


def product_status_set(*, session: AdminSession, product_id: int, status: str) -> None:
    """ACTIVE, DRAFT or ARCHIVED."""
    _mutate(session, "product_update", "productUpdate",
            {"product": {"id": gid("Product", product_id), "status": status}})


def product_delete(*, session: AdminSession, product_id: int) -> bool:
    """Deletes the product (with its variants and their stock). False when the shop has no
    such product (already deleted: a retry after a lost answer lands here)."""
    data = session.execute(document("product_delete"), {"input": {"id": gid("Product",
                                                                            product_id)}})
    try:
        raise_for_user_errors(data.get("productDelete"), shop_domain=session.shop_domain,
                              document="product_delete")
    except ShopifyUserErrors as exc:
        if exc.target_missing:
            return False
        raise
    return True


# --- a product's variants -------------------------------------------------------------------------


def product_variants_create(*, session: AdminSession, product_id: int,
                            variants: Sequence[NewVariant],
                            location_id: int) -> tuple[CreatedVariant, ...]:
    """Adds variants to the product, each stocked at the location with its `available`."""
    payload = _mutate(session, "product_variants_bulk_create", "productVariantsBulkCreate", {
        "productId": gid("Product", product_id),
        "variants": [{
            "optionValues": [{"optionName": value.option_name, "name": value.name}
                             for value in variant.option_values],
            "price": _money_text(variant.price) or "0.00",
            "compareAtPrice": _money_text(variant.compare_at_price),
            "barcode": variant.barcode or None,
            "inventoryItem": _variant_extras(variant),
            "inventoryQuantities": [{"locationId": gid("Location", location_id),
                                     "availableQuantity": variant.available}],
        } for variant in variants]})
    return tuple(_created_variant(node) for node in payload.get("productVariants") or [])


def _variant_update_input(update: VariantUpdate) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": gid("ProductVariant", update.variant_id)}
    item: dict[str, Any] = {}
    if update.sku is not KEEP:
        item["sku"] = update.sku
    if update.weight is not KEEP:
        item["measurement"] = _weight_input(update.weight)
    if item:
        spec["inventoryItem"] = item
    if update.price is not KEEP:
        spec["price"] = _money_text(update.price)
    if update.compare_at_price is not KEEP:
        spec["compareAtPrice"] = _money_text(update.compare_at_price)
    if update.barcode is not KEEP:
        spec["barcode"] = update.barcode or None
    if update.option_values is not KEEP:
        spec["optionValues"] = [{"optionName": value.option_name, "name": value.name}
                                for value in update.option_values]
    return spec


def product_variants_update(*, session: AdminSession, product_id: int,
                            updates: Sequence[VariantUpdate]) -> None:
    """Changes the SKU, price, compare-at price, barcode, weight or option values of the
    product's variants, all or none."""
    _mutate(session, "product_variants_bulk_update", "productVariantsBulkUpdate", {
        "productId": gid("Product", product_id),
        "variants": [_variant_update_input(update) for update in updates]})


def product_variants_delete(*, session: AdminSession, product_id: int,
                            variant_ids: Sequence[int]) -> None:
    _mutate(session, "product_variants_bulk_delete", "productVariantsBulkDelete", {
        "productId": gid("Product", product_id),
        "variantsIds": [gid("ProductVariant", variant_id) for variant_id in variant_ids]})


# --- a whole catalogue: one bulk query ------------------------------------------------------------


def catalogue_read_start(*, session: AdminSession) -> BulkOperation:
    """Starts the bulk query reading every product with its variants and images."""
    try:
        return bulk_query_run(client=admin_client(), shop_domain=session.shop_domain,
                              access_token=session.access_token, query=CATALOGUE_QUERY)
    except ShopifyUserErrors as exc:
        if "OPERATION_IN_PROGRESS" in exc.codes or "in progress" in str(exc).lower():
            raise CatalogueReadBusy(
                [{"field": error.field, "message": error.message, "code": error.code}
                 for error in exc.user_errors],
                shop_domain=session.shop_domain, document=exc.document) from None
        raise


def catalogue_read_status(*, session: AdminSession, operation_id: str) -> BulkOperation | None:
    """The bulk operation as it is now; None if Shopify does not know it."""
    return bulk_operation_get(client=admin_client(), shop_domain=session.shop_domain,
                              access_token=session.access_token, operation_id=operation_id)


@dataclass
class _Grouping:
    node: Mapping[str, Any]
    variants: list[ProductVariant] = field(default_factory=list)
    images: list[ProductImage] = field(default_factory=list)
    metafields: list[Metafield] = field(default_factory=list)


def _catalogue_products(rows: Iterable[Mapping[str, Any]]) -> Iterator[Product]:
    """Groups the catalogue query's JSONL rows (products, then their variants and media
    pointing at them with __parentId) into products. Children follow their parent but need not
    be next to it, so products are yielded once every row is read."""
    products: dict[str, _Grouping] = {}
    for row in rows:
        parent = row.get("__parentId")
        row_id = str(row.get("id") or "")
        if parent is None:
            if "/Product/" in row_id:
                products[row_id] = _Grouping(node=row)
            continue
        grouping = products.get(str(parent))
        if grouping is None:
            continue
        if "/ProductVariant/" in row_id:
            grouping.variants.append(_variant(row))
        elif "/Metafield/" in row_id:
            grouping.metafields.append(_metafield(row))
        elif row.get("image"):
            image = row["image"] or {}
            grouping.images.append(ProductImage(src=str(image.get("url") or ""),
                                                alt=str(row.get("alt") or image.get("altText")
                                                        or "")))
    for grouping in products.values():
        yield _product(grouping.node, images=tuple(grouping.images),
                       variants=tuple(grouping.variants),
                       metafields=tuple(grouping.metafields))


def catalogue_read_products(*, url: str | None) -> Iterator[Product]:
    """The finished catalogue read's products (`url` is its `BulkOperation.url`; None when the
    shop has no products). The file is a signed link, so no session goes with it; it is
    streamed, and iterating raises ShopifyRetryable if the download fails."""
    return _catalogue_products(bulk_results_stream(url, client=admin_client()))
