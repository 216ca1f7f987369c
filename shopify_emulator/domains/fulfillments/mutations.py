"""Fulfillment mutations: fulfillmentCreate(V2), fulfillmentTrackingInfoUpdate(V2)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.registry import ctx, field
from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.fulfillments import rest as fulfillments_rest
from shopify_emulator.domains.fulfillments.models import (
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
)
from shopify_emulator.domains.fulfillments.operations import (
    fulfillment_apply,
    fulfillment_created_emit,
)

Info = GraphQLResolveInfo
M = "Mutation"


def _fulfillment_payload(typename: str, fulfillment: Fulfillment | None,
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
    fos: list[FulfillmentOrder] = []
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
    items: list[tuple[FulfillmentOrder, FulfillmentOrderLineItem, int]] = []
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
    created = fulfillment_apply(
        world=world, shop=shop, order=order, items=items, tracking_company=tracking.get("company"),
        tracking_numbers=numbers, tracking_urls=urls,
        notify_customer=bool(fulfillment.get("notifyCustomer")),
    )
    fulfillment_created_emit(world=world, shop=shop, order=order, fulfillment=created)
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
    world.emit(shop, "fulfillments/update", fulfillments_rest.fulfillment(shop, order, found))
    return _fulfillment_payload(typename, found, [])
