"""REST payloads of the product webhooks (``products/create``, ``products/update``)."""

from __future__ import annotations

from shopify_emulator.domains.products.fields import weight_grams, weight_rest_unit
from shopify_emulator.domains.products.models import Product, Variant
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import ts
from shopify_emulator.ids import gid


def variant(shop: Shop, product: Product, variant: Variant) -> dict:
    item = shop.inventory_items.get(variant.inventory_item_id)
    options = list(variant.option_values) + [None] * (3 - len(variant.option_values))
    if not variant.option_values:
        options[0] = "Default Title"
    return {
        "id": variant.id,
        "product_id": product.id,
        "title": variant.title,
        "price": variant.price,
        "sku": item.sku if item else "",
        "position": variant.position,
        "inventory_policy": variant.inventory_policy.lower(),
        "compare_at_price": variant.compare_at_price,
        "option1": options[0],
        "option2": options[1],
        "option3": options[2],
        "created_at": ts(variant.created_at),
        "updated_at": ts(variant.updated_at),
        "taxable": variant.taxable,
        "barcode": variant.barcode,
        "grams": weight_grams(item.weight, item.weight_unit) if item else 0,
        "weight": item.weight if item else 0.0,
        "weight_unit": weight_rest_unit(item.weight_unit) if item else "kg",
        "inventory_item_id": variant.inventory_item_id,
        "inventory_quantity": shop.inventory_quantity(variant) if item else 0,
        "old_inventory_quantity": shop.inventory_quantity(variant) if item else 0,
        "inventory_management": "shopify" if item and item.tracked else None,
        "requires_shipping": item.requires_shipping if item else True,
        "fulfillment_service": "manual",
        "image_id": None,
        "admin_graphql_api_id": gid("ProductVariant", variant.id),
    }


def product(shop: Shop, product: Product) -> dict:
    variants = shop.product_variants(product)
    images = [_image(product, image, position)
              for position, image in enumerate(product.images, start=1)]
    return {
        "id": product.id,
        "title": product.title,
        "body_html": product.body_html,
        "vendor": product.vendor,
        "product_type": product.product_type,
        "created_at": ts(product.created_at),
        "handle": product.handle,
        "updated_at": ts(product.updated_at),
        "published_at": ts(product.published_at),
        "template_suffix": None,
        "published_scope": "global",
        "tags": ", ".join(product.tags),
        "status": product.status.lower(),
        "admin_graphql_api_id": gid("Product", product.id),
        "variants": [variant(shop, product, v) for v in variants],
        "options": [
            {
                "id": option["id"],
                "product_id": product.id,
                "name": option["name"],
                "position": position,
                "values": list(option["values"]),
            }
            for position, option in enumerate(product.options, start=1)
        ],
        "images": images,
        "image": images[0] if images else None,
    }


def _image(product: Product, image: dict, position: int) -> dict:
    return {
        "id": image["id"],
        "product_id": product.id,
        "position": position,
        "created_at": ts(image.get("created_at")),
        "updated_at": ts(image.get("created_at")),
        "alt": image.get("alt"),
        "width": image.get("width", 0),
        "height": image.get("height", 0),
        "src": image["src"],
        "variant_ids": [],
        "admin_graphql_api_id": gid("ProductImage", image["id"]),
    }
