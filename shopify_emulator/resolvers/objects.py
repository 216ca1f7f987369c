"""Field resolvers for the objects the emulator models (computed from state, never canned)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator import state as st
from shopify_emulator.ids import gid, parse_gid
from shopify_emulator.resolvers.core import (
    count,
    ctx,
    field,
    id_of,
    money,
    money_bag,
    now_iso,
    paginate,
    search_filter,
)

Info = GraphQLResolveInfo

TYPE_NAMES: dict[type, str] = {
    st.Shop: "Shop",
    st.Location: "Location",
    st.Product: "Product",
    st.Variant: "ProductVariant",
    st.InventoryItem: "InventoryItem",
    st.InventoryLevel: "InventoryLevel",
    st.Order: "Order",
    st.LineItem: "LineItem",
    st.FulfillmentOrder: "FulfillmentOrder",
    st.FulfillmentOrderLineItem: "FulfillmentOrderLineItem",
    st.Fulfillment: "Fulfillment",
    st.Refund: "Refund",
    st.WebhookSubscription: "WebhookSubscription",
    st.BulkOperation: "BulkOperation",
    st.AdjustmentGroup: "InventoryAdjustmentGroup",
}


def typename_of(obj: Any) -> str | None:
    if isinstance(obj, dict):
        return obj.get("__typename")
    return TYPE_NAMES.get(type(obj))


def shop_of(info: Info) -> st.Shop:
    return ctx(info).shop


def _gid_resolver(type_name: str):
    def resolve(obj: Any, info: Info) -> str:
        return gid(type_name, obj.id)

    return resolve


def _legacy(obj: Any, info: Info) -> str:
    return str(obj.id)


for _cls, _name in TYPE_NAMES.items():
    if _name not in ("InventoryLevel",):
        field(_name, "id")(_gid_resolver(_name))
    field(_name, "legacyResourceId")(_legacy)
for _name in TYPE_NAMES.values():
    field(_name, "createdAt")(lambda obj, info: now_iso(getattr(obj, "created_at", None)))
    field(_name, "updatedAt")(
        lambda obj, info: now_iso(getattr(obj, "updated_at", None) or getattr(obj, "created_at",
                                                                               None))
    )

# --------------------------------------------------------------------------- shop

PLAN_NAMES = {
    "basic": "Basic",
    "standard": "Shopify",
    "shopify": "Shopify",
    "advanced": "Advanced",
    "plus": "Shopify Plus",
    "enterprise": "Commerce Components",
    "partner_test": "Development",
    "development": "Development",
}


@field("Shop", "myshopifyDomain")
def _shop_domain(obj: st.Shop, info: Info) -> str:
    return obj.domain


@field("Shop", "currencyCode")
def _shop_currency(obj: st.Shop, info: Info) -> str:
    return obj.currency


@field("Shop", "email", "contactEmail")
def _shop_email(obj: st.Shop, info: Info) -> str:
    return obj.email


@field("Shop", "url")
def _shop_url(obj: st.Shop, info: Info) -> str:
    return f"https://{obj.domain}"


@field("Shop", "ianaTimezone")
def _shop_tz(obj: st.Shop, info: Info) -> str:
    return "Etc/UTC"


@field("Shop", "timezoneAbbreviation")
def _shop_tz_abbr(obj: st.Shop, info: Info) -> str:
    return "UTC"


@field("Shop", "shopOwnerName")
def _shop_owner(obj: st.Shop, info: Info) -> str:
    return "Shop Owner"


@field("Shop", "plan")
def _shop_plan(obj: st.Shop, info: Info) -> dict:
    plan = obj.plan.lower()
    return {
        "__typename": "ShopPlan",
        "displayName": PLAN_NAMES.get(plan, obj.plan),
        "publicDisplayName": PLAN_NAMES.get(plan, obj.plan),
        "partnerDevelopment": plan in ("partner_test", "development"),
        "shopifyPlus": plan in ("plus", "enterprise"),
    }


@field("Shop", "resourceLimits")
def _shop_limits(obj: st.Shop, info: Info) -> dict:
    return {
        "__typename": "ShopResourceLimits",
        "locationLimit": 200 if obj.plan.lower() in ("plus", "enterprise") else 10,
        "maxProductOptions": 3,
        "maxProductVariants": 2048,
        "redirectLimitReached": False,
    }


@field("Shop", "primaryDomain")
def _shop_primary_domain(obj: st.Shop, info: Info) -> dict:
    return {"__typename": "Domain", "id": gid("Domain", obj.id), "host": obj.domain,
            "url": f"https://{obj.domain}", "sslEnabled": True}


@field("Shop", "taxesIncluded")
def _shop_taxes_included(obj: st.Shop, info: Info) -> bool:
    return False


@field("Shop", "weightUnit")
def _shop_weight_unit(obj: st.Shop, info: Info) -> str:
    return "KILOGRAMS"


# --------------------------------------------------------------------------- locations


def address_dict(
    data: dict | None, typename: str = "MailingAddress", obj_id: int = 0
) -> dict | None:
    if not data:
        return None
    parts = [data.get("address1"), data.get("address2"), data.get("city"),
             " ".join(p for p in (data.get("province_code"), data.get("zip")) if p),
             data.get("country")]
    return {
        "__typename": typename,
        "id": gid("MailingAddress", obj_id) + "?model_name=Address" if obj_id else None,
        "firstName": data.get("first_name"),
        "lastName": data.get("last_name"),
        "name": data.get("name"),
        "company": data.get("company"),
        "address1": data.get("address1"),
        "address2": data.get("address2"),
        "city": data.get("city"),
        "province": data.get("province"),
        "provinceCode": data.get("province_code"),
        "country": data.get("country"),
        "countryCode": data.get("country_code"),
        "countryCodeV2": data.get("country_code"),
        "zip": data.get("zip"),
        "phone": data.get("phone"),
        "latitude": data.get("latitude"),
        "longitude": data.get("longitude"),
        "coordinatesValidated": False,
        "formatted": [p for p in parts if p],
        "formattedArea": ", ".join(p for p in (data.get("city"), data.get("province"),
                                               data.get("country")) if p) or None,
    }


def location_address(location: st.Location) -> dict:
    return {
        "__typename": "LocationAddress",
        "address1": location.address1,
        "address2": None,
        "city": location.city,
        "province": location.province,
        "provinceCode": location.province_code,
        "country": location.country,
        "countryCode": location.country_code,
        "zip": location.zip,
        "phone": location.phone or None,
        "formatted": [location.address1, location.city, f"{location.province_code} {location.zip}",
                      location.country],
        "latitude": None,
        "longitude": None,
    }


@field("Location", "address")
def _location_address(obj: st.Location, info: Info) -> dict:
    return location_address(obj)


@field("Location", "isActive")
def _location_active(obj: st.Location, info: Info) -> bool:
    return obj.is_active


@field("Location", "fulfillsOnlineOrders", "shipsInventory")
def _location_fulfills(obj: st.Location, info: Info) -> bool:
    return obj.fulfills_online_orders


@field("Location", "hasActiveInventory")
def _location_has_inventory(obj: st.Location, info: Info) -> bool:
    shop = shop_of(info)
    return any(obj.id in item.levels for item in shop.inventory_items.values())


@field("Location", "isFulfillmentService", "hasUnfulfilledOrders", "deletable", "addressVerified")
def _false(obj: Any, info: Info) -> bool:
    return False


@field("Location", "activatable")
def _location_activatable(obj: st.Location, info: Info) -> bool:
    return not obj.is_active


@field("Location", "deactivatable")
def _location_deactivatable(obj: st.Location, info: Info) -> bool:
    return obj.is_active and obj.id != shop_of(info).primary_location_id


@field("Location", "isPrimary")
def _location_primary(obj: st.Location, info: Info) -> bool:
    return obj.id == shop_of(info).primary_location_id


@field("Location", "fulfillmentService", "deactivatedAt", "localPickupSettingsV2")
def _none(obj: Any, info: Info) -> None:
    return None


@field("Location", "suggestedAddresses")
def _empty_list(obj: Any, info: Info) -> list:
    return []


LEVEL_SEARCH = {
    "inventory_item_id": ("number", lambda lvl: lvl.inventory_item_id),
    "location_id": ("number", lambda lvl: lvl.location_id),
    "updated_at": ("time", lambda lvl: lvl.updated_at),
    "created_at": ("time", lambda lvl: lvl.created_at),
}


@field("Location", "inventoryLevels")
def _location_levels(obj: st.Location, info: Info, query: str | None = None, **args: Any) -> dict:
    shop = shop_of(info)
    levels = [
        item.levels[obj.id] for item in shop.inventory_items.values() if obj.id in item.levels
    ]
    levels = search_filter(levels, query, LEVEL_SEARCH, [])
    return paginate(info, levels, id_fn=lambda lvl: lvl.inventory_item_id, **args)


@field("Location", "inventoryLevel")
def _location_level(obj: st.Location, info: Info, inventoryItemId: str, **_: Any) -> Any:
    item = shop_of(info).inventory_items.get(id_of(inventoryItemId, "InventoryItem") or 0)
    return item.levels.get(obj.id) if item else None


# --------------------------------------------------------------------------- inventory


@field("InventoryLevel", "id")
def _level_id(obj: st.InventoryLevel, info: Info) -> str:
    return obj.gid


@field("InventoryLevel", "location")
def _level_location(obj: st.InventoryLevel, info: Info) -> st.Location:
    return shop_of(info).locations[obj.location_id]


@field("InventoryLevel", "item")
def _level_item(obj: st.InventoryLevel, info: Info) -> st.InventoryItem:
    return shop_of(info).inventory_items[obj.inventory_item_id]


@field("InventoryLevel", "isActive")
def _level_active(obj: st.InventoryLevel, info: Info) -> bool:
    return True


@field("InventoryLevel", "canDeactivate")
def _level_can_deactivate(obj: st.InventoryLevel, info: Info) -> bool:
    item = shop_of(info).inventory_items.get(obj.inventory_item_id)
    return item is not None and len(item.levels) > 1


@field("InventoryLevel", "deactivationAlert")
def _level_alert(obj: Any, info: Info) -> None:
    return None


@field("InventoryLevel", "quantities")
def _level_quantities(obj: st.InventoryLevel, info: Info, names: list[str]) -> list[dict]:
    result = []
    for name in names:
        if name not in st.QUANTITY_NAMES:
            from shopify_emulator.resolvers.core import ShopifyError

            raise ShopifyError(
                f"'{name}' is not a valid quantity name. Valid values are: "
                + ", ".join(sorted(st.QUANTITY_NAMES)) + ".",
                "BAD_REQUEST",
            )
        updated = obj.quantity_updated_at.get(name)
        result.append(
            {
                "__typename": "InventoryQuantity",
                "id": f"gid://shopify/InventoryQuantity/{obj.group_id}?inventory_item_id="
                f"{obj.inventory_item_id}&name={name}",
                "name": name,
                "quantity": obj.get(name),
                "updatedAt": now_iso(updated) if name != "on_hand" else None,
            }
        )
    return result


@field("InventoryItem", "sku")
def _item_sku(obj: st.InventoryItem, info: Info) -> str | None:
    return obj.sku or None


@field("InventoryItem", "tracked")
def _item_tracked(obj: st.InventoryItem, info: Info) -> bool:
    return obj.tracked


@field("InventoryItem", "trackedEditable")
def _item_tracked_editable(obj: st.InventoryItem, info: Info) -> dict:
    return {"__typename": "EditableProperty", "locked": False, "reason": None}


@field("InventoryItem", "requiresShipping")
def _item_requires_shipping(obj: st.InventoryItem, info: Info) -> bool:
    return obj.requires_shipping


@field("InventoryItem", "unitCost")
def _item_cost(obj: st.InventoryItem, info: Info) -> dict | None:
    return money(obj.cost, shop_of(info).currency) if obj.cost is not None else None


@field("InventoryItem", "duplicateSkuCount")
def _item_dupes(obj: st.InventoryItem, info: Info) -> int:
    if not obj.sku:
        return 0
    return sum(1 for other in shop_of(info).inventory_items.values()
               if other.sku == obj.sku and other.id != obj.id)


@field("InventoryItem", "countryCodeOfOrigin", "provinceCodeOfOrigin", "harmonizedSystemCode",
       "inventoryHistoryUrl")
def _item_none(obj: Any, info: Info) -> None:
    return None


@field("InventoryItem", "measurement")
def _item_measurement(obj: st.InventoryItem, info: Info) -> dict:
    return {"__typename": "InventoryItemMeasurement", "id": gid("InventoryItemMeasurement", obj.id),
            "weight": {"__typename": "Weight", "unit": "KILOGRAMS", "value": 0.0}}


@field("InventoryItem", "variant")
def _item_variant(obj: st.InventoryItem, info: Info) -> st.Variant | None:
    return shop_of(info).variants.get(obj.variant_id)


@field("InventoryItem", "variants")
def _item_variants(obj: st.InventoryItem, info: Info, **args: Any) -> dict:
    variant = shop_of(info).variants.get(obj.variant_id)
    return paginate(info, [variant] if variant else [], require_page_size=False, **args)


@field("InventoryItem", "inventoryLevels")
def _item_levels(obj: st.InventoryItem, info: Info, query: str | None = None, **args: Any) -> dict:
    levels = search_filter(list(obj.levels.values()), query, LEVEL_SEARCH, [])
    return paginate(info, levels, id_fn=lambda lvl: lvl.location_id, **args)


@field("InventoryItem", "inventoryLevel")
def _item_level(obj: st.InventoryItem, info: Info, locationId: str, **_: Any) -> Any:
    return obj.levels.get(id_of(locationId, "Location") or 0)


@field("InventoryItem", "locationsCount")
def _item_locations_count(obj: st.InventoryItem, info: Info) -> dict:
    return count(len(obj.levels))


@field("InventoryItem", "countryHarmonizedSystemCodes")
def _item_hs_codes(obj: Any, info: Info, **args: Any) -> dict:
    return paginate(info, [], require_page_size=False, **args)


@field("InventoryAdjustmentGroup", "referenceDocumentUri")
def _group_reference(obj: st.AdjustmentGroup, info: Info) -> str | None:
    return obj.reference_document_uri


@field("InventoryAdjustmentGroup", "app", "staffMember")
def _group_none(obj: Any, info: Info) -> None:
    return None


@field("InventoryAdjustmentGroup", "changes")
def _group_changes(
    obj: st.AdjustmentGroup,
    info: Info,
    inventoryItemIds: list[str] | None = None,
    locationIds: list[str] | None = None,
    quantityNames: list[str] | None = None,
) -> list[dict]:
    shop = shop_of(info)
    items = {id_of(v, "InventoryItem") for v in inventoryItemIds or []}
    locations = {id_of(v, "Location") for v in locationIds or []}
    result = []
    for change in obj.changes:
        if inventoryItemIds is not None and change["item_id"] not in items:
            continue
        if locationIds is not None and change["location_id"] not in locations:
            continue
        if quantityNames is not None and change["name"] not in quantityNames:
            continue
        result.append(
            {
                "__typename": "InventoryChange",
                "name": change["name"],
                "delta": change["delta"],
                "quantityAfterChange": None,
                "ledgerDocumentUri": change.get("ledger_document_uri"),
                "item": shop.inventory_items.get(change["item_id"]),
                "location": shop.locations.get(change["location_id"]),
            }
        )
    return result


# --------------------------------------------------------------------------- products


@field("Product", "descriptionHtml", "bodyHtml")
def _product_html(obj: st.Product, info: Info) -> str:
    return obj.body_html


@field("Product", "description")
def _product_description(obj: st.Product, info: Info, truncateAt: int | None = None) -> str:
    import re

    text = re.sub(r"<[^>]+>", "", obj.body_html)
    return text[:truncateAt] if truncateAt else text


@field("Product", "productType")
def _product_type(obj: st.Product, info: Info) -> str:
    return obj.product_type


@field("Product", "publishedAt")
def _product_published(obj: st.Product, info: Info) -> str | None:
    return now_iso(obj.published_at)


@field("Product", "onlineStoreUrl", "onlineStorePreviewUrl", "templateSuffix", "category",
       "featuredImage", "featuredMedia")
def _product_none(obj: st.Product, info: Info) -> Any:
    if info.field_name in ("featuredImage", "featuredMedia") and obj.images:
        return image_obj(obj.images[0], info.field_name == "featuredMedia")
    return None


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


@field("Product", "images")
def _product_images(obj: st.Product, info: Info, **args: Any) -> dict:
    return paginate(info, [image_obj(i) for i in obj.images],
                    id_fn=lambda i: parse_gid(i["id"])[1], require_page_size=False, **args)


@field("Product", "media")
def _product_media(obj: st.Product, info: Info, query: str | None = None, sortKey: Any = None,
                   **args: Any) -> dict:
    return paginate(info, [image_obj(i, True) for i in obj.images],
                    id_fn=lambda i: parse_gid(i["id"])[1], require_page_size=False, **args)


@field("Product", "mediaCount")
def _product_media_count(obj: st.Product, info: Info, **_: Any) -> dict:
    return count(len(obj.images))


@field("Product", "options")
def _product_options(obj: st.Product, info: Info, first: int | None = None) -> list[dict]:
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


PRODUCT_VARIANT_SORT = {
    "POSITION": lambda v: v.position,
    "ID": lambda v: v.id,
    "SKU": lambda v: v.__dict__.get("_sku", ""),
    "TITLE": lambda v: v.title,
}


@field("Product", "variants")
def _product_variants(obj: st.Product, info: Info, sortKey: str | None = None,
                      **args: Any) -> dict:
    shop = shop_of(info)
    variants = shop.product_variants(obj)
    sort_fn = {"ID": lambda v: v.id, "TITLE": lambda v: v.title,
               "SKU": lambda v: shop.item_of(v).sku}.get(sortKey or "POSITION",
                                                          lambda v: v.position)
    return paginate(info, variants, sort_fn=sort_fn, max_page_size=2000, **args)


@field("Product", "variantsCount")
def _product_variants_count(obj: st.Product, info: Info, **_: Any) -> dict:
    return count(len(obj.variant_ids))


@field("Product", "totalVariants")
def _product_total_variants(obj: st.Product, info: Info) -> int:
    return len(obj.variant_ids)


@field("Product", "totalInventory")
def _product_total_inventory(obj: st.Product, info: Info) -> int:
    shop = shop_of(info)
    return sum(shop.inventory_quantity(v) for v in shop.product_variants(obj)
               if shop.item_of(v).tracked)


@field("Product", "tracksInventory")
def _product_tracks(obj: st.Product, info: Info) -> bool:
    shop = shop_of(info)
    return any(shop.item_of(v).tracked for v in shop.product_variants(obj))


@field("Product", "hasOnlyDefaultVariant")
def _product_default_only(obj: st.Product, info: Info) -> bool:
    shop = shop_of(info)
    variants = shop.product_variants(obj)
    return len(variants) == 1 and not variants[0].option_values


@field("Product", "hasOutOfStockVariants")
def _product_oos(obj: st.Product, info: Info) -> bool:
    shop = shop_of(info)
    return any(shop.item_of(v).tracked and shop.inventory_quantity(v) <= 0
               for v in shop.product_variants(obj))


@field("Product", "isGiftCard", "requiresSellingPlan", "hasVariantsThatRequiresComponents")
def _product_false(obj: Any, info: Info) -> bool:
    return False


def _price_range(obj: st.Product, info: Info) -> dict:
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
def _product_seo(obj: st.Product, info: Info) -> dict:
    return {"__typename": "SEO", "title": None, "description": None}


@field("ProductVariant", "sku")
def _variant_sku(obj: st.Variant, info: Info) -> str | None:
    return shop_of(info).item_of(obj).sku or None


@field("ProductVariant", "title")
def _variant_title(obj: st.Variant, info: Info) -> str:
    return obj.title


@field("ProductVariant", "displayName")
def _variant_display(obj: st.Variant, info: Info) -> str:
    product = shop_of(info).products[obj.product_id]
    return f"{product.title} - {obj.title}"


@field("ProductVariant", "price")
def _variant_price(obj: st.Variant, info: Info) -> str:
    return obj.price


@field("ProductVariant", "compareAtPrice")
def _variant_compare(obj: st.Variant, info: Info) -> str | None:
    return obj.compare_at_price


@field("ProductVariant", "inventoryQuantity", "sellableOnlineQuantity")
def _variant_quantity(obj: st.Variant, info: Info) -> int:
    return shop_of(info).inventory_quantity(obj)


@field("ProductVariant", "inventoryPolicy")
def _variant_policy(obj: st.Variant, info: Info) -> str:
    return obj.inventory_policy


@field("ProductVariant", "inventoryItem")
def _variant_item(obj: st.Variant, info: Info) -> st.InventoryItem:
    return shop_of(info).item_of(obj)


@field("ProductVariant", "product")
def _variant_product(obj: st.Variant, info: Info) -> st.Product:
    return shop_of(info).products[obj.product_id]


@field("ProductVariant", "availableForSale")
def _variant_for_sale(obj: st.Variant, info: Info) -> bool:
    shop = shop_of(info)
    item = shop.item_of(obj)
    return (not item.tracked or obj.inventory_policy == "CONTINUE"
            or shop.inventory_quantity(obj) > 0)


@field("ProductVariant", "selectedOptions")
def _variant_options(obj: st.Variant, info: Info) -> list[dict]:
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
def _variant_cursor(obj: st.Variant, info: Info) -> str:
    from shopify_emulator.resolvers.core import encode_cursor

    return encode_cursor(obj.id, obj.id)


# --------------------------------------------------------------------------- orders

FINANCIAL = {
    "pending": "PENDING", "authorized": "AUTHORIZED", "partially_paid": "PARTIALLY_PAID",
    "paid": "PAID", "partially_refunded": "PARTIALLY_REFUNDED", "refunded": "REFUNDED",
    "voided": "VOIDED", "expired": "EXPIRED",
}


@field("Order", "name")
def _order_name(obj: st.Order, info: Info) -> str:
    return obj.name


@field("Order", "number")
def _order_number(obj: st.Order, info: Info) -> int:
    return obj.number - 1000


@field("Order", "processedAt")
def _order_processed(obj: st.Order, info: Info) -> str | None:
    return now_iso(obj.processed_at)


@field("Order", "cancelledAt")
def _order_cancelled(obj: st.Order, info: Info) -> str | None:
    return now_iso(obj.cancelled_at)


@field("Order", "closedAt")
def _order_closed_at(obj: st.Order, info: Info) -> str | None:
    return now_iso(obj.closed_at)


@field("Order", "closed")
def _order_closed(obj: st.Order, info: Info) -> bool:
    return obj.closed_at is not None


@field("Order", "cancelReason")
def _order_cancel_reason(obj: st.Order, info: Info) -> str | None:
    return obj.cancel_reason.upper() if obj.cancel_reason else None


@field("Order", "confirmed")
def _true(obj: Any, info: Info) -> bool:
    return True


@field("Order", "currencyCode", "presentmentCurrencyCode")
def _order_currency(obj: st.Order, info: Info) -> str:
    return obj.currency


@field("Order", "displayFinancialStatus")
def _order_financial(obj: st.Order, info: Info) -> str:
    return FINANCIAL.get(obj.financial_status, obj.financial_status.upper())


@field("Order", "displayFulfillmentStatus")
def _order_fulfillment_status(obj: st.Order, info: Info) -> str:
    status = st.order_fulfillment_status(shop_of(info), obj)
    shop = shop_of(info)
    if status is None:
        fos = [shop.fulfillment_orders[f] for f in obj.fulfillment_order_ids]
        if fos and all(fo.status == "IN_PROGRESS" for fo in fos):
            return "IN_PROGRESS"
        return "UNFULFILLED"
    return {"partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED",
            "restocked": "RESTOCKED"}[status]


@field("Order", "fullyPaid")
def _order_fully_paid(obj: st.Order, info: Info) -> bool:
    return obj.financial_status in ("paid", "partially_refunded", "refunded")


@field("Order", "unpaid")
def _order_unpaid(obj: st.Order, info: Info) -> bool:
    return obj.financial_status in ("pending", "authorized", "expired")


@field("Order", "fulfillable")
def _order_fulfillable(obj: st.Order, info: Info) -> bool:
    shop = shop_of(info)
    return obj.cancelled_at is None and any(
        st.order_line_fulfillable(shop, obj, li) > 0 for li in obj.line_items
    )


@field("Order", "refundable", "restockable")
def _order_refundable(obj: st.Order, info: Info) -> bool:
    return any(li.quantity > li.refunded_quantity for li in obj.line_items)


@field("Order", "requiresShipping")
def _order_requires_shipping(obj: st.Order, info: Info) -> bool:
    return any(li.requires_shipping for li in obj.line_items)


@field("Order", "test")
def _order_test(obj: st.Order, info: Info) -> bool:
    return obj.test


@field("Order", "tags")
def _tags(obj: Any, info: Info) -> list[str]:
    return list(obj.tags)


@field("Order", "sourceName")
def _order_source(obj: st.Order, info: Info) -> str:
    return obj.source_name


@field("Order", "sourceIdentifier")
def _order_source_id(obj: st.Order, info: Info) -> str | None:
    return obj.source_identifier


@field("Order", "taxesIncluded", "taxExempt", "edited", "dutiesIncluded", "capturable",
       "customerAcceptsMarketing", "canMarkAsPaid", "hasTimelineComment", "merchantEditable")
def _order_false(obj: st.Order, info: Info) -> bool:
    if info.field_name == "canMarkAsPaid":
        return obj.financial_status == "pending"
    if info.field_name == "merchantEditable":
        return obj.cancelled_at is None
    return False


@field("Order", "paymentGatewayNames")
def _order_gateways(obj: st.Order, info: Info) -> list[str]:
    return ["manual"] if obj.financial_status != "pending" else []


@field("Order", "customer")
def _order_customer(obj: st.Order, info: Info) -> dict | None:
    return customer_obj(obj.customer)


def customer_obj(data: dict | None) -> dict | None:
    if not data:
        return None
    first, last = data.get("first_name"), data.get("last_name")
    display = " ".join(p for p in (first, last) if p) or data.get("email") or ""
    email_obj = (
        {"__typename": "CustomerEmailAddress", "emailAddress": data["email"]}
        if data.get("email") else None
    )
    return {
        "__typename": "Customer",
        "id": gid("Customer", data["id"]),
        "legacyResourceId": str(data["id"]),
        "firstName": first,
        "lastName": last,
        "displayName": display,
        "email": data.get("email"),
        "phone": data.get("phone"),
        "defaultEmailAddress": email_obj,
        "defaultPhoneNumber": None,
        "tags": [t for t in (data.get("tags") or "").split(",") if t],
        "createdAt": now_iso(data.get("created_at")),
        "updatedAt": now_iso(data.get("updated_at")),
        "state": "ENABLED",
        "verifiedEmail": True,
        "note": None,
    }


@field("Order", "shippingAddress")
def _order_shipping_address(obj: st.Order, info: Info) -> dict | None:
    return address_dict(obj.shipping_address, obj_id=obj.id)


@field("Order", "billingAddress")
def _order_billing_address(obj: st.Order, info: Info) -> dict | None:
    return address_dict(obj.billing_address, obj_id=obj.id + 1)


@field("Order", "displayAddress")
def _order_display_address(obj: st.Order, info: Info) -> dict | None:
    return address_dict(obj.shipping_address or obj.billing_address, obj_id=obj.id)


@field("Order", "billingAddressMatchesShippingAddress")
def _order_addresses_match(obj: st.Order, info: Info) -> bool:
    return obj.billing_address == obj.shipping_address


def shipping_line_obj(order: st.Order, line: dict) -> dict:
    price = money_bag(line["price"], order.currency)
    return {
        "__typename": "ShippingLine",
        "id": gid("ShippingLine", line["id"]),
        "title": line["title"],
        "code": line["code"],
        "source": line.get("source"),
        "carrierIdentifier": None,
        "custom": True,
        "isRemoved": False,
        "originalPriceSet": price,
        "discountedPriceSet": price,
        "currentDiscountedPriceSet": price,
        "taxLines": [],
        "discountAllocations": [],
        "deliveryCategory": None,
        "phone": None,
        "shippingRateHandle": None,
    }


@field("Order", "shippingLines")
def _order_shipping_lines(obj: st.Order, info: Info, includeRemovals: bool = False,
                          **args: Any) -> dict:
    lines = [shipping_line_obj(obj, line) for line in obj.shipping_lines]
    return paginate(info, lines, id_fn=lambda line: parse_gid(line["id"])[1], **args)


@field("Order", "shippingLine")
def _order_shipping_line(obj: st.Order, info: Info) -> dict | None:
    return shipping_line_obj(obj, obj.shipping_lines[0]) if obj.shipping_lines else None


@field("Order", "lineItems")
def _order_line_items(obj: st.Order, info: Info, **args: Any) -> dict:
    return paginate(info, obj.line_items, **args)


@field("Order", "subtotalLineItemsQuantity")
def _order_quantity(obj: st.Order, info: Info) -> int:
    return sum(li.quantity for li in obj.line_items)


@field("Order", "currentSubtotalLineItemsQuantity")
def _order_current_quantity(obj: st.Order, info: Info) -> int:
    return sum(li.quantity - li.refunded_quantity for li in obj.line_items)


def _refunded_amount(shop: st.Shop, order: st.Order) -> Decimal:
    return sum((Decimal(t["amount"]) for r in order.refund_ids
                for t in shop.refunds[r].transactions), Decimal("0.00"))


def _current_subtotal(order: st.Order) -> Decimal:
    return sum((Decimal(li.price) * (li.quantity - li.refunded_quantity)
                for li in order.line_items), Decimal("0.00"))


@field("Order", "totalPriceSet", "originalTotalPriceSet")
def _order_total(obj: st.Order, info: Info) -> dict:
    return money_bag(obj.total, obj.currency)


@field("Order", "totalPrice")
def _order_total_price(obj: st.Order, info: Info) -> str:
    return st.money_str(obj.total)


@field("Order", "subtotalPriceSet")
def _order_subtotal(obj: st.Order, info: Info) -> dict:
    return money_bag(obj.subtotal, obj.currency)


@field("Order", "currentSubtotalPriceSet")
def _order_current_subtotal(obj: st.Order, info: Info) -> dict:
    return money_bag(_current_subtotal(obj), obj.currency)


@field("Order", "currentTotalPriceSet")
def _order_current_total(obj: st.Order, info: Info) -> dict:
    return money_bag(_current_subtotal(obj) + obj.shipping_total, obj.currency)


@field("Order", "totalShippingPriceSet", "currentShippingPriceSet")
def _order_shipping_total(obj: st.Order, info: Info) -> dict:
    return money_bag(obj.shipping_total, obj.currency)


@field("Order", "totalTaxSet", "currentTotalTaxSet", "totalDiscountsSet",
       "currentTotalDiscountsSet", "currentCartDiscountAmountSet", "totalTipReceivedSet",
       "totalCashRoundingAdjustment", "totalRefundedShippingSet", "totalCapturableSet",
       "refundDiscrepancySet")
def _order_zero(obj: st.Order, info: Info) -> dict:
    if info.field_name == "totalCashRoundingAdjustment":
        return {"__typename": "CashRoundingAdjustment",
                "paymentSet": money_bag(0, obj.currency), "refundSet": money_bag(0, obj.currency)}
    return money_bag(0, obj.currency)


@field("Order", "totalRefundedSet")
def _order_refunded(obj: st.Order, info: Info) -> dict:
    return money_bag(_refunded_amount(shop_of(info), obj), obj.currency)


@field("Order", "totalReceivedSet", "netPaymentSet")
def _order_received(obj: st.Order, info: Info) -> dict:
    paid = obj.total if obj.financial_status in ("paid", "partially_refunded", "refunded") else 0
    if info.field_name == "netPaymentSet":
        paid = Decimal(paid) - _refunded_amount(shop_of(info), obj)
    return money_bag(paid, obj.currency)


@field("Order", "totalOutstandingSet")
def _order_outstanding(obj: st.Order, info: Info) -> dict:
    unpaid = obj.financial_status in ("pending", "authorized", "partially_paid")
    return money_bag(obj.total if unpaid else 0, obj.currency)


@field("Order", "taxLines", "currentTaxLines", "discountCodes", "customAttributes", "alerts",
       "additionalFees", "nonFulfillableLineItems")
def _order_empty(obj: Any, info: Info, **_: Any) -> Any:
    if info.field_name == "nonFulfillableLineItems":
        return paginate(info, [], require_page_size=False, **_)
    return []


@field("Order", "discountCode", "poNumber", "paymentTerms", "cancellation", "app", "channel",
       "purchasingEntity", "retailLocation", "staffMember", "clientIp", "cartToken",
       "checkoutToken", "customerLocale", "confirmationNumber", "statusPageUrl")
def _order_none(obj: st.Order, info: Info) -> Any:
    if info.field_name == "statusPageUrl":
        return f"https://{shop_of(info).domain}/orders/{obj.id}/authenticate"
    if info.field_name == "confirmationNumber":
        return f"C{obj.id % 1_000_000_000:09d}"
    return None


@field("Order", "fulfillmentOrders")
def _order_fulfillment_orders(obj: st.Order, info: Info, displayable: bool = False,
                              query: str | None = None, **args: Any) -> dict:
    shop = shop_of(info)
    fos = [shop.fulfillment_orders[f] for f in obj.fulfillment_order_ids]
    fos = search_filter(fos, query, FULFILLMENT_ORDER_SEARCH, [])
    return paginate(info, fos, **args)


@field("Order", "fulfillments")
def _order_fulfillments(obj: st.Order, info: Info, first: int | None = None,
                        query: str | None = None) -> list:
    shop = shop_of(info)
    result = [shop.fulfillments[f] for f in obj.fulfillment_ids]
    return result[:first] if first is not None else result


@field("Order", "fulfillmentsCount")
def _order_fulfillments_count(obj: st.Order, info: Info, **_: Any) -> dict:
    return count(len(obj.fulfillment_ids))


@field("Order", "refunds")
def _order_refunds(obj: st.Order, info: Info, first: int | None = None) -> list:
    shop = shop_of(info)
    result = [shop.refunds[r] for r in obj.refund_ids]
    return result[:first] if first is not None else result


@field("Order", "transactions")
def _order_transactions(obj: st.Order, info: Info, first: int | None = None,
                        capturable: bool | None = None, manuallyResolvable: bool | None = None
                        ) -> list:
    shop = shop_of(info)
    result = []
    if obj.financial_status != "pending":
        result.append(transaction_obj(obj, {"id": obj.id + 7, "kind": "sale", "status": "success",
                                            "amount": st.money_str(obj.total),
                                            "gateway": "manual",
                                            "created_at": obj.processed_at}))
    for refund_id in obj.refund_ids:
        for t in shop.refunds[refund_id].transactions:
            result.append(transaction_obj(obj, t))
    return result[:first] if first is not None else result


def transaction_obj(order: st.Order, t: dict) -> dict:
    return {
        "__typename": "OrderTransaction",
        "id": gid("OrderTransaction", t["id"]),
        "kind": t["kind"].upper(),
        "status": t["status"].upper(),
        "gateway": t["gateway"],
        "formattedGateway": t["gateway"].title(),
        "amountSet": money_bag(t["amount"], order.currency),
        "createdAt": now_iso(t["created_at"]),
        "processedAt": now_iso(t["created_at"]),
        "test": order.test,
        "manualPaymentGateway": True,
        "manuallyCapturable": False,
        "multiCapturable": False,
        "fees": [],
        "parentTransaction": None,
        "errorCode": None,
    }


@field("LineItem", "currentQuantity")
def _line_current(obj: st.LineItem, info: Info) -> int:
    return obj.quantity - obj.refunded_quantity


@field("LineItem", "unfulfilledQuantity", "fulfillableQuantity")
def _line_unfulfilled(obj: st.LineItem, info: Info) -> int:
    shop = shop_of(info)
    order = _order_of_line(shop, obj)
    return st.order_line_fulfillable(shop, order, obj) if order else 0


def _order_of_line(shop: st.Shop, line: st.LineItem) -> st.Order | None:
    return shop.orders.get(line.order_id)


@field("LineItem", "nonFulfillableQuantity")
def _line_non_fulfillable(obj: st.LineItem, info: Info) -> int:
    shop = shop_of(info)
    order = _order_of_line(shop, obj)
    fulfillable = st.order_line_fulfillable(shop, order, obj) if order else 0
    return max(0, obj.quantity - obj.fulfilled_quantity - fulfillable)


@field("LineItem", "refundableQuantity")
def _line_refundable(obj: st.LineItem, info: Info) -> int:
    return obj.quantity - obj.refunded_quantity


@field("LineItem", "fulfillmentStatus")
def _line_fulfillment_status(obj: st.LineItem, info: Info) -> str:
    if obj.fulfilled_quantity == 0:
        return "unfulfilled"
    return "fulfilled" if obj.fulfilled_quantity >= obj.quantity - obj.refunded_quantity \
        else "partial"


@field("LineItem", "name")
def _line_name(obj: st.LineItem, info: Info) -> str:
    return obj.title if not obj.variant_title else f"{obj.title} - {obj.variant_title}"


@field("LineItem", "sku")
def _line_sku(obj: st.LineItem, info: Info) -> str | None:
    return obj.sku or None


@field("LineItem", "variantTitle")
def _line_variant_title(obj: st.LineItem, info: Info) -> str | None:
    return obj.variant_title or None


@field("LineItem", "vendor")
def _line_vendor(obj: st.LineItem, info: Info) -> str | None:
    return obj.vendor or None


@field("LineItem", "requiresShipping")
def _line_requires_shipping(obj: st.LineItem, info: Info) -> bool:
    return obj.requires_shipping


@field("LineItem", "restockable", "canRestock")
def _line_restockable(obj: st.LineItem, info: Info) -> bool:
    return obj.variant_id is not None and obj.quantity > obj.refunded_quantity


@field("LineItem", "isGiftCard", "merchantEditable")
def _line_false(obj: Any, info: Info) -> bool:
    return False


@field("LineItem", "variant")
def _line_variant(obj: st.LineItem, info: Info) -> st.Variant | None:
    return shop_of(info).variants.get(obj.variant_id) if obj.variant_id else None


@field("LineItem", "product")
def _line_product(obj: st.LineItem, info: Info) -> st.Product | None:
    return shop_of(info).products.get(obj.product_id) if obj.product_id else None


def _line_currency(info: Info, line: st.LineItem) -> str:
    shop = shop_of(info)
    order = _order_of_line(shop, line)
    return order.currency if order else shop.currency


@field("LineItem", "originalUnitPriceSet", "discountedUnitPriceSet",
       "discountedUnitPriceAfterAllDiscountsSet")
def _line_unit_price(obj: st.LineItem, info: Info) -> dict:
    return money_bag(obj.price, _line_currency(info, obj))


@field("LineItem", "originalUnitPrice", "discountedUnitPrice")
def _line_unit_price_plain(obj: st.LineItem, info: Info) -> str:
    return obj.price


@field("LineItem", "originalTotalSet", "discountedTotalSet", "priceAfterAllDiscountsBeforeTaxesSet")
def _line_total(obj: st.LineItem, info: Info) -> dict:
    return money_bag(Decimal(obj.price) * obj.quantity, _line_currency(info, obj))


@field("LineItem", "unfulfilledOriginalTotalSet", "unfulfilledDiscountedTotalSet")
def _line_unfulfilled_total(obj: st.LineItem, info: Info) -> dict:
    return money_bag(Decimal(obj.price) * _line_unfulfilled(obj, info), _line_currency(info, obj))


@field("LineItem", "totalDiscountSet")
def _line_discount(obj: st.LineItem, info: Info) -> dict:
    return money_bag(0, _line_currency(info, obj))


@field("LineItem", "taxLines", "discountAllocations", "duties", "customAttributes")
def _line_empty(obj: Any, info: Info, **_: Any) -> list:
    return []


@field("LineItem", "image", "sellingPlan", "contract", "staffMember", "lineItemGroup")
def _line_none(obj: Any, info: Info, **_: Any) -> None:
    return None


# ---- fulfillment orders

FULFILLMENT_ORDER_SEARCH = {
    "status": ("text", lambda fo: fo.status),
    "assigned_location_id": ("number", lambda fo: fo.location_id),
    "updated_at": ("time", lambda fo: fo.updated_at),
    "id": ("number", lambda fo: fo.id),
}


@field("FulfillmentOrder", "order")
def _fo_order(obj: st.FulfillmentOrder, info: Info) -> st.Order:
    return shop_of(info).orders[obj.order_id]


@field("FulfillmentOrder", "orderId")
def _fo_order_id(obj: st.FulfillmentOrder, info: Info) -> str:
    return gid("Order", obj.order_id)


@field("FulfillmentOrder", "orderName")
def _fo_order_name(obj: st.FulfillmentOrder, info: Info) -> str:
    return shop_of(info).orders[obj.order_id].name


@field("FulfillmentOrder", "orderProcessedAt")
def _fo_order_processed(obj: st.FulfillmentOrder, info: Info) -> str | None:
    return now_iso(shop_of(info).orders[obj.order_id].processed_at)


@field("FulfillmentOrder", "status")
def _fo_status(obj: st.FulfillmentOrder, info: Info) -> str:
    return obj.status


@field("FulfillmentOrder", "requestStatus")
def _fo_request_status(obj: st.FulfillmentOrder, info: Info) -> str:
    return obj.request_status


@field("FulfillmentOrder", "assignedLocation")
def _fo_assigned(obj: st.FulfillmentOrder, info: Info) -> dict:
    location = shop_of(info).locations[obj.location_id]
    return {
        "__typename": "FulfillmentOrderAssignedLocation",
        "name": location.name,
        "address1": location.address1,
        "address2": None,
        "city": location.city,
        "province": location.province,
        "zip": location.zip,
        "countryCode": location.country_code,
        "phone": location.phone or None,
        "location": location,
    }


@field("FulfillmentOrder", "destination")
def _fo_destination(obj: st.FulfillmentOrder, info: Info) -> dict | None:
    order = shop_of(info).orders[obj.order_id]
    data = order.shipping_address
    if not data:
        return None
    address = address_dict(data, "FulfillmentOrderDestination", obj.id)
    assert address is not None
    address["id"] = gid("FulfillmentOrderDestination", obj.id)
    address["email"] = order.email
    return address


@field("FulfillmentOrder", "deliveryMethod")
def _fo_delivery(obj: st.FulfillmentOrder, info: Info) -> dict:
    return {"__typename": "DeliveryMethod", "id": gid("DeliveryMethod", obj.id),
            "methodType": "SHIPPING", "serviceCode": None, "presentedName": None}


@field("FulfillmentOrder", "lineItems")
def _fo_line_items(obj: st.FulfillmentOrder, info: Info, **args: Any) -> dict:
    return paginate(info, obj.line_items, **args)


@field("FulfillmentOrder", "fulfillments")
def _fo_fulfillments(obj: st.FulfillmentOrder, info: Info, **args: Any) -> dict:
    shop = shop_of(info)
    return paginate(info, [shop.fulfillments[f] for f in obj.fulfillment_ids], **args)


@field("FulfillmentOrder", "supportedActions")
def _fo_actions(obj: st.FulfillmentOrder, info: Info) -> list[dict]:
    if obj.status in ("OPEN", "IN_PROGRESS"):
        actions = ["CREATE_FULFILLMENT", "REPORT_PROGRESS", "MOVE", "HOLD", "SPLIT"]
    else:
        actions = []
    return [{"__typename": "FulfillmentOrderSupportedAction", "action": a, "externalUrl": None}
            for a in actions]


@field("FulfillmentOrder", "fulfillmentHolds", "merchantRequests", "locationsForMove",
       "fulfillmentOrdersForMerge")
def _fo_empty(obj: Any, info: Info, **args: Any) -> Any:
    if info.field_name == "fulfillmentHolds":
        return []
    return paginate(info, [], require_page_size=False, **args)


@field("FulfillmentOrder", "fulfillAt", "fulfillBy", "channelId", "internationalDuties",
       "remainingLineItemsWeight")
def _fo_none(obj: Any, info: Info) -> None:
    return None


@field("FulfillmentOrderLineItem", "lineItem")
def _foli_line(obj: st.FulfillmentOrderLineItem, info: Info) -> st.LineItem | None:
    order = shop_of(info).orders.get(obj.order_id)
    return order.line(obj.line_item_id) if order else None


@field("FulfillmentOrderLineItem", "totalQuantity")
def _foli_total(obj: st.FulfillmentOrderLineItem, info: Info) -> int:
    return obj.total_quantity


@field("FulfillmentOrderLineItem", "remainingQuantity")
def _foli_remaining(obj: st.FulfillmentOrderLineItem, info: Info) -> int:
    return obj.remaining_quantity


@field("FulfillmentOrderLineItem", "inventoryItemId")
def _foli_item(obj: st.FulfillmentOrderLineItem, info: Info) -> str | None:
    return gid("InventoryItem", obj.inventory_item_id) if obj.inventory_item_id else None


@field("FulfillmentOrderLineItem", "sku", "productTitle", "variantTitle", "vendor",
       "requiresShipping", "variant")
def _foli_from_line(obj: st.FulfillmentOrderLineItem, info: Info) -> Any:
    line = _foli_line(obj, info)
    if line is None:
        return None
    return {
        "sku": line.sku or None,
        "productTitle": line.title,
        "variantTitle": line.variant_title or None,
        "vendor": line.vendor or None,
        "requiresShipping": line.requires_shipping,
        "variant": shop_of(info).variants.get(line.variant_id) if line.variant_id else None,
    }[info.field_name]


@field("FulfillmentOrderLineItem", "warnings", "financialSummaries")
def _foli_empty(obj: Any, info: Info) -> list:
    return []


@field("FulfillmentOrderLineItem", "image", "weight", "shippingLine")
def _foli_none(obj: Any, info: Info) -> None:
    return None


# ---- fulfillments

FULFILLMENT_DISPLAY = {"success": "FULFILLED", "cancelled": "CANCELED", "pending": None,
                       "open": None, "error": None, "failure": None}


@field("Fulfillment", "status")
def _fulfillment_status(obj: st.Fulfillment, info: Info) -> str:
    return obj.status.upper()


@field("Fulfillment", "displayStatus")
def _fulfillment_display(obj: st.Fulfillment, info: Info) -> str | None:
    if obj.shipment_status:
        return obj.shipment_status.upper()
    return FULFILLMENT_DISPLAY.get(obj.status)


@field("Fulfillment", "name")
def _fulfillment_name(obj: st.Fulfillment, info: Info) -> str:
    return obj.name


@field("Fulfillment", "order")
def _fulfillment_order(obj: st.Fulfillment, info: Info) -> st.Order:
    return shop_of(info).orders[obj.order_id]


@field("Fulfillment", "location")
def _fulfillment_location(obj: st.Fulfillment, info: Info) -> st.Location | None:
    return shop_of(info).locations.get(obj.location_id)


@field("Fulfillment", "totalQuantity")
def _fulfillment_quantity(obj: st.Fulfillment, info: Info) -> int:
    return sum(entry["quantity"] for entry in obj.line_items)


@field("Fulfillment", "requiresShipping")
def _fulfillment_requires_shipping(obj: Any, info: Info) -> bool:
    return True


@field("Fulfillment", "trackingInfo")
def _fulfillment_tracking(obj: st.Fulfillment, info: Info, first: int | None = None) -> list:
    count_numbers = max(len(obj.tracking_numbers), len(obj.tracking_urls))
    result = []
    for index in range(count_numbers):
        result.append(
            {
                "__typename": "FulfillmentTrackingInfo",
                "company": obj.tracking_company,
                "number": obj.tracking_numbers[index] if index < len(obj.tracking_numbers)
                else None,
                "url": obj.tracking_urls[index] if index < len(obj.tracking_urls) else None,
            }
        )
    if not result and obj.tracking_company:
        result.append({"__typename": "FulfillmentTrackingInfo", "company": obj.tracking_company,
                       "number": None, "url": None})
    return result[:first] if first is not None else result


@field("Fulfillment", "fulfillmentLineItems")
def _fulfillment_lines(obj: st.Fulfillment, info: Info, **args: Any) -> dict:
    shop = shop_of(info)
    order = shop.orders[obj.order_id]
    items = []
    for entry in obj.line_items:
        line = order.line(entry["line_item_id"])
        total = Decimal(line.price) * entry["quantity"] if line else Decimal(0)
        items.append(
            {
                "__typename": "FulfillmentLineItem",
                "id": gid("FulfillmentLineItem", entry["id"]),
                "quantity": entry["quantity"],
                "lineItem": line,
                "originalTotalSet": money_bag(total, order.currency),
                "discountedTotalSet": money_bag(total, order.currency),
                "_id": entry["id"],
            }
        )
    return paginate(info, items, id_fn=lambda i: i["_id"], **args)


@field("Fulfillment", "fulfillmentOrders")
def _fulfillment_fos(obj: st.Fulfillment, info: Info, **args: Any) -> dict:
    shop = shop_of(info)
    return paginate(info, [shop.fulfillment_orders[f] for f in obj.fulfillment_order_ids],
                    **args)


@field("Fulfillment", "events")
def _fulfillment_events(obj: Any, info: Info, **args: Any) -> dict:
    return paginate(info, [], require_page_size=False, **args)


@field("Fulfillment", "service")
def _fulfillment_service(obj: st.Fulfillment, info: Info) -> dict:
    return {"__typename": "FulfillmentService", "id": gid("FulfillmentService", 1),
            "handle": "manual", "serviceName": "Manual", "type": "MANUAL"}


@field("Fulfillment", "deliveredAt", "estimatedDeliveryAt", "inTransitAt", "originAddress",
       "shippingLabel")
def _fulfillment_none(obj: Any, info: Info) -> None:
    return None


# ---- refunds


@field("Refund", "note")
def _refund_note(obj: st.Refund, info: Info) -> str | None:
    return obj.note


@field("Refund", "processedAt")
def _refund_processed(obj: st.Refund, info: Info) -> str | None:
    return now_iso(obj.created_at)


@field("Refund", "order")
def _refund_order(obj: st.Refund, info: Info) -> st.Order:
    return shop_of(info).orders[obj.order_id]


@field("Refund", "totalRefundedSet")
def _refund_total(obj: st.Refund, info: Info) -> dict:
    order = shop_of(info).orders[obj.order_id]
    total = sum((Decimal(t["amount"]) for t in obj.transactions), Decimal("0.00"))
    return money_bag(total, order.currency)


@field("Refund", "refundLineItems")
def _refund_lines(obj: st.Refund, info: Info, **args: Any) -> dict:
    shop = shop_of(info)
    order = shop.orders[obj.order_id]
    items = []
    for rli in obj.refund_line_items:
        line = order.line(rli["line_item_id"])
        items.append(
            {
                "__typename": "RefundLineItem",
                "id": gid("RefundLineItem", rli["id"]),
                "_id": rli["id"],
                "lineItem": line,
                "quantity": rli["quantity"],
                "restockType": rli["restock_type"].upper(),
                "restocked": rli["restock_type"] in ("cancel", "return"),
                "location": shop.locations.get(rli["location_id"]) if rli.get("location_id")
                else None,
                "priceSet": money_bag(line.price if line else 0, order.currency),
                "subtotalSet": money_bag(rli["subtotal"], order.currency),
                "totalTaxSet": money_bag(0, order.currency),
            }
        )
    return paginate(info, items, id_fn=lambda i: i["_id"], require_page_size=False, **args)


@field("Refund", "transactions")
def _refund_transactions(obj: st.Refund, info: Info, **args: Any) -> dict:
    order = shop_of(info).orders[obj.order_id]
    items = [dict(transaction_obj(order, t), _id=t["id"]) for t in obj.transactions]
    return paginate(info, items, id_fn=lambda i: i["_id"], require_page_size=False, **args)


@field("Refund", "orderAdjustments", "refundShippingLines")
def _refund_empty(obj: Any, info: Info, **args: Any) -> dict:
    return paginate(info, [], require_page_size=False, **args)


@field("Refund", "duties", "return", "staffMember")
def _refund_none(obj: Any, info: Info) -> None:
    return None


# ---- webhook subscriptions and bulk operations

TOPIC_EXCEPTIONS = {
    "APP_SCOPES_UPDATE": "app/scopes_update",
    "CUSTOMERS_DATA_REQUEST": "customers/data_request",
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    "INVENTORY_LEVELS_CONNECT": "inventory_levels/connect",
    "APP_SUBSCRIPTIONS_UPDATE": "app_subscriptions/update",
    "APP_SUBSCRIPTIONS_APPROACHING_CAPPED_AMOUNT": "app_subscriptions/approaching_capped_amount",
    "APP_PURCHASES_ONE_TIME_UPDATE": "app_purchases_one_time/update",
    "FULFILLMENT_ORDERS_ORDER_ROUTING_COMPLETE": "fulfillment_orders/order_routing_complete",
    "FULFILLMENT_ORDERS_PLACED_ON_HOLD": "fulfillment_orders/placed_on_hold",
    "FULFILLMENT_ORDERS_HOLD_RELEASED": "fulfillment_orders/hold_released",
    "ORDER_TRANSACTIONS_CREATE": "order_transactions/create",
    "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE": "customers_email_marketing_consent/update",
    "CUSTOMERS_MARKETING_CONSENT_UPDATE": "customers_marketing_consent/update",
    "DRAFT_ORDERS_CREATE": "draft_orders/create",
    "DRAFT_ORDERS_UPDATE": "draft_orders/update",
    "DRAFT_ORDERS_DELETE": "draft_orders/delete",
}


def topic_to_rest(enum_value: str) -> str:
    if enum_value in TOPIC_EXCEPTIONS:
        return TOPIC_EXCEPTIONS[enum_value]
    resource, _, action = enum_value.lower().rpartition("_")
    return f"{resource}/{action}"


def topic_to_enum(rest_topic: str) -> str:
    return rest_topic.replace("/", "_").upper()


@field("WebhookSubscription", "topic")
def _sub_topic(obj: st.WebhookSubscription, info: Info) -> str:
    return topic_to_enum(obj.topic)


@field("WebhookSubscription", "uri", "callbackUrl")
def _sub_uri(obj: st.WebhookSubscription, info: Info) -> str:
    return obj.uri


@field("WebhookSubscription", "format")
def _sub_format(obj: st.WebhookSubscription, info: Info) -> str:
    return obj.format


@field("WebhookSubscription", "includeFields")
def _sub_fields(obj: st.WebhookSubscription, info: Info) -> list[str]:
    return list(obj.include_fields)


@field("WebhookSubscription", "filter")
def _sub_filter(obj: st.WebhookSubscription, info: Info) -> str | None:
    return obj.filter


@field("WebhookSubscription", "name")
def _sub_name(obj: st.WebhookSubscription, info: Info) -> str | None:
    return obj.name


@field("WebhookSubscription", "metafieldNamespaces", "metafields")
def _sub_empty(obj: Any, info: Info) -> list:
    return []


@field("WebhookSubscription", "apiVersion")
def _sub_version(obj: st.WebhookSubscription, info: Info) -> dict:
    version = ctx(info).api_version
    return {"__typename": "ApiVersion", "handle": version, "displayName": version,
            "supported": True}


@field("WebhookSubscription", "endpoint")
def _sub_endpoint(obj: st.WebhookSubscription, info: Info) -> dict:
    return {"__typename": "WebhookHttpEndpoint", "callbackUrl": obj.uri}


@field("BulkOperation", "status")
def _bulk_status(obj: st.BulkOperation, info: Info) -> str:
    return obj.status


@field("BulkOperation", "type")
def _bulk_type(obj: st.BulkOperation, info: Info) -> str:
    return obj.type


@field("BulkOperation", "errorCode")
def _bulk_error(obj: st.BulkOperation, info: Info) -> str | None:
    return obj.error_code


@field("BulkOperation", "completedAt")
def _bulk_completed(obj: st.BulkOperation, info: Info) -> str | None:
    return now_iso(obj.completed_at)


@field("BulkOperation", "objectCount")
def _bulk_count(obj: st.BulkOperation, info: Info) -> str:
    return str(obj.object_count)


@field("BulkOperation", "rootObjectCount")
def _bulk_root_count(obj: st.BulkOperation, info: Info) -> str:
    return str(obj.root_object_count)


@field("BulkOperation", "fileSize")
def _bulk_size(obj: st.BulkOperation, info: Info) -> str | None:
    return str(obj.file_size) if obj.file_size is not None else None


@field("BulkOperation", "url")
def _bulk_url(obj: st.BulkOperation, info: Info) -> str | None:
    return ctx(info).world.bulk_url(obj)


@field("BulkOperation", "partialDataUrl")
def _bulk_partial(obj: st.BulkOperation, info: Info) -> None:
    return None
