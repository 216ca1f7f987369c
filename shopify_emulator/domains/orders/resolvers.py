"""The Order object and the ``QueryRoot`` order fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.connections import paginate
from shopify_emulator.admin_graphql.registry import field, object_type, shop_of
from shopify_emulator.admin_graphql.search import query_filter
from shopify_emulator.admin_graphql.values import address_dict, count, id_of, money_bag, now_iso
from shopify_emulator.domains.fulfillments.status import (
    order_fulfillment_status,
    order_line_fulfillable,
)
from shopify_emulator.domains.orders.models import Order
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import money_str
from shopify_emulator.ids import gid, parse_gid

Info = GraphQLResolveInfo
Q = "QueryRoot"

object_type(model=Order, type_name="Order")


FINANCIAL = {
    "pending": "PENDING", "authorized": "AUTHORIZED", "partially_paid": "PARTIALLY_PAID",
    "paid": "PAID", "partially_refunded": "PARTIALLY_REFUNDED", "refunded": "REFUNDED",
    "voided": "VOIDED", "expired": "EXPIRED",
}


@field("Order", "name")
def _order_name(obj: Order, info: Info) -> str:
    return obj.name


@field("Order", "number")
def _order_number(obj: Order, info: Info) -> int:
    return obj.number - 1000


@field("Order", "processedAt")
def _order_processed(obj: Order, info: Info) -> str | None:
    return now_iso(obj.processed_at)


@field("Order", "cancelledAt")
def _order_cancelled(obj: Order, info: Info) -> str | None:
    return now_iso(obj.cancelled_at)


@field("Order", "closedAt")
def _order_closed_at(obj: Order, info: Info) -> str | None:
    return now_iso(obj.closed_at)


@field("Order", "closed")
def _order_closed(obj: Order, info: Info) -> bool:
    return obj.closed_at is not None


@field("Order", "cancelReason")
def _order_cancel_reason(obj: Order, info: Info) -> str | None:
    return obj.cancel_reason.upper() if obj.cancel_reason else None


@field("Order", "confirmed")
def _true(obj: Any, info: Info) -> bool:
    return True


@field("Order", "currencyCode", "presentmentCurrencyCode")
def _order_currency(obj: Order, info: Info) -> str:
    return obj.currency


@field("Order", "displayFinancialStatus")
def _order_financial(obj: Order, info: Info) -> str:
    return FINANCIAL.get(obj.financial_status, obj.financial_status.upper())


@field("Order", "displayFulfillmentStatus")
def _order_fulfillment_status(obj: Order, info: Info) -> str:
    status = order_fulfillment_status(shop_of(info), obj)
    shop = shop_of(info)
    if status is None:
        fos = [shop.fulfillment_orders[f] for f in obj.fulfillment_order_ids]
        if fos and all(fo.status == "IN_PROGRESS" for fo in fos):
            return "IN_PROGRESS"
        return "UNFULFILLED"
    return {"partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED",
            "restocked": "RESTOCKED"}[status]


@field("Order", "fullyPaid")
def _order_fully_paid(obj: Order, info: Info) -> bool:
    return obj.financial_status in ("paid", "partially_refunded", "refunded")


@field("Order", "unpaid")
def _order_unpaid(obj: Order, info: Info) -> bool:
    return obj.financial_status in ("pending", "authorized", "expired")


@field("Order", "fulfillable")
def _order_fulfillable(obj: Order, info: Info) -> bool:
    shop = shop_of(info)
    return obj.cancelled_at is None and any(
        order_line_fulfillable(shop, obj, li) > 0 for li in obj.line_items
    )


@field("Order", "refundable", "restockable")
def _order_refundable(obj: Order, info: Info) -> bool:
    return any(li.quantity > li.refunded_quantity for li in obj.line_items)


@field("Order", "requiresShipping")
def _order_requires_shipping(obj: Order, info: Info) -> bool:
    return any(li.requires_shipping for li in obj.line_items)


@field("Order", "test")
def _order_test(obj: Order, info: Info) -> bool:
    return obj.test


@field("Order", "tags")
def _tags(obj: Any, info: Info) -> list[str]:
    return list(obj.tags)


@field("Order", "sourceName")
def _order_source(obj: Order, info: Info) -> str:
    return obj.source_name


@field("Order", "sourceIdentifier")
def _order_source_id(obj: Order, info: Info) -> str | None:
    return obj.source_identifier


@field("Order", "taxesIncluded", "taxExempt", "edited", "dutiesIncluded", "capturable",
       "customerAcceptsMarketing", "canMarkAsPaid", "hasTimelineComment", "merchantEditable")
def _order_false(obj: Order, info: Info) -> bool:
    if info.field_name == "canMarkAsPaid":
        return obj.financial_status == "pending"
    if info.field_name == "merchantEditable":
        return obj.cancelled_at is None
    return False


@field("Order", "paymentGatewayNames")
def _order_gateways(obj: Order, info: Info) -> list[str]:
    return ["manual"] if obj.financial_status != "pending" else []


@field("Order", "customer")
def _order_customer(obj: Order, info: Info) -> dict | None:
    return customer_obj(obj.customer)


def customer_obj(data: dict | None) -> dict | None:
    if not data:
        return None
    first, last = data.get("first_name"), data.get("last_name")
    display = " ".join(p for p in (first, last) if p) or data.get("email") or ""
    email_obj = (
        {"__typename": "CustomerEmailAddress", "emailAddress": data["email"]}
        if data.get("email") else None
    )
    return {
        "__typename": "Customer",
        "id": gid("Customer", data["id"]),
        "legacyResourceId": str(data["id"]),
        "firstName": first,
        "lastName": last,
        "displayName": display,
        "email": data.get("email"),
        "phone": data.get("phone"),
        "defaultEmailAddress": email_obj,
        "defaultPhoneNumber": None,
        "tags": [t for t in (data.get("tags") or "").split(",") if t],
        "createdAt": now_iso(data.get("created_at")),
        "updatedAt": now_iso(data.get("updated_at")),
        "state": "ENABLED",
        "verifiedEmail": True,
        "note": None,
    }


@field("Order", "shippingAddress")
def _order_shipping_address(obj: Order, info: Info) -> dict | None:
    return address_dict(obj.shipping_address, obj_id=obj.id)


@field("Order", "billingAddress")
def _order_billing_address(obj: Order, info: Info) -> dict | None:
    return address_dict(obj.billing_address, obj_id=obj.id + 1)


@field("Order", "displayAddress")
def _order_display_address(obj: Order, info: Info) -> dict | None:
    return address_dict(obj.shipping_address or obj.billing_address, obj_id=obj.id)


@field("Order", "billingAddressMatchesShippingAddress")
def _order_addresses_match(obj: Order, info: Info) -> bool:
    return obj.billing_address == obj.shipping_address


def shipping_line_obj(order: Order, line: dict) -> dict:
    price = money_bag(line["price"], order.currency)
    return {
        "__typename": "ShippingLine",
        "id": gid("ShippingLine", line["id"]),
        "title": line["title"],
        "code": line["code"],
        "source": line.get("source"),
        "carrierIdentifier": None,
        "custom": True,
        "isRemoved": False,
        "originalPriceSet": price,
        "discountedPriceSet": price,
        "currentDiscountedPriceSet": price,
        "taxLines": [],
        "discountAllocations": [],
        "deliveryCategory": None,
        "phone": None,
        "shippingRateHandle": None,
    }


@field("Order", "shippingLines")
def _order_shipping_lines(obj: Order, info: Info, includeRemovals: bool = False,
                          **args: Any) -> dict:
    lines = [shipping_line_obj(obj, line) for line in obj.shipping_lines]
    return paginate(info, lines, id_fn=lambda line: parse_gid(line["id"])[1], **args)


@field("Order", "shippingLine")
def _order_shipping_line(obj: Order, info: Info) -> dict | None:
    return shipping_line_obj(obj, obj.shipping_lines[0]) if obj.shipping_lines else None


@field("Order", "lineItems")
def _order_line_items(obj: Order, info: Info, **args: Any) -> dict:
    return paginate(info, obj.line_items, **args)


@field("Order", "subtotalLineItemsQuantity")
def _order_quantity(obj: Order, info: Info) -> int:
    return sum(li.quantity for li in obj.line_items)


@field("Order", "currentSubtotalLineItemsQuantity")
def _order_current_quantity(obj: Order, info: Info) -> int:
    return sum(li.quantity - li.refunded_quantity for li in obj.line_items)


def _refunded_amount(shop: Shop, order: Order) -> Decimal:
    return sum((Decimal(t["amount"]) for r in order.refund_ids
                for t in shop.refunds[r].transactions), Decimal("0.00"))


def _current_subtotal(order: Order) -> Decimal:
    return sum((Decimal(li.price) * (li.quantity - li.refunded_quantity)
                for li in order.line_items), Decimal("0.00"))


@field("Order", "totalPriceSet", "originalTotalPriceSet")
def _order_total(obj: Order, info: Info) -> dict:
    return money_bag(obj.total, obj.currency)


@field("Order", "totalPrice")
def _order_total_price(obj: Order, info: Info) -> str:
    return money_str(obj.total)


@field("Order", "subtotalPriceSet")
def _order_subtotal(obj: Order, info: Info) -> dict:
    return money_bag(obj.subtotal, obj.currency)


@field("Order", "currentSubtotalPriceSet")
def _order_current_subtotal(obj: Order, info: Info) -> dict:
    return money_bag(_current_subtotal(obj), obj.currency)


@field("Order", "currentTotalPriceSet")
def _order_current_total(obj: Order, info: Info) -> dict:
    return money_bag(_current_subtotal(obj) + obj.shipping_total, obj.currency)


@field("Order", "totalShippingPriceSet", "currentShippingPriceSet")
def _order_shipping_total(obj: Order, info: Info) -> dict:
    return money_bag(obj.shipping_total, obj.currency)


@field("Order", "totalTaxSet", "currentTotalTaxSet", "totalDiscountsSet",
       "currentTotalDiscountsSet", "currentCartDiscountAmountSet", "totalTipReceivedSet",
       "totalCashRoundingAdjustment", "totalRefundedShippingSet", "totalCapturableSet",
       "refundDiscrepancySet")
def _order_zero(obj: Order, info: Info) -> dict:
    if info.field_name == "totalCashRoundingAdjustment":
        return {"__typename": "CashRoundingAdjustment",
                "paymentSet": money_bag(0, obj.currency), "refundSet": money_bag(0, obj.currency)}
    return money_bag(0, obj.currency)


@field("Order", "totalRefundedSet")
def _order_refunded(obj: Order, info: Info) -> dict:
    return money_bag(_refunded_amount(shop_of(info), obj), obj.currency)


@field("Order", "totalReceivedSet", "netPaymentSet")
def _order_received(obj: Order, info: Info) -> dict:
    paid = obj.total if obj.financial_status in ("paid", "partially_refunded", "refunded") else 0
    if info.field_name == "netPaymentSet":
        paid = Decimal(paid) - _refunded_amount(shop_of(info), obj)
    return money_bag(paid, obj.currency)


@field("Order", "totalOutstandingSet")
def _order_outstanding(obj: Order, info: Info) -> dict:
    unpaid = obj.financial_status in ("pending", "authorized", "partially_paid")
    return money_bag(obj.total if unpaid else 0, obj.currency)


@field("Order", "taxLines", "currentTaxLines", "discountCodes", "customAttributes", "alerts",
       "additionalFees", "nonFulfillableLineItems")
def _order_empty(obj: Any, info: Info, **_: Any) -> Any:
    if info.field_name == "nonFulfillableLineItems":
        return paginate(info, [], require_page_size=False, **_)
    return []


@field("Order", "discountCode", "poNumber", "paymentTerms", "cancellation", "app", "channel",
       "purchasingEntity", "retailLocation", "staffMember", "clientIp", "cartToken",
       "checkoutToken", "customerLocale", "confirmationNumber", "statusPageUrl")
def _order_none(obj: Order, info: Info) -> Any:
    if info.field_name == "statusPageUrl":
        return f"https://{shop_of(info).domain}/orders/{obj.id}/authenticate"
    if info.field_name == "confirmationNumber":
        return f"C{obj.id % 1_000_000_000:09d}"
    return None


@field("Order", "fulfillments")
def _order_fulfillments(obj: Order, info: Info, first: int | None = None,
                        query: str | None = None) -> list:
    shop = shop_of(info)
    result = [shop.fulfillments[f] for f in obj.fulfillment_ids]
    return result[:first] if first is not None else result


@field("Order", "fulfillmentsCount")
def _order_fulfillments_count(obj: Order, info: Info, **_: Any) -> dict:
    return count(len(obj.fulfillment_ids))


@field("Order", "refunds")
def _order_refunds(obj: Order, info: Info, first: int | None = None) -> list:
    shop = shop_of(info)
    result = [shop.refunds[r] for r in obj.refund_ids]
    return result[:first] if first is not None else result


@field("Order", "transactions")
def _order_transactions(obj: Order, info: Info, first: int | None = None,
                        capturable: bool | None = None, manuallyResolvable: bool | None = None
                        ) -> list:
    shop = shop_of(info)
    result = []
    if obj.financial_status != "pending":
        result.append(transaction_obj(obj, {"id": obj.id + 7, "kind": "sale", "status": "success",
                                            "amount": money_str(obj.total),
                                            "gateway": "manual",
                                            "created_at": obj.processed_at}))
    for refund_id in obj.refund_ids:
        for t in shop.refunds[refund_id].transactions:
            result.append(transaction_obj(obj, t))
    return result[:first] if first is not None else result


def transaction_obj(order: Order, t: dict) -> dict:
    return {
        "__typename": "OrderTransaction",
        "id": gid("OrderTransaction", t["id"]),
        "kind": t["kind"].upper(),
        "status": t["status"].upper(),
        "gateway": t["gateway"],
        "formattedGateway": t["gateway"].title(),
        "amountSet": money_bag(t["amount"], order.currency),
        "createdAt": now_iso(t["created_at"]),
        "processedAt": now_iso(t["created_at"]),
        "test": order.test,
        "manualPaymentGateway": True,
        "manuallyCapturable": False,
        "multiCapturable": False,
        "fees": [],
        "parentTransaction": None,
        "errorCode": None,
    }


def order_search(shop: Shop) -> dict:
    def fulfillment(order: Order) -> str:
        status = order_fulfillment_status(shop, order)
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
    orders = query_filter(list(shop.orders.values()), query, order_search(shop), ["name", "email"])
    sort_fn = ORDER_SORT.get(sortKey or "ID")
    if sortKey in ("CUSTOMER_NAME", "DESTINATION"):
        sort_fn = None
    return paginate(info, orders, sort_fn=sort_fn, **args)


@field(Q, "ordersCount")
def _orders_count(root: Any, info: Info, query: str | None = None, **_: Any) -> dict:
    shop = shop_of(info)
    return count(len(query_filter(list(shop.orders.values()), query, order_search(shop),
                             ["name", "email"])))


@field(Q, "order")
def _order(root: Any, info: Info, id: str) -> Order | None:  # noqa: A002
    return shop_of(info).orders.get(id_of(id, "Order") or 0)
