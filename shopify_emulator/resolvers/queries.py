"""QueryRoot fields."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator import state as st
from shopify_emulator.ids import parse_gid
from shopify_emulator.resolvers.core import (
    ShopifyError,
    count,
    ctx,
    field,
    id_of,
    paginate,
    search_filter,
)
from shopify_emulator.resolvers.objects import (
    FULFILLMENT_ORDER_SEARCH,
    topic_to_rest,
)

Info = GraphQLResolveInfo
Q = "QueryRoot"


def shop_of(info: Info) -> st.Shop:
    return ctx(info).shop


def _tags(product: st.Product) -> list[str]:
    return product.tags


def product_search(shop: st.Shop) -> dict:
    def skus(product: st.Product) -> list[str]:
        return [shop.item_of(v).sku for v in shop.product_variants(product)]

    def barcodes(product: st.Product) -> list[str | None]:
        return [v.barcode for v in shop.product_variants(product)]

    return {
        "id": ("number", lambda p: p.id),
        "title": ("text", lambda p: p.title),
        "handle": ("text", lambda p: p.handle),
        "vendor": ("text", lambda p: p.vendor),
        "product_type": ("text", lambda p: p.product_type),
        "status": ("text", lambda p: p.status),
        "tag": ("text", _tags),
        "tag_not": ("text", _tags),
        "sku": ("text", skus),
        "barcode": ("text", barcodes),
        "created_at": ("time", lambda p: p.created_at),
        "updated_at": ("time", lambda p: p.updated_at),
        "published_at": ("time", lambda p: p.published_at),
        "inventory_total": ("number", lambda p: sum(shop.inventory_quantity(v)
                                                    for v in shop.product_variants(p))),
        "variant_id": ("number", lambda p: list(p.variant_ids)),
    }


def variant_search(shop: st.Shop) -> dict:
    return {
        "id": ("number", lambda v: v.id),
        "sku": ("text", lambda v: shop.item_of(v).sku),
        "barcode": ("text", lambda v: v.barcode),
        "title": ("text", lambda v: v.title),
        "product_id": ("number", lambda v: v.product_id),
        "product_status": ("text", lambda v: shop.products[v.product_id].status),
        "tag": ("text", lambda v: shop.products[v.product_id].tags),
        "vendor": ("text", lambda v: shop.products[v.product_id].vendor),
        "inventory_item_id": ("number", lambda v: v.inventory_item_id),
        "inventory_quantity": ("number", lambda v: shop.inventory_quantity(v)),
        "location_id": ("number", lambda v: list(shop.item_of(v).levels)),
        "created_at": ("time", lambda v: v.created_at),
        "updated_at": ("time", lambda v: v.updated_at),
    }


def item_search(shop: st.Shop) -> dict:
    return {
        "id": ("number", lambda i: i.id),
        "sku": ("text", lambda i: i.sku),
        "tracked": ("bool", lambda i: i.tracked),
        "created_at": ("time", lambda i: i.created_at),
        "updated_at": ("time", lambda i: i.updated_at),
    }


def order_search(shop: st.Shop) -> dict:
    def fulfillment(order: st.Order) -> str:
        status = st.order_fulfillment_status(shop, order)
        return {"partial": "partial", "fulfilled": "shipped", None: "unshipped"}.get(
            status, status or "unshipped")

    return {
        "id": ("number", lambda o: o.id),
        "name": ("text", lambda o: [o.name, str(o.number)]),
        "order_number": ("number", lambda o: o.number),
        "email": ("text", lambda o: o.email),
        "tag": ("text", lambda o: o.tags),
        "tag_not": ("text", lambda o: o.tags),
        "financial_status": ("text", lambda o: o.financial_status),
        "fulfillment_status": ("text", fulfillment),
        "status": ("text", lambda o: "cancelled" if o.cancelled_at else
                   ("closed" if o.closed_at else "open")),
        "sku": ("text", lambda o: [li.sku for li in o.line_items]),
        "source_name": ("text", lambda o: o.source_name),
        "source_identifier": ("text", lambda o: o.source_identifier),
        "created_at": ("time", lambda o: o.created_at),
        "updated_at": ("time", lambda o: o.updated_at),
        "processed_at": ("time", lambda o: o.processed_at),
        "test": ("bool", lambda o: o.test),
    }


def _filter(items: list, query: str | None, fields: dict, defaults: list[str]) -> list:
    # `tag_not:x` is a negated tag match.
    if query and "tag_not:" in query:
        query = query.replace("tag_not:", "-tag:")
    return search_filter(items, query, fields, defaults)


# --------------------------------------------------------------------------- shop / locations


@field(Q, "shop")
def _shop(root: Any, info: Info) -> st.Shop:
    return shop_of(info)


LOCATION_SEARCH = {
    "id": ("number", lambda loc: loc.id),
    "name": ("text", lambda loc: loc.name),
    "active": ("bool", lambda loc: loc.is_active),
    "created_at": ("time", lambda loc: loc.created_at),
    "updated_at": ("time", lambda loc: loc.updated_at),
}


@field(Q, "locations")
def _locations(root: Any, info: Info, query: str | None = None, sortKey: str | None = None,
               includeInactive: bool = False, includeLegacy: bool = False,
               **args: Any) -> dict:
    shop = shop_of(info)
    locations = [loc for loc in shop.locations.values() if includeInactive or loc.is_active]
    locations = _filter(locations, query, LOCATION_SEARCH, ["name"])
    sort_fn = {"NAME": lambda loc: loc.name}.get(sortKey or "ID")
    return paginate(info, locations, sort_fn=sort_fn, **args)


@field(Q, "location")
def _location(root: Any, info: Info, id: str | None = None) -> st.Location | None:  # noqa: A002
    shop = shop_of(info)
    if id is None:
        return shop.primary_location
    return shop.locations.get(id_of(id, "Location") or 0)


@field(Q, "locationsCount")
def _locations_count(root: Any, info: Info, query: str | None = None, **_: Any) -> dict:
    shop = shop_of(info)
    return count(len(_filter(list(shop.locations.values()), query, LOCATION_SEARCH, ["name"])))


# --------------------------------------------------------------------------- catalogue

PRODUCT_SORT = {
    "ID": None,
    "TITLE": lambda p: p.title,
    "UPDATED_AT": lambda p: p.updated_at,
    "CREATED_AT": lambda p: p.created_at,
    "VENDOR": lambda p: p.vendor,
    "PRODUCT_TYPE": lambda p: p.product_type,
    "PUBLISHED_AT": lambda p: p.published_at or p.created_at,
    "RELEVANCE": None,
    "INVENTORY_TOTAL": None,
}


@field(Q, "products")
def _products(root: Any, info: Info, query: str | None = None, sortKey: str | None = None,
              savedSearchId: Any = None, **args: Any) -> dict:
    shop = shop_of(info)
    products = _filter(list(shop.products.values()), query, product_search(shop), ["title"])
    if sortKey == "INVENTORY_TOTAL":
        def sort_fn(p: st.Product) -> int:
            return sum(shop.inventory_quantity(v) for v in shop.product_variants(p))
    else:
        sort_fn = PRODUCT_SORT.get(sortKey or "ID")
    return paginate(info, products, sort_fn=sort_fn, **args)


@field(Q, "productsCount")
def _products_count(root: Any, info: Info, query: str | None = None, **_: Any) -> dict:
    shop = shop_of(info)
    return count(len(_filter(list(shop.products.values()), query, product_search(shop),
                             ["title"])))


@field(Q, "product")
def _product(root: Any, info: Info, id: str) -> st.Product | None:  # noqa: A002
    return shop_of(info).products.get(id_of(id, "Product") or 0)


@field(Q, "productByIdentifier")
def _product_by_identifier(root: Any, info: Info, identifier: dict) -> st.Product | None:
    shop = shop_of(info)
    if identifier.get("id"):
        return shop.products.get(id_of(identifier["id"], "Product") or 0)
    if identifier.get("handle"):
        return next((p for p in shop.products.values() if p.handle == identifier["handle"]), None)
    return None


VARIANT_SORT = {
    "ID": None,
    "SKU": "sku",
    "TITLE": lambda v: v.title,
    "POSITION": lambda v: (v.product_id, v.position),
    "INVENTORY_QUANTITY": "quantity",
    "NAME": lambda v: v.title,
    "POPULAR": None,
    "RELEVANCE": None,
    "FULL_TITLE": lambda v: v.title,
    "INVENTORY_MANAGEMENT": None,
    "INVENTORY_LEVELS_AVAILABLE": "quantity",
}


@field(Q, "productVariants")
def _product_variants(root: Any, info: Info, query: str | None = None,
                      sortKey: str | None = None, savedSearchId: Any = None,
                      **args: Any) -> dict:
    shop = shop_of(info)
    variants = _filter(list(shop.variants.values()), query, variant_search(shop), ["sku"])
    key = VARIANT_SORT.get(sortKey or "ID")
    if key == "sku":
        def sort_fn(v: st.Variant) -> str:
            return shop.item_of(v).sku
    elif key == "quantity":
        def sort_fn(v: st.Variant) -> int:
            return shop.inventory_quantity(v)
    else:
        sort_fn = key  # type: ignore[assignment]
    if isinstance(sort_fn, str):
        sort_fn = None
    return paginate(info, variants, sort_fn=sort_fn, **args)


@field(Q, "productVariantsCount")
def _product_variants_count(root: Any, info: Info, query: str | None = None, **_: Any) -> dict:
    shop = shop_of(info)
    return count(len(_filter(list(shop.variants.values()), query, variant_search(shop),
                             ["sku"])))


@field(Q, "productVariant")
def _product_variant(root: Any, info: Info, id: str) -> st.Variant | None:  # noqa: A002
    return shop_of(info).variants.get(id_of(id, "ProductVariant") or 0)


@field(Q, "inventoryItems")
def _inventory_items(root: Any, info: Info, query: str | None = None, **args: Any) -> dict:
    shop = shop_of(info)
    items = _filter(list(shop.inventory_items.values()), query, item_search(shop), ["sku"])
    return paginate(info, items, **args)


@field(Q, "inventoryItem")
def _inventory_item(root: Any, info: Info, id: str) -> st.InventoryItem | None:  # noqa: A002
    return shop_of(info).inventory_items.get(id_of(id, "InventoryItem") or 0)


def level_by_gid(shop: st.Shop, value: str) -> st.InventoryLevel | None:
    parsed = parse_gid(value)
    if parsed is None or parsed[0] != "InventoryLevel":
        return None
    item_id = parsed[2].get("inventory_item_id", "")
    if not item_id.isdigit():
        return None
    item = shop.inventory_items.get(int(item_id))
    if item is None:
        return None
    for level in item.levels.values():
        if level.group_id == parsed[1] or level.location_id == parsed[1]:
            return level
    return None


@field(Q, "inventoryLevel")
def _inventory_level(root: Any, info: Info, id: str) -> st.InventoryLevel | None:  # noqa: A002
    return level_by_gid(shop_of(info), id)


# --------------------------------------------------------------------------- orders

ORDER_SORT = {
    "ID": None,
    "CREATED_AT": lambda o: o.created_at,
    "UPDATED_AT": lambda o: o.updated_at,
    "PROCESSED_AT": lambda o: o.processed_at,
    "ORDER_NUMBER": lambda o: o.number,
    "TOTAL_PRICE": lambda o: float(o.total),
    "FINANCIAL_STATUS": lambda o: o.financial_status,
    "RELEVANCE": None,
}


@field(Q, "orders")
def _orders(root: Any, info: Info, query: str | None = None, sortKey: str | None = None,
            savedSearchId: Any = None, **args: Any) -> dict:
    shop = shop_of(info)
    orders = _filter(list(shop.orders.values()), query, order_search(shop), ["name", "email"])
    sort_fn = ORDER_SORT.get(sortKey or "ID")
    if sortKey in ("CUSTOMER_NAME", "DESTINATION"):
        sort_fn = None
    return paginate(info, orders, sort_fn=sort_fn, **args)


@field(Q, "ordersCount")
def _orders_count(root: Any, info: Info, query: str | None = None, **_: Any) -> dict:
    shop = shop_of(info)
    return count(len(_filter(list(shop.orders.values()), query, order_search(shop),
                             ["name", "email"])))


@field(Q, "order")
def _order(root: Any, info: Info, id: str) -> st.Order | None:  # noqa: A002
    return shop_of(info).orders.get(id_of(id, "Order") or 0)


@field(Q, "fulfillmentOrders")
def _fulfillment_orders(root: Any, info: Info, includeClosed: bool = False,
                        query: str | None = None, sortKey: str | None = None,
                        **args: Any) -> dict:
    shop = shop_of(info)
    fos = [fo for fo in shop.fulfillment_orders.values()
           if includeClosed or fo.status not in ("CLOSED", "CANCELLED")]
    fos = _filter(fos, query, FULFILLMENT_ORDER_SEARCH, [])
    sort_fn = {"UPDATED_AT": lambda fo: fo.updated_at,
               "CREATED_AT": lambda fo: fo.created_at}.get(sortKey or "ID")
    return paginate(info, fos, sort_fn=sort_fn, **args)


@field(Q, "fulfillmentOrder")
def _fulfillment_order(root: Any, info: Info, id: str) -> Any:  # noqa: A002
    return shop_of(info).fulfillment_orders.get(id_of(id, "FulfillmentOrder") or 0)


@field(Q, "fulfillment")
def _fulfillment(root: Any, info: Info, id: str) -> Any:  # noqa: A002
    return shop_of(info).fulfillments.get(id_of(id, "Fulfillment") or 0)


# --------------------------------------------------------------------------- nodes


def node_lookup(shop: st.Shop, value: str) -> Any:
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


# --------------------------------------------------------------------------- webhooks, bulk


@field(Q, "webhookSubscriptions")
def _webhook_subscriptions(root: Any, info: Info, topics: list[str] | None = None,
                           uri: str | None = None, callbackUrl: str | None = None,
                           format: str | None = None,  # noqa: A002
                           query: str | None = None, sortKey: str | None = None,
                           **args: Any) -> dict:
    shop = shop_of(info)
    subs = list(shop.subscriptions.values())
    if topics:
        wanted = {topic_to_rest(t) for t in topics}
        subs = [s for s in subs if s.topic in wanted]
    if uri or callbackUrl:
        subs = [s for s in subs if s.uri == (uri or callbackUrl)]
    if format:
        subs = [s for s in subs if s.format == format]
    subs = search_filter(subs, query, {
        "id": ("number", lambda s: s.id),
        "topic": ("text", lambda s: [s.topic, s.topic.replace("/", "_").upper()]),
        "created_at": ("time", lambda s: s.created_at),
        "updated_at": ("time", lambda s: s.updated_at),
    }, [])
    sort_fn = {"CREATED_AT": lambda s: s.created_at}.get(sortKey or "ID")
    return paginate(info, subs, sort_fn=sort_fn, **args)


@field(Q, "webhookSubscription")
def _webhook_subscription(root: Any, info: Info, id: str) -> Any:  # noqa: A002
    return shop_of(info).subscriptions.get(id_of(id, "WebhookSubscription") or 0)


@field(Q, "currentBulkOperation")
def _current_bulk(root: Any, info: Info, type: str = "QUERY") -> Any:  # noqa: A002
    shop = shop_of(info)
    ops = [op for op in shop.bulk_operations.values() if op.type == (type or "QUERY")]
    return max(ops, key=lambda op: op.id) if ops else None


@field(Q, "bulkOperation")
def _bulk_operation(root: Any, info: Info, id: str) -> Any:  # noqa: A002
    return shop_of(info).bulk_operations.get(id_of(id, "BulkOperation") or 0)


@field(Q, "bulkOperations")
def _bulk_operations(root: Any, info: Info, query: str | None = None,
                     sortKey: str | None = None, **args: Any) -> dict:
    shop = shop_of(info)
    ops = search_filter(list(shop.bulk_operations.values()), query, {
        "status": ("text", lambda op: op.status),
        "operation_type": ("text", lambda op: op.type),
        "created_at": ("time", lambda op: op.created_at),
        "id": ("number", lambda op: op.id),
    }, [])
    sort_fn = {"CREATED_AT": lambda op: op.created_at,
               "COMPLETED_AT": lambda op: op.completed_at or op.created_at}.get(sortKey or "ID")
    return paginate(info, ops, sort_fn=sort_fn, **args)
