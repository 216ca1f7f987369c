"""Refunds and cancellations: unfulfilled units leave the fulfillment orders, fulfilled ones
come back; restocked units return to ``available``."""

from __future__ import annotations

from decimal import Decimal

from shopify_emulator.domains.fulfillments.status import order_line_fulfillable
from shopify_emulator.domains.inventory.models import InventoryLevel
from shopify_emulator.domains.inventory.operations import level_change
from shopify_emulator.domains.inventory.rest import inventory_level
from shopify_emulator.domains.orders import rest
from shopify_emulator.domains.orders.models import LineItem, Order, Refund
from shopify_emulator.domains.orders.operations import (
    line_item_level,
    order_line_find,
    order_require,
)
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import money, money_str
from shopify_emulator.world import EmulatorError, World


def refund_apply(
    *,
    world: World,
    shop: Shop,
    order: Order,
    lines: list[tuple[LineItem, int]],
    restock: bool,
    note: str | None = None,
    location_id: int | None = None,
) -> tuple[Refund, list[InventoryLevel]]:
    """Refund quantities of lines; unfulfilled units are cancelled, fulfilled are returned."""
    now = world.now()
    refund = Refund(id=world.next_id(), order_id=order.id, created_at=now, note=note,
                    restock=restock)
    changed: list[InventoryLevel] = []
    amount = Decimal("0.00")
    for line, quantity in lines:
        refundable = line.quantity - line.refunded_quantity
        if quantity <= 0 or quantity > refundable:
            raise EmulatorError(
                f"Cannot refund {quantity} of line {line.id} (refundable {refundable})"
            )
        unfulfilled = order_line_fulfillable(shop, order, line)
        cancel_quantity = min(quantity, unfulfilled)
        return_quantity = quantity - cancel_quantity
        line.refunded_quantity += quantity
        amount += money(line.price) * quantity
        # Unfulfilled units leave the fulfillment orders.
        left = cancel_quantity
        for fo_id in order.fulfillment_order_ids:
            fo = shop.fulfillment_orders[fo_id]
            for fli in fo.line_items:
                if fli.line_item_id == line.id and left > 0:
                    take = min(left, fli.remaining_quantity)
                    fli.remaining_quantity -= take
                    fli.total_quantity -= take
                    left -= take
            if fo.status in ("OPEN", "IN_PROGRESS") and all(
                fli.remaining_quantity == 0 for fli in fo.line_items
            ):
                fo.status = "CLOSED"
                fo.updated_at = now
        level = line_item_level(world=world, shop=shop, line=line, location_id=location_id)
        if cancel_quantity:
            released = min(cancel_quantity, line.committed)
            if level is not None and released:
                level_change(world=world, level=level, name="committed", delta=-released)
                if restock:
                    level_change(world=world, level=level, name="available", delta=released)
                line.committed -= released
                if level not in changed:
                    changed.append(level)
            refund.refund_line_items.append(refund_line_build(
                world=world, line=line, quantity=cancel_quantity,
                restock_type="cancel" if restock else "no_restock", level=level,
            ))
        if return_quantity:
            if restock and level is not None:
                level_change(world=world, level=level, name="available", delta=return_quantity)
                if level not in changed:
                    changed.append(level)
            refund.refund_line_items.append(refund_line_build(
                world=world, line=line, quantity=return_quantity,
                restock_type="return" if restock else "no_restock", level=level,
            ))
    if order.financial_status in ("paid", "partially_refunded", "partially_paid"):
        refund.transactions.append(
            {
                "id": world.next_id(),
                "order_id": order.id,
                "kind": "refund",
                "gateway": "manual",
                "status": "success",
                "amount": money_str(amount),
                "currency": order.currency,
                "created_at": now,
            }
        )
        refunded_total = sum(
            (money(t["amount"]) for r_id in order.refund_ids
             for t in shop.refunds[r_id].transactions),
            Decimal("0.00"),
        ) + amount
        all_gone = all(li.refunded_quantity >= li.quantity for li in order.line_items)
        order.financial_status = (
            "refunded" if all_gone or refunded_total >= order.total else "partially_refunded"
        )
    shop.refunds[refund.id] = refund
    order.refund_ids.append(refund.id)
    order.updated_at = now
    return refund, changed


def refund_line_build(
    *, world: World, line: LineItem, quantity: int, restock_type: str,
    level: InventoryLevel | None,
) -> dict:
    return {
        "id": world.next_id(),
        "line_item_id": line.id,
        "quantity": quantity,
        "restock_type": restock_type,
        "location_id": level.location_id if level is not None and restock_type != "no_restock"
        else None,
        "subtotal": money_str(money(line.price) * quantity),
    }


def order_refund(
    *, world: World, shop_domain: str, order_id: int, lines: list[dict], restock: bool = True
) -> dict:
    with world.transaction():
        shop = world.require_shop(shop_domain)
        order = order_require(shop=shop, order_id=order_id)
        pairs = [(order_line_find(order=order, spec=spec), int(spec.get("quantity") or 0))
                 for spec in lines]
        refund, changed = refund_apply(
            world=world, shop=shop, order=order, lines=pairs, restock=restock
        )
        world.emit(shop, "refunds/create", rest.refund(shop, order, refund))
        world.emit(shop, "orders/updated", rest.order(shop, order))
        for level in changed:
            world.emit(shop, "inventory_levels/update", inventory_level(level))
        return rest.refund(shop, order, refund)


def order_cancel(
    *, world: World, shop_domain: str, order_id: int, restock: bool = True,
    reason: str = "customer",
) -> dict:
    with world.transaction():
        shop = world.require_shop(shop_domain)
        order = order_require(shop=shop, order_id=order_id)
        return order_cancel_apply(world=world, shop=shop, order=order, restock=restock,
                                  reason=reason)


def order_cancel_apply(
    *, world: World, shop: Shop, order: Order, restock: bool, reason: str
) -> dict:
    if order.cancelled_at is not None:
        raise EmulatorError("Cannot cancel an order that has already been canceled")
    if any(li.fulfilled_quantity > 0 for li in order.line_items):
        raise EmulatorError("Cannot cancel an order that has outstanding fulfillments")
    was_paid = order.financial_status in ("paid", "partially_refunded")
    pairs = [(li, li.quantity - li.refunded_quantity) for li in order.line_items
             if li.quantity - li.refunded_quantity > 0]
    refund: Refund | None = None
    changed: list[InventoryLevel] = []
    if pairs:
        refund, changed = refund_apply(
            world=world, shop=shop, order=order, lines=pairs, restock=restock
        )
    now = world.now()
    order.cancelled_at = now
    order.cancel_reason = reason.lower()
    order.closed_at = now
    order.updated_at = now
    if not was_paid and order.financial_status in ("pending", "authorized"):
        order.financial_status = "voided"
    for fo_id in order.fulfillment_order_ids:
        fo = shop.fulfillment_orders[fo_id]
        if fo.status in ("OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD"):
            fo.status = "CLOSED" if fo.fulfillment_ids else "CANCELLED"
            fo.updated_at = now
    if refund is not None:
        world.emit(shop, "refunds/create", rest.refund(shop, order, refund))
    payload = rest.order(shop, order)
    world.emit(shop, "orders/cancelled", payload)
    world.emit(shop, "orders/updated", payload)
    for level in changed:
        world.emit(shop, "inventory_levels/update", inventory_level(level))
    return payload
