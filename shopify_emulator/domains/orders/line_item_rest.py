"""The REST shape of an order line item, inside order, refund and fulfillment payloads."""

from __future__ import annotations

from shopify_emulator.domains.fulfillments.status import order_line_fulfillable
from shopify_emulator.domains.orders.models import LineItem, Order
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import price_set
from shopify_emulator.ids import gid


def line_item(shop: Shop, order: Order, line: LineItem) -> dict:
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
