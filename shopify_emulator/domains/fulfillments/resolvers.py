"""FulfillmentOrder, FulfillmentOrderLineItem and Fulfillment, ``Order.fulfillmentOrders``, and
the ``QueryRoot`` fulfillment fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.connections import paginate
from shopify_emulator.admin_graphql.registry import field, object_type, shop_of
from shopify_emulator.admin_graphql.search import query_filter, search_filter
from shopify_emulator.admin_graphql.values import address_dict, id_of, money_bag, now_iso
from shopify_emulator.domains.fulfillments.models import (
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
)
from shopify_emulator.domains.locations.models import Location
from shopify_emulator.domains.orders.models import LineItem, Order
from shopify_emulator.ids import gid

Info = GraphQLResolveInfo
Q = "QueryRoot"

object_type(model=FulfillmentOrder, type_name="FulfillmentOrder")
object_type(model=FulfillmentOrderLineItem, type_name="FulfillmentOrderLineItem")
object_type(model=Fulfillment, type_name="Fulfillment")


FULFILLMENT_ORDER_SEARCH = {
    "status": ("text", lambda fo: fo.status),
    "assigned_location_id": ("number", lambda fo: fo.location_id),
    "updated_at": ("time", lambda fo: fo.updated_at),
    "id": ("number", lambda fo: fo.id),
}


@field("FulfillmentOrder", "order")
def _fo_order(obj: FulfillmentOrder, info: Info) -> Order:
    return shop_of(info).orders[obj.order_id]


@field("FulfillmentOrder", "orderId")
def _fo_order_id(obj: FulfillmentOrder, info: Info) -> str:
    return gid("Order", obj.order_id)


@field("FulfillmentOrder", "orderName")
def _fo_order_name(obj: FulfillmentOrder, info: Info) -> str:
    return shop_of(info).orders[obj.order_id].name


@field("FulfillmentOrder", "orderProcessedAt")
def _fo_order_processed(obj: FulfillmentOrder, info: Info) -> str | None:
    return now_iso(shop_of(info).orders[obj.order_id].processed_at)


@field("FulfillmentOrder", "status")
def _fo_status(obj: FulfillmentOrder, info: Info) -> str:
    return obj.status


@field("FulfillmentOrder", "requestStatus")
def _fo_request_status(obj: FulfillmentOrder, info: Info) -> str:
    return obj.request_status


@field("FulfillmentOrder", "assignedLocation")
def _fo_assigned(obj: FulfillmentOrder, info: Info) -> dict:
    location = shop_of(info).locations[obj.location_id]
    return {
        "__typename": "FulfillmentOrderAssignedLocation",
        "name": location.name,
        "address1": location.address1,
        "address2": None,
        "city": location.city,
        "province": location.province,
        "zip": location.zip,
        "countryCode": location.country_code,
        "phone": location.phone or None,
        "location": location,
    }


@field("FulfillmentOrder", "destination")
def _fo_destination(obj: FulfillmentOrder, info: Info) -> dict | None:
    order = shop_of(info).orders[obj.order_id]
    data = order.shipping_address
    if not data:
        return None
    address = address_dict(data, "FulfillmentOrderDestination", obj.id)
    assert address is not None
    address["id"] = gid("FulfillmentOrderDestination", obj.id)
    address["email"] = order.email
    return address


@field("FulfillmentOrder", "deliveryMethod")
def _fo_delivery(obj: FulfillmentOrder, info: Info) -> dict:
    return {"__typename": "DeliveryMethod", "id": gid("DeliveryMethod", obj.id),
            "methodType": "SHIPPING", "serviceCode": None, "presentedName": None}


@field("FulfillmentOrder", "lineItems")
def _fo_line_items(obj: FulfillmentOrder, info: Info, **args: Any) -> dict:
    return paginate(info, obj.line_items, **args)


@field("FulfillmentOrder", "fulfillments")
def _fo_fulfillments(obj: FulfillmentOrder, info: Info, **args: Any) -> dict:
    shop = shop_of(info)
    return paginate(info, [shop.fulfillments[f] for f in obj.fulfillment_ids], **args)


@field("FulfillmentOrder", "supportedActions")
def _fo_actions(obj: FulfillmentOrder, info: Info) -> list[dict]:
    if obj.status in ("OPEN", "IN_PROGRESS"):
        actions = ["CREATE_FULFILLMENT", "REPORT_PROGRESS", "MOVE", "HOLD", "SPLIT"]
    else:
        actions = []
    return [{"__typename": "FulfillmentOrderSupportedAction", "action": a, "externalUrl": None}
            for a in actions]


@field("FulfillmentOrder", "fulfillmentHolds", "merchantRequests", "locationsForMove",
       "fulfillmentOrdersForMerge")
def _fo_empty(obj: Any, info: Info, **args: Any) -> Any:
    if info.field_name == "fulfillmentHolds":
        return []
    return paginate(info, [], require_page_size=False, **args)


@field("FulfillmentOrder", "fulfillAt", "fulfillBy", "channelId", "internationalDuties",
       "remainingLineItemsWeight")
def _fo_none(obj: Any, info: Info) -> None:
    return None


@field("FulfillmentOrderLineItem", "lineItem")
def _foli_line(obj: FulfillmentOrderLineItem, info: Info) -> LineItem | None:
    order = shop_of(info).orders.get(obj.order_id)
    return order.line(obj.line_item_id) if order else None


@field("FulfillmentOrderLineItem", "totalQuantity")
def _foli_total(obj: FulfillmentOrderLineItem, info: Info) -> int:
    return obj.total_quantity


@field("FulfillmentOrderLineItem", "remainingQuantity")
def _foli_remaining(obj: FulfillmentOrderLineItem, info: Info) -> int:
    return obj.remaining_quantity


@field("FulfillmentOrderLineItem", "inventoryItemId")
def _foli_item(obj: FulfillmentOrderLineItem, info: Info) -> str | None:
    return gid("InventoryItem", obj.inventory_item_id) if obj.inventory_item_id else None


@field("FulfillmentOrderLineItem", "sku", "productTitle", "variantTitle", "vendor",
       "requiresShipping", "variant")
def _foli_from_line(obj: FulfillmentOrderLineItem, info: Info) -> Any:
    line = _foli_line(obj, info)
    if line is None:
        return None
    return {
        "sku": line.sku or None,
        "productTitle": line.title,
        "variantTitle": line.variant_title or None,
        "vendor": line.vendor or None,
        "requiresShipping": line.requires_shipping,
        "variant": shop_of(info).variants.get(line.variant_id) if line.variant_id else None,
    }[info.field_name]


@field("FulfillmentOrderLineItem", "warnings", "financialSummaries")
def _foli_empty(obj: Any, info: Info) -> list:
    return []


@field("FulfillmentOrderLineItem", "image", "weight", "shippingLine")
def _foli_none(obj: Any, info: Info) -> None:
    return None


FULFILLMENT_DISPLAY = {"success": "FULFILLED", "cancelled": "CANCELED", "pending": None,
                       "open": None, "error": None, "failure": None}


@field("Fulfillment", "status")
def _fulfillment_status(obj: Fulfillment, info: Info) -> str:
    return obj.status.upper()


@field("Fulfillment", "displayStatus")
def _fulfillment_display(obj: Fulfillment, info: Info) -> str | None:
    if obj.shipment_status:
        return obj.shipment_status.upper()
    return FULFILLMENT_DISPLAY.get(obj.status)


@field("Fulfillment", "name")
def _fulfillment_name(obj: Fulfillment, info: Info) -> str:
    return obj.name


@field("Fulfillment", "order")
def _fulfillment_order(obj: Fulfillment, info: Info) -> Order:
    return shop_of(info).orders[obj.order_id]


@field("Fulfillment", "location")
def _fulfillment_location(obj: Fulfillment, info: Info) -> Location | None:
    return shop_of(info).locations.get(obj.location_id)


@field("Fulfillment", "totalQuantity")
def _fulfillment_quantity(obj: Fulfillment, info: Info) -> int:
    return sum(entry["quantity"] for entry in obj.line_items)


@field("Fulfillment", "requiresShipping")
def _fulfillment_requires_shipping(obj: Any, info: Info) -> bool:
    return True


@field("Fulfillment", "trackingInfo")
def _fulfillment_tracking(obj: Fulfillment, info: Info, first: int | None = None) -> list:
    count_numbers = max(len(obj.tracking_numbers), len(obj.tracking_urls))
    result = []
    for index in range(count_numbers):
        result.append(
            {
                "__typename": "FulfillmentTrackingInfo",
                "company": obj.tracking_company,
                "number": obj.tracking_numbers[index] if index < len(obj.tracking_numbers)
                else None,
                "url": obj.tracking_urls[index] if index < len(obj.tracking_urls) else None,
            }
        )
    if not result and obj.tracking_company:
        result.append({"__typename": "FulfillmentTrackingInfo", "company": obj.tracking_company,
                       "number": None, "url": None})
    return result[:first] if first is not None else result


@field("Fulfillment", "fulfillmentLineItems")
def _fulfillment_lines(obj: Fulfillment, info: Info, **args: Any) -> dict:
    shop = shop_of(info)
    order = shop.orders[obj.order_id]
    items = []
    for entry in obj.line_items:
        line = order.line(entry["line_item_id"])
        total = Decimal(line.price) * entry["quantity"] if line else Decimal(0)
        items.append(
            {
                "__typename": "FulfillmentLineItem",
                "id": gid("FulfillmentLineItem", entry["id"]),
                "quantity": entry["quantity"],
                "lineItem": line,
                "originalTotalSet": money_bag(total, order.currency),
                "discountedTotalSet": money_bag(total, order.currency),
                "_id": entry["id"],
            }
        )
    return paginate(info, items, id_fn=lambda i: i["_id"], **args)


@field("Fulfillment", "fulfillmentOrders")
def _fulfillment_fos(obj: Fulfillment, info: Info, **args: Any) -> dict:
    shop = shop_of(info)
    return paginate(info, [shop.fulfillment_orders[f] for f in obj.fulfillment_order_ids],
                    **args)


@field("Fulfillment", "events")
def _fulfillment_events(obj: Any, info: Info, **args: Any) -> dict:
    return paginate(info, [], require_page_size=False, **args)


@field("Fulfillment", "service")
def _fulfillment_service(obj: Fulfillment, info: Info) -> dict:
    return {"__typename": "FulfillmentService", "id": gid("FulfillmentService", 1),
            "handle": "manual", "serviceName": "Manual", "type": "MANUAL"}


@field("Fulfillment", "deliveredAt", "estimatedDeliveryAt", "inTransitAt", "originAddress",
       "shippingLabel")
def _fulfillment_none(obj: Any, info: Info) -> None:
    return None


@field("Order", "fulfillmentOrders")
def _order_fulfillment_orders(obj: Order, info: Info, displayable: bool = False,
                              query: str | None = None, **args: Any) -> dict:
    shop = shop_of(info)
    fos = [shop.fulfillment_orders[f] for f in obj.fulfillment_order_ids]
    fos = search_filter(fos, query, FULFILLMENT_ORDER_SEARCH, [])
    return paginate(info, fos, **args)


@field(Q, "fulfillmentOrders")
def _fulfillment_orders(root: Any, info: Info, includeClosed: bool = False,
                        query: str | None = None, sortKey: str | None = None,
                        **args: Any) -> dict:
    shop = shop_of(info)
    fos = [fo for fo in shop.fulfillment_orders.values()
           if includeClosed or fo.status not in ("CLOSED", "CANCELLED")]
    fos = query_filter(fos, query, FULFILLMENT_ORDER_SEARCH, [])
    sort_fn = {"UPDATED_AT": lambda fo: fo.updated_at,
               "CREATED_AT": lambda fo: fo.created_at}.get(sortKey or "ID")
    return paginate(info, fos, sort_fn=sort_fn, **args)


@field(Q, "fulfillmentOrder")
def _fulfillment_order(root: Any, info: Info, id: str) -> Any:  # noqa: A002
    return shop_of(info).fulfillment_orders.get(id_of(id, "FulfillmentOrder") or 0)


@field(Q, "fulfillment")
def _fulfillment(root: Any, info: Info, id: str) -> Any:  # noqa: A002
    return shop_of(info).fulfillments.get(id_of(id, "Fulfillment") or 0)
