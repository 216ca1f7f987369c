"""Variant mutations: productVariantsBulkUpdate, productVariantsBulkCreate,
productVariantsBulkDelete."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator import formats
from shopify_emulator.admin_graphql.registry import ctx, field
from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.inventory import rest as inventory_rest
from shopify_emulator.domains.inventory.models import InventoryItem, InventoryLevel
from shopify_emulator.domains.inventory.operations import level_activate, level_change
from shopify_emulator.domains.products import rest as products_rest
from shopify_emulator.domains.products.inputs import (
    item_input_apply,
    variant_input_apply,
    variant_option_values,
)
from shopify_emulator.domains.products.models import Product, Variant
from shopify_emulator.domains.products.operations import variant_add, variant_remove

Info = GraphQLResolveInfo
M = "Mutation"


@field(M, "productVariantsBulkUpdate")
def product_variants_bulk_update(root: Any, info: Info, productId: str, variants: list[dict],
                                 media: list | None = None,
                                 allowPartialUpdates: bool = False) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = "ProductVariantsBulkUpdatePayload"
    error_type = "ProductVariantsBulkUpdateUserError"

    def payload(product: Product | None, updated: list | None, errors: list[dict]) -> dict:
        return {"__typename": typename, "product": product, "productVariants": updated,
                "userErrors": errors}

    product = shop.products.get(id_of(productId, "Product") or 0)
    if product is None:
        return payload(None, None, [user_error(["productId"], "Product does not exist",
                                               "PRODUCT_DOES_NOT_EXIST", error_type)])
    errors: list[dict] = []
    targets: list[tuple[int, Variant, dict]] = []
    for index, spec in enumerate(variants):
        variant = shop.variants.get(id_of(spec.get("id"), "ProductVariant") or 0)
        if variant is None:
            errors.append(user_error(["variants", str(index), "id"],
                                     "Product variant does not exist",
                                     "PRODUCT_VARIANT_DOES_NOT_EXIST", error_type))
            continue
        if variant.product_id != product.id:
            errors.append(user_error(["variants", str(index), "id"],
                                     "At least one variant does not belong to the product",
                                     "AT_LEAST_ONE_VARIANT_DOES_NOT_BELONG_TO_THE_PRODUCT",
                                     error_type))
            continue
        price = spec.get("price")
        if price is not None and formats.money(price) < 0:
            errors.append(user_error(["variants", str(index), "price"],
                                     "Price must be greater than or equal to 0",
                                     "GREATER_THAN_OR_EQUAL_TO", error_type))
            continue
        targets.append((index, variant, spec))
    if errors and not allowPartialUpdates:
        return payload(product, None, errors)
    changed_items: list[InventoryItem] = []
    option_names = [o["name"] for o in product.options]
    for _index, variant, spec in targets:
        item = shop.item_of(variant)
        before = (item.sku, item.tracked, item.cost, item.requires_shipping, item.weight,
                  item.weight_unit)
        variant_input_apply(world, shop, variant, spec)
        if spec.get("optionValues"):
            variant.option_values = variant_option_values(spec, option_names)
            for name, value in zip(option_names, variant.option_values, strict=False):
                option = next(o for o in product.options if o["name"] == name)
                if value not in option["values"]:
                    option["values"].append(value)
        if (item.sku, item.tracked, item.cost, item.requires_shipping, item.weight,
                item.weight_unit) != before:
            changed_items.append(item)
    product.updated_at = world.now()
    world.emit(shop, "products/update", products_rest.product(shop, product))
    for item in changed_items:
        world.emit(shop, "inventory_items/update", inventory_rest.inventory_item(item))
    return payload(product, [variant for _i, variant, _s in targets], errors)


def _bulk_variant_options(product: Product, spec: dict) -> tuple[list[str] | None, str]:
    """The variant's option values in the product's option order; new values are allowed for
    existing options (Shopify creates them), unknown option names are not."""
    values = spec.get("optionValues") or []
    names = [o["name"] for o in product.options]
    by_name: dict[str, str] = {}
    for value in values:
        name = value.get("optionName")
        if name is None and value.get("optionId"):
            option_id = id_of(value["optionId"], "ProductOption")
            name = next((o["name"] for o in product.options if o["id"] == option_id), None)
        if name not in names:
            return None, "OPTION_VALUES_FOR_NUMBER_OF_UNKNOWN_OPTIONS"
        by_name[name] = str(value.get("name") or "")
    if not values or len(by_name) != len(names):
        return None, "NEED_TO_ADD_OPTION_VALUES"
    return [by_name[name] for name in names], ""


@field(M, "productVariantsBulkCreate")
def product_variants_bulk_create(root: Any, info: Info, productId: str, variants: list[dict],
                                 media: list | None = None,
                                 strategy: str = "DEFAULT") -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = "ProductVariantsBulkCreatePayload"
    error_type = "ProductVariantsBulkCreateUserError"

    def payload(product: Product | None, created: list | None, errors: list[dict]) -> dict:
        return {"__typename": typename, "product": product, "productVariants": created,
                "userErrors": errors}

    product = shop.products.get(id_of(productId, "Product") or 0)
    if product is None:
        return payload(None, None, [user_error(["productId"], "Product does not exist",
                                               "PRODUCT_DOES_NOT_EXIST", error_type)])
    existing = shop.product_variants(product)
    standalone = (len(existing) == 1 and existing[0].option_values in ([], ["Default Title"])
                  and strategy != "PRESERVE_STANDALONE_VARIANT")
    taken = {tuple(v.option_values) for v in existing if not standalone}
    errors: list[dict] = []
    planned: list[tuple[dict, list[str]]] = []
    for index, spec in enumerate(variants):
        if spec.get("id"):
            errors.append(user_error(["variants", str(index), "id"],
                                     "Id cannot be specified on create", "NO_KEY_ON_CREATE",
                                     error_type))
            continue
        values, code = _bulk_variant_options(product, spec)
        if values is None:
            message = ("Option values provided for unknown options" if
                       code == "OPTION_VALUES_FOR_NUMBER_OF_UNKNOWN_OPTIONS" else
                       "You need to add option values for " + ", ".join(
                           o["name"] for o in product.options))
            errors.append(user_error(["variants", str(index), "optionValues"], message, code,
                                     error_type))
            continue
        if tuple(values) in taken:
            errors.append(user_error(
                ["variants", str(index)],
                f"The variant '{' / '.join(values)}' already exists.",
                "VARIANT_ALREADY_EXISTS", error_type))
            continue
        if spec.get("price") is not None and formats.money(spec["price"]) < 0:
            errors.append(user_error(["variants", str(index), "price"],
                                     "Price must be greater than or equal to 0",
                                     "GREATER_THAN_OR_EQUAL_TO", error_type))
            continue
        for q_index, quantity in enumerate(spec.get("inventoryQuantities") or []):
            if shop.locations.get(id_of(quantity.get("locationId"), "Location") or 0) is None:
                errors.append(user_error(
                    ["variants", str(index), "inventoryQuantities", str(q_index), "locationId"],
                    "Location not found", "TRACKED_VARIANT_LOCATION_NOT_FOUND", error_type))
        taken.add(tuple(values))
        planned.append((spec, values))
    if errors:
        return payload(product, None, errors)

    created: list[Variant] = []
    created_items: list[InventoryItem] = []
    changed_levels: list[InventoryLevel] = []
    position = len(existing)
    for spec, values in planned:
        position += 1
        item_spec = spec.get("inventoryItem") or {}
        variant = variant_add(
            world=world, shop=shop, product=product, sku=item_spec.get("sku") or "",
            price=spec.get("price") or "0.00", option_values=values, position=position,
            barcode=spec.get("barcode"),
            compare_at_price=spec.get("compareAtPrice"),
            tracked=item_spec.get("tracked", True) is not False,
            inventory_policy=spec.get("inventoryPolicy") or "DENY",
        )
        item_input_apply(world, shop.item_of(variant), item_spec)
        for option, value in zip(product.options, values, strict=False):
            if value not in option["values"]:
                option["values"].append(value)
        item = shop.item_of(variant)
        quantities = spec.get("inventoryQuantities") or []
        for quantity in quantities:
            location = shop.locations[id_of(quantity["locationId"], "Location") or 0]
            level = level_activate(world=world, item=item, location=location)
            level_change(world=world, level=level, name="available",
                         delta=int(quantity["availableQuantity"]))
            changed_levels.append(level)
        if not quantities:
            level_activate(world=world, item=item, location=shop.primary_location)
        created.append(variant)
        created_items.append(item)
    if standalone and created:
        variant_remove(shop=shop, product=product, variant=existing[0])
    product.updated_at = world.now()
    world.emit(shop, "products/update", products_rest.product(shop, product))
    for item in created_items:
        world.emit(shop, "inventory_items/create", inventory_rest.inventory_item(item))
    for level in changed_levels:
        world.emit(shop, "inventory_levels/update", inventory_rest.inventory_level(level))
    return payload(product, created, [])


@field(M, "productVariantsBulkDelete")
def product_variants_bulk_delete(root: Any, info: Info, productId: str,
                                 variantsIds: list[str]) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = "ProductVariantsBulkDeletePayload"
    error_type = "ProductVariantsBulkDeleteUserError"
    product = shop.products.get(id_of(productId, "Product") or 0)
    if product is None:
        return {"__typename": typename, "product": None, "userErrors": [user_error(
            ["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST", error_type)]}
    targets: list[Variant] = []
    for value in variantsIds:
        variant = shop.variants.get(id_of(value, "ProductVariant") or 0)
        if variant is None or variant.product_id != product.id:
            return {"__typename": typename, "product": product, "userErrors": [user_error(
                ["variantsIds"], "At least one variant does not belong to the product",
                "AT_LEAST_ONE_VARIANT_DOES_NOT_BELONG_TO_THE_PRODUCT", error_type)]}
        if variant not in targets:
            targets.append(variant)
    if len(targets) >= len(product.variant_ids):
        return {"__typename": typename, "product": product, "userErrors": [user_error(
            ["variantsIds"], "Cannot delete the last variant of a product",
            "CANNOT_DELETE_LAST_VARIANT", error_type)]}
    deleted_items = [shop.item_of(v) for v in targets]
    for variant in targets:
        variant_remove(shop=shop, product=product, variant=variant)
    for position, variant in enumerate(shop.product_variants(product), start=1):
        variant.position = position
    product.updated_at = world.now()
    world.emit(shop, "products/update", products_rest.product(shop, product))
    for item in deleted_items:
        world.emit(shop, "inventory_items/delete",
                   inventory_rest.inventory_item_deleted(item))
    return {"__typename": typename, "product": product, "userErrors": []}
