"""Order mutations: orderCreate, orderUpdate, orderCancel, fulfillmentCreate,
fulfillmentTrackingInfoUpdate."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator import rest
from shopify_emulator import state as st
from shopify_emulator.resolvers.core import ctx, field, id_of, user_error

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
    return st.clean_address({
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


# --------------------------------------------------------------------------- orderCreate


@field(M, "orderCreate")
def order_create(root: Any, info: Info, order: dict, options: dict | None = None) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop

    def payload(created: st.Order | None, errors: list[dict]) -> dict:
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
            line["title"] = spec["title"]
            line["sku"] = spec.get("sku")
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
            level = item.levels.get(shop.primary_location_id)
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
    created = world.order_build(
        shop,
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
    changed: list[st.InventoryLevel] = []
    if behaviour in ("DECREMENT_IGNORING_POLICY", "DECREMENT_OBEYING_POLICY"):
        changed = world.order_commit_stock(shop, created)
    world.emit_order_created(shop, created)
    for level in changed:
        world.emit(shop, "inventory_levels/update", rest.inventory_level(level))
    return payload(created, [])


# --------------------------------------------------------------------------- orderUpdate


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
        found.tags = st.normalize_tags(input["tags"])
    if "email" in input:
        found.email = input["email"]
    if "phone" in input:
        found.phone = input["phone"]
    if input.get("shippingAddress") is not None:
        found.shipping_address = address_input(input["shippingAddress"])
    found.updated_at = world.now()
    world.emit(shop, "orders/updated", rest.order(shop, found))
    return {"__typename": "OrderUpdatePayload", "order": found, "userErrors": []}


# --------------------------------------------------------------------------- orderCancel


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
        world.cancel_apply(shop, found, restock=restock, reason=reason)
    except st.EmulatorError as exc:
        return payload([user_error(["orderId"], str(exc), "INVALID")])
    job_id = f"gid://shopify/Job/{world.next_id()}"
    return payload([], {"__typename": "Job", "id": job_id, "done": True})


# --------------------------------------------------------------------------- fulfillments


def _fulfillment_payload(typename: str, fulfillment: st.Fulfillment | None,
                         errors: list[dict]) -> dict:
    return {"__typename": typename, "fulfillment": fulfillment, "userErrors": errors}


@field(M, "fulfillmentCreate", "fulfillmentCreateV2")
def fulfillment_create(root: Any, info: Info, fulfillment: dict,
                       message: str | None = None) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = ("FulfillmentCreatePayload" if info.field_name == "fulfillmentCreate"
                else "FulfillmentCreateV2Payload")
    groups = fulfillment.get("lineItemsByFulfillmentOrder") or []

    def fail(message_text: str, path: list[str] | None = None) -> dict:
        return _fulfillment_payload(typename, None, [user_error(path or ["fulfillment"],
                                                                message_text)])

    for g_index, group in enumerate(groups):
        for l_index, entry in enumerate(group.get("fulfillmentOrderLineItems") or []):
            if entry.get("quantity", 0) <= 0:
                return fail("Quantity must be greater than 0",
                            ["fulfillment", "lineItemsByFulfillmentOrder", str(g_index),
                             "fulfillmentOrderLineItems", str(l_index), "quantity"])
    fos: list[st.FulfillmentOrder] = []
    for group in groups:
        fo = shop.fulfillment_orders.get(id_of(group.get("fulfillmentOrderId"),
                                               "FulfillmentOrder") or 0)
        if fo is None:
            return fail("Fulfillment order does not exist.")
        fos.append(fo)
    if not fos:
        return fail("Fulfillment order does not exist.")
    order_ids = sorted({fo.order_id for fo in fos})
    if len(order_ids) > 1:
        return fail("All fulfillment orders must belong to the same order. Multiple orders "
                    f"with ids [{', '.join(map(str, order_ids))}] were found.")
    location_ids = sorted({fo.location_id for fo in fos})
    if len(location_ids) > 1:
        return fail("All fulfillment orders must be assigned to a single location. Multiple "
                    f"locations with ids [{', '.join(map(str, location_ids))}] were found.")
    for fo in fos:
        if fo.status not in ("OPEN", "IN_PROGRESS"):
            return fail(f"Fulfillment order {fo.id} has an unfulfillable status= "
                        f"{fo.status.lower()}.")
    items: list[tuple[st.FulfillmentOrder, st.FulfillmentOrderLineItem, int]] = []
    for fo, group in zip(fos, groups, strict=True):
        entries = group.get("fulfillmentOrderLineItems")
        if not entries:
            items.extend((fo, fli, fli.remaining_quantity) for fli in fo.line_items
                         if fli.remaining_quantity > 0)
            continue
        for entry in entries:
            fli_id = id_of(entry.get("id"), "FulfillmentOrderLineItem")
            fli = next((f for f in fo.line_items if f.id == fli_id), None)
            if fli is None:
                return fail("Fulfillment order line item does not exist.")
            if entry["quantity"] > fli.remaining_quantity:
                return fail("Invalid fulfillment order line item quantity requested.")
            items.append((fo, fli, entry["quantity"]))
    if not items:
        return fail("Invalid fulfillment order line item quantity requested.")
    tracking = fulfillment.get("trackingInfo") or {}
    numbers = list(tracking.get("numbers") or ([tracking["number"]] if tracking.get("number")
                                               else []))
    urls = list(tracking.get("urls") or ([tracking["url"]] if tracking.get("url") else []))
    order = shop.orders[order_ids[0]]
    created = world.fulfillment_apply(
        shop, order, items=items, tracking_company=tracking.get("company"),
        tracking_numbers=numbers, tracking_urls=urls,
        notify_customer=bool(fulfillment.get("notifyCustomer")),
    )
    world.emit_fulfillment_created(shop, order, created)
    return _fulfillment_payload(typename, created, [])


@field(M, "fulfillmentTrackingInfoUpdate", "fulfillmentTrackingInfoUpdateV2")
def fulfillment_tracking_update(root: Any, info: Info, fulfillmentId: str,
                                trackingInfoInput: dict,
                                notifyCustomer: bool | None = None) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = ("FulfillmentTrackingInfoUpdatePayload"
                if info.field_name == "fulfillmentTrackingInfoUpdate"
                else "FulfillmentTrackingInfoUpdateV2Payload")
    found = shop.fulfillments.get(id_of(fulfillmentId, "Fulfillment") or 0)
    if found is None:
        return _fulfillment_payload(typename, None, [
            user_error(["fulfillmentId"], "Fulfillment does not exist.")])
    tracking = trackingInfoInput or {}
    if "company" in tracking:
        found.tracking_company = tracking["company"]
    if tracking.get("numbers") is not None or tracking.get("number") is not None:
        found.tracking_numbers = list(tracking.get("numbers") or [tracking["number"]])
    if tracking.get("urls") is not None or tracking.get("url") is not None:
        found.tracking_urls = list(tracking.get("urls") or [tracking["url"]])
    found.updated_at = world.now()
    order = shop.orders[found.order_id]
    world.emit(shop, "fulfillments/update", rest.fulfillment(shop, order, found))
    return _fulfillment_payload(typename, found, [])
