"""The Refund object."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.connections import paginate
from shopify_emulator.admin_graphql.registry import field, object_type, shop_of
from shopify_emulator.admin_graphql.values import money_bag, now_iso
from shopify_emulator.domains.orders.models import Order, Refund
from shopify_emulator.domains.orders.resolvers import transaction_obj
from shopify_emulator.ids import gid

Info = GraphQLResolveInfo

object_type(model=Refund, type_name="Refund")


@field("Refund", "note")
def _refund_note(obj: Refund, info: Info) -> str | None:
    return obj.note


@field("Refund", "processedAt")
def _refund_processed(obj: Refund, info: Info) -> str | None:
    return now_iso(obj.created_at)


@field("Refund", "order")
def _refund_order(obj: Refund, info: Info) -> Order:
    return shop_of(info).orders[obj.order_id]


@field("Refund", "totalRefundedSet")
def _refund_total(obj: Refund, info: Info) -> dict:
    order = shop_of(info).orders[obj.order_id]
    total = sum((Decimal(t["amount"]) for t in obj.transactions), Decimal("0.00"))
    return money_bag(total, order.currency)


@field("Refund", "refundLineItems")
def _refund_lines(obj: Refund, info: Info, **args: Any) -> dict:
    shop = shop_of(info)
    order = shop.orders[obj.order_id]
    items = []
    for rli in obj.refund_line_items:
        line = order.line(rli["line_item_id"])
        items.append(
            {
                "__typename": "RefundLineItem",
                "id": gid("RefundLineItem", rli["id"]),
                "_id": rli["id"],
                "lineItem": line,
                "quantity": rli["quantity"],
                "restockType": rli["restock_type"].upper(),
                "restocked": rli["restock_type"] in ("cancel", "return"),
                "location": shop.locations.get(rli["location_id"]) if rli.get("location_id")
                else None,
                "priceSet": money_bag(line.price if line else 0, order.currency),
                "subtotalSet": money_bag(rli["subtotal"], order.currency),
                "totalTaxSet": money_bag(0, order.currency),
            }
        )
    return paginate(info, items, id_fn=lambda i: i["_id"], require_page_size=False, **args)


@field("Refund", "transactions")
def _refund_transactions(obj: Refund, info: Info, **args: Any) -> dict:
    order = shop_of(info).orders[obj.order_id]
    items = [dict(transaction_obj(order, t), _id=t["id"]) for t in obj.transactions]
    return paginate(info, items, id_fn=lambda i: i["_id"], require_page_size=False, **args)


@field("Refund", "orderAdjustments", "refundShippingLines")
def _refund_empty(obj: Any, info: Info, **args: Any) -> dict:
    return paginate(info, [], require_page_size=False, **args)


@field("Refund", "duties", "return", "staffMember")
def _refund_none(obj: Any, info: Info) -> None:
    return None
