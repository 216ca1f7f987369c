"""The LineItem object."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.registry import field, object_type, shop_of
from shopify_emulator.admin_graphql.values import money_bag
from shopify_emulator.domains.fulfillments.status import order_line_fulfillable
from shopify_emulator.domains.orders.models import LineItem, Order
from shopify_emulator.domains.products.models import Product, Variant
from shopify_emulator.domains.shop.models import Shop

Info = GraphQLResolveInfo

object_type(model=LineItem, type_name="LineItem")


@field("LineItem", "currentQuantity")
def _line_current(obj: LineItem, info: Info) -> int:
    return obj.quantity - obj.refunded_quantity


@field("LineItem", "unfulfilledQuantity", "fulfillableQuantity")
def _line_unfulfilled(obj: LineItem, info: Info) -> int:
    shop = shop_of(info)
    order = _order_of_line(shop, obj)
    return order_line_fulfillable(shop, order, obj) if order else 0


def _order_of_line(shop: Shop, line: LineItem) -> Order | None:
    return shop.orders.get(line.order_id)


@field("LineItem", "nonFulfillableQuantity")
def _line_non_fulfillable(obj: LineItem, info: Info) -> int:
    shop = shop_of(info)
    order = _order_of_line(shop, obj)
    fulfillable = order_line_fulfillable(shop, order, obj) if order else 0
    return max(0, obj.quantity - obj.fulfilled_quantity - fulfillable)


@field("LineItem", "refundableQuantity")
def _line_refundable(obj: LineItem, info: Info) -> int:
    return obj.quantity - obj.refunded_quantity


@field("LineItem", "fulfillmentStatus")
def _line_fulfillment_status(obj: LineItem, info: Info) -> str:
    if obj.fulfilled_quantity == 0:
        return "unfulfilled"
    return "fulfilled" if obj.fulfilled_quantity >= obj.quantity - obj.refunded_quantity \
        else "partial"


@field("LineItem", "name")
def _line_name(obj: LineItem, info: Info) -> str:
    return obj.title if not obj.variant_title else f"{obj.title} - {obj.variant_title}"


@field("LineItem", "sku")
def _line_sku(obj: LineItem, info: Info) -> str | None:
    return obj.sku or None


@field("LineItem", "variantTitle")
def _line_variant_title(obj: LineItem, info: Info) -> str | None:
    return obj.variant_title or None


@field("LineItem", "vendor")
def _line_vendor(obj: LineItem, info: Info) -> str | None:
    return obj.vendor or None


@field("LineItem", "requiresShipping")
def _line_requires_shipping(obj: LineItem, info: Info) -> bool:
    return obj.requires_shipping


@field("LineItem", "restockable", "canRestock")
def _line_restockable(obj: LineItem, info: Info) -> bool:
    return obj.variant_id is not None and obj.quantity > obj.refunded_quantity


@field("LineItem", "isGiftCard", "merchantEditable")
def _line_false(obj: Any, info: Info) -> bool:
    return False


@field("LineItem", "variant")
def _line_variant(obj: LineItem, info: Info) -> Variant | None:
    return shop_of(info).variants.get(obj.variant_id) if obj.variant_id else None


@field("LineItem", "product")
def _line_product(obj: LineItem, info: Info) -> Product | None:
    return shop_of(info).products.get(obj.product_id) if obj.product_id else None


def _line_currency(info: Info, line: LineItem) -> str:
    shop = shop_of(info)
    order = _order_of_line(shop, line)
    return order.currency if order else shop.currency


@field("LineItem", "originalUnitPriceSet", "discountedUnitPriceSet",
       "discountedUnitPriceAfterAllDiscountsSet")
def _line_unit_price(obj: LineItem, info: Info) -> dict:
    return money_bag(obj.price, _line_currency(info, obj))


@field("LineItem", "originalUnitPrice", "discountedUnitPrice")
def _line_unit_price_plain(obj: LineItem, info: Info) -> str:
    return obj.price


@field("LineItem", "originalTotalSet", "discountedTotalSet", "priceAfterAllDiscountsBeforeTaxesSet")
def _line_total(obj: LineItem, info: Info) -> dict:
    return money_bag(Decimal(obj.price) * obj.quantity, _line_currency(info, obj))


@field("LineItem", "unfulfilledOriginalTotalSet", "unfulfilledDiscountedTotalSet")
def _line_unfulfilled_total(obj: LineItem, info: Info) -> dict:
    return money_bag(Decimal(obj.price) * _line_unfulfilled(obj, info), _line_currency(info, obj))


@field("LineItem", "totalDiscountSet")
def _line_discount(obj: LineItem, info: Info) -> dict:
    return money_bag(0, _line_currency(info, obj))


@field("LineItem", "taxLines", "discountAllocations", "duties", "customAttributes")
def _line_empty(obj: Any, info: Info, **_: Any) -> list:
    return []


@field("LineItem", "image", "sellingPlan", "contract", "staffMember", "lineItemGroup")
def _line_none(obj: Any, info: Info, **_: Any) -> None:
    return None
