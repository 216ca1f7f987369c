"""The CLI's `product edit`: the merchant's product form from the command line, as a PATCH of
the control API (`PATCH /_emulator/shops/<shop>/products/<id>`), only the options given; and
`variant add` / `variant remove`, the form's Add variant and Delete variant.

    python -m shopify_emulator product edit demo 1001 --title "Big mug" --tags a,b \\
        --option "Size:Small,Medium" --metafield custom.material=linen --price 9.50
    python -m shopify_emulator variant add demo 1001 --option Large --sku MUG-L --price 12.00
    python -m shopify_emulator variant remove demo 1003
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol

METAFIELD_TYPE = "single_line_text_field"


class Client(Protocol):
    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any: ...


def product_edit_arguments(edit: argparse.ArgumentParser) -> None:
    edit.add_argument("domain")
    edit.add_argument("product_id", type=int)
    edit.add_argument("--title")
    edit.add_argument("--description", help="the description (HTML)")
    edit.add_argument("--vendor")
    edit.add_argument("--product-type")
    edit.add_argument("--tags", help="comma-separated; replaces the tags")
    edit.add_argument("--status", choices=("active", "draft", "archived"))
    edit.add_argument("--seo-title")
    edit.add_argument("--seo-description")
    edit.add_argument("--image", action="append", metavar="SRC[|ALT]",
                      help="repeatable; the images become these")
    edit.add_argument("--option", action="append", metavar="[NAME][:VALUE,VALUE...]",
                      help="repeatable, by position: renames the option (NAME) and/or its "
                      "values one for one, which the variants' titles follow; "
                      '":Small,Medium" keeps the name')
    edit.add_argument("--metafield", action="append",
                      metavar="NAMESPACE.KEY[:TYPE]=VALUE",
                      help=f"repeatable; sets a product metafield (TYPE: {METAFIELD_TYPE})")
    edit.add_argument("--variant", type=int, metavar="VARIANT_ID",
                      help="the variant the options below change (default: the only one)")
    edit.add_argument("--price")
    edit.add_argument("--compare-at-price", help='"" clears it')
    edit.add_argument("--barcode")
    edit.add_argument("--sku")
    edit.add_argument("--weight", type=float)
    edit.add_argument("--weight-unit", choices=("kg", "g", "lb", "oz"))


def _option(value: str) -> dict[str, Any]:
    name, colon, values = value.partition(":")
    spec: dict[str, Any] = {}
    if name.strip():
        spec["name"] = name.strip()
    if colon:
        spec["values"] = [v.strip() for v in values.split(",")]
    if not spec:
        raise SystemExit(f"error: expected NAME, NAME:VALUE,VALUE or :VALUE,VALUE, got {value!r}")
    return spec


def _metafield(value: str) -> dict[str, str]:
    target, equals, text = value.partition("=")
    target, _, type_name = target.partition(":")
    namespace, dot, key = target.rpartition(".")
    if not equals or not dot or not namespace or not key:
        raise SystemExit(f"error: expected NAMESPACE.KEY[:TYPE]=VALUE, got {value!r}")
    return {"namespace": namespace, "key": key, "type": type_name or METAFIELD_TYPE,
            "value": text}


def product_edit_body(client: Client, args: argparse.Namespace, shop: str) -> dict[str, Any]:
    """The PATCH body: only the options given. Variant options apply to --variant, or to the
    product's one variant when it has only one."""
    body: dict[str, Any] = {}
    for option, key in (("title", "title"), ("description", "body_html"), ("vendor", "vendor"),
                        ("product_type", "product_type"), ("tags", "tags"),
                        ("status", "status")):
        value = getattr(args, option)
        if value is not None:
            body[key] = value
    seo = {key: getattr(args, f"seo_{key}") for key in ("title", "description")
           if getattr(args, f"seo_{key}") is not None}
    if seo:
        body["seo"] = seo
    if args.image is not None:
        body["images"] = [dict(zip(("src", "alt"), value.split("|", 1), strict=False))
                          for value in args.image]
    if args.option is not None:
        body["options"] = [_option(value) for value in args.option]
    if args.metafield is not None:
        body["metafields"] = [_metafield(value) for value in args.metafield]
    variant: dict[str, Any] = {}
    for option in ("price", "compare_at_price", "barcode", "sku", "weight", "weight_unit"):
        value = getattr(args, option)
        if value is not None:
            variant[option] = value
    if variant:
        variant_id = args.variant
        if variant_id is None:
            state = client.call("GET", f"/_emulator/shops/{shop}?orders=0")
            product = next((p for p in state.get("products", []) if p["id"] == args.product_id),
                           None)
            if product is None:
                raise SystemExit(f"error: no product {args.product_id} in {args.domain}")
            if len(product["variants"]) != 1:
                raise SystemExit(f"error: product {args.product_id} has "
                                 f"{len(product['variants'])} variants; say which with --variant")
            variant_id = product["variants"][0]["id"]
        body["variants"] = [{"id": variant_id, **variant}]
    if not body:
        raise SystemExit("error: nothing to change; give at least one option (see --help)")
    return body


def variant_arguments(variant: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """`variant add` and `variant remove`: the merchant's Add variant / Delete variant."""
    commands = variant.add_subparsers(dest="variant_command", required=True)
    add = commands.add_parser("add", parents=[common],
                              help="add a variant to a product as the merchant does")
    add.add_argument("domain")
    add.add_argument("product_id", type=int)
    add.add_argument("--option", action="append", required=True, metavar="VALUE",
                     help="repeatable: the variant's value of each of the product's options, "
                     "in order")
    add.add_argument("--sku")
    add.add_argument("--price", required=True)
    add.add_argument("--available", type=int,
                     help="its available quantity at the primary location")
    add.add_argument("--compare-at-price")
    add.add_argument("--barcode")
    add.add_argument("--weight", type=float)
    add.add_argument("--weight-unit", choices=("kg", "g", "lb", "oz"))
    remove = commands.add_parser("remove", parents=[common],
                                 help="delete a variant as the merchant does (not the last one)")
    remove.add_argument("domain")
    remove.add_argument("variant_id", type=int)


def variant_add_body(args: argparse.Namespace) -> dict[str, Any]:
    """The POST body: only the options given."""
    body: dict[str, Any] = {"options": args.option}
    for option in ("sku", "price", "available", "compare_at_price", "barcode", "weight",
                   "weight_unit"):
        value = getattr(args, option)
        if value is not None:
            body[option] = value
    return body
