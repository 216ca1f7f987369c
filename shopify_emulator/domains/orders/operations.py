"""Orders: building one (with its customer, lines and fulfillment order), committing its
stock, and the storefront checkout the control API plays."""

from __future__ import annotations

from datetime import datetime

from shopify_emulator.domains.fulfillments.models import FulfillmentOrder, FulfillmentOrderLineItem
from shopify_emulator.domains.inventory.models import InventoryLevel
from shopify_emulator.domains.inventory.operations import level_activate, level_change
from shopify_emulator.domains.inventory.rest import inventory_level
from shopify_emulator.domains.orders import rest
from shopify_emulator.domains.orders.models import LineItem, Order
from shopify_emulator.domains.products.models import Variant
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import money_str, normalize_tags
from shopify_emulator.world import EmulatorError, World

_ADDRESS_KEYS = (
    "first_name", "last_name", "name", "company", "address1", "address2", "city", "province",
    "province_code", "country", "country_code", "zip", "phone", "latitude", "longitude",
)


def address_clean(data: dict | None) -> dict | None:
    if not data:
        return None
    address = {key: data.get(key) for key in _ADDRESS_KEYS}
    if not address.get("name"):
        joined = " ".join(p for p in (address.get("first_name"), address.get("last_name")) if p)
        address["name"] = joined or None
    return address


def customer_upsert(
    *, world: World, shop: Shop, data: dict | None, email: str | None
) -> dict | None:
    if not data and not email:
        return None
    data = dict(data or {})
    address_email = (data.get("email") or email or "").strip()
    key = address_email.lower() or f"anonymous-{world.next_id()}"
    now = world.now()
    customer = shop.customers.get(key)
    if customer is None:
        customer = {
            "id": world.next_id(),
            "email": address_email or None,
            "first_name": None,
            "last_name": None,
            "phone": None,
            "created_at": now,
            "updated_at": now,
            "tags": "",
        }
        shop.customers[key] = customer
    for attr in ("first_name", "last_name", "phone"):
        if data.get(attr):
            customer[attr] = data[attr]
    customer["updated_at"] = now
    return customer


def order_build(
    *,
    world: World,
    shop: Shop,
    lines: list[dict],
    financial_status: str,
    email: str | None,
    customer: dict | None,
    shipping_address: dict | None,
    billing_address: dict | None = None,
    shipping_lines: list[dict] | None = None,
    tags: list[str] | None = None,
    note: str | None = None,
    source_name: str = "web",
    source_identifier: str | None = None,
    phone: str | None = None,
    currency: str | None = None,
    test: bool = False,
    processed_at: datetime | None = None,
) -> Order:
    """Create the order and its fulfillment order (no stock moves, no webhooks)."""
    now = world.now()
    order = Order(
        id=world.next_id(),
        number=shop.next_order_number,
        created_at=now,
        updated_at=now,
        processed_at=processed_at or now,
        currency=currency or shop.currency,
        financial_status=financial_status,
        email=email or (customer or {}).get("email"),
        phone=phone,
        shipping_address=address_clean(shipping_address),
        billing_address=address_clean(billing_address or shipping_address),
        tags=normalize_tags(tags or []),
        note=note,
        source_name=source_name,
        source_identifier=source_identifier,
        test=test,
    )
    shop.next_order_number += 1
    order.customer = customer_upsert(world=world, shop=shop, data=customer, email=order.email)
    for spec in shipping_lines or []:
        order.shipping_lines.append(
            {
                "id": world.next_id(),
                "title": spec.get("title") or "Shipping",
                "code": spec.get("code") or spec.get("title") or "Shipping",
                "price": money_str(spec.get("price", "0.00")),
                "source": spec.get("source") or "shopify",
            }
        )
    for spec in lines:
        line = line_item_build(world=world, shop=shop, spec=spec)
        line.order_id = order.id
        order.line_items.append(line)
    fulfillment_order = FulfillmentOrder(
        id=world.next_id(),
        order_id=order.id,
        location_id=shop.primary_location_id,
        created_at=now,
        updated_at=now,
    )
    for line in order.line_items:
        if not line.requires_shipping and line.variant_id is None:
            continue
        variant = shop.variants.get(line.variant_id) if line.variant_id else None
        fulfillment_order.line_items.append(
            FulfillmentOrderLineItem(
                id=world.next_id(),
                line_item_id=line.id,
                inventory_item_id=variant.inventory_item_id if variant else None,
                total_quantity=line.quantity,
                remaining_quantity=line.quantity,
                order_id=order.id,
            )
        )
        line.location_id = shop.primary_location_id
    if fulfillment_order.line_items:
        shop.fulfillment_orders[fulfillment_order.id] = fulfillment_order
        order.fulfillment_order_ids.append(fulfillment_order.id)
    shop.orders[order.id] = order
    return order


def line_item_build(*, world: World, shop: Shop, spec: dict) -> LineItem:
    variant: Variant | None = None
    if spec.get("variant_id") is not None:
        variant = shop.variants.get(int(spec["variant_id"]))
        if variant is None:
            raise EmulatorError(f"Unknown variant {spec['variant_id']}")
    elif spec.get("sku") and not spec.get("custom"):
        variant = shop.variant_by_sku(str(spec["sku"]))
        if variant is None:
            raise EmulatorError(f"No variant with sku {spec['sku']!r} in {shop.domain}")
    quantity = int(spec.get("quantity") or 0)
    if quantity <= 0:
        raise EmulatorError("Line quantity must be greater than 0")
    if variant is not None:
        product = shop.products[variant.product_id]
        item = shop.item_of(variant)
        variant_title = "" if variant.title == "Default Title" else variant.title
        return LineItem(
            id=world.next_id(),
            variant_id=variant.id,
            product_id=product.id,
            sku=spec.get("sku_override") or item.sku,
            title=spec.get("title") or product.title,
            variant_title=variant_title,
            vendor=product.vendor,
            quantity=quantity,
            price=money_str(spec.get("price") if spec.get("price") is not None
                            else variant.price),
            requires_shipping=item.requires_shipping,
            taxable=variant.taxable,
        )
    return LineItem(
        id=world.next_id(),
        variant_id=None,
        product_id=None,
        sku=str(spec.get("sku") or ""),
        title=str(spec.get("title") or "Custom item"),
        variant_title="",
        vendor="",
        quantity=quantity,
        price=money_str(spec.get("price", "0.00")),
        requires_shipping=bool(spec.get("requires_shipping", True)),
    )


def order_commit_stock(*, world: World, shop: Shop, order: Order) -> list[InventoryLevel]:
    """available → committed for every tracked line at its location."""
    changed: list[InventoryLevel] = []
    for line in order.line_items:
        if line.variant_id is None or line.variant_id not in shop.variants:
            continue
        item = shop.item_of(shop.variants[line.variant_id])
        if not item.tracked:
            continue
        location_id = line.location_id or shop.primary_location_id
        if location_id not in item.levels and item.levels:
            # Not stocked there (unstocked by the merchant): the order is routed to a location
            # that stocks the item, not back to the inactive level.
            location_id = next(iter(item.levels))
        location = shop.locations[location_id]
        level = level_activate(world=world, item=item, location=location)
        level_change(world=world, level=level, name="available", delta=-line.quantity)
        level_change(world=world, level=level, name="committed", delta=line.quantity)
        line.committed = line.quantity
        line.location_id = location.id
        if level not in changed:
            changed.append(level)
    return changed


def order_created_emit(*, world: World, shop: Shop, order: Order) -> None:
    payload = rest.order(shop, order)
    world.emit(shop, "orders/create", payload)
    if order.financial_status == "paid":
        world.emit(shop, "orders/paid", payload)


def order_checkout(
    *,
    world: World,
    shop_domain: str,
    lines: list[dict],
    financial_status: str = "paid",
    customer: dict | None = None,
    shipping_address: dict | None = None,
    email: str | None = None,
    shipping_lines: list[dict] | None = None,
    tags: list[str] | None = None,
    note: str | None = None,
) -> dict:
    """A storefront checkout: commits stock at the primary location, fires order webhooks."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        if not lines:
            raise EmulatorError("A checkout needs at least one line")
        if customer is None and email is None:
            customer = {"email": "customer@example.com", "first_name": "Alex",
                        "last_name": "Buyer"}
        if shipping_address is None:
            first = (customer or {}).get("first_name") or "Alex"
            last = (customer or {}).get("last_name") or "Buyer"
            shipping_address = {
                "first_name": first, "last_name": last, "address1": "1 Main Street",
                "city": "Toronto", "province": "Ontario", "province_code": "ON",
                "country": "Canada", "country_code": "CA", "zip": "M5V 2T6",
            }
        order = order_build(
            world=world,
            shop=shop,
            lines=lines,
            financial_status=financial_status.lower(),
            email=email or (customer or {}).get("email"),
            customer=customer,
            shipping_address=shipping_address,
            shipping_lines=shipping_lines
            if shipping_lines is not None
            else [{"title": "Standard", "code": "STANDARD", "price": "5.00"}],
            tags=tags,
            note=note,
        )
        changed = order_commit_stock(world=world, shop=shop, order=order)
        order_created_emit(world=world, shop=shop, order=order)
        for level in changed:
            world.emit(shop, "inventory_levels/update", inventory_level(level))
        return rest.order(shop, order)


def order_require(*, shop: Shop, order_id: int) -> Order:
    order = shop.orders.get(int(order_id))
    if order is None:
        raise EmulatorError(f"Unknown order {order_id} in {shop.domain}")
    return order


def order_line_find(*, order: Order, spec: dict) -> LineItem:
    """The line a control API spec names, by ``line_item_id`` or else by ``sku``."""
    if spec.get("line_item_id") is not None:
        line = order.line(int(spec["line_item_id"]))
    else:
        line = next((li for li in order.line_items if li.sku == spec.get("sku")), None)
    if line is None:
        raise EmulatorError(f"Order {order.id} has no line {spec}")
    return line


def line_item_level(
    *, world: World, shop: Shop, line: LineItem, location_id: int | None = None
) -> InventoryLevel | None:
    """Where the line's stock is counted (activated there if need be); None if untracked."""
    if line.variant_id is None or line.variant_id not in shop.variants:
        return None
    item = shop.item_of(shop.variants[line.variant_id])
    if not item.tracked:
        return None
    location = shop.locations.get(location_id or line.location_id or shop.primary_location_id)
    if location is None:
        return None
    return level_activate(world=world, item=item, location=location)


def order_mark_paid(*, world: World, shop_domain: str, order_id: int) -> dict:
    """A pending (or authorized) order's payment arrives — the merchant's Mark as paid, or a
    capture; or the balance an edit left owing: Shopify sends orders/paid and orders/updated.
    Stock was taken at checkout (and at the edit)."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        order = order_require(shop=shop, order_id=order_id)
        if order.cancelled_at is not None:
            raise EmulatorError("A cancelled order cannot be paid")
        if order.financial_status not in ("pending", "authorized", "partially_paid"):
            raise EmulatorError(f"The order is {order.financial_status}, not awaiting payment")
        order.financial_status = "paid"
        order.updated_at = world.now()
        payload = rest.order(shop, order)
        world.emit(shop, "orders/paid", payload)
        world.emit(shop, "orders/updated", payload)
        return payload


def order_edit_commit(*, world: World, shop_domain: str, order_id: int,
                      lines: list[dict]) -> dict:
    """An order edit adding units, committed (orderEditBegin, orderEditAddVariant /
    orderEditSetQuantity up, orderEditCommit): a spec with ``line_item_id`` adds its quantity
    to that line, one with ``sku`` adds a new line. The units are taken from the store's stock
    as at checkout; a paid order now owes the balance (partially_paid). Shopify sends
    orders/edited (which names the lines and how many units each gained, not their variants),
    orders/updated and the level changes."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        order = order_require(shop=shop, order_id=order_id)
        if order.cancelled_at is not None:
            raise EmulatorError("A cancelled order cannot be edited")
        # (line, units added, whether the edit adds the line), in the edit's order; every spec
        # is checked before the order changes
        additions: list[tuple[LineItem, int, bool]] = []
        for spec in lines:
            if spec.get("line_item_id") is not None:
                line = order_line_find(order=order, spec=spec)
                if line.fulfilled_quantity:
                    raise EmulatorError(f"Line {line.id} is fulfilled: it cannot be edited")
                additions.append((line, int(spec["quantity"]), False))
            else:
                line = line_item_build(world=world, shop=shop, spec=spec)
                additions.append((line, line.quantity, True))
        changed: list[InventoryLevel] = []
        for line, delta, new in additions:
            if new:
                line.order_id = order.id
                order.line_items.append(line)
            else:
                line.quantity += delta
            level = line_item_level(world=world, shop=shop, line=line)
            if level is None:
                continue
            level_change(world=world, level=level, name="available", delta=-delta)
            level_change(world=world, level=level, name="committed", delta=delta)
            line.committed += delta
            line.location_id = level.location_id
            if level not in changed:
                changed.append(level)
        now = world.now()
        if order.financial_status == "paid":
            order.financial_status = "partially_paid"
        order.updated_at = now
        edit: dict = {"order_edit": {
            "id": world.next_id(), "app_id": None, "created_at": now.isoformat(),
            "committed_at": now.isoformat(), "notify_customer": False, "order_id": order.id,
            "staff_note": "", "user_id": None,
            "line_items": {"additions": [{"id": line.id, "delta": delta}
                                         for line, delta, _ in additions],
                           "removals": []},
            "discounts": {"line_item": {"additions": [], "removals": []}},
            "shipping_lines": {"additions": [], "removals": []}}}
        world.emit(shop, "orders/edited", edit)
        world.emit(shop, "orders/updated", rest.order(shop, order))
        for level in changed:
            world.emit(shop, "inventory_levels/update", inventory_level(level))
        return edit
