"""Making the destination match one source fulfilment: `fulfillmentCreate` once, then
`fulfillmentTrackingInfoUpdate` whenever the source's tracking changes.

`order_fulfillment_sync` runs in `orders.tasks.order_fulfillment_sync_task`; this module queues
no task, so the tasks module can import it.
"""

import logging
from collections import defaultdict

from django.db.models import F
from django.utils import timezone

from orders.claims import row_claim, row_release
from orders.models import OrderFulfillment
from orders.payloads import http_url
from orders.selectors import order_settings_for
from stores.services import shop_admin_session
from syncer.shopify import ShopifyError, ShopifyOutcomeUnknown, ShopifyRetryable
from syncer.shopify.admin_session import AdminSession
from syncer.shopify.operations.fulfillments import (
    FulfillmentOrder,
    FulfillmentOrderLineQuantity,
    FulfillmentOrderLines,
    TrackingInfo,
    fulfillment_create,
    fulfillment_tracking_info_update,
    order_fulfillment_orders,
    order_fulfillments,
)

logger = logging.getLogger(__name__)

Status = OrderFulfillment.Status
# Source fulfilments in these states do not count (and are not copied).
NOT_SHIPPED = frozenset({"cancelled", "error", "failure"})
FULFILLABLE_FO = frozenset({"OPEN", "IN_PROGRESS"})


def fulfillment_needs_sync(row: OrderFulfillment) -> bool:
    return row.status == Status.PENDING and row.source_status not in NOT_SHIPPED


def _tracking(tracking: dict[str, str]) -> TrackingInfo:
    # http(s) only, even from a row stored before URLs were checked on the way in.
    return TrackingInfo(company=tracking.get("company"), number=tracking.get("number"),
                        url=http_url(tracking.get("url")) or None)


def _wanted(row: OrderFulfillment) -> dict[int, int]:
    """Destination line item id → quantity to fulfil, through the push's line map."""
    by_source_line = {line.source_line_item_id: line for line in
                      row.push.lines.select_related("line") if line.source_line_item_id}
    wanted: dict[int, int] = defaultdict(int)
    for entry in row.lines:
        push_line = by_source_line.get(entry["source_line_item_id"])
        if push_line is not None and entry["quantity"] > 0:
            wanted[push_line.line.shopify_id] += entry["quantity"]
    return dict(wanted)


def _quantity_of(quantities: dict[int, int], line_item_id: int | None) -> int:
    return quantities.get(line_item_id, 0) if line_item_id is not None else 0


def _allocate(fulfillment_orders: tuple[FulfillmentOrder, ...],
              wanted: dict[int, int]) -> dict[int | None, list[FulfillmentOrderLines]]:
    """Location id → the fulfilment order lines covering `wanted` (what is still open)."""
    left = dict(wanted)
    groups: dict[int | None, list[FulfillmentOrderLines]] = defaultdict(list)
    for fo in fulfillment_orders:
        if fo.status not in FULFILLABLE_FO:
            continue
        entries = []
        for item in fo.lines:
            take = min(_quantity_of(left, item.line_item_id), item.remaining_quantity)
            if take > 0 and item.line_item_id is not None:
                entries.append(FulfillmentOrderLineQuantity(id=item.id, quantity=take))
                left[item.line_item_id] -= take
        if entries:
            groups[fo.location_id].append(FulfillmentOrderLines(
                fulfillment_order_id=fo.id, lines=tuple(entries)))
    return dict(groups)


def _adopt_existing(*, row: OrderFulfillment, session: AdminSession,
                    wanted: dict[int, int]) -> list[int]:
    """After a fulfillmentCreate whose answer was lost: destination fulfilments that match this
    one (same lines within what we wanted, same tracking number) and are nobody else's."""
    order = row.push.order
    fulfillments = order_fulfillments(session=session, order_id=order.shopify_id)
    known = {fid for ids in OrderFulfillment.objects.filter(push__order=order).exclude(
        pk=row.pk).values_list("destination_fulfillment_ids", flat=True) for fid in ids}
    adopted = []
    for fulfillment in fulfillments:
        if fulfillment.id in known or fulfillment.status != "SUCCESS":
            continue
        number = (fulfillment.tracking[0].number if fulfillment.tracking else None) or ""
        if number != row.tracking_number:
            continue
        lines = fulfillment.lines
        if lines and all(_quantity_of(wanted, line.line_item_id) >= line.quantity
                         for line in lines):
            adopted.append(fulfillment.id)
    return adopted


def _mark_synced(row: OrderFulfillment, tracking: dict[str, str], **fields) -> None:
    """Done with `tracking`; the row only counts as synced if that is still the source's
    tracking (an update that came in meanwhile keeps it pending, for the next round)."""
    now = timezone.now()
    _finish(row, synced_tracking=tracking, synced_at=now, error="", **fields)
    if OrderFulfillment.objects.filter(
        pk=row.pk, tracking_company=tracking["company"], tracking_number=tracking["number"],
        tracking_url=tracking["url"],
    ).update(status=Status.SYNCED):
        row.status = Status.SYNCED


def _finish(row: OrderFulfillment, **fields) -> None:
    fields.setdefault("updated_at", timezone.now())
    OrderFulfillment.objects.filter(pk=row.pk).update(**fields)
    for name, value in fields.items():
        setattr(row, name, value)


def _create_on_destination(row: OrderFulfillment) -> None:
    order = row.push.order
    destination = order.shop
    settings = order_settings_for(shop=destination)
    session = shop_admin_session(shop_domain=destination.domain)
    wanted = _wanted(row)
    if not wanted:
        _finish(row, status=Status.SKIPPED,
                           error="None of the fulfilled items came from this store's order.")
        return
    if row.attempts:
        adopted = _adopt_existing(row=row, session=session, wanted=wanted)
        if adopted:
            _mark_synced(row, row.tracking, destination_fulfillment_ids=adopted)
            return
    groups = _allocate(order_fulfillment_orders(session=session, order_id=order.shopify_id),
                       wanted)
    if not groups:
        _finish(row, status=Status.SKIPPED, synced_at=timezone.now(),
                           error="These items are already fulfilled (or cancelled) on your store.")
        return
    created_ids: list[int] = []
    tracking_sent = row.tracking
    for entries in groups.values():
        OrderFulfillment.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        created = fulfillment_create(session=session, line_items_by_fulfillment_order=entries,
                                     tracking=_tracking(tracking_sent),
                                     notify_customer=settings.notify_customer)
        created_ids.append(created.id)
        # Keep each id as soon as it exists: a failure on the next location must not lose it.
        _finish(row, destination_fulfillment_ids=list(created_ids))
    _mark_synced(row, tracking_sent)
    logger.info("fulfilment synced push=%s source_fulfillment=%s destination=%s", row.push_id,
                row.source_fulfillment_id, created_ids)


def _tracking_on_destination(row: OrderFulfillment) -> None:
    destination = row.push.order.shop
    settings = order_settings_for(shop=destination)
    session = shop_admin_session(shop_domain=destination.domain)
    tracking_sent = row.tracking
    for fulfillment_id in row.destination_fulfillment_ids:
        fulfillment_tracking_info_update(session=session, fulfillment_id=fulfillment_id,
                                         tracking=_tracking(tracking_sent),
                                         notify_customer=settings.notify_customer)
    _mark_synced(row, tracking_sent)


def order_fulfillment_sync(*, fulfillment_id: int) -> OrderFulfillment | None:
    """Make the destination match one source fulfilment. One worker at a time; a change that
    arrives while it works is picked up before it lets go (no webhook is lost to the claim)."""
    for _ in range(5):
        row = OrderFulfillment.objects.filter(pk=fulfillment_id).first()
        if row is None or not fulfillment_needs_sync(row) or not row_claim(OrderFulfillment,
                                                                          row.pk):
            return row
        try:
            row = OrderFulfillment.objects.select_related(
                "push", "push__order", "push__order__shop").get(pk=fulfillment_id)
            if not fulfillment_needs_sync(row):
                continue
            try:
                if row.destination_fulfillment_ids:
                    _tracking_on_destination(row)
                else:
                    _create_on_destination(row)
            except (ShopifyOutcomeUnknown, ShopifyRetryable) as exc:
                _finish(row, error=exc.merchant_message)
                raise
            except ShopifyError as exc:
                logger.warning("fulfilment %s refused: %s", row.pk, exc)
                _finish(row, status=Status.FAILED, error=exc.merchant_message)
                return row
        finally:
            row_release(OrderFulfillment, fulfillment_id)
    return OrderFulfillment.objects.filter(pk=fulfillment_id).first()
