"""Order mutations: orderCreate, orderUpdate, orderCancel."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.registry import ctx, field
from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.inventory import rest as inventory_rest
from shopify_emulator.domains.inventory.models import InventoryLevel
from shopify_emulator.domains.orders import rest as orders_rest
from shopify_emulator.domains.orders.models import Order
from shopify_emulator.domains.orders.operations import (
    address_clean,
    order_build,
    order_commit_stock,
    order_created_emit,
)
from shopify_emulator.domains.orders.refunds import order_cancel_apply
from shopify_emulator.formats import normalize_tags
from shopify_emulator.world import EmulatorError

Info = GraphQLResolveInfo
M = "Mutation"


FINANCIAL_INPUT = {
    "PENDING": "pending", "AUTHORIZED": "authorized", "PARTIALLY_PAID": "partially_paid",
    "PAID": "paid", "PARTIALLY_REFUNDED": "partially_refunded", "REFUNDED": "refunded",
    "VOIDED": "voided", "EXPIRED": "expired",
}


def address_input(data: dict | None) -> dict | None:
    if not data:
        return None
    return address_clean({
        "first_name": data.get("firstName"),
        "last_name": data.get("lastName"),
        "company": data.get("company"),
        "address1": data.get("address1"),
        "address2": data.get("address2"),
        "city": data.get("city"),
        "province": data.get("province"),
        "province_code": data.get("provinceCode"),
        "country": data.get("country"),
        "country_code": data.get("countryCode"),
        "zip": data.get("zip"),
        "phone": data.get("phone"),
    })


def _money_amount(bag: dict | None) -> Any:
    if not bag:
        return None
    shop_money = bag.get("shopMoney") or {}
    return shop_money.get("amount")


@field(M, "orderCreate")
def order_create(root: Any, info: Info, order: dict, options: dict | None = None) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop

    def payload(created: Order | None, errors: list[dict]) -> dict:
        return {"__typename": "OrderCreatePayload", "order": created, "userErrors": errors}

    behaviour = (options or {}).get("inventoryBehaviour") or "BYPASS"
    errors: list[dict] = []
    lines: list[dict] = []
    for index, spec in enumerate(order.get("lineItems") or []):
        path = ["order", "lineItems", str(index)]
        if spec.get("quantity", 0) <= 0:
            errors.append(user_error([*path, "quantity"], "Quantity must be greater than 0",
                                     "INVALID", "OrderCreateUserError"))
            continue
        line: dict[str, Any] = {"quantity": spec["quantity"]}
        if spec.get("variantId"):
            variant = shop.variants.get(id_of(spec["variantId"], "ProductVariant") or 0)
            if variant is None:
                errors.append(user_error([*path, "variantId"], "Product variant does not exist",
                                         "PRODUCT_VARIANT_DOES_NOT_EXIST",
                                         "OrderCreateUserError"))
                continue
            line["variant_id"] = variant.id
        elif not spec.get("title"):
            errors.append(user_error([*path, "title"], "Title can't be blank", "BLANK",
                                     "OrderCreateUserError"))
            continue
        else:
            # A custom line item: its sku is only recorded, never matched to a variant (Shopify
            # takes a line without variantId as custom, whatever its sku).
            line["title"] = spec["title"]
            line["sku"] = spec.get("sku")
            line["custom"] = True
            line["requires_shipping"] = spec.get("requiresShipping", True)
        price = _money_amount(spec.get("priceSet"))
        if price is not None:
            line["price"] = price
        if spec.get("title") and spec.get("variantId"):
            line["title"] = spec["title"]
        if spec.get("sku") and spec.get("variantId"):
            line["sku_override"] = spec["sku"]
        lines.append(line)
    if not lines and not errors:
        errors.append(user_error(["order", "lineItems"], "Line items must have at least one "
                                 "line item", "INVALID", "OrderCreateUserError"))
    if errors:
        return payload(None, errors)
    if behaviour == "DECREMENT_OBEYING_POLICY":
        for index, line in enumerate(lines):
            variant = shop.variants.get(line.get("variant_id") or 0)
            if variant is None or variant.inventory_policy == "CONTINUE":
                continue
            item = shop.item_of(variant)
            if not item.tracked:
                continue
            # Where order_commit_stock takes it from: the primary location, or one that
            # stocks the item when it is unstocked there.
            level = item.levels.get(shop.primary_location_id) or next(
                iter(item.levels.values()), None)
            available = level.available if level else 0
            if available < line["quantity"]:
                errors.append(user_error(
                    ["order", "lineItems", str(index)],
                    f"Unable to reserve inventory. {shop.item_of(variant).sku or 'Item'} is out "
                    "of stock.", "INVENTORY_NOT_AVAILABLE", "OrderCreateUserError"))
        if errors:
            return payload(None, errors)
    customer_input = order.get("customer") or {}
    customer_data = customer_input.get("toUpsert") or customer_input.get("toAssociate") or {}
    customer = None
    if customer_data:
        customer = {"email": customer_data.get("email"),
                    "first_name": customer_data.get("firstName"),
                    "last_name": customer_data.get("lastName"),
                    "phone": customer_data.get("phone")}
    financial = FINANCIAL_INPUT.get(order.get("financialStatus") or "")
    if financial is None:
        transactions = order.get("transactions") or []
        financial = "paid" if any((t.get("kind") or "SALE") == "SALE"
                                  and (t.get("status") or "SUCCESS") == "SUCCESS"
                                  for t in transactions) else "pending"
    shipping_lines = [
        {"title": s.get("title"), "code": s.get("code") or s.get("title"),
         "price": _money_amount(s.get("priceSet")) or "0.00", "source": s.get("source")}
        for s in order.get("shippingLines") or []
    ]
    created = order_build(
        world=world,
        shop=shop,
        lines=lines,
        financial_status=financial,
        email=order.get("email"),
        customer=customer,
        shipping_address=address_input(order.get("shippingAddress")),
        billing_address=address_input(order.get("billingAddress")),
        shipping_lines=shipping_lines,
        tags=order.get("tags") or [],
        note=order.get("note"),
        source_name=order.get("sourceName") or "api",
        source_identifier=order.get("sourceIdentifier"),
        phone=order.get("phone"),
        currency=order.get("currency"),
        test=bool(order.get("test")),
    )
    changed: list[InventoryLevel] = []
    if behaviour in ("DECREMENT_IGNORING_POLICY", "DECREMENT_OBEYING_POLICY"):
        changed = order_commit_stock(world=world, shop=shop, order=created)
    order_created_emit(world=world, shop=shop, order=created)
    for level in changed:
        world.emit(shop, "inventory_levels/update", inventory_rest.inventory_level(level))
    return payload(created, [])


@field(M, "orderUpdate")
def order_update(root: Any, info: Info, input: dict) -> dict:  # noqa: A002
    context = ctx(info)
    world, shop = context.world, context.shop
    found = shop.orders.get(id_of(input.get("id"), "Order") or 0)
    if found is None:
        return {"__typename": "OrderUpdatePayload", "order": None,
                "userErrors": [user_error(["id"], "Order does not exist")]}
    if "note" in input:
        found.note = input["note"]
    if input.get("tags") is not None:
        found.tags = normalize_tags(input["tags"])
    if "email" in input:
        found.email = input["email"]
    if "phone" in input:
        found.phone = input["phone"]
    if input.get("shippingAddress") is not None:
        found.shipping_address = address_input(input["shippingAddress"])
    found.updated_at = world.now()
    world.emit(shop, "orders/updated", orders_rest.order(shop, found))
    return {"__typename": "OrderUpdatePayload", "order": found, "userErrors": []}


@field(M, "orderCancel")
def order_cancel(root: Any, info: Info, orderId: str, restock: bool, reason: str,
                 refund: bool | None = None, refundMethod: dict | None = None,
                 notifyCustomer: bool | None = None, staffNote: str | None = None) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop

    def payload(errors: list[dict], job: dict | None = None) -> dict:
        return {"__typename": "OrderCancelPayload", "job": job,
                "orderCancelUserErrors": [dict(e, __typename="OrderCancelUserError")
                                          for e in errors],
                "userErrors": [{k: v for k, v in e.items() if k != "code"} for e in errors]}

    found = shop.orders.get(id_of(orderId, "Order") or 0)
    if found is None:
        return payload([user_error(["orderId"], "Order does not exist", "NOT_FOUND")])
    if refund is not None and refundMethod is not None:
        return payload([user_error(["refund"], "Only one of the arguments `refund` or "
                                               "`refund_method` is allowed.", "INVALID")])
    try:
        order_cancel_apply(world=world, shop=shop, order=found, restock=restock, reason=reason)
    except EmulatorError as exc:
        return payload([user_error(["orderId"], str(exc), "INVALID")])
    job_id = f"gid://shopify/Job/{world.next_id()}"
    return payload([], {"__typename": "Job", "id": job_id, "done": True})
