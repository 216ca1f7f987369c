"""Variant mutations: productVariantsBulkUpdate, productVariantsBulkCreate,
productVariantsBulkDelete."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator import formats
from shopify_emulator.admin_graphql.registry import ctx, field
from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.inventory import rest as inventory_rest
from shopify_emulator.domains.inventory.models import InventoryItem
from shopify_emulator.domains.products import rest as products_rest
from shopify_emulator.domains.products.inputs import variant_input_apply, variant_option_values
from shopify_emulator.domains.products.models import Product, Variant
from shopify_emulator.domains.products.variant_operations import (
    variants_create,
    variants_delete,
)

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


@field(M, "productVariantsBulkCreate")
def product_variants_bulk_create(root: Any, info: Info, productId: str, variants: list[dict],
                                 media: list | None = None,
                                 strategy: str = "DEFAULT") -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = "ProductVariantsBulkCreatePayload"
    error_type = "ProductVariantsBulkCreateUserError"
    product = shop.products.get(id_of(productId, "Product") or 0)
    if product is None:
        return {"__typename": typename, "product": None, "productVariants": None,
                "userErrors": [user_error(["productId"], "Product does not exist",
                                          "PRODUCT_DOES_NOT_EXIST", error_type)]}
    created, problems = variants_create(world=world, shop=shop, product=product,
                                        specs=variants, strategy=strategy)
    return {"__typename": typename, "product": product,
            "productVariants": None if problems else created,
            "userErrors": [user_error(*problem, error_type) for problem in problems]}


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
    problems = variants_delete(world=world, shop=shop, product=product,
                               variant_ids=[id_of(value, "ProductVariant") or 0
                                            for value in variantsIds])
    return {"__typename": typename, "product": product,
            "userErrors": [user_error(*problem, error_type) for problem in problems]}
