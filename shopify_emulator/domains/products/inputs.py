"""Applying productSet / productCreate / productUpdate / variant inputs to the records, shared
by the product mutations."""

from __future__ import annotations

from typing import Any

from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.inventory.models import InventoryItem
from shopify_emulator.domains.products.fields import (
    APP_NAMESPACE,
    metafield_problems,
    metafield_upsert,
)
from shopify_emulator.domains.products.models import Product, Variant
from shopify_emulator.domains.products.operations import product_handle_unique
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import money_str, normalize_tags
from shopify_emulator.world import World


def variant_option_values(spec: dict, option_names: list[str]) -> list[str]:
    values = spec.get("optionValues") or []
    by_name = {v.get("optionName"): v.get("name") for v in values if v.get("optionName")}
    if by_name and option_names:
        return [str(by_name.get(name) or "") for name in option_names if name in by_name]
    return [str(v.get("name")) for v in values if v.get("name") is not None]


def item_input_apply(world: World, item: InventoryItem, data: dict | None) -> bool:
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
        item.cost = money_str(data["cost"]) if data["cost"] is not None else None
        changed = True
    weight = (data.get("measurement") or {}).get("weight")
    if weight and (float(weight["value"]), weight["unit"]) != (item.weight, item.weight_unit):
        item.weight, item.weight_unit = float(weight["value"]), weight["unit"]
        changed = True
    if changed:
        item.updated_at = world.now()
    return changed


def variant_input_apply(world: World, shop: Shop, variant: Variant, spec: dict) -> None:
    if spec.get("price") is not None:
        variant.price = money_str(spec["price"])
    if "compareAtPrice" in spec:
        value = spec["compareAtPrice"]
        variant.compare_at_price = money_str(value) if value is not None else None
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
    item_input_apply(world, item, spec.get("inventoryItem"))
    variant.updated_at = world.now()


def product_payload(typename: str, product: Product | None, errors: list[dict],
                     **extra: Any) -> dict:
    return {"__typename": typename, "product": product, "userErrors": errors, **extra}


def product_scalars_apply(world: World, shop: Shop, product: Product, data: dict) -> None:
    if data.get("title") is not None:
        product.title = data["title"]
    if data.get("handle"):
        product.handle = product_handle_unique(shop=shop, handle=data["handle"], exclude=product.id)
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
        product.tags = normalize_tags(tags_split(data["tags"]))
    seo = data.get("seo")
    if seo:
        if "title" in seo:
            product.seo_title = seo["title"] or None
        if "description" in seo:
            product.seo_description = seo["description"] or None


def metafield_inputs_validate(product: Product | None, metafields: list[dict] | None,
                              prefix: list[str], error_type: str = "UserError") -> list[dict]:
    """User errors for a product's MetafieldInput list (productSet, productUpdate,
    productCreate): an ``id`` must be one of the product's metafields; otherwise namespace,
    key, type and value must make a valid metafield."""
    errors: list[dict] = []
    for index, spec in enumerate(metafields or []):
        path = [*prefix, "metafields", str(index)]
        current = None
        if spec.get("id"):
            metafield_id = id_of(spec["id"], "Metafield")
            current = next((m for m in (product.metafields if product else [])
                            if m["id"] == metafield_id), None)
            if current is None:
                errors.append(user_error([*path, "id"], "Metafield does not exist",
                                         typename=error_type))
                continue
        resolved = metafield_input_resolve(spec, current)
        for field_name, message, _code in metafield_problems(
                namespace=resolved["namespace"], key=resolved["key"],
                type_name=resolved["type"], value=resolved["value"]):
            errors.append(user_error([*path, field_name], message, typename=error_type))
    return errors


def metafield_input_resolve(spec: dict, current: dict | None) -> dict:
    """A MetafieldInput's namespace, key, type and value, an existing metafield (given by
    ``id``) filling in what the input leaves out."""
    base = current or {}
    namespace = spec.get("namespace") or base.get("namespace") or APP_NAMESPACE
    return {"namespace": namespace, "key": spec.get("key") or base.get("key"),
            "type": spec.get("type") or base.get("type"),
            "value": spec["value"] if spec.get("value") is not None else base.get("value")}


def metafield_inputs_apply(world: World, product: Product, metafields: list[dict],
                           *, replace: bool) -> None:
    """Upsert each metafield; with ``replace`` (productSet's list semantics) the product's
    other metafields are deleted."""
    kept: list[int] = []
    for spec in metafields:
        current = None
        if spec.get("id"):
            metafield_id = id_of(spec["id"], "Metafield")
            current = next(m for m in product.metafields if m["id"] == metafield_id)
        resolved = metafield_input_resolve(spec, current)
        if current is not None and (current["namespace"], current["key"]) != (
                resolved["namespace"], resolved["key"]):
            current.update(namespace=resolved["namespace"], key=resolved["key"])
        metafield, _changed = metafield_upsert(
            world=world, metafields=product.metafields, namespace=resolved["namespace"],
            key=resolved["key"], type_name=resolved["type"], value=resolved["value"])
        kept.append(metafield["id"])
    if replace:
        product.metafields = [m for m in product.metafields if m["id"] in kept]


def tags_split(tags: list[str] | str) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    result: list[str] = []
    for tag in tags:
        result.extend(part.strip() for part in str(tag).split(","))
    return [t for t in result if t]


def product_strings_validate(data: dict, prefix: list[str]) -> list[dict]:
    errors = []
    for key, label in (("title", "Title"), ("vendor", "Vendor"), ("productType", "Product type"),
                       ("handle", "Handle")):
        value = data.get(key)
        if isinstance(value, str) and len(value) > 255:
            errors.append(user_error([*prefix, key],
                                     f"{label} is too long (maximum is 255 characters)"))
    return errors
