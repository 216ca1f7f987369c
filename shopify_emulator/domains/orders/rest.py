"""REST payloads of the order webhooks (``orders/*``, ``refunds/create``)."""

from __future__ import annotations

from decimal import Decimal

from shopify_emulator.domains.fulfillments.rest import fulfillment
from shopify_emulator.domains.fulfillments.status import order_fulfillment_status
from shopify_emulator.domains.orders.line_item_rest import line_item
from shopify_emulator.domains.orders.models import Order, Refund
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import money_str, price_set, ts
from shopify_emulator.ids import gid


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
        "subtotal_price": money_str(order.subtotal),
        "subtotal_price_set": price_set(order.subtotal, order.currency),
        "total_line_items_price": money_str(order.subtotal),
        "total_line_items_price_set": price_set(order.subtotal, order.currency),
        "total_shipping_price_set": price_set(order.shipping_total, order.currency),
        "total_tax": "0.00",
        "total_tax_set": price_set("0.00", order.currency),
        "taxes_included": False,
        "total_discounts": "0.00",
        "total_discounts_set": price_set("0.00", order.currency),
        "total_price": money_str(total),
        "total_price_set": price_set(total, order.currency),
        "current_subtotal_price": money_str(current_subtotal),
        "current_total_price": money_str(current_total),
        "current_total_price_set": price_set(current_total, order.currency),
        "total_outstanding": "0.00" if paid else money_str(total),
        "total_refunded": money_str(refunded),
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
