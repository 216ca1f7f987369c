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
from shopify_emulator.domains.products.fields import metafield_upsert
from shopify_emulator.domains.products.models import Product, Variant
from shopify_emulator.domains.products.rest import product as product_payload
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import dedupe, money_str, normalize_tags
from shopify_emulator.world import EmulatorError, World


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
                compare_at_price=spec.get("compare_at_price"),
                option_values=option_values,
                position=position,
            )
            item = shop.item_of(variant)
            item.weight = float(spec.get("weight") or 0.0)
            item.weight_unit = spec.get("weight_unit") or "KILOGRAMS"
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


def product_edit_problem(*, shop: Shop, product: Product, edit: dict) -> str | None:
    """Why the merchant's edit cannot apply to this product (variants of another product,
    more options than it has, a value list that does not rename the option's values one for
    one), or None. ``edit`` is already well-formed (the control API checks shapes)."""
    for index, spec in enumerate(edit.get("variants") or []):
        variant = shop.variants.get(spec["id"])
        if variant is None or variant.product_id != product.id:
            return f"variants[{index}].id {spec['id']} is not a variant of product {product.id}"
    options = edit.get("options")
    if options is not None:
        if len(options) > len(product.options):
            return (f"options: the product has {len(product.options)} option(s); options "
                    "rename them by position and cannot add any")
        for index, spec in enumerate(options):
            current = product.options[index]["values"]
            values = spec.get("values")
            if values is not None and len(values) != len(current):
                return (f"options[{index}].values must list {len(current)} value(s), one for "
                        f"each of {current} in order")
            if values is not None and len(set(values)) != len(values):
                return f"options[{index}].values has the same value twice"
        names = [spec.get("name") or option["name"]
                 for spec, option in zip(options, product.options, strict=False)]
        names += [option["name"] for option in product.options[len(options):]]
        if len(set(names)) != len(names):
            return "options: two options cannot have the same name"
    return None


def product_edit(*, world: World, shop_domain: str, product_id: int, edit: dict) -> dict:
    """The merchant saves the product form: only the fields in ``edit`` change. One
    products/update, plus inventory_items/update for each variant whose SKU or weight (kept
    on its inventory item) changed, as Shopify sends them."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        product = shop.products.get(product_id)
        if product is None:
            raise KeyError(f"no product {product_id} in {shop_domain}")
        problem = product_edit_problem(shop=shop, product=product, edit=edit)
        if problem is not None:
            raise EmulatorError(problem)
        now = world.now()
        for name in ("title", "body_html", "vendor", "product_type"):
            if name in edit:
                setattr(product, name, edit[name])
        if "tags" in edit:
            product.tags = normalize_tags(list(edit["tags"]))
        if "status" in edit:
            product.status = edit["status"]
            if product.status == "ACTIVE" and product.published_at is None:
                product.published_at = now
        if "seo" in edit:
            seo = edit["seo"]
            if "title" in seo:
                product.seo_title = seo["title"] or None
            if "description" in seo:
                product.seo_description = seo["description"] or None
        if "images" in edit:
            product.images = images_replace(world=world, current=product.images,
                                            wanted=edit["images"])
        if "options" in edit:
            options_rename(shop=shop, product=product, renames=edit["options"], now=now)
        changed_items: list[InventoryItem] = []
        for spec in edit.get("variants") or []:
            variant = shop.variants[spec["id"]]
            if variant_edit(world=world, shop=shop, variant=variant, spec=spec):
                changed_items.append(shop.item_of(variant))
        for metafield in edit.get("metafields") or []:
            metafield_upsert(world=world, metafields=product.metafields,
                             namespace=metafield["namespace"], key=metafield["key"],
                             type_name=metafield["type"], value=metafield["value"])
        product.updated_at = now
        world.emit(shop, "products/update", product_payload(shop, product))
        for item in changed_items:
            world.emit(shop, "inventory_items/update", inventory_item(item))
        return product_payload(shop, product)


def images_replace(*, world: World, current: list[dict], wanted: list[dict]) -> list[dict]:
    """The product's images become ``wanted`` ([{src, alt}]) in that order; an image whose
    source is already there keeps its id."""
    by_src = {image["src"]: image for image in current}
    images = []
    for spec in wanted:
        kept = by_src.pop(spec["src"], None)
        if kept is not None:
            images.append(dict(kept, alt=spec.get("alt")))
        else:
            images.append({"id": world.next_id(), "src": spec["src"], "alt": spec.get("alt"),
                           "created_at": world.now()})
    return images


def options_rename(*, shop: Shop, product: Product, renames: list[dict], now: Any) -> None:
    """Options renamed by position: a new name, and/or new values one for one, which the
    variants' option values (and so their titles) follow."""
    variants = shop.product_variants(product)
    for index, spec in enumerate(renames):
        option = product.options[index]
        if spec.get("name"):
            option["name"] = spec["name"]
        values = spec.get("values")
        if values is None:
            continue
        renamed = dict(zip(option["values"], values, strict=True))
        option["values"] = list(values)
        for variant in variants:
            if len(variant.option_values) > index:
                old = variant.option_values[index]
                if renamed.get(old, old) != old:
                    variant.option_values[index] = renamed[old]
                    variant.updated_at = now


def variant_edit(*, world: World, shop: Shop, variant: Variant, spec: dict) -> bool:
    """Apply one variant's edits; whether its inventory item (SKU, weight) changed."""
    now = world.now()
    item = shop.item_of(variant)
    if "price" in spec:
        variant.price = money_str(spec["price"])
    if "compare_at_price" in spec:
        value = spec["compare_at_price"]
        variant.compare_at_price = money_str(value) if value not in (None, "") else None
    if "barcode" in spec:
        variant.barcode = spec["barcode"] or None
    before = (item.sku, item.weight, item.weight_unit)
    if "sku" in spec:
        item.sku = spec["sku"] or ""
    if "weight" in spec:
        item.weight = float(spec["weight"])
    if "weight_unit" in spec:
        item.weight_unit = spec["weight_unit"]
    variant.updated_at = now
    if (item.sku, item.weight, item.weight_unit) != before:
        item.updated_at = now
        return True
    return False
