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
from shopify_emulator.domains.products.fields import metafield_problems, weight_unit_of
from shopify_emulator.domains.products.operations import (
    product_create,
    product_delete,
    product_edit,
    product_edit_problem,
)
from shopify_emulator.formats import money


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
        extra = {key: variant[key] for key in ("compare_at_price", "weight", "weight_unit")
                 if key in variant}
        entry.update(variant_edit_spec({"id": 1, **extra}, f"variants[{index}]"))
        entry.pop("id")
        clean.append(entry)
    status = str_field(data, "status", required=False, default="active").upper()
    if status not in STATUSES:
        raise ControlError("status must be active, draft or archived")
    return {"title": title, "vendor": str_field(data, "vendor", required=False), "tags": tags,
            "variants": product_variants_option_values(clean),
            "option_name": str_field(data, "option_name", required=False) or "Title",
            "body_html": str_field(data, "body_html", required=False),
            "product_type": str_field(data, "product_type", required=False),
            "status": status}


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


EDIT_FIELDS = ("title", "body_html", "description", "vendor", "product_type", "tags", "status",
               "images", "seo", "options", "variants", "metafields")
VARIANT_EDIT_FIELDS = ("id", "price", "compare_at_price", "barcode", "sku", "weight",
                       "weight_unit")
STATUSES = ("ACTIVE", "DRAFT", "ARCHIVED")


def _list_of_objects(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise ControlError(f"{key} must be a list of objects")
    return value


def _money_field(data: dict[str, Any], key: str, where: str) -> str:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ControlError(f"{where}.{key} must be an amount like \"19.99\"")
    try:
        amount = money(value)
    except (ArithmeticError, ValueError) as exc:
        raise ControlError(f"{where}.{key} must be an amount like \"19.99\"") from exc
    if amount < 0:
        raise ControlError(f"{where}.{key} cannot be below zero")
    return str(value)


def variant_edit_spec(data: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(data) - set(VARIANT_EDIT_FIELDS))
    if unknown:
        raise ControlError(f"{where}: unknown field(s) {', '.join(unknown)}; a variant edit "
                           f"takes {', '.join(VARIANT_EDIT_FIELDS)}")
    spec: dict[str, Any] = {"id": int_field(data, "id", minimum=1)}
    if "price" in data:
        if data["price"] in (None, ""):
            raise ControlError(f"{where}.price is required when given (a variant has a price)")
        spec["price"] = _money_field(data, "price", where)
    if "compare_at_price" in data:
        spec["compare_at_price"] = (None if data["compare_at_price"] in (None, "")
                                    else _money_field(data, "compare_at_price", where))
    for key in ("barcode", "sku"):
        if key in data:
            spec[key] = str_field(data, key, required=False) or None
    if "weight" in data:
        weight = data["weight"]
        if isinstance(weight, bool) or not isinstance(weight, (int, float, str)):
            raise ControlError(f"{where}.weight must be a number")
        try:
            spec["weight"] = float(weight)
        except ValueError as exc:
            raise ControlError(f"{where}.weight must be a number") from exc
        if spec["weight"] < 0:
            raise ControlError(f"{where}.weight cannot be below zero")
    if "weight_unit" in data:
        unit = weight_unit_of(data["weight_unit"])
        if unit is None:
            raise ControlError(f"{where}.weight_unit must be one of kg, g, lb, oz")
        spec["weight_unit"] = unit
    return spec


def _edit_spec(data: dict[str, Any], where: str = "") -> dict[str, Any]:
    """A merchant's product edit from a control API body, well-formed: only the fields given,
    in the emulator's own terms (whether it fits the product is checked against it later)."""
    prefix = f"{where}." if where else ""
    unknown = sorted(set(data) - set(EDIT_FIELDS) - {"id"})
    if unknown:
        raise ControlError(f"{where or 'body'}: unknown field(s) {', '.join(unknown)}; an edit "
                           f"takes {', '.join(EDIT_FIELDS)}")
    edit: dict[str, Any] = {}
    if "title" in data:
        edit["title"] = str_field(data, "title", required=False).strip()
        if not edit["title"]:
            raise ControlError(f"{prefix}title can't be blank")
        if len(edit["title"]) > 255:
            raise ControlError(f"{prefix}title is too long (maximum is 255 characters)")
    if "body_html" in data and "description" in data:
        raise ControlError(f"{prefix}body_html and description are the same field: give one")
    for key, name in (("body_html", "body_html"), ("description", "body_html"),
                      ("vendor", "vendor"), ("product_type", "product_type")):
        if key in data:
            edit[name] = str_field(data, key, required=False)
    if "tags" in data:
        tags = data["tags"] if data["tags"] is not None else []
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ControlError(f"{prefix}tags must be a list of strings or a comma-separated "
                               "string")
        edit["tags"] = tags
    if "status" in data:
        status = str_field(data, "status").upper()
        if status not in STATUSES:
            raise ControlError(f"{prefix}status must be active, draft or archived")
        edit["status"] = status
    if "images" in data:
        images = []
        for index, image in enumerate(_list_of_objects(data, "images")):
            src = str_field(image, "src", required=False)
            if not src:
                raise ControlError(f"{prefix}images[{index}].src is required")
            images.append({"src": src, "alt": str_field(image, "alt", required=False) or None})
        edit["images"] = images
    if "seo" in data:
        seo = data["seo"]
        if not isinstance(seo, dict) or not set(seo) <= {"title", "description"}:
            raise ControlError(f"{prefix}seo must be an object with title and/or description")
        edit["seo"] = {key: str_field(seo, key, required=False) for key in seo}
    if "options" in data:
        options = []
        for index, option in enumerate(_list_of_objects(data, "options")):
            spec: dict[str, Any] = {"name": str_field(option, "name", required=False) or None}
            values = option.get("values")
            if values is not None:
                if (not isinstance(values, list) or not values
                        or not all(isinstance(v, str) and v.strip() for v in values)):
                    raise ControlError(f"{prefix}options[{index}].values must be a list of "
                                       "non-blank strings")
                spec["values"] = [v.strip() for v in values]
            options.append(spec)
        edit["options"] = options
    if "variants" in data:
        edit["variants"] = [variant_edit_spec(variant, f"{prefix}variants[{index}]")
                            for index, variant in enumerate(_list_of_objects(data, "variants"))]
    if "metafields" in data:
        metafields = []
        for index, metafield in enumerate(_list_of_objects(data, "metafields")):
            problems = metafield_problems(namespace=metafield.get("namespace"),
                                          key=metafield.get("key"),
                                          type_name=metafield.get("type"),
                                          value=metafield.get("value"))
            if problems:
                field_name, message, _code = problems[0]
                raise ControlError(f"{prefix}metafields[{index}].{field_name}: {message}")
            metafields.append({key: metafield[key]
                               for key in ("namespace", "key", "type", "value")})
        edit["metafields"] = metafields
    return edit


def _edit_check(*, emulator: Emulator, domain: str, product_id: int, edit: dict[str, Any],
                where: str = "") -> None:
    shop = require_shop(emulator=emulator, domain=domain)
    with emulator.world.lock:
        product = shop.products.get(product_id)
        if product is None:
            raise ControlError(f"Unknown product {product_id} in {domain}", status=404)
        problem = product_edit_problem(shop=shop, product=product, edit=edit)
    if problem is not None:
        raise ControlError(f"{where}{problem}", status=422)


def do_product_edit(*, emulator: Emulator, request: Request, domain: str,
                    product_id: int) -> Response:
    """The merchant edits a product: only the given fields change; products/update follows
    (and inventory_items/update for a changed SKU or weight)."""
    edit = _edit_spec(read_body(request))
    _edit_check(emulator=emulator, domain=domain, product_id=product_id, edit=edit)
    return json_reply(act(emulator=emulator, operation=product_edit, shop_domain=domain,
                          product_id=product_id, edit=edit))


def do_product_edits(*, emulator: Emulator, request: Request, domain: str) -> Response:
    """Many edits in one request (benchmarks): each is its own merchant action with its own
    webhooks, as one PATCH each; all are checked before any applies."""
    require_shop(emulator=emulator, domain=domain)
    body = read_body(request)
    edits = body.get("edits")
    # Benchmarks run the emulator without webhooks and feed Syncer the products/update bodies
    # themselves: `with_payloads` returns each edit's (the product as REST shows it).
    with_payloads = body.get("with_payloads") is True
    if not isinstance(edits, list) or not edits:
        raise ControlError("edits must be a non-empty list of {id, <fields to change>}")
    if len(edits) > BULK_LIMIT:
        raise ControlError(f"at most {BULK_LIMIT} edits per request")
    planned = []
    for index, data in enumerate(edits):
        if not isinstance(data, dict):
            raise ControlError(f"edits[{index}] must be an object")
        product_id = int_field(data, "id", minimum=1)
        edit = _edit_spec(data, f"edits[{index}]")
        _edit_check(emulator=emulator, domain=domain, product_id=product_id, edit=edit,
                    where=f"edits[{index}]: ")
        planned.append((product_id, edit))
    edited = []
    for product_id, edit in planned:
        product = act(emulator=emulator, operation=product_edit, shop_domain=domain,
                      product_id=product_id, edit=edit)
        edited.append({"id": product["id"], "updated_at": product["updated_at"]}
                      | ({"payload": product} if with_payloads else {}))
    return json_reply({"products": edited})


ROUTES = [
    Route(path=f"{SHOP_PATH}/products", name="products", methods=("POST",), handler=do_products),
    Route(path=f"{SHOP_PATH}/products/bulk", name="products_bulk", methods=("POST",),
          handler=do_products_bulk),
    Route(path=f"{SHOP_PATH}/products/<int:product_id>", name="product_delete",
          methods=("DELETE",), handler=do_product_delete),
    Route(path=f"{SHOP_PATH}/products/<int:product_id>", name="product_edit",
          methods=("PATCH",), handler=do_product_edit),
    Route(path=f"{SHOP_PATH}/products/edits", name="product_edits", methods=("POST",),
          handler=do_product_edits),
]
