"""Product and ProductVariant, and the ``QueryRoot`` catalogue fields."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.connections import encode_cursor, paginate
from shopify_emulator.admin_graphql.registry import field, object_type, shop_of
from shopify_emulator.admin_graphql.search import query_filter
from shopify_emulator.admin_graphql.values import count, id_of, money, now_iso
from shopify_emulator.domains.inventory.models import InventoryItem
from shopify_emulator.domains.products.fields import (
    APP_NAMESPACE,
    metafield_digest,
    metafield_find,
    metafield_json_value,
)
from shopify_emulator.domains.products.models import Product, Variant
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.ids import gid, parse_gid

Info = GraphQLResolveInfo
Q = "QueryRoot"

object_type(model=Product, type_name="Product")
object_type(model=Variant, type_name="ProductVariant")


@field("Product", "descriptionHtml", "bodyHtml")
def _product_html(obj: Product, info: Info) -> str:
    return obj.body_html


@field("Product", "description")
def _product_description(obj: Product, info: Info, truncateAt: int | None = None) -> str:
    text = re.sub(r"<[^>]+>", "", obj.body_html)
    return text[:truncateAt] if truncateAt else text


@field("Product", "productType")
def _product_type(obj: Product, info: Info) -> str:
    return obj.product_type


@field("Product", "publishedAt")
def _product_published(obj: Product, info: Info) -> str | None:
    return now_iso(obj.published_at)


@field("Product", "onlineStoreUrl", "onlineStorePreviewUrl", "templateSuffix", "category",
       "featuredImage", "featuredMedia")
def _product_none(obj: Product, info: Info) -> Any:
    if info.field_name in ("featuredImage", "featuredMedia") and obj.images:
        return image_obj(obj.images[0], info.field_name == "featuredMedia")
    return None


@field("Product", "images")
def _product_images(obj: Product, info: Info, **args: Any) -> dict:
    return paginate(info, [image_obj(i) for i in obj.images],
                    id_fn=lambda i: parse_gid(i["id"])[1], require_page_size=False, **args)


@field("Product", "media")
def _product_media(obj: Product, info: Info, query: str | None = None, sortKey: Any = None,
                   **args: Any) -> dict:
    return paginate(info, [image_obj(i, True) for i in obj.images],
                    id_fn=lambda i: parse_gid(i["id"])[1], require_page_size=False, **args)


@field("Product", "mediaCount")
def _product_media_count(obj: Product, info: Info, **_: Any) -> dict:
    return count(len(obj.images))


@field("Product", "options")
def _product_options(obj: Product, info: Info, first: int | None = None) -> list[dict]:
    shop = shop_of(info)
    variants = shop.product_variants(obj)
    result = []
    for position, option in enumerate(obj.options[: first or None], start=1):
        index = position - 1
        used = {v.option_values[index] for v in variants if len(v.option_values) > index}
        if not any(v.option_values for v in variants):
            used = {"Default Title"}
        result.append(
            {
                "__typename": "ProductOption",
                "id": gid("ProductOption", option["id"]),
                "name": option["name"],
                "position": position,
                "values": [v for v in option["values"] if v in used],
                "linkedMetafield": None,
                "optionValues": [
                    {
                        "__typename": "ProductOptionValue",
                        "id": gid("ProductOptionValue", option["id"] * 100 + n),
                        "name": value,
                        "hasVariants": value in used,
                        "linkedMetafieldValue": None,
                        "swatch": None,
                    }
                    for n, value in enumerate(option["values"])
                ],
            }
        )
    return result


@field("Product", "variants")
def _product_variants(obj: Product, info: Info, sortKey: str | None = None,
                      **args: Any) -> dict:
    shop = shop_of(info)
    variants = shop.product_variants(obj)
    sort_fn = {"ID": lambda v: v.id, "TITLE": lambda v: v.title,
               "SKU": lambda v: shop.item_of(v).sku}.get(sortKey or "POSITION",
                                                          lambda v: v.position)
    return paginate(info, variants, sort_fn=sort_fn, max_page_size=2000, **args)


@field("Product", "variantsCount")
def _product_variants_count(obj: Product, info: Info, **_: Any) -> dict:
    return count(len(obj.variant_ids))


@field("Product", "totalVariants")
def _product_total_variants(obj: Product, info: Info) -> int:
    return len(obj.variant_ids)


@field("Product", "totalInventory")
def _product_total_inventory(obj: Product, info: Info) -> int:
    shop = shop_of(info)
    return sum(shop.inventory_quantity(v) for v in shop.product_variants(obj)
               if shop.item_of(v).tracked)


@field("Product", "tracksInventory")
def _product_tracks(obj: Product, info: Info) -> bool:
    shop = shop_of(info)
    return any(shop.item_of(v).tracked for v in shop.product_variants(obj))


@field("Product", "hasOnlyDefaultVariant")
def _product_default_only(obj: Product, info: Info) -> bool:
    shop = shop_of(info)
    variants = shop.product_variants(obj)
    return len(variants) == 1 and not variants[0].option_values


@field("Product", "hasOutOfStockVariants")
def _product_oos(obj: Product, info: Info) -> bool:
    shop = shop_of(info)
    return any(shop.item_of(v).tracked and shop.inventory_quantity(v) <= 0
               for v in shop.product_variants(obj))


@field("Product", "isGiftCard", "requiresSellingPlan", "hasVariantsThatRequiresComponents")
def _product_false(obj: Any, info: Info) -> bool:
    return False


def image_obj(image: dict, as_media: bool = False) -> dict:
    data = {
        "__typename": "Image",
        "id": gid("ProductImage", image["id"]),
        "url": image["src"],
        "src": image["src"],
        "originalSrc": image["src"],
        "transformedSrc": image["src"],
        "altText": image.get("alt"),
        "width": image.get("width"),
        "height": image.get("height"),
    }
    if as_media:
        return {
            "__typename": "MediaImage",
            "id": gid("MediaImage", image["id"]),
            "alt": image.get("alt"),
            "mediaContentType": "IMAGE",
            "status": "READY",
            "image": data,
            "preview": {"__typename": "MediaPreviewImage", "image": data, "status": "READY"},
        }
    return data


def _price_range(obj: Product, info: Info) -> dict:
    shop = shop_of(info)
    prices = [Decimal(v.price) for v in shop.product_variants(obj)] or [Decimal("0")]
    return {
        "__typename": "ProductPriceRangeV2",
        "minVariantPrice": money(min(prices), shop.currency),
        "maxVariantPrice": money(max(prices), shop.currency),
    }


field("Product", "priceRangeV2")(_price_range)
field("Product", "priceRange")(_price_range)


@field("Product", "seo")
def _product_seo(obj: Product, info: Info) -> dict:
    return {"__typename": "SEO", "title": obj.seo_title, "description": obj.seo_description}


def metafield_obj(owner: Product, metafield: dict) -> dict:
    return {
        "__typename": "Metafield",
        "id": gid("Metafield", metafield["id"]),
        "legacyResourceId": str(metafield["id"]),
        "namespace": metafield["namespace"],
        "key": metafield["key"],
        "type": metafield["type"],
        "value": metafield["value"],
        "jsonValue": metafield_json_value(metafield),
        "compareDigest": metafield_digest(metafield),
        "createdAt": now_iso(metafield["created_at"]),
        "updatedAt": now_iso(metafield["updated_at"]),
        "ownerType": "PRODUCT",
        "owner": owner,
        "sizeInBytes": len(metafield["value"].encode()),
        "definition": None,
        "description": None,
        "reference": None,
        "translations": [],
    }


def _namespace(value: str | None) -> str:
    return APP_NAMESPACE if value in (None, "", "$app") else str(value)


@field("Product", "metafields")
def _product_metafields(obj: Product, info: Info, namespace: str | None = None,
                        keys: list[str] | None = None, **args: Any) -> dict:
    """Filtered by ``namespace`` and/or ``keys`` (``namespace.key``; a bare key is looked for
    in ``namespace``)."""
    metafields = list(obj.metafields)
    if namespace is not None:
        metafields = [m for m in metafields if m["namespace"] == _namespace(namespace)]
    if keys is not None:
        wanted = set()
        for key in keys:
            space, dot, name = key.rpartition(".")
            if dot:
                wanted.add((_namespace(space), name))
            elif namespace is not None:
                wanted.add((_namespace(namespace), key))
        metafields = [m for m in metafields if (m["namespace"], m["key"]) in wanted]
    return paginate(info, [metafield_obj(obj, m) for m in metafields],
                    id_fn=lambda m: int(m["legacyResourceId"]), **args)


@field("Product", "metafield")
def _product_metafield(obj: Product, info: Info, key: str,
                       namespace: str | None = None) -> dict | None:
    if namespace is None and "." in key:
        namespace, key = key.rsplit(".", 1)
    found = metafield_find(obj.metafields, _namespace(namespace), key)
    return metafield_obj(obj, found) if found is not None else None


@field("Product", "tags")
def _product_tags(obj: Product, info: Info) -> list[str]:
    return list(obj.tags)


@field("ProductVariant", "sku")
def _variant_sku(obj: Variant, info: Info) -> str | None:
    return shop_of(info).item_of(obj).sku or None


@field("ProductVariant", "title")
def _variant_title(obj: Variant, info: Info) -> str:
    return obj.title


@field("ProductVariant", "displayName")
def _variant_display(obj: Variant, info: Info) -> str:
    product = shop_of(info).products[obj.product_id]
    return f"{product.title} - {obj.title}"


@field("ProductVariant", "price")
def _variant_price(obj: Variant, info: Info) -> str:
    return obj.price


@field("ProductVariant", "compareAtPrice")
def _variant_compare(obj: Variant, info: Info) -> str | None:
    return obj.compare_at_price


@field("ProductVariant", "inventoryQuantity", "sellableOnlineQuantity")
def _variant_quantity(obj: Variant, info: Info) -> int:
    return shop_of(info).inventory_quantity(obj)


@field("ProductVariant", "inventoryPolicy")
def _variant_policy(obj: Variant, info: Info) -> str:
    return obj.inventory_policy


@field("ProductVariant", "inventoryItem")
def _variant_item(obj: Variant, info: Info) -> InventoryItem:
    return shop_of(info).item_of(obj)


@field("ProductVariant", "product")
def _variant_product(obj: Variant, info: Info) -> Product:
    return shop_of(info).products[obj.product_id]


@field("ProductVariant", "availableForSale")
def _variant_for_sale(obj: Variant, info: Info) -> bool:
    shop = shop_of(info)
    item = shop.item_of(obj)
    return (not item.tracked or obj.inventory_policy == "CONTINUE"
            or shop.inventory_quantity(obj) > 0)


@field("ProductVariant", "selectedOptions")
def _variant_options(obj: Variant, info: Info) -> list[dict]:
    product = shop_of(info).products[obj.product_id]
    if not obj.option_values:
        name = product.options[0]["name"] if product.options else "Title"
        return [{"__typename": "SelectedOption", "name": name, "value": "Default Title",
                 "optionValue": None}]
    return [
        {"__typename": "SelectedOption",
         "name": product.options[i]["name"] if i < len(product.options) else f"Option{i + 1}",
         "value": value, "optionValue": None}
        for i, value in enumerate(obj.option_values)
    ]


@field("ProductVariant", "image", "unitPrice", "unitPriceMeasurement", "deliveryProfile")
def _variant_none(obj: Any, info: Info) -> None:
    return None


@field("ProductVariant", "requiresComponents", "showUnitPrice")
def _variant_false(obj: Any, info: Info) -> bool:
    return False


@field("ProductVariant", "defaultCursor")
def _variant_cursor(obj: Variant, info: Info) -> str:
    return encode_cursor(obj.id, obj.id)


def _tags(product: Product) -> list[str]:
    return product.tags


def product_search(shop: Shop) -> dict:
    def skus(product: Product) -> list[str]:
        return [shop.item_of(v).sku for v in shop.product_variants(product)]

    def barcodes(product: Product) -> list[str | None]:
        return [v.barcode for v in shop.product_variants(product)]

    return {
        "id": ("number", lambda p: p.id),
        "title": ("text", lambda p: p.title),
        "handle": ("text", lambda p: p.handle),
        "vendor": ("text", lambda p: p.vendor),
        "product_type": ("text", lambda p: p.product_type),
        "status": ("text", lambda p: p.status),
        "tag": ("text", _tags),
        "tag_not": ("text", _tags),
        "sku": ("text", skus),
        "barcode": ("text", barcodes),
        "created_at": ("time", lambda p: p.created_at),
        "updated_at": ("time", lambda p: p.updated_at),
        "published_at": ("time", lambda p: p.published_at),
        "inventory_total": ("number", lambda p: sum(shop.inventory_quantity(v)
                                                    for v in shop.product_variants(p))),
        "variant_id": ("number", lambda p: list(p.variant_ids)),
    }


def variant_search(shop: Shop) -> dict:
    return {
        "id": ("number", lambda v: v.id),
        "sku": ("text", lambda v: shop.item_of(v).sku),
        "barcode": ("text", lambda v: v.barcode),
        "title": ("text", lambda v: v.title),
        "product_id": ("number", lambda v: v.product_id),
        "product_status": ("text", lambda v: shop.products[v.product_id].status),
        "tag": ("text", lambda v: shop.products[v.product_id].tags),
        "vendor": ("text", lambda v: shop.products[v.product_id].vendor),
        "inventory_item_id": ("number", lambda v: v.inventory_item_id),
        "inventory_quantity": ("number", lambda v: shop.inventory_quantity(v)),
        "location_id": ("number", lambda v: list(shop.item_of(v).levels)),
        "created_at": ("time", lambda v: v.created_at),
        "updated_at": ("time", lambda v: v.updated_at),
    }


PRODUCT_SORT = {
    "ID": None,
    "TITLE": lambda p: p.title,
    "UPDATED_AT": lambda p: p.updated_at,
    "CREATED_AT": lambda p: p.created_at,
    "VENDOR": lambda p: p.vendor,
    "PRODUCT_TYPE": lambda p: p.product_type,
    "PUBLISHED_AT": lambda p: p.published_at or p.created_at,
    "RELEVANCE": None,
    "INVENTORY_TOTAL": None,
}


@field(Q, "products")
def _products(root: Any, info: Info, query: str | None = None, sortKey: str | None = None,
              savedSearchId: Any = None, **args: Any) -> dict:
    shop = shop_of(info)
    products = query_filter(list(shop.products.values()), query, product_search(shop), ["title"])
    if sortKey == "INVENTORY_TOTAL":
        def sort_fn(p: Product) -> int:
            return sum(shop.inventory_quantity(v) for v in shop.product_variants(p))
    else:
        sort_fn = PRODUCT_SORT.get(sortKey or "ID")
    return paginate(info, products, sort_fn=sort_fn, **args)


@field(Q, "productsCount")
def _products_count(root: Any, info: Info, query: str | None = None, **_: Any) -> dict:
    shop = shop_of(info)
    return count(len(query_filter(list(shop.products.values()), query, product_search(shop),
                             ["title"])))


@field(Q, "product")
def _product(root: Any, info: Info, id: str) -> Product | None:  # noqa: A002
    return shop_of(info).products.get(id_of(id, "Product") or 0)


@field(Q, "productByIdentifier")
def _product_by_identifier(root: Any, info: Info, identifier: dict) -> Product | None:
    shop = shop_of(info)
    if identifier.get("id"):
        return shop.products.get(id_of(identifier["id"], "Product") or 0)
    if identifier.get("handle"):
        return next((p for p in shop.products.values() if p.handle == identifier["handle"]), None)
    return None


VARIANT_SORT = {
    "ID": None,
    "SKU": "sku",
    "TITLE": lambda v: v.title,
    "POSITION": lambda v: (v.product_id, v.position),
    "INVENTORY_QUANTITY": "quantity",
    "NAME": lambda v: v.title,
    "POPULAR": None,
    "RELEVANCE": None,
    "FULL_TITLE": lambda v: v.title,
    "INVENTORY_MANAGEMENT": None,
    "INVENTORY_LEVELS_AVAILABLE": "quantity",
}


@field(Q, "productVariants")
def _root_product_variants(root: Any, info: Info, query: str | None = None,
                      sortKey: str | None = None, savedSearchId: Any = None,
                      **args: Any) -> dict:
    shop = shop_of(info)
    variants = query_filter(list(shop.variants.values()), query, variant_search(shop), ["sku"])
    key = VARIANT_SORT.get(sortKey or "ID")
    if key == "sku":
        def sort_fn(v: Variant) -> str:
            return shop.item_of(v).sku
    elif key == "quantity":
        def sort_fn(v: Variant) -> int:
            return shop.inventory_quantity(v)
    else:
        sort_fn = key  # type: ignore[assignment]
    if isinstance(sort_fn, str):
        sort_fn = None
    return paginate(info, variants, sort_fn=sort_fn, **args)


@field(Q, "productVariantsCount")
def _product_variants_count(root: Any, info: Info, query: str | None = None, **_: Any) -> dict:
    shop = shop_of(info)
    return count(len(query_filter(list(shop.variants.values()), query, variant_search(shop),
                             ["sku"])))


@field(Q, "productVariant")
def _product_variant(root: Any, info: Info, id: str) -> Variant | None:  # noqa: A002
    return shop_of(info).variants.get(id_of(id, "ProductVariant") or 0)
