"""REST-shaped resources: the JSON bodies of Shopify webhooks.

Snake_case keys, numeric ids plus ``admin_graphql_api_id``, money as strings, timestamps in
ISO 8601 with an offset — the shapes of shopify.dev's webhook reference.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shopify_emulator.ids import gid

if TYPE_CHECKING:
    from shopify_emulator.state import (
        BulkOperation,
        Fulfillment,
        InventoryItem,
        InventoryLevel,
        LineItem,
        Order,
        Product,
        Refund,
        Shop,
        Variant,
    )


def ts(value: datetime | None) -> str | None:
    """REST timestamp: ``2026-06-25T01:33:55+00:00``."""
    if value is None:
        return None
    if value.tzinfo is UTC:
        # The world's own timestamps (all UTC, whole seconds, shared by everything one
        # request touches): formatting each was a tenth of a 250-item inventory write.
        return _utc_ts(value)
    return value.replace(microsecond=0).isoformat()


@lru_cache(maxsize=4096)
def _utc_ts(value: datetime) -> str:
    # Only UTC values get here: equal keys then always format alike (an aware datetime equals
    # the same instant in another offset, which would format differently).
    return value.replace(microsecond=0).isoformat()


def _money(value: Any) -> str:
    return str(Decimal(str(value if value is not None else "0")).quantize(Decimal("0.01")))


def price_set(amount: Any, currency: str) -> dict:
    money = {"amount": _money(amount), "currency_code": currency}
    return {"shop_money": dict(money), "presentment_money": dict(money)}


# --------------------------------------------------------------------------- products


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
        "grams": variant.grams,
        "weight": 0.0,
        "weight_unit": "kg",
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
        "images": [
            {
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
            for position, image in enumerate(product.images, start=1)
        ],
        "image": None,
    }


def inventory_item(shop: Shop, item: InventoryItem) -> dict:
    return {
        "id": item.id,
        "sku": item.sku,
        "created_at": ts(item.created_at),
        "updated_at": ts(item.updated_at),
        "requires_shipping": item.requires_shipping,
        "cost": item.cost,
        "country_code_of_origin": None,
        "province_code_of_origin": None,
        "harmonized_system_code": None,
        "tracked": item.tracked,
        "country_harmonized_system_codes": [],
        "admin_graphql_api_id": gid("InventoryItem", item.id),
    }


def inventory_level(level: InventoryLevel) -> dict:
    return {
        "inventory_item_id": level.inventory_item_id,
        "location_id": level.location_id,
        "available": level.available,
        "updated_at": ts(level.updated_at),
        "admin_graphql_api_id": level.gid,
    }


# --------------------------------------------------------------------------- orders


def _address(data: dict | None) -> dict | None:
    if not data:
        return None
    return dict(data)


def customer(shop: Shop, data: dict | None) -> dict | None:
    if not data:
        return None
    return {
        "id": data["id"],
        "email": data.get("email"),
        "created_at": ts(data.get("created_at")),
        "updated_at": ts(data.get("updated_at")),
        "first_name": data.get("first_name"),
        "last_name": data.get("last_name"),
        "state": "enabled",
        "note": None,
        "verified_email": True,
        "phone": data.get("phone"),
        "tags": data.get("tags", ""),
        "currency": shop.currency,
        "admin_graphql_api_id": gid("Customer", data["id"]),
    }


def line_item(shop: Shop, order: Order, line: LineItem) -> dict:
    from shopify_emulator.state import order_line_fulfillable

    fulfillable = order_line_fulfillable(shop, order, line)
    current = line.quantity - line.refunded_quantity
    if line.fulfilled_quantity >= current and current > 0 or (
        line.fulfilled_quantity and line.fulfilled_quantity >= line.quantity
    ):
        status = "fulfilled"
    elif line.fulfilled_quantity:
        status = "partial"
    else:
        status = None
    name = line.title if not line.variant_title else f"{line.title} - {line.variant_title}"
    return {
        "id": line.id,
        "admin_graphql_api_id": gid("LineItem", line.id),
        "variant_id": line.variant_id,
        "product_id": line.product_id,
        "sku": line.sku,
        "title": line.title,
        "variant_title": line.variant_title or None,
        "vendor": line.vendor or None,
        "name": name,
        "quantity": line.quantity,
        "current_quantity": current,
        "fulfillable_quantity": fulfillable,
        "fulfillment_status": status,
        "fulfillment_service": "manual",
        "variant_inventory_management": "shopify" if line.variant_id else None,
        "product_exists": line.product_id is not None and line.product_id in shop.products,
        "price": line.price,
        "price_set": price_set(line.price, order.currency),
        "total_discount": "0.00",
        "total_discount_set": price_set("0.00", order.currency),
        "requires_shipping": line.requires_shipping,
        "taxable": line.taxable,
        "gift_card": False,
        "grams": line.grams,
        "properties": [],
        "tax_lines": [],
        "discount_allocations": [],
        "duties": [],
    }


def shipping_line(order: Order, line: dict) -> dict:
    return {
        "id": line["id"],
        "title": line["title"],
        "code": line["code"],
        "price": line["price"],
        "price_set": price_set(line["price"], order.currency),
        "discounted_price": line["price"],
        "discounted_price_set": price_set(line["price"], order.currency),
        "source": line.get("source", "shopify"),
        "carrier_identifier": None,
        "tax_lines": [],
        "discount_allocations": [],
    }


def order(shop: Shop, order: Order) -> dict:
    from shopify_emulator.state import order_fulfillment_status

    refunded = sum(
        (Decimal(t["amount"]) for r_id in order.refund_ids
         for t in shop.refunds[r_id].transactions),
        Decimal("0.00"),
    )
    total = order.total
    current_subtotal = sum(
        (Decimal(li.price) * (li.quantity - li.refunded_quantity) for li in order.line_items),
        Decimal("0.00"),
    )
    current_total = current_subtotal + order.shipping_total
    paid = order.financial_status in ("paid", "partially_refunded", "refunded")
    return {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "name": order.name,
        "order_number": order.number,
        "number": order.number - 1000,
        "email": order.email,
        "contact_email": order.email,
        "phone": order.phone,
        "created_at": ts(order.created_at),
        "updated_at": ts(order.updated_at),
        "processed_at": ts(order.processed_at),
        "cancelled_at": ts(order.cancelled_at),
        "cancel_reason": order.cancel_reason,
        "closed_at": ts(order.closed_at),
        "confirmed": True,
        "test": order.test,
        "financial_status": order.financial_status,
        "fulfillment_status": order_fulfillment_status(shop, order),
        "currency": order.currency,
        "presentment_currency": order.currency,
        "subtotal_price": _money(order.subtotal),
        "subtotal_price_set": price_set(order.subtotal, order.currency),
        "total_line_items_price": _money(order.subtotal),
        "total_line_items_price_set": price_set(order.subtotal, order.currency),
        "total_shipping_price_set": price_set(order.shipping_total, order.currency),
        "total_tax": "0.00",
        "total_tax_set": price_set("0.00", order.currency),
        "taxes_included": False,
        "total_discounts": "0.00",
        "total_discounts_set": price_set("0.00", order.currency),
        "total_price": _money(total),
        "total_price_set": price_set(total, order.currency),
        "current_subtotal_price": _money(current_subtotal),
        "current_total_price": _money(current_total),
        "current_total_price_set": price_set(current_total, order.currency),
        "total_outstanding": "0.00" if paid else _money(total),
        "total_refunded": _money(refunded),
        "total_weight": 0,
        "tags": ", ".join(order.tags),
        "note": order.note,
        "note_attributes": [],
        "source_name": order.source_name,
        "source_identifier": order.source_identifier,
        "location_id": None,
        "discount_codes": [],
        "tax_lines": [],
        "payment_gateway_names": ["manual"] if paid else [],
        "customer": customer(shop, order.customer),
        "billing_address": _address(order.billing_address),
        "shipping_address": _address(order.shipping_address),
        "line_items": [line_item(shop, order, li) for li in order.line_items],
        "shipping_lines": [shipping_line(order, s) for s in order.shipping_lines],
        "fulfillments": [
            fulfillment(shop, order, shop.fulfillments[f_id]) for f_id in order.fulfillment_ids
        ],
        "refunds": [refund(shop, order, shop.refunds[r_id]) for r_id in order.refund_ids],
    }


def refund(shop: Shop, order: Order, refund: Refund) -> dict:
    items = []
    for rli in refund.refund_line_items:
        line = order.line(rli["line_item_id"])
        items.append(
            {
                "id": rli["id"],
                "line_item_id": rli["line_item_id"],
                "location_id": rli.get("location_id"),
                "quantity": rli["quantity"],
                "restock_type": rli["restock_type"],
                "subtotal": float(Decimal(rli["subtotal"])),
                "subtotal_set": price_set(rli["subtotal"], order.currency),
                "total_tax": 0.0,
                "total_tax_set": price_set("0.00", order.currency),
                "line_item": line_item(shop, order, line) if line is not None else None,
            }
        )
    return {
        "id": refund.id,
        "admin_graphql_api_id": gid("Refund", refund.id),
        "order_id": order.id,
        "created_at": ts(refund.created_at),
        "processed_at": ts(refund.created_at),
        "note": refund.note,
        "restock": refund.restock,
        "user_id": None,
        "refund_line_items": items,
        "transactions": [
            {
                "id": t["id"],
                "admin_graphql_api_id": gid("OrderTransaction", t["id"]),
                "order_id": order.id,
                "kind": t["kind"],
                "gateway": t["gateway"],
                "status": t["status"],
                "amount": t["amount"],
                "currency": t["currency"],
                "created_at": ts(t["created_at"]),
                "processed_at": ts(t["created_at"]),
                "parent_id": None,
                "test": order.test,
            }
            for t in refund.transactions
        ],
        "order_adjustments": [],
        "duties": [],
        "refund_shipping_lines": [],
    }


def fulfillment(shop: Shop, order: Order, fulfillment: Fulfillment) -> dict:
    lines = []
    for entry in fulfillment.line_items:
        line = order.line(entry["line_item_id"])
        if line is None:
            continue
        payload = line_item(shop, order, line)
        payload["quantity"] = entry["quantity"]
        lines.append(payload)
    return {
        "id": fulfillment.id,
        "admin_graphql_api_id": gid("Fulfillment", fulfillment.id),
        "order_id": order.id,
        "name": fulfillment.name,
        "status": fulfillment.status,
        "service": "manual",
        "location_id": fulfillment.location_id,
        "created_at": ts(fulfillment.created_at),
        "updated_at": ts(fulfillment.updated_at),
        "tracking_company": fulfillment.tracking_company,
        "tracking_number": fulfillment.tracking_numbers[0] if fulfillment.tracking_numbers
        else None,
        "tracking_numbers": list(fulfillment.tracking_numbers),
        "tracking_url": fulfillment.tracking_urls[0] if fulfillment.tracking_urls else None,
        "tracking_urls": list(fulfillment.tracking_urls),
        "shipment_status": fulfillment.shipment_status,
        "notify_customer": fulfillment.notify_customer,
        "origin_address": {},
        "receipt": {},
        "variant_inventory_management": "shopify",
        "line_items": lines,
    }


def bulk_operation_finish(operation: BulkOperation) -> dict:
    return {
        "admin_graphql_api_id": gid("BulkOperation", operation.id),
        "completed_at": ts(operation.completed_at),
        "created_at": ts(operation.created_at),
        "error_code": operation.error_code.lower() if operation.error_code else None,
        "status": operation.status.lower(),
        "type": operation.type.lower(),
    }
