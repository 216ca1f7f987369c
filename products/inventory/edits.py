"""Order edits (orders/edited): units a store's order gained after checkout.

A merchant can edit an unfulfilled order to add a product or more of one; Shopify takes the
units out of the store's available stock at once, like a checkout. Unless the source is told,
those units are still on sale at every other store, and the selling store's own drop would be
taken for a hand edit and healed back after its grace: sold twice. So the added units count
like the order's sale: at the source at once when the order is counted already (paid, or its
connection counts pending orders), else held at the store until it is paid (holds.py).

The webhook names the lines and how many units each gained, not their variants: the order is
read (orders_find). Each line is counted up to its quantity (effects.line_counted), so an
edit, the orders/paid that follows its balance and their retries, in any order, count every
unit once. Units an edit removes are left alone: the webhook does not say whether they went
back on sale (the merchant's "Restock item"), and a refund with restock gives them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from products.inventory.effects import line_counted
from products.inventory.holds import destination_holds_for_lines
from products.inventory.selectors import destination_variant_links
from products.models import InventoryEffect, VariantLink
from stores.models import Connection, Shop
from stores.services import shop_admin_session
from syncer.shopify.operations.orders import OrderFound, order_find
from webhooks.registry import WebhookPayloadInvalid, webhook_payload_int


@dataclass(frozen=True)
class OrderEdit:
    order: OrderFound
    added_line_ids: tuple[int, ...]


def _additions(payload: dict[str, Any]) -> tuple[int, list[int]]:
    """(order id, ids of the lines that gained units) of an orders/edited payload."""
    edit = payload.get("order_edit")
    if not isinstance(edit, dict):
        raise WebhookPayloadInvalid("order_edit is not an object")
    order_id = webhook_payload_int(edit.get("order_id"))
    if order_id is None:
        raise WebhookPayloadInvalid("order_edit.order_id is not a number")
    line_items = edit.get("line_items") or {}
    if not isinstance(line_items, dict):
        raise WebhookPayloadInvalid("order_edit.line_items is not an object")
    additions = line_items.get("additions")
    if not isinstance(additions, list | None):
        raise WebhookPayloadInvalid("order_edit.line_items.additions is not a list")
    added = []
    for item in additions or ():
        line_id = webhook_payload_int(item.get("id")) if isinstance(item, dict) else None
        delta = webhook_payload_int(item.get("delta")) if isinstance(item, dict) else None
        if line_id is None or delta is None:
            raise WebhookPayloadInvalid("order_edit.line_items.additions[] needs an id and a delta")
        if delta > 0:
            added.append(line_id)
    return order_id, added


def order_edit_read(*, destination: Shop, payload: dict[str, Any]) -> OrderEdit | None:
    """The edited order as it is now, when the edit added units to it; None when it added
    none or the order is gone or cancelled. Reads the order from Shopify (outside any
    transaction: it is an API call)."""
    order_id, added = _additions(payload)
    if not added:
        return None
    order = order_find(session=shop_admin_session(shop_domain=destination.domain),
                       order_id=order_id)
    if order is None or order.cancelled_at is not None:
        return None
    return OrderEdit(order=order, added_line_ids=tuple(added))


def order_edit_count(*, destination: Shop, edit: OrderEdit) -> tuple[list[int], set[int]]:
    """Counts the lines an edit added to: at the source when the order is counted there
    already, else held at the store while it waits for payment. Returns the effects to apply
    and the destinations to flush."""
    order = edit.order
    lines = {line.id: line for line in order.line_items}
    added = [lines[line_id] for line_id in edit.added_line_ids
             if line_id in lines and lines[line_id].variant_id is not None]
    links: dict[int, VariantLink] = destination_variant_links(
        destination=destination, variant_ids=[line.variant_id for line in added])
    counted = order.financial_status == "PAID" or InventoryEffect.objects.filter(
        destination=destination, kind=InventoryEffect.Kind.SALE, order_id=order.id).exists()
    effects: list[int] = []
    held: list[tuple[int, int, VariantLink]] = []
    for line in added:
        link = links.get(line.variant_id or 0)
        if link is None or link.connection.status != Connection.Status.CONNECTED:
            continue
        if counted or link.connection.count_pending_orders:
            effects += line_counted(destination=destination, link=link, order_id=order.id,
                                    order_name=order.name, line_item_id=line.id,
                                    quantity=line.quantity)
        else:
            held.append((line.id, line.quantity, link))
    return effects, destination_holds_for_lines(destination=destination, order_id=order.id,
                                                lines=held)
