"""``QueryRoot.node`` / ``nodes``: any record of the shop by its global id."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.registry import ShopifyError, field, shop_of
from shopify_emulator.domains.inventory.resolvers import level_by_gid
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.ids import parse_gid

Info = GraphQLResolveInfo
Q = "QueryRoot"


def node_lookup(shop: Shop, value: str) -> Any:
    parsed = parse_gid(value)
    if parsed is None:
        return None
    type_name, numeric, _params = parsed
    tables: dict[str, dict] = {
        "Product": shop.products,
        "ProductVariant": shop.variants,
        "InventoryItem": shop.inventory_items,
        "Location": shop.locations,
        "Order": shop.orders,
        "FulfillmentOrder": shop.fulfillment_orders,
        "Fulfillment": shop.fulfillments,
        "Refund": shop.refunds,
        "WebhookSubscription": shop.subscriptions,
        "BulkOperation": shop.bulk_operations,
        "InventoryAdjustmentGroup": shop.adjustment_groups,
        "AppSubscription": shop.app_subscriptions,
    }
    if type_name == "InventoryLevel":
        return level_by_gid(shop, value)
    if type_name == "Shop":
        return shop if numeric == shop.id else None
    table = tables.get(type_name)
    return table.get(numeric) if table is not None else None


def _check_node_id(value: str) -> None:
    if parse_gid(value) is None:
        raise ShopifyError(f"Invalid global id '{value}'", "argumentLiteralsIncompatible")


@field(Q, "node")
def _node(root: Any, info: Info, id: str) -> Any:  # noqa: A002
    _check_node_id(id)
    return node_lookup(shop_of(info), id)


@field(Q, "nodes")
def _nodes(root: Any, info: Info, ids: list[str]) -> list[Any]:
    if len(ids) > 250:
        raise ShopifyError(
            f"The input array size of {len(ids)} is greater than the maximum allowed of 250.",
            "MAX_INPUT_SIZE_EXCEEDED",
        )
    for value in ids:
        _check_node_id(value)
    shop = shop_of(info)
    return [node_lookup(shop, value) for value in ids]
