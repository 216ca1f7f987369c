"""Fulfilment operations: an order's fulfilment orders and fulfilments, making a fulfilment, and
changing its tracking.

Ids go in and come out as numbers; the Admin API's global ids are made and read here through
`syncer.shopify.ids`. Mutations raise `ShopifyUserErrors` when Shopify refuses the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncer.shopify.admin_session import AdminSession
from syncer.shopify.documents import document
from syncer.shopify.errors import raise_for_user_errors
from syncer.shopify.ids import gid, gid_id


@dataclass(frozen=True, slots=True)
class TrackingInfo:
    """Empty fields are left out of what we send, and so is a URL without a number (Shopify
    refuses one)."""

    company: str | None = None
    number: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class FulfillmentOrderLine:
    id: int  # the fulfilment order line item
    line_item_id: int | None  # the order's line item
    sku: str | None
    total_quantity: int
    remaining_quantity: int


@dataclass(frozen=True, slots=True)
class FulfillmentOrder:
    id: int
    status: str  # OPEN, IN_PROGRESS, CLOSED, CANCELLED, ...
    location_id: int | None  # the assigned location
    lines: tuple[FulfillmentOrderLine, ...]


@dataclass(frozen=True, slots=True)
class FulfillmentOrderLineQuantity:
    """How many of one fulfilment order line item to fulfil."""

    id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class FulfillmentOrderLines:
    """The lines to fulfil from one fulfilment order (Shopify's `lineItemsByFulfillmentOrder`)."""

    fulfillment_order_id: int
    lines: tuple[FulfillmentOrderLineQuantity, ...]


@dataclass(frozen=True, slots=True)
class Fulfillment:
    id: int
    status: str  # SUCCESS, CANCELLED, ...
    tracking: tuple[TrackingInfo, ...]


@dataclass(frozen=True, slots=True)
class FulfillmentLine:
    line_item_id: int | None
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderFulfillmentRead:
    """One of an order's fulfilments, with the line items it fulfilled."""

    id: int
    status: str
    tracking: tuple[TrackingInfo, ...]
    lines: tuple[FulfillmentLine, ...]


def order_fulfillment_orders(
    *, session: AdminSession, order_id: int, first: int = 20, line_items_first: int = 250
) -> tuple[FulfillmentOrder, ...]:
    """The order's fulfilment orders (none when the shop has no such order)."""
    data = session.execute(
        document("order_fulfillment_orders"),
        {"id": gid("Order", order_id), "first": first, "lineItemsFirst": line_items_first},
    )
    nodes = ((data.get("order") or {}).get("fulfillmentOrders") or {}).get("nodes") or ()
    return tuple(
        FulfillmentOrder(
            id=gid_id(node["id"]),
            status=str(node.get("status") or ""),
            location_id=_id_or_none((node.get("assignedLocation") or {}).get("location") or {}),
            lines=tuple(
                FulfillmentOrderLine(
                    id=gid_id(item["id"]),
                    line_item_id=_id_or_none(item.get("lineItem") or {}),
                    sku=item.get("sku"),
                    total_quantity=int(item.get("totalQuantity") or 0),
                    remaining_quantity=int(item.get("remainingQuantity") or 0),
                )
                for item in (node.get("lineItems") or {}).get("nodes") or ()
            ),
        )
        for node in nodes
    )


def order_fulfillments(*, session: AdminSession, order_id: int) -> tuple[OrderFulfillmentRead, ...]:
    """The order's fulfilments, cancelled ones included (none when there is no such order)."""
    data = session.execute(document("order_fulfillments"), {"id": gid("Order", order_id)})
    return tuple(
        OrderFulfillmentRead(
            id=gid_id(node["id"]),
            status=str(node.get("status") or ""),
            tracking=_tracking(node),
            lines=tuple(
                FulfillmentLine(line_item_id=_id_or_none(line.get("lineItem") or {}),
                                quantity=int(line.get("quantity") or 0))
                for line in (node.get("fulfillmentLineItems") or {}).get("nodes") or ()
            ),
        )
        for node in (data.get("order") or {}).get("fulfillments") or ()
    )


def fulfillment_create(
    *,
    session: AdminSession,
    line_items_by_fulfillment_order: Sequence[FulfillmentOrderLines],
    tracking: TrackingInfo | None,
    notify_customer: bool,
) -> Fulfillment:
    """`fulfillmentCreate` (all the fulfilment orders must be at one location). Not safe to
    send twice: a lost answer raises `ShopifyOutcomeUnknown`; look at `order_fulfillments`
    before trying again."""
    fulfillment: dict[str, Any] = {
        "lineItemsByFulfillmentOrder": [
            {
                "fulfillmentOrderId": gid("FulfillmentOrder", group.fulfillment_order_id),
                "fulfillmentOrderLineItems": [
                    {"id": gid("FulfillmentOrderLineItem", line.id), "quantity": line.quantity}
                    for line in group.lines
                ],
            }
            for group in line_items_by_fulfillment_order
        ],
        "notifyCustomer": notify_customer,
    }
    tracking_input = _tracking_input(tracking)
    if tracking_input:
        fulfillment["trackingInfo"] = tracking_input
    data = session.execute(document("fulfillment_create"), {"fulfillment": fulfillment})
    payload = raise_for_user_errors(
        data.get("fulfillmentCreate"), shop_domain=session.shop_domain,
        document="fulfillment_create",
    )
    return _fulfillment(payload["fulfillment"])


def fulfillment_tracking_info_update(
    *, session: AdminSession, fulfillment_id: int, tracking: TrackingInfo, notify_customer: bool
) -> Fulfillment:
    """`fulfillmentTrackingInfoUpdate`: the fulfilment's tracking becomes `tracking`."""
    data = session.execute(
        document("fulfillment_tracking_info_update"),
        {
            "fulfillmentId": gid("Fulfillment", fulfillment_id),
            "trackingInfoInput": _tracking_input(tracking),
            "notifyCustomer": notify_customer,
        },
    )
    payload = raise_for_user_errors(
        data.get("fulfillmentTrackingInfoUpdate"), shop_domain=session.shop_domain,
        document="fulfillment_tracking_info_update",
    )
    return _fulfillment(payload["fulfillment"])


def _tracking_input(tracking: TrackingInfo | None) -> dict[str, str]:
    if tracking is None:
        return {}
    value = {key: text for key, text in (("company", tracking.company),
                                         ("number", tracking.number)) if text}
    if tracking.url and tracking.number:
        value["url"] = tracking.url  # Shopify refuses a URL without a number
    return value


def _id_or_none(node: Mapping[str, Any]) -> int | None:
    value = node.get("id")
    return gid_id(value) if value else None


def _tracking(node: Mapping[str, Any]) -> tuple[TrackingInfo, ...]:
    return tuple(
        TrackingInfo(company=info.get("company"), number=info.get("number"), url=info.get("url"))
        if info else TrackingInfo()
        for info in node.get("trackingInfo") or ()
    )


def _fulfillment(node: Mapping[str, Any]) -> Fulfillment:
    return Fulfillment(id=gid_id(node["id"]), status=str(node.get("status") or ""),
                       tracking=_tracking(node))
