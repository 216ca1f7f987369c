"""Fulfilling orders: quantities leave their fulfillment orders and committed stock ships."""

from __future__ import annotations

from shopify_emulator.domains.fulfillments import rest
from shopify_emulator.domains.fulfillments.models import (
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
)
from shopify_emulator.domains.fulfillments.status import order_fulfillment_status
from shopify_emulator.domains.inventory.operations import level_change
from shopify_emulator.domains.orders import rest as orders_rest
from shopify_emulator.domains.orders.models import Order
from shopify_emulator.domains.orders.operations import (
    line_item_level,
    order_line_find,
    order_require,
)
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.world import EmulatorError, World


def fulfillment_apply(
    *,
    world: World,
    shop: Shop,
    order: Order,
    items: list[tuple[FulfillmentOrder, FulfillmentOrderLineItem, int]],
    tracking_company: str | None,
    tracking_numbers: list[str],
    tracking_urls: list[str],
    notify_customer: bool = False,
) -> Fulfillment:
    """Fulfil quantities of fulfillment order line items; committed stock leaves."""
    now = world.now()
    location_id = items[0][0].location_id if items else shop.primary_location_id
    fulfillment = Fulfillment(
        id=world.next_id(),
        order_id=order.id,
        name=f"{order.name}.{len(order.fulfillment_ids) + 1}",
        location_id=location_id,
        created_at=now,
        updated_at=now,
        tracking_company=tracking_company,
        tracking_numbers=list(tracking_numbers),
        tracking_urls=list(tracking_urls),
        notify_customer=notify_customer,
    )
    by_line: dict[int, int] = {}
    for fo, fli, quantity in items:
        fli.remaining_quantity -= quantity
        by_line[fli.line_item_id] = by_line.get(fli.line_item_id, 0) + quantity
        if fo.id not in fulfillment.fulfillment_order_ids:
            fulfillment.fulfillment_order_ids.append(fo.id)
    for fo_id in fulfillment.fulfillment_order_ids:
        fo = shop.fulfillment_orders[fo_id]
        fo.fulfillment_ids.append(fulfillment.id)
        fo.updated_at = now
        fo.status = (
            "CLOSED" if all(f.remaining_quantity == 0 for f in fo.line_items) else "IN_PROGRESS"
        )
    for line_item_id, quantity in by_line.items():
        line = order.line(line_item_id)
        assert line is not None
        line.fulfilled_quantity += quantity
        shipped = min(quantity, line.committed)
        if shipped:
            level = line_item_level(world=world, shop=shop, line=line)
            if level is not None:
                level_change(world=world, level=level, name="committed", delta=-shipped)
            line.committed -= shipped
        fulfillment.line_items.append(
            {"id": world.next_id(), "line_item_id": line_item_id, "quantity": quantity}
        )
    shop.fulfillments[fulfillment.id] = fulfillment
    order.fulfillment_ids.append(fulfillment.id)
    order.updated_at = now
    if notify_customer and order.email:
        # Shopify's shipping confirmation goes to the order's email.
        shop.customer_notifications.append({
            "template": "shipping_confirmation", "to": order.email, "order_id": order.id,
            "order_name": order.name, "fulfillment_id": fulfillment.id,
            "tracking_numbers": list(tracking_numbers), "sent_at": now.isoformat(),
        })
    return fulfillment


def fulfillment_created_emit(
    *, world: World, shop: Shop, order: Order, fulfillment: Fulfillment
) -> None:
    world.emit(shop, "fulfillments/create", rest.fulfillment(shop, order, fulfillment))
    payload = orders_rest.order(shop, order)
    world.emit(shop, "orders/updated", payload)
    if order_fulfillment_status(shop, order) == "fulfilled":
        world.emit(shop, "orders/fulfilled", payload)
    elif order_fulfillment_status(shop, order) == "partial":
        world.emit(shop, "orders/partially_fulfilled", payload)


def order_fulfill(
    *,
    world: World,
    shop_domain: str,
    order_id: int,
    tracking_company: str | None,
    tracking_number: str | None,
    tracking_url: str | None,
    lines: list[dict] | None = None,
    notify_customer: bool = True,
) -> dict:
    """The merchant's Fulfill items in the admin ("Send shipment details to your customer now"
    is ticked unless they untick it)."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        order = order_require(shop=shop, order_id=order_id)
        if order.cancelled_at is not None:
            raise EmulatorError("Cannot fulfill a cancelled order")
        wanted: dict[int, int] | None = None
        if lines:
            wanted = {}
            for spec in lines:
                line = order_line_find(order=order, spec=spec)
                wanted[line.id] = wanted.get(line.id, 0) + int(spec.get("quantity") or 0)
        items: list[tuple[FulfillmentOrder, FulfillmentOrderLineItem, int]] = []
        for fo_id in order.fulfillment_order_ids:
            fo = shop.fulfillment_orders[fo_id]
            if fo.status not in ("OPEN", "IN_PROGRESS"):
                continue
            for fli in fo.line_items:
                if fli.remaining_quantity <= 0:
                    continue
                if wanted is None:
                    quantity = fli.remaining_quantity
                else:
                    quantity = min(wanted.get(fli.line_item_id, 0), fli.remaining_quantity)
                    wanted[fli.line_item_id] = wanted.get(fli.line_item_id, 0) - quantity
                if quantity > 0:
                    items.append((fo, fli, quantity))
        if wanted and any(q > 0 for q in wanted.values()):
            raise EmulatorError("Invalid fulfillment order line item quantity requested.")
        if not items:
            raise EmulatorError("Nothing left to fulfil on this order")
        fulfillment = fulfillment_apply(
            world=world,
            shop=shop,
            order=order,
            items=items,
            tracking_company=tracking_company,
            tracking_numbers=[tracking_number] if tracking_number else [],
            tracking_urls=[tracking_url] if tracking_url else [],
            notify_customer=notify_customer,
        )
        fulfillment_created_emit(world=world, shop=shop, order=order, fulfillment=fulfillment)
        return rest.fulfillment(shop, order, fulfillment)
