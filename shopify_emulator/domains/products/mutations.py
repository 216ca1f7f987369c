"""Product mutations: productSet, productCreate, productUpdate, productDelete, tagsAdd /
tagsRemove."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.registry import ShopifyError, ctx, field
from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.inventory import rest as inventory_rest
from shopify_emulator.domains.inventory.models import InventoryItem, InventoryLevel
from shopify_emulator.domains.inventory.operations import level_activate, level_change
from shopify_emulator.domains.orders import rest as orders_rest
from shopify_emulator.domains.products import rest as products_rest
from shopify_emulator.domains.products.fields import (
    APP_NAMESPACE,
    METAFIELD_LIMIT,
    metafield_digest,
    metafield_find,
    metafield_problems,
    metafield_upsert,
)
from shopify_emulator.domains.products.inputs import (
    metafield_inputs_apply,
    metafield_inputs_validate,
    product_payload,
    product_scalars_apply,
    product_strings_validate,
    tags_split,
    variant_input_apply,
    variant_option_values,
)
from shopify_emulator.domains.products.models import Product
from shopify_emulator.domains.products.operations import (
    handleize,
    product_handle_unique,
    product_remove,
    variant_add,
    variant_remove,
)
from shopify_emulator.domains.products.resolvers import metafield_obj
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import normalize_tags
from shopify_emulator.ids import gid, parse_gid
from shopify_emulator.world import World

Info = GraphQLResolveInfo
M = "Mutation"


@field(M, "productSet")
def product_set(root: Any, info: Info, input: dict, synchronous: bool = True,  # noqa: A002
                identifier: dict | None = None) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = "ProductSetPayload"
    error_type = "ProductSetUserError"
    if identifier and input.get("id"):
        return product_payload(typename, None, [user_error(
            ["input", "id"], "The id field is not allowed if identifier is provided.",
            "ID_NOT_ALLOWED", error_type)], productSetOperation=None)
    product: Product | None = None
    wanted_id = (identifier or {}).get("id") or input.get("id")
    if wanted_id:
        product = shop.products.get(id_of(wanted_id, "Product") or 0)
        if product is None:
            return product_payload(typename, None, [user_error(
                ["input", "id"] if input.get("id") else ["identifier", "id"],
                "Product does not exist", "PRODUCT_DOES_NOT_EXIST", error_type)],
                productSetOperation=None)
    elif (identifier or {}).get("handle"):
        product = next((p for p in shop.products.values()
                        if p.handle == identifier["handle"]), None)
    errors = product_strings_validate(input, ["input"])
    creating = product is None
    if creating and not (input.get("title") or "").strip():
        errors.append(user_error(["input", "title"], "Title can't be blank", "BLANK",
                                 error_type))
    variants_in = input.get("variants")
    options_in = input.get("productOptions")
    if options_in is not None and variants_in is None:
        errors.append(user_error(["input", "variants"],
                                 "Variants input is required when updating product options",
                                 "INVALID_INPUT", error_type))
    if variants_in is not None:
        seen: dict[tuple, int] = {}
        option_names = [o.get("name") for o in (options_in or [])] or (
            [o["name"] for o in product.options] if product else [])
        for index, spec in enumerate(variants_in):
            combo = tuple(variant_option_values(spec, option_names))
            if combo in seen and combo:
                errors.append(user_error(
                    ["input", "variants", str(index)],
                    f"The variant '{' / '.join(combo)}' already exists. Please change at least "
                    "one option value.", "INVALID_VARIANT", error_type))
            seen[combo] = index
            for q_index, quantity in enumerate(spec.get("inventoryQuantities") or []):
                if quantity.get("name") not in ("available", "on_hand"):
                    errors.append(user_error(
                        ["input", "variants", str(index), "inventoryQuantities", str(q_index),
                         "name"],
                        "The quantity name must be either 'available' or 'on_hand'.",
                        "INVALID_INVENTORY_QUANTITY_NAME", error_type))
                if shop.locations.get(id_of(quantity.get("locationId"), "Location") or 0) is None:
                    errors.append(user_error(
                        ["input", "variants", str(index), "inventoryQuantities", str(q_index),
                         "locationId"],
                        "The specified location could not be found.", "INVALID_LOCATION",
                        error_type))
    errors += metafield_inputs_validate(product, input.get("metafields"), ["input"],
                                        error_type)
    if errors:
        return product_payload(typename, None, errors, productSetOperation=None)

    now = world.now()
    if product is None:
        product = Product(
            id=world.next_id(),
            title=input["title"],
            handle=product_handle_unique(
                shop=shop, handle=handleize(input.get("handle") or input["title"])
            ),
            created_at=now,
            updated_at=now,
            status=input.get("status") or "ACTIVE",
        )
        product.published_at = now if product.status == "ACTIVE" else None
        shop.products[product.id] = product
    product_scalars_apply(world, shop, product, {k: v for k, v in input.items()
                                                  if k != "handle" or not creating})
    product.updated_at = now
    if options_in is not None:
        product.options = [
            {"id": world.next_id(), "name": o.get("name") or f"Option{i + 1}",
             "values": [str(v.get("name")) for v in (o.get("values") or [])]}
            for i, o in enumerate(options_in)
        ]
    if input.get("files") is not None:
        product.images = files_set(world, product.images, input["files"])
    if input.get("metafields") is not None:
        metafield_inputs_apply(world, product, input["metafields"], replace=True)
    created_items: list[InventoryItem] = []
    changed_items: list[InventoryItem] = []
    changed_levels: list[InventoryLevel] = []
    deleted_items: list[InventoryItem] = []
    if variants_in is not None:
        option_names = [o["name"] for o in product.options]
        existing = shop.product_variants(product)
        kept: list[int] = []
        for position, spec in enumerate(variants_in, start=1):
            values = variant_option_values(spec, option_names)
            variant = None
            if spec.get("id"):
                variant = shop.variants.get(id_of(spec["id"], "ProductVariant") or 0)
            if variant is None:
                variant = next((v for v in existing
                                if v.option_values == values and v.id not in kept), None)
            if variant is None:
                item_spec = spec.get("inventoryItem") or {}
                variant = variant_add(world=world, shop=shop, product=product,
                    sku=spec.get("sku") or item_spec.get("sku") or "",
                    price=spec.get("price") or "0.00",
                    option_values=values,
                    position=position,
                    tracked=item_spec.get("tracked", True) is not False,
                )
                created_items.append(shop.item_of(variant))
            variant.option_values = values
            variant.position = position
            item = shop.item_of(variant)
            before = (item.sku, item.tracked, item.cost, item.weight, item.weight_unit)
            variant_input_apply(world, shop, variant, spec)
            if item not in created_items and before != (
                    item.sku, item.tracked, item.cost, item.weight, item.weight_unit):
                changed_items.append(item)
            kept.append(variant.id)
            for quantity in spec.get("inventoryQuantities") or []:
                location = shop.locations[id_of(quantity["locationId"], "Location") or 0]
                level = level_activate(world=world, item=item, location=location)
                current = level.get(quantity["name"])
                if quantity["quantity"] != current:
                    level_change(world=world, level=level, name="available",
                                 delta=quantity["quantity"] - current)
                if level not in changed_levels:
                    changed_levels.append(level)
            if not item.levels and item in created_items:
                level_activate(world=world, item=item, location=shop.primary_location)
        for variant in existing:
            if variant.id not in kept:
                deleted_items.append(shop.item_of(variant))
                variant_remove(shop=shop, product=product, variant=variant)
        product.variant_ids = kept
        if not product.options and kept:
            product.options = [{"id": world.next_id(), "name": "Title",
                                "values": ["Default Title"]}]
    if not product.variant_ids:
        variant = variant_add(world=world, shop=shop, product=product, sku="", price="0.00",
                              option_values=[], position=1)
        created_items.append(shop.item_of(variant))
        level_activate(world=world, item=shop.item_of(variant), location=shop.primary_location)
        if not product.options:
            product.options = [{"id": world.next_id(), "name": "Title",
                                "values": ["Default Title"]}]
    world.emit(shop, "products/create" if creating else "products/update",
               products_rest.product(shop, product))
    for item in created_items:
        world.emit(shop, "inventory_items/create", inventory_rest.inventory_item(item))
    for item in changed_items:
        world.emit(shop, "inventory_items/update", inventory_rest.inventory_item(item))
    for item in deleted_items:
        world.emit(shop, "inventory_items/delete",
                   inventory_rest.inventory_item_deleted(item))
    for level in changed_levels:
        world.emit(shop, "inventory_levels/update", inventory_rest.inventory_level(level))
    return product_payload(typename, product, [], productSetOperation=None)


def files_set(world: World, images: list[dict], files: list[dict]) -> list[dict]:
    """productSet's ``files``: the product's media become these, in order. A file naming an
    existing image by ``id`` (or by the same source) keeps it, its alt text updated; the
    others are new."""
    by_id = {image["id"]: image for image in images}
    by_src = {image["src"]: image for image in images}
    result = []
    for spec in files:
        kept = None
        if spec.get("id"):
            kept = by_id.get(id_of(spec["id"], "MediaImage") or 0)
        if kept is None and spec.get("originalSource"):
            kept = by_src.get(spec["originalSource"])
        if kept is not None and kept not in result:
            result.append(dict(kept, alt=spec.get("alt", kept.get("alt"))))
        else:
            result.append({"id": world.next_id(), "src": spec.get("originalSource") or "",
                           "alt": spec.get("alt"), "created_at": world.now()})
    return result


@field(M, "productCreate")
def product_create(root: Any, info: Info, product: dict | None = None,
                   input: dict | None = None, media: list | None = None) -> dict:  # noqa: A002
    context = ctx(info)
    world, shop = context.world, context.shop
    data = product or input or {}
    errors = product_strings_validate(data, ["title"][:0] + ["product"])
    if not (data.get("title") or "").strip():
        errors.append(user_error(["title"], "Title can't be blank"))
    errors += metafield_inputs_validate(None, data.get("metafields"),
                                        ["product"] if product else ["input"])
    if errors:
        return product_payload("ProductCreatePayload", None, errors)
    now = world.now()
    created = Product(id=world.next_id(), title=data["title"],
                         handle=product_handle_unique(shop=shop, handle=handleize(data.get("handle")
                                                                      or data["title"])),
                         created_at=now, updated_at=now, status=data.get("status") or "ACTIVE")
    created.published_at = now if created.status == "ACTIVE" else None
    shop.products[created.id] = created
    product_scalars_apply(world, shop, created, {k: v for k, v in data.items() if k != "handle"})
    metafield_inputs_apply(world, created, data.get("metafields") or [], replace=False)
    options = data.get("productOptions") or []
    if options:
        created.options = [{"id": world.next_id(), "name": o.get("name"),
                            "values": [str(v.get("name")) for v in o.get("values") or []]}
                           for o in options]
        first_values = [o["values"][0] for o in created.options if o["values"]]
    else:
        created.options = [{"id": world.next_id(), "name": "Title", "values": ["Default Title"]}]
        first_values = []
    for media_item in media or []:
        created.images.append({"id": world.next_id(), "src": media_item.get("originalSource"),
                               "alt": media_item.get("alt"), "created_at": now})
    variant = variant_add(world=world, shop=shop, product=created, sku="", price="0.00",
                          option_values=first_values, position=1, tracked=False)
    item = shop.item_of(variant)
    level_activate(world=world, item=item, location=shop.primary_location)
    world.emit(shop, "products/create", products_rest.product(shop, created))
    world.emit(shop, "inventory_items/create", inventory_rest.inventory_item(item))
    return product_payload("ProductCreatePayload", created, [])


@field(M, "productUpdate")
def product_update(root: Any, info: Info, product: dict | None = None,
                   input: dict | None = None, media: list | None = None,  # noqa: A002
                   identifier: dict | None = None) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    data = product or input or {}
    wanted = data.get("id") or (identifier or {}).get("id")
    found = shop.products.get(id_of(wanted, "Product") or 0) if wanted else None
    if found is None:
        return product_payload("ProductUpdatePayload", None, [
            user_error(["id"], "Product does not exist")])
    prefix = ["product"] if product else ["input"]
    errors = product_strings_validate(data, prefix)
    errors += metafield_inputs_validate(found, data.get("metafields"), prefix)
    if errors:
        return product_payload("ProductUpdatePayload", None, errors)
    product_scalars_apply(world, shop, found, data)
    # Shopify upserts the given metafields and leaves the others alone.
    metafield_inputs_apply(world, found, data.get("metafields") or [], replace=False)
    for media_item in media or []:
        found.images.append({"id": world.next_id(), "src": media_item.get("originalSource"),
                             "alt": media_item.get("alt"), "created_at": world.now()})
    found.updated_at = world.now()
    world.emit(shop, "products/update", products_rest.product(shop, found))
    return product_payload("ProductUpdatePayload", found, [])


@field(M, "productDelete")
def product_delete(root: Any, info: Info, input: dict,  # noqa: A002
                   synchronous: bool = True) -> dict:
    """Deletes the product with its variants and inventory (synchronously either way)."""
    context = ctx(info)
    world, shop = context.world, context.shop
    found = shop.products.get(id_of(input.get("id"), "Product") or 0)
    if found is None:
        return {"__typename": "ProductDeletePayload", "deletedProductId": None,
                "productDeleteOperation": None, "shop": shop,
                "userErrors": [user_error(["id"], "Product does not exist")]}
    product_remove(world=world, shop=shop, product=found)
    return {"__typename": "ProductDeletePayload", "deletedProductId": gid("Product", found.id),
            "productDeleteOperation": None, "shop": shop, "userErrors": []}


def _taggable(shop: Shop, value: str) -> tuple[str, Any]:
    parsed = parse_gid(value)
    if parsed is not None:
        if parsed[0] == "Product" and parsed[1] in shop.products:
            return "Product", shop.products[parsed[1]]
        if parsed[0] == "Order" and parsed[1] in shop.orders:
            return "Order", shop.orders[parsed[1]]
    raise ShopifyError("invalid id", "RESOURCE_NOT_FOUND")


def _tags_change(info: Info, id_value: str, tags: list[str], add: bool) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    kind, obj = _taggable(shop, id_value)
    wanted = tags_split(tags)
    if add:
        obj.tags = normalize_tags(list(obj.tags) + wanted)
    else:
        lowered = {t.lower() for t in wanted}
        obj.tags = [t for t in obj.tags if t.lower() not in lowered]
    obj.updated_at = world.now()
    if kind == "Product":
        world.emit(shop, "products/update", products_rest.product(shop, obj))
    else:
        world.emit(shop, "orders/updated", orders_rest.order(shop, obj))
    return {"__typename": "TagsAddPayload" if add else "TagsRemovePayload", "node": obj,
            "userErrors": []}


@field(M, "tagsAdd")
def tags_add(root: Any, info: Info, id: str, tags: list[str]) -> dict:  # noqa: A002
    return _tags_change(info, id, tags, add=True)


@field(M, "tagsRemove")
def tags_remove(root: Any, info: Info, id: str, tags: list[str]) -> dict:  # noqa: A002
    return _tags_change(info, id, tags, add=False)


@field(M, "metafieldsSet")
def metafields_set(root: Any, info: Info, metafields: list[dict]) -> dict:
    """Upserts up to 25 metafields, atomically: one bad input and nothing is set. Products are
    the owners the emulator keeps metafields for; each product whose metafields changed gets
    one products/update."""
    context = ctx(info)
    world, shop = context.world, context.shop
    error_type = "MetafieldsSetUserError"

    def payload(result: list[dict] | None, errors: list[dict]) -> dict:
        return {"__typename": "MetafieldsSetPayload", "metafields": result, "userErrors": errors}

    def error(path: list[str], message: str, code: str) -> dict:
        return {**user_error(path, message, code, error_type), "elementIndex": None}

    if len(metafields) > METAFIELD_LIMIT:
        return payload(None, [error(["metafields"], "Exceeded the maximum metafields input "
                                    f"limit of {METAFIELD_LIMIT}.", "LESS_THAN_OR_EQUAL_TO")])
    errors: list[dict] = []
    planned: list[tuple[Product, dict]] = []
    for index, spec in enumerate(metafields):
        path = ["metafields", str(index)]
        owner = shop.products.get(id_of(spec.get("ownerId"), "Product") or 0)
        if owner is None:
            errors.append(error([*path, "ownerId"], "Owner does not exist.", "INVALID"))
            continue
        namespace = spec.get("namespace") or APP_NAMESPACE
        current = metafield_find(owner.metafields, namespace, spec.get("key") or "")
        type_name = spec.get("type") or (current or {}).get("type")
        problems = metafield_problems(namespace=namespace, key=spec.get("key"),
                                      type_name=type_name, value=spec.get("value"))
        for field_name, message, code in problems:
            errors.append(error([*path, field_name], message, code))
        if "compareDigest" in spec and not problems:
            wanted = spec["compareDigest"]
            actual = metafield_digest(current) if current is not None else None
            if wanted != actual:
                errors.append(error(
                    [*path, "compareDigest"], "The resource has been updated since it was "
                    "loaded. Try again with an updated `compareDigest` value.", "STALE_OBJECT"))
        planned.append((owner, {"namespace": namespace, "key": spec.get("key"),
                                "type": type_name, "value": spec.get("value")}))
    if errors:
        return payload(None, errors)
    result: list[dict] = []
    changed: list[Product] = []
    for owner, spec in planned:
        metafield, was_changed = metafield_upsert(
            world=world, metafields=owner.metafields, namespace=spec["namespace"],
            key=spec["key"], type_name=spec["type"], value=spec["value"])
        result.append(metafield_obj(owner, metafield))
        if was_changed and owner not in changed:
            changed.append(owner)
    for owner in changed:
        owner.updated_at = world.now()
        world.emit(shop, "products/update", products_rest.product(shop, owner))
    return payload(result, [])
