"""Product mutations: productSet, productCreate, productUpdate, productVariantsBulkUpdate,
tagsAdd / tagsRemove."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator import rest
from shopify_emulator import state as st
from shopify_emulator.ids import parse_gid
from shopify_emulator.resolvers.core import ShopifyError, ctx, field, id_of, user_error

Info = GraphQLResolveInfo
M = "Mutation"


def _variant_option_values(spec: dict, option_names: list[str]) -> list[str]:
    values = spec.get("optionValues") or []
    by_name = {v.get("optionName"): v.get("name") for v in values if v.get("optionName")}
    if by_name and option_names:
        return [str(by_name.get(name) or "") for name in option_names if name in by_name]
    return [str(v.get("name")) for v in values if v.get("name") is not None]


def _apply_item_input(world: st.World, item: st.InventoryItem, data: dict | None) -> bool:
    if not data:
        return False
    changed = False
    if "sku" in data and data["sku"] is not None and data["sku"] != item.sku:
        item.sku = data["sku"]
        changed = True
    if "tracked" in data and data["tracked"] is not None and data["tracked"] != item.tracked:
        item.tracked = bool(data["tracked"])
        changed = True
    if data.get("requiresShipping") is not None:
        item.requires_shipping = bool(data["requiresShipping"])
        changed = True
    if "cost" in data:
        item.cost = st.money_str(data["cost"]) if data["cost"] is not None else None
        changed = True
    if changed:
        item.updated_at = world.now()
    return changed


def _apply_variant_input(world: st.World, shop: st.Shop, variant: st.Variant, spec: dict) -> None:
    if spec.get("price") is not None:
        variant.price = st.money_str(spec["price"])
    if "compareAtPrice" in spec:
        value = spec["compareAtPrice"]
        variant.compare_at_price = st.money_str(value) if value is not None else None
    if "barcode" in spec:
        variant.barcode = spec["barcode"]
    if spec.get("inventoryPolicy"):
        variant.inventory_policy = spec["inventoryPolicy"]
    if spec.get("taxable") is not None:
        variant.taxable = bool(spec["taxable"])
    item = shop.item_of(variant)
    if spec.get("sku") is not None:
        item.sku = spec["sku"]
        item.updated_at = world.now()
    _apply_item_input(world, item, spec.get("inventoryItem"))
    variant.updated_at = world.now()


def _product_payload(typename: str, product: st.Product | None, errors: list[dict],
                     **extra: Any) -> dict:
    return {"__typename": typename, "product": product, "userErrors": errors, **extra}


def _apply_product_scalars(world: st.World, shop: st.Shop, product: st.Product, data: dict) -> None:
    if data.get("title") is not None:
        product.title = data["title"]
    if data.get("handle"):
        product.handle = world.unique_handle(shop, data["handle"], exclude=product.id)
    if "descriptionHtml" in data and data["descriptionHtml"] is not None:
        product.body_html = data["descriptionHtml"]
    if data.get("vendor") is not None:
        product.vendor = data["vendor"]
    if data.get("productType") is not None:
        product.product_type = data["productType"]
    if data.get("status"):
        product.status = data["status"]
        if data["status"] == "ACTIVE" and product.published_at is None:
            product.published_at = world.now()
    if data.get("tags") is not None:
        product.tags = st.normalize_tags(_split_tags(data["tags"]))


def _split_tags(tags: list[str] | str) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    result: list[str] = []
    for tag in tags:
        result.extend(part.strip() for part in str(tag).split(","))
    return [t for t in result if t]


def _validate_product_strings(data: dict, prefix: list[str]) -> list[dict]:
    errors = []
    for key, label in (("title", "Title"), ("vendor", "Vendor"), ("productType", "Product type"),
                       ("handle", "Handle")):
        value = data.get(key)
        if isinstance(value, str) and len(value) > 255:
            errors.append(user_error([*prefix, key],
                                     f"{label} is too long (maximum is 255 characters)"))
    return errors


# --------------------------------------------------------------------------- productSet


@field(M, "productSet")
def product_set(root: Any, info: Info, input: dict, synchronous: bool = True,  # noqa: A002
                identifier: dict | None = None) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = "ProductSetPayload"
    error_type = "ProductSetUserError"
    if identifier and input.get("id"):
        return _product_payload(typename, None, [user_error(
            ["input", "id"], "The id field is not allowed if identifier is provided.",
            "ID_NOT_ALLOWED", error_type)], productSetOperation=None)
    product: st.Product | None = None
    wanted_id = (identifier or {}).get("id") or input.get("id")
    if wanted_id:
        product = shop.products.get(id_of(wanted_id, "Product") or 0)
        if product is None:
            return _product_payload(typename, None, [user_error(
                ["input", "id"] if input.get("id") else ["identifier", "id"],
                "Product does not exist", "PRODUCT_DOES_NOT_EXIST", error_type)],
                productSetOperation=None)
    elif (identifier or {}).get("handle"):
        product = next((p for p in shop.products.values()
                        if p.handle == identifier["handle"]), None)
    errors = _validate_product_strings(input, ["input"])
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
            combo = tuple(_variant_option_values(spec, option_names))
            if combo in seen and combo:
                errors.append(user_error(
                    ["input", "variants", str(index)],
                    f"The variant '{' / '.join(combo)}' already exists. Please change at least "
                    "one option value.", "DUPLICATE_VARIANT", error_type))
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
    if errors:
        return _product_payload(typename, None, errors, productSetOperation=None)

    now = world.now()
    if product is None:
        product = st.Product(
            id=world.next_id(),
            title=input["title"],
            handle=world.unique_handle(shop, st.handleize(input.get("handle") or input["title"])),
            created_at=now,
            updated_at=now,
            status=input.get("status") or "ACTIVE",
        )
        product.published_at = now if product.status == "ACTIVE" else None
        shop.products[product.id] = product
    _apply_product_scalars(world, shop, product, {k: v for k, v in input.items()
                                                  if k != "handle" or not creating})
    product.updated_at = now
    if options_in is not None:
        product.options = [
            {"id": world.next_id(), "name": o.get("name") or f"Option{i + 1}",
             "values": [str(v.get("name")) for v in (o.get("values") or [])]}
            for i, o in enumerate(options_in)
        ]
    if input.get("files") is not None:
        product.images = [
            {"id": world.next_id(), "src": f.get("originalSource") or "", "alt": f.get("alt"),
             "created_at": now}
            for f in input["files"]
        ]
    created_items: list[st.InventoryItem] = []
    changed_levels: list[st.InventoryLevel] = []
    deleted_items: list[st.InventoryItem] = []
    if variants_in is not None:
        option_names = [o["name"] for o in product.options]
        existing = shop.product_variants(product)
        kept: list[int] = []
        for position, spec in enumerate(variants_in, start=1):
            values = _variant_option_values(spec, option_names)
            variant = None
            if spec.get("id"):
                variant = shop.variants.get(id_of(spec["id"], "ProductVariant") or 0)
            if variant is None:
                variant = next((v for v in existing
                                if v.option_values == values and v.id not in kept), None)
            if variant is None:
                item_spec = spec.get("inventoryItem") or {}
                variant = world.variant_add(
                    shop, product,
                    sku=spec.get("sku") or item_spec.get("sku") or "",
                    price=spec.get("price") or "0.00",
                    option_values=values,
                    position=position,
                    tracked=item_spec.get("tracked", True) is not False,
                )
                created_items.append(shop.item_of(variant))
            variant.option_values = values
            variant.position = position
            _apply_variant_input(world, shop, variant, spec)
            kept.append(variant.id)
            item = shop.item_of(variant)
            for quantity in spec.get("inventoryQuantities") or []:
                location = shop.locations[id_of(quantity["locationId"], "Location") or 0]
                level = world.level_activate(shop, item, location)
                current = level.get(quantity["name"])
                if quantity["quantity"] != current:
                    world.level_change(level, "available", quantity["quantity"] - current)
                if level not in changed_levels:
                    changed_levels.append(level)
            if not item.levels and item in created_items:
                world.level_activate(shop, item, shop.primary_location)
        for variant in existing:
            if variant.id not in kept:
                deleted_items.append(shop.item_of(variant))
                world.variant_remove(shop, product, variant)
        product.variant_ids = kept
        if not product.options and kept:
            product.options = [{"id": world.next_id(), "name": "Title",
                                "values": ["Default Title"]}]
    if not product.variant_ids:
        variant = world.variant_add(shop, product, sku="", price="0.00", option_values=[],
                                    position=1)
        created_items.append(shop.item_of(variant))
        world.level_activate(shop, shop.item_of(variant), shop.primary_location)
        if not product.options:
            product.options = [{"id": world.next_id(), "name": "Title",
                                "values": ["Default Title"]}]
    world.emit(shop, "products/create" if creating else "products/update",
               rest.product(shop, product))
    for item in created_items:
        world.emit(shop, "inventory_items/create", rest.inventory_item(shop, item))
    for item in deleted_items:
        world.emit(shop, "inventory_items/delete",
                   {"id": item.id, "admin_graphql_api_id": rest.gid("InventoryItem", item.id)})
    for level in changed_levels:
        world.emit(shop, "inventory_levels/update", rest.inventory_level(level))
    return _product_payload(typename, product, [], productSetOperation=None)


# --------------------------------------------------------------------------- productCreate


@field(M, "productCreate")
def product_create(root: Any, info: Info, product: dict | None = None,
                   input: dict | None = None, media: list | None = None) -> dict:  # noqa: A002
    context = ctx(info)
    world, shop = context.world, context.shop
    data = product or input or {}
    errors = _validate_product_strings(data, ["title"][:0] + ["product"])
    if not (data.get("title") or "").strip():
        errors.append(user_error(["title"], "Title can't be blank"))
    if errors:
        return _product_payload("ProductCreatePayload", None, errors)
    now = world.now()
    created = st.Product(id=world.next_id(), title=data["title"],
                         handle=world.unique_handle(shop, st.handleize(data.get("handle")
                                                                      or data["title"])),
                         created_at=now, updated_at=now, status=data.get("status") or "ACTIVE")
    created.published_at = now if created.status == "ACTIVE" else None
    shop.products[created.id] = created
    _apply_product_scalars(world, shop, created, {k: v for k, v in data.items() if k != "handle"})
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
    variant = world.variant_add(shop, created, sku="", price="0.00", option_values=first_values,
                                position=1, tracked=False)
    item = shop.item_of(variant)
    world.level_activate(shop, item, shop.primary_location)
    world.emit(shop, "products/create", rest.product(shop, created))
    world.emit(shop, "inventory_items/create", rest.inventory_item(shop, item))
    return _product_payload("ProductCreatePayload", created, [])


# --------------------------------------------------------------------------- productUpdate


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
        return _product_payload("ProductUpdatePayload", None, [
            user_error(["id"], "Product does not exist")])
    errors = _validate_product_strings(data, ["product"] if product else ["input"])
    if errors:
        return _product_payload("ProductUpdatePayload", None, errors)
    _apply_product_scalars(world, shop, found, data)
    for media_item in media or []:
        found.images.append({"id": world.next_id(), "src": media_item.get("originalSource"),
                             "alt": media_item.get("alt"), "created_at": world.now()})
    found.updated_at = world.now()
    world.emit(shop, "products/update", rest.product(shop, found))
    return _product_payload("ProductUpdatePayload", found, [])


# --------------------------------------------------------------------------- variants


@field(M, "productVariantsBulkUpdate")
def product_variants_bulk_update(root: Any, info: Info, productId: str, variants: list[dict],
                                 media: list | None = None,
                                 allowPartialUpdates: bool = False) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = "ProductVariantsBulkUpdatePayload"
    error_type = "ProductVariantsBulkUpdateUserError"

    def payload(product: st.Product | None, updated: list | None, errors: list[dict]) -> dict:
        return {"__typename": typename, "product": product, "productVariants": updated,
                "userErrors": errors}

    product = shop.products.get(id_of(productId, "Product") or 0)
    if product is None:
        return payload(None, None, [user_error(["productId"], "Product does not exist",
                                               "PRODUCT_DOES_NOT_EXIST", error_type)])
    errors: list[dict] = []
    targets: list[tuple[int, st.Variant, dict]] = []
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
        if price is not None and st.money(price) < 0:
            errors.append(user_error(["variants", str(index), "price"],
                                     "Price must be greater than or equal to 0",
                                     "GREATER_THAN_OR_EQUAL_TO", error_type))
            continue
        targets.append((index, variant, spec))
    if errors and not allowPartialUpdates:
        return payload(product, None, errors)
    changed_items: list[st.InventoryItem] = []
    option_names = [o["name"] for o in product.options]
    for _index, variant, spec in targets:
        item = shop.item_of(variant)
        before = (item.sku, item.tracked, item.cost, item.requires_shipping)
        _apply_variant_input(world, shop, variant, spec)
        if spec.get("optionValues"):
            variant.option_values = _variant_option_values(spec, option_names)
            for name, value in zip(option_names, variant.option_values, strict=False):
                option = next(o for o in product.options if o["name"] == name)
                if value not in option["values"]:
                    option["values"].append(value)
        if (item.sku, item.tracked, item.cost, item.requires_shipping) != before:
            changed_items.append(item)
    product.updated_at = world.now()
    world.emit(shop, "products/update", rest.product(shop, product))
    for item in changed_items:
        world.emit(shop, "inventory_items/update", rest.inventory_item(shop, item))
    return payload(product, [variant for _i, variant, _s in targets], errors)


# --------------------------------------------------------------------------- tags


def _taggable(shop: st.Shop, value: str) -> tuple[str, Any]:
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
    wanted = _split_tags(tags)
    if add:
        obj.tags = st.normalize_tags(list(obj.tags) + wanted)
    else:
        lowered = {t.lower() for t in wanted}
        obj.tags = [t for t in obj.tags if t.lower() not in lowered]
    obj.updated_at = world.now()
    if kind == "Product":
        world.emit(shop, "products/update", rest.product(shop, obj))
    else:
        world.emit(shop, "orders/updated", rest.order(shop, obj))
    return {"__typename": "TagsAddPayload" if add else "TagsRemovePayload", "node": obj,
            "userErrors": []}


@field(M, "tagsAdd")
def tags_add(root: Any, info: Info, id: str, tags: list[str]) -> dict:  # noqa: A002
    return _tags_change(info, id, tags, add=True)


@field(M, "tagsRemove")
def tags_remove(root: Any, info: Info, id: str, tags: list[str]) -> dict:  # noqa: A002
    return _tags_change(info, id, tags, add=False)


@field("Product", "tags")
def _product_tags(obj: st.Product, info: Info) -> list[str]:
    return list(obj.tags)


# --------------------------------------------------------------------------- variants (bulk)


def _bulk_variant_options(product: st.Product, spec: dict) -> tuple[list[str] | None, str]:
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

    def payload(product: st.Product | None, created: list | None, errors: list[dict]) -> dict:
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
        if spec.get("price") is not None and st.money(spec["price"]) < 0:
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

    created: list[st.Variant] = []
    created_items: list[st.InventoryItem] = []
    changed_levels: list[st.InventoryLevel] = []
    position = len(existing)
    for spec, values in planned:
        position += 1
        item_spec = spec.get("inventoryItem") or {}
        variant = world.variant_add(
            shop, product, sku=item_spec.get("sku") or "", price=spec.get("price") or "0.00",
            option_values=values, position=position, barcode=spec.get("barcode"),
            compare_at_price=spec.get("compareAtPrice"),
            tracked=item_spec.get("tracked", True) is not False,
            inventory_policy=spec.get("inventoryPolicy") or "DENY",
        )
        _apply_item_input(world, shop.item_of(variant), item_spec)
        for option, value in zip(product.options, values, strict=False):
            if value not in option["values"]:
                option["values"].append(value)
        item = shop.item_of(variant)
        quantities = spec.get("inventoryQuantities") or []
        for quantity in quantities:
            location = shop.locations[id_of(quantity["locationId"], "Location") or 0]
            level = world.level_activate(shop, item, location)
            world.level_change(level, "available", int(quantity["availableQuantity"]))
            changed_levels.append(level)
        if not quantities:
            world.level_activate(shop, item, shop.primary_location)
        created.append(variant)
        created_items.append(item)
    if standalone and created:
        world.variant_remove(shop, product, existing[0])
    product.updated_at = world.now()
    world.emit(shop, "products/update", rest.product(shop, product))
    for item in created_items:
        world.emit(shop, "inventory_items/create", rest.inventory_item(shop, item))
    for level in changed_levels:
        world.emit(shop, "inventory_levels/update", rest.inventory_level(level))
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
    targets: list[st.Variant] = []
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
        world.variant_remove(shop, product, variant)
    for position, variant in enumerate(shop.product_variants(product), start=1):
        variant.position = position
    product.updated_at = world.now()
    world.emit(shop, "products/update", rest.product(shop, product))
    for item in deleted_items:
        world.emit(shop, "inventory_items/delete",
                   {"id": item.id, "admin_graphql_api_id": rest.gid("InventoryItem", item.id)})
    return {"__typename": typename, "product": product, "userErrors": []}
