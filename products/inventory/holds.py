"""Units a store's own unpaid orders hold while its source counts paid orders only.

With `Connection.count_pending_orders` off (the default), an unpaid order (payment pending, a
bank transfer, cash on delivery) leaves the source's stock alone until it is paid. Shopify has
already taken its units out of the store's available stock, though: if Syncer then wrote the
source's figure there again, those units would be on sale twice at that store — to the
customer waiting to pay and to the next one — and the source oversold when the first paid.
So each such line is held (DestinationHold) and comes off that store's target
(sql.TARGETS_RECOMPUTE) until the order is paid (its sale then moves the source, and the
store's raises wait for that: flush._raises_deferred_while_sales_pending) or cancelled.
Other stores keep the source's whole stock: the order is not counted there until paid, which
is what the option means.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from products.inventory.flush import SALE_RECHECK
from products.inventory.selectors import destination_variant_links
from products.inventory.targets import targets_recompute
from products.models import DestinationHold, DestinationStock, StockReason, VariantLink
from stores.models import Connection, Shop
from webhooks.registry import webhook_payload_int


def _synced_lines(*, destination: Shop,
                  payload: dict[str, Any]) -> list[tuple[int, int, VariantLink]]:
    """(line id, quantity, variant link) of each order line of a synced variant."""
    given = payload.get("line_items")
    lines = [(webhook_payload_int(line.get("id")), webhook_payload_int(line.get("variant_id")),
              max(webhook_payload_int(line.get("quantity")) or 0, 0))
             for line in (given if isinstance(given, list) else []) if isinstance(line, dict)]
    links = destination_variant_links(
        destination=destination, variant_ids=[variant for _, variant, _ in lines if variant])
    return [(line_id, quantity, links[variant]) for line_id, variant, quantity in lines
            if line_id is not None and variant in links]


def _hold_fields(link: VariantLink, order_id: int, quantity: int) -> dict[str, Any]:
    return {"source_id": link.connection.source_id, "variant_link": link,
            "inventory_item_id": link.source_variant.inventory_item_id, "order_id": order_id,
            "quantity": quantity}


def _held_there(link: VariantLink, quantity: int) -> bool:
    """Whether an unpaid line of this link is held: its connection waits for payment."""
    return (quantity > 0 and not link.connection.count_pending_orders
            and link.connection.status == Connection.Status.CONNECTED)


def destination_holds_for_order(*, destination: Shop, payload: dict[str, Any]) -> set[int]:
    """Holds the synced lines of an unpaid order (orders/create, its payload checked by
    effects.inventory_effects_for_order first) whose connection waits for payment. A line
    whose order was paid or cancelled first (webhooks come in any order) has its released
    hold already, and is not held again. Returns the destinations to flush."""
    return destination_holds_for_lines(
        destination=destination, order_id=int(payload["id"]),
        lines=_synced_lines(destination=destination, payload=payload))


def destination_holds_for_lines(*, destination: Shop, order_id: int,
                                lines: list[tuple[int, int, VariantLink]]) -> set[int]:
    """Holds these unpaid lines (line id, quantity, variant link) of an order where their
    connection waits for payment: at checkout, or added to by an order edit. A held line
    holds its largest quantity seen (an edit added units; an older payload changes nothing);
    a released one stays released. Returns the destinations to flush."""
    changed: list[DestinationHold] = []
    with transaction.atomic():
        for line_id, quantity, link in lines:
            if not _held_there(link, quantity):
                continue
            hold, was_created = DestinationHold.objects.select_for_update().get_or_create(
                destination=destination, line_item_id=line_id,
                defaults=_hold_fields(link, order_id, quantity))
            if was_created:
                changed.append(hold)
            elif hold.released_at is None and quantity > hold.quantity:
                DestinationHold.objects.filter(pk=hold.pk).update(quantity=quantity)
                changed.append(hold)
    return _recompute(changed)


def destination_holds_release(*, destination: Shop, payload: dict[str, Any],
                              paid: bool = False) -> set[int]:
    """The order is paid or cancelled (orders/paid, orders/cancelled): its lines' units are no
    longer held back at the store. A line that could be held but is not yet gets its hold
    released already, so an orders/create arriving after this holds nothing (the unique line
    makes the two meet whichever commits first). Returns the destinations to flush.

    Paid, the units are the sale's, not back on sale: until the sale is taken off the source
    and its new level recorded, the target without the hold is the source's old figure, so
    the store's raises wait (flush.SALE_RECHECK; the flush then finds the sale counted, or
    defers again while it is pending). The sale marks itself applied before the source's new
    level is read back, so the flush's own check for uncounted sales cannot cover that gap."""
    now = timezone.now()
    released: list[DestinationHold] = []
    with transaction.atomic():
        for line_id, quantity, link in _synced_lines(destination=destination, payload=payload):
            hold = DestinationHold.objects.select_for_update().filter(
                destination=destination, line_item_id=line_id).first()
            if hold is None and _held_there(link, quantity):
                hold, was_created = DestinationHold.objects.select_for_update().get_or_create(
                    destination=destination, line_item_id=line_id, defaults={
                        **_hold_fields(link, int(payload["id"]), quantity), "released_at": now})
                if was_created:
                    continue
            if hold is not None and hold.released_at is None:
                DestinationHold.objects.filter(pk=hold.pk).update(released_at=now)
                released.append(hold)
    with transaction.atomic():  # no flush sees the raise before it is told to wait
        to_flush = _recompute(released)
        if paid and released:
            DestinationStock.objects.filter(
                variant_link_id__in=[hold.variant_link_id for hold in released], dirty=True,
            ).filter(Q(due_at__isnull=True) | Q(due_at__lt=now + SALE_RECHECK)).update(
                due_at=now + SALE_RECHECK)
    return to_flush


def _recompute(holds: list[DestinationHold]) -> set[int]:
    items_by_source: dict[int, set[int]] = {}
    for hold in holds:
        items_by_source.setdefault(hold.source_id, set()).add(hold.inventory_item_id)
    to_flush: set[int] = set()
    for source in Shop.objects.filter(pk__in=items_by_source):
        to_flush |= targets_recompute(source=source, inventory_item_ids=items_by_source[source.pk],
                                      reason=StockReason.SALE)
    return to_flush
