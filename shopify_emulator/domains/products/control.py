"""Control routes for products: the merchant's product form, one or many at a time."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from shopify_emulator.control_support import (
    BULK_LIMIT,
    SHOP_PATH,
    ControlError,
    Emulator,
    Route,
    act,
    int_field,
    json_reply,
    read_body,
    require_shop,
    str_field,
)
from shopify_emulator.domains.products.operations import product_create, product_delete


def _product_spec(data: dict[str, Any]) -> dict[str, Any]:
    """Validated keyword arguments for product_create from a control API body."""
    title = str_field(data, "title")
    tags = data.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ControlError("tags must be a list of strings")
    variants = data.get("variants")
    if variants is None:
        variants = [
            {
                "sku": data.get("sku"),
                "price": data.get("price", "10.00"),
                "available": data.get("available", 0),
            }
        ]
    if not isinstance(variants, list) or not variants:
        raise ControlError("variants must be a non-empty list of {sku, price, available}")
    clean = []
    for index, variant in enumerate(variants):
        if not isinstance(variant, dict):
            raise ControlError(f"variants[{index}] must be an object")
        entry = dict(variant)
        entry["sku"] = str_field(variant, "sku", required=False) or None
        entry["price"] = str_field(variant, "price", required=False, default="0.00")
        entry["available"] = int_field(variant, "available", required=False) or 0
        clean.append(entry)
    return {"title": title, "vendor": str_field(data, "vendor", required=False), "tags": tags,
            "variants": product_variants_option_values(clean),
            "option_name": str_field(data, "option_name", required=False) or "Title"}


def product_variants_option_values(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each variant's value of the product's one option. Shopify has no product whose variants
    share their option values (its product form and productSet refuse one), so several
    variants given without values each get their SKU (or "Variant N"), and a repeated value
    is refused with Shopify's own words."""
    given = [variant.get("option1") for variant in variants]
    if len(variants) > 1 and not any(given):
        variants = [dict(variant, option1=variant["sku"] or f"Variant {position}")
                    for position, variant in enumerate(variants, start=1)]
    seen: set[str] = set()
    for variant in variants:
        value = str(variant.get("option1") or "Default Title")
        if value in seen:
            raise ControlError(f"The variant '{value}' already exists. Please change at least "
                               "one option value.", status=422)
        seen.add(value)
    return variants


def do_products(*, emulator: Emulator, request: Request, domain: str) -> Response:
    require_shop(emulator=emulator, domain=domain)
    spec = _product_spec(read_body(request))
    product = act(emulator=emulator, operation=product_create, shop_domain=domain, **spec)
    return json_reply(product, status=201)


def do_products_bulk(*, emulator: Emulator, request: Request, domain: str) -> Response:
    """Many products in one request (benchmark and large-test setup). Each product is its
    own merchant action, with the same webhooks as one POST .../products each; the reply
    is compact: ids and SKUs only."""
    require_shop(emulator=emulator, domain=domain)
    products = read_body(request).get("products")
    if not isinstance(products, list) or not products:
        raise ControlError("products must be a non-empty list of product objects")
    if len(products) > BULK_LIMIT:
        raise ControlError(f"at most {BULK_LIMIT} products per request")
    specs = []
    for index, data in enumerate(products):
        if not isinstance(data, dict):
            raise ControlError(f"products[{index}] must be an object")
        specs.append(_product_spec(data))
    created = []
    for spec in specs:
        product = act(emulator=emulator, operation=product_create, shop_domain=domain, **spec)
        created.append({
            "id": product["id"],
            "title": product["title"],
            "variants": [
                {"id": v["id"], "sku": v["sku"], "inventory_item_id": v["inventory_item_id"]}
                for v in product["variants"]
            ],
        })
    return json_reply({"products": created}, status=201)


def do_product_delete(*, emulator: Emulator, request: Request, domain: str,
                      product_id: int) -> Response:
    """The merchant deletes a product: products/delete and inventory_items/delete follow."""
    shop = require_shop(emulator=emulator, domain=domain)
    if product_id not in shop.products:
        raise ControlError(f"Unknown product {product_id} in {domain}", status=404)
    return json_reply(act(emulator=emulator, operation=product_delete, shop_domain=domain,
                          product_id=product_id))


ROUTES = [
    Route(path=f"{SHOP_PATH}/products", name="products", methods=("POST",), handler=do_products),
    Route(path=f"{SHOP_PATH}/products/bulk", name="products_bulk", methods=("POST",),
          handler=do_products_bulk),
    Route(path=f"{SHOP_PATH}/products/<int:product_id>", name="product_delete",
          methods=("DELETE",), handler=do_product_delete),
]
