"""Order operations: create an order, find orders, and mark one (its note, its tags).

Ids go in and come out as numbers; the Admin API's global ids are made and read here through
`syncer.shopify.ids`. Mutations raise `ShopifyUserErrors` when Shopify refuses the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from syncer.shopify.admin_session import AdminSession
from syncer.shopify.documents import document
from syncer.shopify.errors import raise_for_user_errors
from syncer.shopify.ids import gid, gid_id

InventoryBehaviour = Literal["BYPASS", "DECREMENT_IGNORING_POLICY", "DECREMENT_OBEYING_POLICY"]
FinancialStatus = Literal[
    "AUTHORIZED", "EXPIRED", "PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED", "PENDING",
    "REFUNDED", "VOIDED",
]


# --- what we send -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineItemProperty:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class NewOrderLine:
    variant_id: int
    quantity: int
    price: Decimal
    properties: tuple[LineItemProperty, ...] = ()


@dataclass(frozen=True, slots=True)
class MailingAddress:
    """Empty fields are left out. `country` / `province` (names) are sent only when there is
    no `country_code` / `province_code`."""

    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address1: str = ""
    address2: str = ""
    city: str = ""
    province_code: str = ""
    country_code: str = ""
    zip: str = ""
    phone: str = ""
    country: str = ""
    province: str = ""


@dataclass(frozen=True, slots=True)
class ShippingLine:
    title: str
    code: str
    source: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class NewOrderCustomer:
    """The customer to create or update with the order (Shopify matches it by email).
    `last_name=None` leaves the last name out."""

    email: str
    first_name: str
    last_name: str | None = None


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order to create; every amount is in `currency`. `email` and `customer` are optional."""

    currency: str
    lines: tuple[NewOrderLine, ...]
    shipping_address: MailingAddress
    shipping_lines: tuple[ShippingLine, ...]
    tags: tuple[str, ...]
    note: str
    source_identifier: str
    financial_status: FinancialStatus
    email: str | None = None
    customer: NewOrderCustomer | None = None


# --- what we get back ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderLineItem:
    id: int
    sku: str | None
    quantity: int
    variant_id: int | None


@dataclass(frozen=True, slots=True)
class OrderCreated:
    id: int
    name: str
    tags: tuple[str, ...]
    note: str | None
    line_items: tuple[OrderLineItem, ...]


@dataclass(frozen=True, slots=True)
class OrderFound:
    id: int
    name: str
    tags: tuple[str, ...]
    note: str | None
    source_identifier: str | None
    cancelled_at: datetime | None
    line_items: tuple[OrderLineItem, ...]
    financial_status: str | None = None  # displayFinancialStatus: "PAID", "PENDING", ...


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    id: int
    note: str | None
    tags: tuple[str, ...]


# --- operations --------------------------------------------------------------------------------


def order_create(
    *,
    session: AdminSession,
    order: NewOrder,
    inventory_behaviour: InventoryBehaviour = "BYPASS",
    send_receipt: bool = False,
    send_fulfillment_receipt: bool = False,
) -> OrderCreated:
    """`orderCreate`. Not safe to send twice: a lost answer raises `ShopifyOutcomeUnknown`,
    and the caller looks the order up (by its tag or source identifier) before trying again."""
    data = session.execute(
        document("order_create"),
        {
            "order": _order_input(order),
            "options": {
                "inventoryBehaviour": inventory_behaviour,
                "sendReceipt": send_receipt,
                "sendFulfillmentReceipt": send_fulfillment_receipt,
            },
        },
    )
    payload = raise_for_user_errors(
        data.get("orderCreate"), shop_domain=session.shop_domain, document="order_create"
    )
    node = payload["order"]
    return OrderCreated(
        id=gid_id(node["id"]),
        name=str(node.get("name") or ""),
        tags=_tags(node.get("tags")),
        note=node.get("note"),
        line_items=_line_items(node),
    )


def orders_find_by_tag(*, session: AdminSession, tag: str) -> tuple[OrderFound, ...]:
    """The first orders carrying `tag` (a tag is meant to find one order: two at most)."""
    return _orders_find(session, {"query": f'tag:"{tag}"'})


def order_find(*, session: AdminSession, order_id: int) -> OrderFound | None:
    """One order by its id, or None when the shop has no such order."""
    found = _orders_find(session, {"query": f"id:{order_id}", "first": 1})
    return found[0] if found else None


def order_note_set(*, session: AdminSession, order_id: int, note: str) -> OrderUpdated:
    """`orderUpdate` of the note (the whole note: read it first to add to it)."""
    data = session.execute(
        document("order_update"), {"input": {"id": gid("Order", order_id), "note": note}}
    )
    payload = raise_for_user_errors(
        data.get("orderUpdate"), shop_domain=session.shop_domain, document="order_update"
    )
    node = payload["order"]
    return OrderUpdated(id=gid_id(node["id"]), note=node.get("note"),
                        tags=_tags(node.get("tags")))


def order_tags_add(*, session: AdminSession, order_id: int, tags: Sequence[str]) -> None:
    """`tagsAdd` on an order; tags it already has stay once."""
    data = session.execute(
        document("tags_add"), {"id": gid("Order", order_id), "tags": list(tags)}
    )
    raise_for_user_errors(
        data.get("tagsAdd"), shop_domain=session.shop_domain, document="tags_add"
    )


# --- inputs and answers ------------------------------------------------------------------------


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": str(amount), "currencyCode": currency}}


def _address_input(address: MailingAddress) -> dict[str, str]:
    value = {key: text for key, text in {
        "firstName": address.first_name, "lastName": address.last_name,
        "company": address.company, "address1": address.address1,
        "address2": address.address2, "city": address.city,
        "provinceCode": address.province_code, "countryCode": address.country_code,
        "zip": address.zip, "phone": address.phone,
    }.items() if text}
    if "countryCode" not in value and address.country:
        value["country"] = address.country
    if "provinceCode" not in value and address.province:
        value["province"] = address.province
    return value


def _line_input(line: NewOrderLine, currency: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "variantId": gid("ProductVariant", line.variant_id),
        "quantity": line.quantity,
        "priceSet": _money(line.price, currency),
    }
    if line.properties:
        item["properties"] = [{"name": prop.name, "value": prop.value}
                              for prop in line.properties]
    return item


def _order_input(order: NewOrder) -> dict[str, Any]:
    value: dict[str, Any] = {
        "lineItems": [_line_input(line, order.currency) for line in order.lines],
        "shippingAddress": _address_input(order.shipping_address),
        "shippingLines": [
            {"title": line.title, "code": line.code, "source": line.source,
             "priceSet": _money(line.price, order.currency)}
            for line in order.shipping_lines
        ],
        "tags": list(order.tags),
        "note": order.note,
        "sourceIdentifier": order.source_identifier,
        "financialStatus": order.financial_status,
        "currency": order.currency,
    }
    if order.email is not None:
        value["email"] = order.email
    if order.customer is not None:
        customer = {"email": order.customer.email, "firstName": order.customer.first_name}
        if order.customer.last_name is not None:
            customer["lastName"] = order.customer.last_name
        value["customer"] = {"toUpsert": customer}
    return value


def _orders_find(session: AdminSession, variables: Mapping[str, Any]) -> tuple[OrderFound, ...]:
    data = session.execute(document("orders_find"), variables)
    return tuple(
        OrderFound(
            id=gid_id(node["id"]),
            name=str(node.get("name") or ""),
            tags=_tags(node.get("tags")),
            note=node.get("note"),
            source_identifier=node.get("sourceIdentifier"),
            cancelled_at=_datetime(node.get("cancelledAt")),
            line_items=_line_items(node),
            financial_status=node.get("displayFinancialStatus"),
        )
        for node in data["orders"]["nodes"]
    )


def _tags(value: Any) -> tuple[str, ...]:
    return tuple(str(tag) for tag in value or ())


def _datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _line_items(node: Mapping[str, Any]) -> tuple[OrderLineItem, ...]:
    items = []
    for item in (node.get("lineItems") or {}).get("nodes") or ():
        variant = (item.get("variant") or {}).get("id")
        items.append(OrderLineItem(
            id=gid_id(item["id"]),
            sku=item.get("sku"),
            quantity=int(item.get("quantity") or 0),
            variant_id=gid_id(variant) if variant else None,
        ))
    return tuple(items)
