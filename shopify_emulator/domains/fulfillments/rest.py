"""REST payload of the fulfillment webhooks (``fulfillments/create``, ``fulfillments/update``)."""

from __future__ import annotations

from shopify_emulator.domains.fulfillments.models import Fulfillment
from shopify_emulator.domains.orders.line_item_rest import line_item
from shopify_emulator.domains.orders.models import Order
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import ts
from shopify_emulator.ids import gid


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
