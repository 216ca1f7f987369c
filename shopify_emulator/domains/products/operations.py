"""Products and variants: the merchant's product form, and the variant primitives the product
mutations share."""

from __future__ import annotations

import re
from typing import Any

from shopify_emulator.domains.inventory.models import InventoryItem
from shopify_emulator.domains.inventory.operations import level_activate, level_change
from shopify_emulator.domains.inventory.rest import (
    inventory_item,
    inventory_item_deleted,
    inventory_level,
)
from shopify_emulator.domains.products.models import Product, Variant
from shopify_emulator.domains.products.rest import product as product_payload
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import dedupe, money_str, normalize_tags
from shopify_emulator.world import World


def handleize(title: str) -> str:
    handle = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return handle or "product"


def product_handle_unique(*, shop: Shop, handle: str, exclude: int | None = None) -> str:
    taken = {p.handle for p in shop.products.values() if p.id != exclude}
    candidate, suffix = handle, 1
    while candidate in taken:
        candidate = f"{handle}-{suffix}"
        suffix += 1
    return candidate


def product_create(
    *,
    world: World,
    shop_domain: str,
    title: str,
    vendor: str = "",
    tags: list[str] | tuple[str, ...] = (),
    variants: list[dict],
    product_type: str = "",
    body_html: str = "",
    status: str = "ACTIVE",
    option_name: str = "Title",
) -> dict:
    """Merchant creates a product; each variant is stocked at the primary location.

    Variants carry their value of the one option (`option1`), as in Shopify's product form;
    the control API (`product_variants_option_values`) gives each of several variants one."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        now = world.now()
        product = Product(
            id=world.next_id(),
            title=title,
            handle=product_handle_unique(shop=shop, handle=handleize(title)),
            created_at=now,
            updated_at=now,
            vendor=vendor,
            product_type=product_type,
            body_html=body_html,
            status=status.upper(),
            tags=normalize_tags(list(tags)),
            published_at=now if status.upper() == "ACTIVE" else None,
        )
        has_options = any(v.get("option1") for v in variants)
        if has_options:
            values = [str(v.get("option1")) for v in variants]
            product.options = [
                {"id": world.next_id(), "name": option_name or "Title", "values": dedupe(values)}
            ]
        else:
            product.options = [
                {"id": world.next_id(), "name": "Title", "values": ["Default Title"]}
            ]
        shop.products[product.id] = product
        created_items: list[InventoryItem] = []
        for position, spec in enumerate(variants, start=1):
            option_values = [str(spec["option1"])] if spec.get("option1") else []
            variant = variant_add(
                world=world,
                shop=shop,
                product=product,
                sku=str(spec.get("sku") or ""),
                price=spec.get("price", "0.00"),
                barcode=spec.get("barcode"),
                option_values=option_values,
                position=position,
            )
            item = shop.item_of(variant)
            created_items.append(item)
            level = level_activate(world=world, item=item, location=shop.primary_location)
            available = int(spec.get("available") or 0)
            if available:
                level_change(world=world, level=level, name="available", delta=available)
        world.emit(shop, "products/create", product_payload(shop, product))
        for item in created_items:
            world.emit(shop, "inventory_items/create", inventory_item(item))
        for item in created_items:
            for level in item.levels.values():
                world.emit(shop, "inventory_levels/update", inventory_level(level))
        return product_payload(shop, product)


def variant_add(
    *,
    world: World,
    shop: Shop,
    product: Product,
    sku: str,
    price: Any,
    option_values: list[str],
    position: int,
    barcode: str | None = None,
    compare_at_price: Any = None,
    tracked: bool = True,
    inventory_policy: str = "DENY",
) -> Variant:
    now = world.now()
    variant_id = world.next_id()
    item = InventoryItem(
        id=world.next_id(),
        variant_id=variant_id,
        sku=sku,
        created_at=now,
        updated_at=now,
        tracked=tracked,
    )
    variant = Variant(
        id=variant_id,
        product_id=product.id,
        inventory_item_id=item.id,
        price=money_str(price),
        position=position,
        created_at=now,
        updated_at=now,
        option_values=option_values,
        barcode=barcode,
        compare_at_price=money_str(compare_at_price) if compare_at_price is not None else None,
        inventory_policy=inventory_policy,
    )
    shop.inventory_items[item.id] = item
    shop.variants[variant.id] = variant
    product.variant_ids.append(variant.id)
    return variant


def variant_remove(*, shop: Shop, product: Product, variant: Variant) -> None:
    product.variant_ids = [v for v in product.variant_ids if v != variant.id]
    shop.variants.pop(variant.id, None)
    shop.inventory_items.pop(variant.inventory_item_id, None)


def product_remove(*, world: World, shop: Shop, product: Product) -> None:
    """Deletes the product with its variants, inventory items and their levels, and sends
    Shopify's webhooks for it (products/delete carries the id only)."""
    items = [shop.item_of(variant) for variant in shop.product_variants(product)]
    for variant in shop.product_variants(product):
        variant_remove(shop=shop, product=product, variant=variant)
    shop.products.pop(product.id, None)
    world.emit(shop, "products/delete", {"id": product.id})
    for item in items:
        world.emit(shop, "inventory_items/delete", inventory_item_deleted(item))


def product_delete(*, world: World, shop_domain: str, product_id: int) -> dict:
    """Merchant deletes a product (the product page's Delete)."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        product = shop.products.get(product_id)
        if product is None:
            raise KeyError(f"no product {product_id} in {shop_domain}")
        product_remove(world=world, shop=shop, product=product)
        return {"id": product_id}
