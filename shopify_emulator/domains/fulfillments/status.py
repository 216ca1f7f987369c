"""How much of an order is fulfilled, read from its fulfillment orders."""

from __future__ import annotations

from shopify_emulator.domains.orders.models import LineItem, Order
from shopify_emulator.domains.shop.models import Shop


def order_fulfillment_status(shop: Shop, order: Order) -> str | None:
    """REST fulfillment_status: None (unfulfilled), "partial", "fulfilled", "restocked"."""
    live = [li for li in order.line_items if li.quantity - li.refunded_quantity > 0]
    fulfilled = sum(li.fulfilled_quantity for li in order.line_items)
    if not live:
        return "fulfilled" if fulfilled else ("restocked" if order.refund_ids else None)
    if fulfilled == 0:
        return None
    outstanding = sum(
        fli.remaining_quantity
        for fo_id in order.fulfillment_order_ids
        for fli in shop.fulfillment_orders[fo_id].line_items
    )
    return "fulfilled" if outstanding == 0 else "partial"


def order_line_fulfillable(shop: Shop, order: Order, line: LineItem) -> int:
    """Units of ``line`` still waiting in open fulfillment orders."""
    total = 0
    for fo_id in order.fulfillment_order_ids:
        fo = shop.fulfillment_orders[fo_id]
        if fo.status not in ("OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD"):
            continue
        total += sum(f.remaining_quantity for f in fo.line_items if f.line_item_id == line.id)
    return total
