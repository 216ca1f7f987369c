"""Adding and removing a product's variants: what productVariantsBulkCreate and
productVariantsBulkDelete do, and what the merchant's Add variant / Delete variant in the admin
do (the control API), with the same checks, words and webhooks.

Specs are the Admin API's ``ProductVariantsBulkInput`` (optionValues, price, barcode,
compareAtPrice, inventoryItem, inventoryQuantities, inventoryPolicy); a refusal is a list of
``(field path, message, code)`` and changes nothing. The caller holds ``world.transaction()``.
"""

from __future__ import annotations

from shopify_emulator import formats
from shopify_emulator.admin_graphql.values import id_of
from shopify_emulator.domains.inventory import rest as inventory_rest
from shopify_emulator.domains.inventory.models import InventoryItem, InventoryLevel
from shopify_emulator.domains.inventory.operations import level_activate, level_change
from shopify_emulator.domains.products import rest as products_rest
from shopify_emulator.domains.products.inputs import item_input_apply
from shopify_emulator.domains.products.models import Product, Variant
from shopify_emulator.domains.products.operations import variant_add, variant_remove
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.world import EmulatorError, World

Problem = tuple[list[str], str, str]  # (field, message, code) as a userError has them


def _option_values(product: Product, spec: dict) -> tuple[list[str] | None, str]:
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


def variants_create(*, world: World, shop: Shop, product: Product, specs: list[dict],
                    strategy: str = "DEFAULT") -> tuple[list[Variant], list[Problem]]:
    """Adds the variants, each stocked where its inventoryQuantities say (else activated at the
    primary location). With the DEFAULT strategy a product's standalone variant (Default
    Title) is replaced by the new ones, as Shopify does. Sends products/update,
    inventory_items/create for each new item and inventory_levels/update for each quantity
    given."""
    existing = shop.product_variants(product)
    standalone = (len(existing) == 1 and existing[0].option_values in ([], ["Default Title"])
                  and strategy != "PRESERVE_STANDALONE_VARIANT")
    taken = {tuple(v.option_values) for v in existing if not standalone}
    problems: list[Problem] = []
    planned: list[tuple[dict, list[str]]] = []
    for index, spec in enumerate(specs):
        where = ["variants", str(index)]
        if spec.get("id"):
            problems.append(([*where, "id"], "Id cannot be specified on create",
                             "NO_KEY_ON_CREATE"))
            continue
        values, code = _option_values(product, spec)
        if values is None:
            message = ("Option values provided for unknown options" if
                       code == "OPTION_VALUES_FOR_NUMBER_OF_UNKNOWN_OPTIONS" else
                       "You need to add option values for " + ", ".join(
                           o["name"] for o in product.options))
            problems.append(([*where, "optionValues"], message, code))
            continue
        if tuple(values) in taken:
            problems.append((where, f"The variant '{' / '.join(values)}' already exists.",
                             "VARIANT_ALREADY_EXISTS"))
            continue
        if spec.get("price") is not None and formats.money(spec["price"]) < 0:
            problems.append(([*where, "price"], "Price must be greater than or equal to 0",
                             "GREATER_THAN_OR_EQUAL_TO"))
            continue
        for q_index, quantity in enumerate(spec.get("inventoryQuantities") or []):
            if shop.locations.get(id_of(quantity.get("locationId"), "Location") or 0) is None:
                problems.append(([*where, "inventoryQuantities", str(q_index), "locationId"],
                                 "Location not found", "TRACKED_VARIANT_LOCATION_NOT_FOUND"))
        taken.add(tuple(values))
        planned.append((spec, values))
    if problems:
        return [], problems

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
    return created, []


def variants_delete(*, world: World, shop: Shop, product: Product,
                    variant_ids: list[int]) -> list[Problem]:
    """Deletes the variants (with their inventory items and levels); the product keeps at
    least one. Sends products/update and inventory_items/delete for each."""
    targets: list[Variant] = []
    for variant_id in variant_ids:
        variant = shop.variants.get(variant_id)
        if variant is None or variant.product_id != product.id:
            return [(["variantsIds"], "At least one variant does not belong to the product",
                     "AT_LEAST_ONE_VARIANT_DOES_NOT_BELONG_TO_THE_PRODUCT")]
        if variant not in targets:
            targets.append(variant)
    if len(targets) >= len(product.variant_ids):
        return [(["variantsIds"], "Cannot delete the last variant of a product",
                 "CANNOT_DELETE_LAST_VARIANT")]
    deleted_items = [shop.item_of(v) for v in targets]
    for variant in targets:
        variant_remove(shop=shop, product=product, variant=variant)
    _renumber(shop=shop, product=product)
    product.updated_at = world.now()
    world.emit(shop, "products/update", products_rest.product(shop, product))
    for item in deleted_items:
        world.emit(shop, "inventory_items/delete", inventory_rest.inventory_item_deleted(item))
    return []


def _renumber(*, shop: Shop, product: Product) -> None:
    for position, variant in enumerate(shop.product_variants(product), start=1):
        variant.position = position



def variant_create(*, world: World, shop_domain: str, product_id: int,
                   spec: dict) -> tuple[dict, list[Problem]]:
    """The merchant adds a variant to a product in the admin: ``spec`` is one
    ProductVariantsBulkInput. ``{"variant", "product"}`` as REST shows them, or the refusal
    (nothing changed)."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        product = shop.products.get(product_id)
        if product is None:
            raise EmulatorError(f"Unknown product {product_id} in {shop_domain}")
        created, problems = variants_create(world=world, shop=shop, product=product,
                                            specs=[spec])
        if problems:
            return {}, problems
        return {"variant": products_rest.variant(shop, product, created[0]),
                "product": products_rest.product(shop, product)}, []


def variant_delete(*, world: World, shop_domain: str,
                   variant_id: int) -> tuple[dict, list[Problem]]:
    """The merchant deletes one variant of a product in the admin. The product as REST shows
    it afterwards, or the refusal (nothing changed)."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        variant = shop.variants.get(variant_id)
        if variant is None:
            raise EmulatorError(f"Unknown variant {variant_id} in {shop_domain}")
        product = shop.products[variant.product_id]
        problems = variants_delete(world=world, shop=shop, product=product,
                                   variant_ids=[variant_id])
        return products_rest.product(shop, product), problems
