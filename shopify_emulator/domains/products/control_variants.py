"""Control routes for the merchant's Add variant and Delete variant in the admin: the same
operation, checks, words and webhooks as productVariantsBulkCreate / productVariantsBulkDelete
(``variant_operations``), so tests change a product's variants as a merchant does.

    POST   /_emulator/shops/<shop>/products/<product_id>/variants
           {"options": ["Large"], "sku": "SHIRT-L", "price": "21.00", "available": 5,
            "barcode": ..., "compare_at_price": ..., "weight": ..., "weight_unit": "kg"}
    DELETE /_emulator/shops/<shop>/variants/<variant_id>
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from shopify_emulator.control_support import (
    SHOP_PATH,
    ControlError,
    Emulator,
    Route,
    act,
    int_field,
    json_reply,
    read_body,
    require_shop,
)
from shopify_emulator.domains.products.control import variant_edit_spec
from shopify_emulator.domains.products.variant_operations import (
    Problem,
    variant_create,
    variant_delete,
)
from shopify_emulator.ids import gid

ADD_FIELDS = ("options", "sku", "price", "compare_at_price", "barcode", "weight",
              "weight_unit", "available")


def _refusal(problems: list[Problem]) -> ControlError:
    """Shopify's own words for why the admin refused (nothing changed)."""
    return ControlError("; ".join(message for _field, message, _code in problems), status=422)


def _bulk_input(*, data: dict[str, Any], option_names: list[str],
                location_id: int) -> dict[str, Any]:
    """The control API body as the ProductVariantsBulkInput the admin's form sends."""
    unknown = sorted(set(data) - set(ADD_FIELDS))
    if unknown:
        raise ControlError(f"unknown field(s) {', '.join(unknown)}; adding a variant takes "
                           f"{', '.join(ADD_FIELDS)}")
    values = data.get("options")
    if isinstance(values, str):
        values = [values]
    if (not isinstance(values, list) or not values
            or not all(isinstance(v, str) and v.strip() for v in values)):
        raise ControlError("options must be a non-empty list of option values (strings), one "
                           "for each of the product's options in order")
    if len(values) != len(option_names):
        raise ControlError(f"options must give {len(option_names)} value(s), one for each of "
                           f"the product's options ({', '.join(option_names)}), in order")
    fields = variant_edit_spec({"id": 1, **{key: data[key] for key in data
                                        if key not in ("options", "available")}}, "body")
    spec: dict[str, Any] = {
        "optionValues": [{"optionName": name, "name": value.strip()}
                         for name, value in zip(option_names, values, strict=True)],
        "price": fields.get("price") or "0.00",
        "inventoryItem": {"sku": fields.get("sku") or ""},
    }
    for key, name in (("compare_at_price", "compareAtPrice"), ("barcode", "barcode")):
        if fields.get(key) is not None:
            spec[name] = fields[key]
    if "weight" in fields:
        spec["inventoryItem"]["measurement"] = {"weight": {
            "value": fields["weight"], "unit": fields.get("weight_unit") or "KILOGRAMS"}}
    elif "weight_unit" in fields:
        raise ControlError("weight_unit needs a weight")
    available = int_field(data, "available", required=False)
    if available is not None:
        spec["inventoryQuantities"] = [{"locationId": gid("Location", location_id),
                                        "availableQuantity": available}]
    return spec


def do_variant_add(*, emulator: Emulator, request: Request, domain: str,
                   product_id: int) -> Response:
    """The merchant adds a variant: products/update, inventory_items/create and (with
    `available`) inventory_levels/update follow. A product's standalone Default Title variant
    is replaced by the new one, as Shopify does."""
    shop = require_shop(emulator=emulator, domain=domain)
    data = read_body(request)
    with emulator.world.lock:
        product = shop.products.get(product_id)
        if product is None:
            raise ControlError(f"Unknown product {product_id} in {domain}", status=404)
        option_names = [option["name"] for option in product.options]
        location_id = shop.primary_location_id
    spec = _bulk_input(data=data, option_names=option_names, location_id=location_id)
    reply, problems = act(emulator=emulator, operation=variant_create, shop_domain=domain,
                          product_id=product_id, spec=spec)
    if problems:
        raise _refusal(problems)
    return json_reply(reply, status=201)


def do_variant_remove(*, emulator: Emulator, request: Request, domain: str,
                      variant_id: int) -> Response:
    """The merchant deletes a variant: products/update and inventory_items/delete follow; a
    product's last variant cannot be deleted."""
    shop = require_shop(emulator=emulator, domain=domain)
    with emulator.world.lock:
        if variant_id not in shop.variants:
            raise ControlError(f"Unknown variant {variant_id} in {domain}", status=404)
    product, problems = act(emulator=emulator, operation=variant_delete, shop_domain=domain,
                            variant_id=variant_id)
    if problems:
        raise _refusal(problems)
    return json_reply(product)


ROUTES = [
    Route(path=f"{SHOP_PATH}/products/<int:product_id>/variants", name="variant_add",
          methods=("POST",), handler=do_variant_add),
    Route(path=f"{SHOP_PATH}/variants/<int:variant_id>", name="variant_remove",
          methods=("DELETE",), handler=do_variant_remove),
]
